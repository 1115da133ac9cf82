package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/retention"
	"github.com/slipway-dev/slipway/semver"
)

// errUsage marks an invalid command line or environment: exit code 2,
// returned before anything is read from or written to a provider.
var errUsage = errors.New("usage")

// usageError is an error wrapping errUsage.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// settings is what the command line and the environment choose.
type settings struct {
	cmd string // the subcommand

	// Every subcommand.
	function    string
	providerKey string // "memory", "aws", "gcprun" or "azure"
	project     string // Google Cloud project (gcprun)
	region      string
	stateDir    string
	seed        int64
	realTime    bool
	staging     string
	production  string
	summaryFile string // $GITHUB_STEP_SUMMARY
	outputFile  string // $GITHUB_OUTPUT

	// Azure (provider azure): the function is a function app of this
	// subscription and resource group.
	subscription, resourceGroup string

	// Subcommands that change something.
	actor  string
	id     string // the release ID, without the subcommand's suffix
	reason string
	runURL string // the CI run, for notifications

	// Notifications (release, promote, rollback).
	webhook, slackWebhook string

	// Simulated traffic (memory provider; publish, release, promote).
	load              float64
	simulateErrorRate float64

	// The artifact (publish, release).
	zip, code     string
	packageURL    string // azure: the package's https URL (WEBSITE_RUN_FROM_PACKAGE)
	level         string
	semverText    string
	prerelease    string
	commitsFile   string
	commit        string
	runtime       string
	handler       string
	memoryMB      int
	timeout       time.Duration
	publish       release.PublishRequest // built from the fields above
	releaseCommit string                 // the first commit subject, the default reason

	// The canary (release, promote).
	strategyName    string
	errorRateFactor float64
	errorRateSlack  float64
	strategy        canary.Strategy // built from the fields above

	// Retention (prune; release and promote after a promotion).
	keepLast   int
	keepWithin time.Duration
	retention  *retention.Policy

	// rollback.
	alias string
	to    string

	// resume and abort: the release whose production canary to continue
	// or roll back (empty: the one found unfinished).
	release string

	// abort.
	requestOnly bool

	// prune.
	dryRun bool

	// status.
	entries     int
	failOnDrift bool

	set map[string]bool // the flags given, on the command line or by the environment
}

// commands lists the subcommands with a line of help each, in help order.
func commands() [][2]string {
	return [][2]string{
		{"publish", "publish the artifact as the next semantic version and point the staging alias at it"},
		{"promote", "move production to the version staging serves through a canary judged by its error rate"},
		{"release", "publish, stage and promote in one step (publish + promote)"},
		{"rollback", "put an alias back on its previous good version, read from the journal"},
		{"resume", "continue the production canary a killed job left unfinished, to its promotion or rollback"},
		{"abort", "roll back the unfinished production canary now: production ends on the stable version"},
		{"prune", "delete old versions by a retention policy (-dry-run prints the plan)"},
		{"status", "print aliases, versions, drift from the journal and the last journal entries"},
	}
}

// cli is a flag set whose flags fall back to environment variables.
type cli struct {
	fs   *flag.FlagSet
	envs map[string][]string // flag name → environment variables, in order of preference
}

func (c *cli) bind(name, usage string, envs []string) {
	c.envs[name] = envs
	if len(envs) > 0 {
		c.fs.Lookup(name).Usage = usage + " (env " + strings.Join(envs, ", ") + ")"
	}
}

func (c *cli) str(p *string, name, def, usage string, envs ...string) {
	c.fs.StringVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) boolean(p *bool, name, usage string, envs ...string) {
	c.fs.BoolVar(p, name, false, usage)
	c.bind(name, usage, envs)
}

func (c *cli) integer(p *int, name string, def int, usage string, envs ...string) {
	c.fs.IntVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) int64(p *int64, name string, def int64, usage string, envs ...string) {
	c.fs.Int64Var(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) float(p *float64, name string, def float64, usage string, envs ...string) {
	c.fs.Float64Var(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) duration(p *time.Duration, name string, def time.Duration, usage string, envs ...string) {
	c.fs.DurationVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

// parse parses args, then gives each flag not on the command line the
// value of the first of its environment variables that is set. It returns
// the names of the flags given either way.
func (c *cli) parse(args []string, env func(string) string) (map[string]bool, error) {
	if err := c.fs.Parse(args); err != nil {
		return nil, err
	}
	if c.fs.NArg() > 0 {
		return nil, usageError("unexpected arguments %q", c.fs.Args())
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, envs := range c.envs {
		if set[name] {
			continue
		}
		for _, e := range envs {
			v := env(e)
			if v == "" {
				continue
			}
			if err := c.fs.Set(name, v); err != nil {
				return nil, usageError("environment variable %s=%q for -%s: %v", e, v, name, err)
			}
			set[name] = true
			break
		}
	}
	return set, nil
}

// parseArgs reads the subcommand and its flags from args and env and
// validates them, reading only the files the flags name (-zip,
// -commits-file). It returns an error wrapping flag.ErrHelp for -h, and
// one wrapping errUsage for everything that is wrong.
func parseArgs(args []string, env func(string) string, stderr io.Writer) (*settings, error) {
	if len(args) == 0 {
		printUsage(stderr)
		return nil, usageError("no subcommand")
	}
	s := &settings{cmd: args[0]}
	switch s.cmd {
	case "-h", "-help", "--help", "help":
		printUsage(stderr)
		return nil, flag.ErrHelp
	case "publish", "promote", "release", "rollback", "prune", "status", "resume", "abort":
	default:
		printUsage(stderr)
		return nil, usageError("unknown subcommand %q", s.cmd)
	}
	c := &cli{fs: flag.NewFlagSet("slipway-ci "+s.cmd, flag.ContinueOnError), envs: map[string][]string{}}
	c.fs.SetOutput(stderr)
	s.register(c)
	c.fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: slipway-ci %s [flags]\n\n", s.cmd)
		for _, cm := range commands() {
			if cm[0] == s.cmd {
				fmt.Fprintf(stderr, "%s.\n\n", cm[1])
			}
		}
		c.fs.PrintDefaults()
		fmt.Fprint(stderr, exitCodesText)
	}
	set, err := c.parse(args[1:], env)
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			err = fmt.Errorf("%w: %v", errUsage, err)
		}
		return nil, err
	}
	s.set = set
	s.ciDefaults(env)
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// register defines the flags of s.cmd.
func (s *settings) register(c *cli) {
	c.str(&s.function, "function", "", "name of the function (required)", "SLIPWAY_FUNCTION")
	c.str(&s.providerKey, "provider", "memory", "platform: memory (a simulated one, state in -state-dir), aws (Lambda, standard AWS configuration), gcprun (Cloud Run functions, Application Default Credentials) or azure (Functions, DefaultAzureCredential)", "SLIPWAY_PROVIDER")
	c.str(&s.region, "region", "", "AWS region (aws; else the AWS configuration's) or Cloud Run location (gcprun, required)", "SLIPWAY_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
	c.str(&s.project, "project", "", "Google Cloud project (gcprun only, required)", "SLIPWAY_PROJECT", "GOOGLE_CLOUD_PROJECT")
	c.str(&s.subscription, "subscription", "", "Azure subscription ID (azure only)", "SLIPWAY_AZURE_SUBSCRIPTION", "AZURE_SUBSCRIPTION_ID")
	c.str(&s.resourceGroup, "resource-group", "", "Azure resource group of the function app (azure only)", "SLIPWAY_AZURE_RESOURCE_GROUP")
	c.str(&s.stateDir, "state-dir", ".slipway", "directory of the state shared by the steps of a job: state.json (memory provider), journal.jsonl, rollouts/", "SLIPWAY_STATE_DIR")
	c.int64(&s.seed, "seed", 1, "seed of the memory provider's simulated traffic (keep it the same across steps)", "SLIPWAY_SEED")
	c.boolean(&s.realTime, "real-time", "wait in real time; the memory provider runs in virtual time by default (the aws provider always runs in real time)", "SLIPWAY_REAL_TIME")
	c.str(&s.staging, "staging", "staging", "staging alias", "SLIPWAY_STAGING_ALIAS")
	c.str(&s.production, "production", "production", "production alias", "SLIPWAY_PRODUCTION_ALIAS")
	c.str(&s.summaryFile, "summary-file", "", "append the Markdown summary to this file", "SLIPWAY_SUMMARY_FILE", "GITHUB_STEP_SUMMARY")
	c.str(&s.outputFile, "output-file", "", "append step outputs (name=value lines) to this file", "SLIPWAY_OUTPUT_FILE", "GITHUB_OUTPUT")
	if s.cmd == "status" {
		c.integer(&s.entries, "entries", 10, "how many of the last journal entries to print", "SLIPWAY_STATUS_ENTRIES")
		c.boolean(&s.failOnDrift, "fail-on-drift", "exit 4 when a route is not as the journal left it", "SLIPWAY_FAIL_ON_DRIFT")
		return
	}
	c.str(&s.actor, "actor", "", "who releases, recorded in the journal (default $USER, else \"ci\")", "SLIPWAY_ACTOR", "GITHUB_ACTOR")
	switch s.cmd {
	case "resume", "abort":
		// They act on an existing release, under its ID.
		c.str(&s.release, "release", "", "ID of the release whose production canary to "+s.cmd+" (the release output of the step that started it; default: the function's release whose canary is unfinished)", "SLIPWAY_RELEASE")
	default:
		c.str(&s.id, "id", "", "release ID for the journal (default: the function and $GITHUB_RUN_ID.$GITHUB_RUN_ATTEMPT when set; the subcommand is appended)", "SLIPWAY_RELEASE_ID")
	}
	switch s.cmd {
	case "resume":
	case "abort":
		c.str(&s.reason, "reason", "", "why, recorded in the journal with the abort request", "SLIPWAY_REASON")
	default:
		c.str(&s.reason, "reason", "", "why, recorded in the journal (default: the first commit message)", "SLIPWAY_REASON")
	}
	if s.cmd == "release" || s.cmd == "promote" || s.cmd == "rollback" || s.cmd == "resume" || s.cmd == "abort" {
		c.str(&s.webhook, "webhook", "", "POST each outcome as JSON to this URL", "SLIPWAY_WEBHOOK_URL")
		c.str(&s.slackWebhook, "slack-webhook", "", "post each outcome to this Slack incoming webhook", "SLIPWAY_SLACK_WEBHOOK_URL")
	}
	if s.cmd == "publish" || s.cmd == "release" || s.cmd == "promote" || s.cmd == "resume" {
		c.float(&s.load, "load", 50, "memory provider: requests per second arriving at production (staging gets a tenth)", "SLIPWAY_LOAD")
		c.float(&s.simulateErrorRate, "simulate-error-rate", 0, "memory provider: the candidate fails this share of its invocations (0..1), to rehearse a rollback", "SLIPWAY_SIMULATE_ERROR_RATE")
	}
	if s.cmd == "publish" || s.cmd == "release" {
		c.str(&s.zip, "zip", "", "deployment package (.zip) to publish", "SLIPWAY_ZIP")
		c.str(&s.code, "code", "", "memory provider: the code to publish, as text (instead of -zip)", "SLIPWAY_CODE")
		c.str(&s.packageURL, "package-url", "", "azure provider: https URL of the uploaded .zip the app can read (instead of -zip)", "SLIPWAY_PACKAGE_URL")
		c.str(&s.level, "level", "", "bump: major, minor or patch (default: from -commits-file)", "SLIPWAY_LEVEL")
		c.str(&s.semverText, "semver", "", "publish exactly this semantic version", "SLIPWAY_SEMVER")
		c.str(&s.prerelease, "prerelease", "", "publish the next prerelease with this identifier (rc, beta)", "SLIPWAY_PRERELEASE")
		c.str(&s.commitsFile, "commits-file", "", "commit messages since the last release, read as Conventional Commits: NUL-separated (git log --format=%B%x00) or one per line (git log --format=%s)", "SLIPWAY_COMMITS_FILE")
		c.str(&s.commit, "commit", "", "commit the artifact was built from", "SLIPWAY_COMMIT", "GITHUB_SHA")
		// The configuration is the current one with these changes (see
		// state.publishRequest): a release that omits them keeps the
		// function's settings and environment.
		c.str(&s.runtime, "runtime", "", "runtime of the version (default: as the version production serves; provided.al2023 on a new memory function)", "SLIPWAY_RUNTIME")
		c.str(&s.handler, "handler", "", "handler of the version (default: as production's; bootstrap on a new memory function)", "SLIPWAY_HANDLER")
		c.integer(&s.memoryMB, "memory-mb", 0, "memory of the version in MiB (default: as production's; 128 on a new memory function)", "SLIPWAY_MEMORY_MB")
		c.duration(&s.timeout, "timeout", 0, "invocation timeout of the version (default: as production's; 10s on a new memory function)", "SLIPWAY_TIMEOUT")
	}
	if s.cmd == "release" || s.cmd == "promote" {
		c.str(&s.strategyName, "strategy", "Canary10Percent5Minutes", "how production traffic shifts: "+strings.Join(canary.Presets(), ", "), "SLIPWAY_STRATEGY")
	}
	// A resumed canary's stored state names its checks but does not carry
	// them: resume judges with the same flags as promote (give the same
	// values). Abort runs no check (the canary rolls back), so it uses the
	// defaults.
	s.errorRateFactor, s.errorRateSlack = defaultErrorRateFactor, defaultErrorRateSlack
	if s.cmd == "release" || s.cmd == "promote" || s.cmd == "resume" {
		c.float(&s.errorRateFactor, "error-rate-factor", defaultErrorRateFactor, "roll back when the candidate's error rate exceeds the stable one's times this …", "SLIPWAY_ERROR_RATE_FACTOR")
		c.float(&s.errorRateSlack, "error-rate-slack", defaultErrorRateSlack, "… plus this (a rate), judged every minute", "SLIPWAY_ERROR_RATE_SLACK")
	}
	if s.cmd == "release" || s.cmd == "promote" || s.cmd == "prune" || s.cmd == "resume" {
		what := "after a promotion, "
		if s.cmd == "prune" {
			what = ""
		}
		c.integer(&s.keepLast, "keep-last", 0, what+"keep the N newest versions, delete older ones (routed versions and rollback points are always kept)", "SLIPWAY_KEEP_LAST")
		c.duration(&s.keepWithin, "keep-within", 0, what+"keep versions published within this duration (720h)", "SLIPWAY_KEEP_WITHIN")
	}
	switch s.cmd {
	case "rollback":
		c.str(&s.alias, "alias", "", "alias to roll back (default the production alias)", "SLIPWAY_ALIAS")
		c.str(&s.to, "to", "", "version ID to restore (default the journal's previous good version)", "SLIPWAY_ROLLBACK_TO")
	case "prune":
		c.boolean(&s.dryRun, "dry-run", "print the plan, delete nothing", "SLIPWAY_DRY_RUN")
	case "abort":
		c.boolean(&s.requestOnly, "request-only", "only record the abort in the rollout store, for a process still driving the canary from this state directory (it rolls back within 10s); production may still be split when abort exits", "SLIPWAY_ABORT_REQUEST_ONLY")
	}
}

// The error-rate check's defaults (-error-rate-factor, -error-rate-slack).
const (
	defaultErrorRateFactor = 1.5
	defaultErrorRateSlack  = 0.01
)

// ciDefaults fills what a CI run implies: the actor, the release ID and
// the link to the run.
func (s *settings) ciDefaults(env func(string) string) {
	if s.actor == "" {
		s.actor = env("USER")
	}
	if s.actor == "" {
		s.actor = "ci"
	}
	if server, repo, run := env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"); server != "" && repo != "" && run != "" {
		s.runURL = strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + run
	}
	if s.id == "" && env("GITHUB_RUN_ID") != "" {
		s.id = s.function + "-gh" + env("GITHUB_RUN_ID")
		if a := env("GITHUB_RUN_ATTEMPT"); a != "" {
			s.id += "." + a
		}
		s.id = sanitizeID(s.id)
	}
}

// sanitizeID turns s into a valid release ID: characters outside
// [A-Za-z0-9._-] become '_', leading dots go, and it is cut to 120
// characters, leaving room for a subcommand suffix.
func sanitizeID(s string) string {
	s = strings.Map(func(c rune) rune {
		if idChar(c) {
			return c
		}
		return '_'
	}, s)
	s = strings.TrimLeft(s, ".")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// validReleaseID reports whether id is a release ID the workflow accepts
// (see release.Request.ID).
func validReleaseID(id string) bool {
	return id != "" && len(id) <= 150 && id[0] != '.' && !strings.ContainsFunc(id, func(c rune) bool { return !idChar(c) })
}

func idChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// releaseID is the ID of the subcommand's run in the journal and the
// rollout store: the -id (or CI-derived one) with the subcommand appended,
// so that the steps of one CI run differ; empty lets the workflow name it.
func (s *settings) releaseID() string {
	if s.id == "" {
		return ""
	}
	return s.id + "-" + s.cmd
}

// validate checks every setting and builds the requests, so that bad input
// fails with exit code 2 before any provider call.
func (s *settings) validate() error {
	if s.function == "" {
		return usageError("-function (or SLIPWAY_FUNCTION) is required")
	}
	switch s.providerKey {
	case "memory":
		if strings.ContainsAny(s.function, "/\\") {
			return usageError("-function %q: the memory provider wants a plain name", s.function)
		}
	case "aws", "gcprun", "azure":
		if s.providerKey == "azure" && (s.subscription == "" || s.resourceGroup == "") {
			return usageError("-provider azure needs -subscription (or AZURE_SUBSCRIPTION_ID) and -resource-group")
		}
		// Flags only the memory provider understands.
		for _, name := range []string{"load", "simulate-error-rate", "code", "seed"} {
			if s.set[name] {
				return usageError("-%s works with the memory provider only", name)
			}
		}
		s.realTime = true
	default:
		return usageError("-provider %q: want memory, aws, gcprun or azure", s.providerKey)
	}
	if s.stateDir == "" {
		return usageError("-state-dir is empty")
	}
	for name, alias := range map[string]string{"staging": s.staging, "production": s.production, "alias": s.alias} {
		if strings.ContainsAny(alias, " \t\n/") || (alias == "" && name != "alias") {
			return usageError("-%s %q is not an alias name", name, alias)
		}
	}
	if s.staging == s.production {
		return usageError("-staging and -production are both %q", s.staging)
	}
	if s.id != "" && (strings.HasPrefix(s.id, ".") || strings.ContainsFunc(s.id, func(c rune) bool { return !idChar(c) }) || len(s.id) > 120) {
		return usageError("-id %q: want at most 120 characters from [A-Za-z0-9._-], not starting with a dot", s.id)
	}
	if s.release != "" && !validReleaseID(s.release) {
		return usageError("-release %q: want a release ID, at most 150 characters from [A-Za-z0-9._-], not starting with a dot", s.release)
	}
	for name, u := range map[string]string{"webhook": s.webhook, "slack-webhook": s.slackWebhook} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			// The URL carries a secret: never print it.
			return usageError("-%s is not an http(s) URL", name)
		}
	}
	if !(s.load >= 0) || math.IsInf(s.load, 0) {
		return usageError("-load %v: want requests per second ≥ 0", s.load)
	}
	if !(s.simulateErrorRate >= 0 && s.simulateErrorRate <= 1) {
		return usageError("-simulate-error-rate %v: want a share in 0..1", s.simulateErrorRate)
	}
	if s.cmd == "status" && s.entries < 0 {
		return usageError("-entries %d is negative", s.entries)
	}
	if s.cmd == "publish" || s.cmd == "release" {
		if err := s.buildPublish(); err != nil {
			return err
		}
	}
	if s.cmd == "release" || s.cmd == "promote" {
		if err := s.buildStrategy(); err != nil {
			return err
		}
	}
	if s.cmd == "resume" {
		if err := s.checkErrorRate(); err != nil {
			return err
		}
	}
	if s.cmd == "release" || s.cmd == "promote" || s.cmd == "prune" || s.cmd == "resume" {
		if s.keepLast < 0 || s.keepWithin < 0 {
			return usageError("-keep-last and -keep-within must not be negative")
		}
		if s.keepLast > 0 || s.keepWithin > 0 {
			s.retention = &retention.Policy{KeepLast: s.keepLast, KeepWithin: s.keepWithin}
			if err := s.retention.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
		} else if s.cmd == "prune" {
			return usageError("prune needs a policy: -keep-last N and/or -keep-within D")
		}
	}
	return nil
}

// buildPublish reads the artifact and the commits and builds the publish
// request.
func (s *settings) buildPublish() error {
	var req release.PublishRequest
	switch {
	case s.packageURL != "" && (s.zip != "" || s.code != "" || s.providerKey != "azure"):
		return usageError("-package-url is the azure provider's artifact, instead of -zip and -code")
	case s.packageURL != "":
		req.Artifact.URI = s.packageURL
	case s.zip != "" && s.code != "":
		return usageError("give one of -zip and -code, not both")
	case s.zip != "":
		b, err := os.ReadFile(s.zip)
		if err != nil {
			return usageError("-zip: %v", err)
		}
		req.Artifact.Zip = b
	case s.code != "":
		req.Artifact.Zip = []byte(s.code)
	default:
		return usageError("%s needs the artifact: -zip PATH (or -code TEXT with the memory provider, -package-url URL with azure)", s.cmd)
	}
	if s.memoryMB < 0 || s.timeout < 0 {
		return usageError("-memory-mb and -timeout must not be negative")
	}
	req.Config = s.configOver(provider.Config{})
	req.Commit = s.commit
	req.Prerelease = s.prerelease
	if s.level != "" {
		l, err := semver.ParseLevel(s.level)
		if err != nil {
			return usageError("-level %q: want major, minor or patch", s.level)
		}
		req.Level = &l
	}
	if s.semverText != "" {
		v, err := semver.ParseTolerant(s.semverText)
		if err != nil {
			return usageError("-semver: %v", err)
		}
		req.Semver = &v
	}
	if s.commitsFile != "" {
		b, err := os.ReadFile(s.commitsFile)
		if err != nil {
			return usageError("-commits-file: %v", err)
		}
		req.Commits = splitCommits(b)
		if len(req.Commits) > 0 {
			s.releaseCommit, _, _ = strings.Cut(req.Commits[0], "\n")
		}
	}
	if req.Semver == nil && req.Level == nil && s.commitsFile == "" {
		return usageError("%s needs a version: -level, -semver or -commits-file", s.cmd)
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	s.publish = req
	return nil
}

// configOver returns base with the configuration flags given applied.
func (s *settings) configOver(base provider.Config) provider.Config {
	if s.set["runtime"] {
		base.Runtime = s.runtime
	}
	if s.set["handler"] {
		base.Handler = s.handler
	}
	if s.set["memory-mb"] {
		base.MemoryMB = s.memoryMB
	}
	if s.set["timeout"] {
		base.Timeout = s.timeout
	}
	return base
}

// splitCommits reads commit messages: NUL-separated whole messages when the
// text has a NUL (git log --format=%B%x00), else one subject per line.
func splitCommits(b []byte) []string {
	sep := []byte{'\n'}
	if bytes.IndexByte(b, 0) >= 0 {
		sep = []byte{0}
	}
	var out []string
	for part := range bytes.SplitSeq(b, sep) {
		if m := strings.TrimSpace(string(part)); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// buildStrategy builds the canary strategy: the preset, judged by the
// candidate's error rate relative to the stable version's and by the
// default, sequential judgement.
func (s *settings) buildStrategy() error {
	st, err := canary.Preset(s.strategyName)
	if err != nil {
		return usageError("-strategy %q: want one of %s", s.strategyName, strings.Join(canary.Presets(), ", "))
	}
	if err := s.checkErrorRate(); err != nil {
		return err
	}
	if len(st.Steps) > 0 && st.Steps[0].Weight < provider.AllTraffic {
		// All at once leaves no stable share to compare with: no check.
		// The error-rate rule of the flags, then the default judgement
		// (canary.DefaultAnalysis: sequential error-rate and p99 tests at
		// a 5% false-rollback rate over the whole rollout).
		st.Analysis.Checks = append([]canary.CheckSpec{{Name: errorRateCheck, Check: s.errorRate()}}, canary.DefaultAnalysis().Checks...)
	}
	s.strategy = st
	return nil
}

// errorRateCheck is the name of the canary's check, in the strategy and in
// a stored rollout state.
const errorRateCheck = "error rate"

func (s *settings) checkErrorRate() error {
	if !(s.errorRateFactor > 0) || math.IsInf(s.errorRateFactor, 0) || !(s.errorRateSlack >= 0 && s.errorRateSlack <= 1) {
		return usageError("-error-rate-factor must be > 0 and -error-rate-slack in 0..1")
	}
	return nil
}

// errorRate is the check: the candidate's error rate against the stable
// version's.
func (s *settings) errorRate() canary.Check {
	return canary.Relative{Metric: canary.ErrorRate, Factor: s.errorRateFactor, Slack: s.errorRateSlack}
}

// checks are the checks a resumed rollout finds by name.
func (s *settings) checks() map[string]canary.Check {
	checks := canary.DefaultChecks()
	checks[errorRateCheck] = s.errorRate()
	return checks
}

// paths of the state directory's files.
func (s *settings) statePath() string   { return filepath.Join(s.stateDir, "state.json") }
func (s *settings) journalPath() string { return filepath.Join(s.stateDir, "journal.jsonl") }
func (s *settings) storeDir() string    { return filepath.Join(s.stateDir, "rollouts") }

// printUsage prints the command's help.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: slipway-ci <subcommand> [flags]\n\nsubcommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c[0], c[1])
	}
	fmt.Fprint(w, "\nEvery flag falls back to an environment variable (SLIPWAY_FUNCTION, SLIPWAY_STATE_DIR, …);\n"+
		"run slipway-ci <subcommand> -h for its flags.\n")
	fmt.Fprint(w, exitCodesText)
}

const exitCodesText = `
exit codes:
  0  done: published, promoted, unchanged, rolled back on request (rollback, abort), nothing to resume, pruned, status printed
  1  error: the platform, the journal, a refused or failed release
  2  usage: invalid flags or environment (nothing was called or written)
  3  the canary rolled back (promote, release, resume): production is on the previous version (checks failed, or interrupted)
  4  status -fail-on-drift found routes changed behind the journal's back
`
