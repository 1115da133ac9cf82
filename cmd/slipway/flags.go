package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
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
	// getenv is the process environment (secrets named by the file).
	getenv func(string) string

	// Every subcommand.
	function         string
	providerKey      string // a row of providerKinds
	project          string // Google Cloud project (gcprun)
	region           string
	stateURL         string // where the journal, the rollout states and leases live
	configPath       string
	force            bool
	leaseTTL         time.Duration
	watch            bool
	failOnUnfinished bool
	cfg              *config // the config file, nil without one
	seed             int64
	resolution       time.Duration
	wait             time.Duration
	realTime         bool
	staging          string
	production       string
	summaryFile      string // $GITHUB_STEP_SUMMARY
	outputFile       string // $GITHUB_OUTPUT

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

	// The release steps (stepscfg.go): the contract and the input schemas
	// (publish, release), synthetic traffic (release, promote; resume continues with the release's), the
	// drill's probe and window (drill; its alias is alias).
	contractEvents, contractSchema string
	schemaFile, previousSchemaFile string
	syntheticPerMinute             float64
	probe                          string
	window                         time.Duration
	schema                         *release.InputSchema      // built from the files above
	contract                       *release.Contract         // built from the files above
	synthetic                      *release.SyntheticTraffic // built from the rate and the file's payload

	set            map[string]bool // the flags given, on the command line, by the environment or the config file
	givenNotByFile map[string]bool // the flags given on the command line or by the environment
}

// register defines the flags of s.cmd.
func (s *settings) register(c *cli) {
	c.str(&s.function, "function", "", "name of the function (required)", "SLIPWAY_FUNCTION")
	c.str(&s.providerKey, "provider", "memory", "platform: "+strings.Join(providerNames(), ", ")+" (memory: a simulated one, its state next to the journal)", "SLIPWAY_PROVIDER")
	c.str(&s.region, "region", "", "AWS region (awslambda; else the AWS configuration's) or Cloud Run location (gcprun, required)", "SLIPWAY_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
	c.str(&s.project, "project", "", "Google Cloud project (gcprun only, required)", "SLIPWAY_PROJECT", "GOOGLE_CLOUD_PROJECT")
	c.str(&s.subscription, "subscription", "", "Azure subscription ID (azurefunc only)", "SLIPWAY_AZURE_SUBSCRIPTION", "AZURE_SUBSCRIPTION_ID")
	c.str(&s.resourceGroup, "resource-group", "", "Azure resource group of the function app (azurefunc only)", "SLIPWAY_AZURE_RESOURCE_GROUP")
	c.str(&s.stateURL, "state", ".slipway", "where the journal, rollout states and leases live: a directory or file://, s3://, gs://, azblob://, mem:// URL", "SLIPWAY_STATE", "SLIPWAY_STATE_DIR")
	c.duration(&s.leaseTTL, "lease-ttl", defaultLeaseTTL, "a canary's driver renews its lease every third of this; a lease not renewed for longer is stale (its process crashed)", "SLIPWAY_LEASE_TTL")
	c.duration(&s.resolution, "resolution", time.Minute, "memory provider: its metrics resolution (1s rehearses a canary in seconds with --real-time; keep it the same across steps)", "SLIPWAY_MEMORY_RESOLUTION")
	c.int64(&s.seed, "seed", 1, "seed of the memory provider's simulated traffic (keep it the same across steps)", "SLIPWAY_SEED")
	c.boolean(&s.realTime, "real-time", "wait in real time; the memory provider runs in virtual time by default (the aws provider always runs in real time)", "SLIPWAY_REAL_TIME")
	c.str(&s.staging, "staging", "staging", "staging alias", "SLIPWAY_STAGING_ALIAS")
	c.str(&s.production, "production", "production", "production alias", "SLIPWAY_PRODUCTION_ALIAS")
	c.str(&s.summaryFile, "summary-file", "", "append the Markdown summary to this file", "SLIPWAY_SUMMARY_FILE", "GITHUB_STEP_SUMMARY")
	c.str(&s.outputFile, "output-file", "", "append step outputs (name=value lines) to this file", "SLIPWAY_OUTPUT_FILE", "GITHUB_OUTPUT")
	if s.cmd == "status" {
		c.integer(&s.entries, "entries", 10, "how many of the last journal entries to print", "SLIPWAY_STATUS_ENTRIES")
		c.boolean(&s.failOnDrift, "fail-on-drift", "exit 4 when a route is not as the journal left it", "SLIPWAY_FAIL_ON_DRIFT")
		c.boolean(&s.failOnUnfinished, "fail-on-unfinished", "exit 6 when a canary is unfinished (a killed job's, or one being driven)", "SLIPWAY_FAIL_ON_UNFINISHED")
		c.boolean(&s.watch, "watch", "keep printing the status: a live view on a terminal, a line per change otherwise", "SLIPWAY_WATCH")
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
	if s.cmd == "drill" {
		c.float(&s.load, "load", 50, "memory provider: requests per second arriving at production (staging gets a tenth), judged by the drill's checks", "SLIPWAY_LOAD")
	}
	if s.cmd == "publish" || s.cmd == "release" || s.cmd == "promote" || s.cmd == "resume" {
		c.float(&s.load, "load", 50, "memory provider: requests per second arriving at production (staging gets a tenth)", "SLIPWAY_LOAD")
		c.float(&s.simulateErrorRate, "simulate-error-rate", 0, "memory provider: the candidate fails this share of its invocations (0..1), to rehearse a rollback", "SLIPWAY_SIMULATE_ERROR_RATE")
	}
	if s.cmd == "publish" || s.cmd == "release" {
		c.str(&s.zip, "zip", "", "deployment package (.zip) to publish", "SLIPWAY_ZIP")
		c.str(&s.code, "code", "", "memory provider: the code to publish, as text (instead of -zip)", "SLIPWAY_CODE")
		c.str(&s.packageURL, "package-url", "", "azurefunc provider: https URL of the uploaded .zip the app can read (instead of --zip)", "SLIPWAY_PACKAGE_URL")
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
	if s.cmd == "publish" || s.cmd == "release" {
		c.str(&s.schemaFile, "schema", "", "the candidate's input JSON Schema file: with --previous-schema, a breaking change makes the bump MAJOR (the reason is journaled); it validates the contract's events", "SLIPWAY_SCHEMA")
		c.str(&s.previousSchemaFile, "previous-schema", "", "the input JSON Schema file of the last release, compared with --schema", "SLIPWAY_PREVIOUS_SCHEMA")
		c.str(&s.contractEvents, "contract", "", "replay the recorded events matching this file pattern (NAME.json, optional NAME.expect.json) against the candidate before any production traffic", "SLIPWAY_CONTRACT")
		c.str(&s.contractSchema, "contract-schema", "", "validate the contract's events against this JSON Schema file (default: --schema)", "SLIPWAY_CONTRACT_SCHEMA")
	}
	if syntheticCommand(s.cmd) {
		c.float(&s.syntheticPerMinute, "synthetic-per-minute", 0, "invoke the candidate and the stable version this many times a minute each during the canary's windows, counted apart from organic traffic (0: none)", "SLIPWAY_SYNTHETIC_PER_MINUTE")
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
	if s.cmd == "promote" || s.cmd == "release" || s.cmd == "resume" {
		c.duration(&s.wait, "wait", 0, "when another process drives the production canary, wait this long for it to finish (runs queue instead of failing with exit 5)", "SLIPWAY_WAIT")
	}
	switch s.cmd {
	case "publish", "release":
		c.boolean(&s.force, "force", "publish a semantic version below the highest released one, or re-promote a version that was rolled back (journaled as forced)", "SLIPWAY_FORCE")
	case "promote":
		c.boolean(&s.force, "force", "promote a version that was rolled back from production before (journaled as forced)", "SLIPWAY_FORCE")
	}
	switch s.cmd {
	case "rollback":
		c.str(&s.alias, "alias", "", "alias to roll back (default the production alias)", "SLIPWAY_ALIAS")
		c.str(&s.to, "to", "", "version ID to restore (default the journal's previous good version)", "SLIPWAY_ROLLBACK_TO")
	case "prune":
		c.boolean(&s.dryRun, "dry-run", "print the plan, delete nothing", "SLIPWAY_DRY_RUN")
	case "drill":
		c.str(&s.alias, "alias", "", "stage alias to drill (default the staging alias)", "SLIPWAY_DRILL_ALIAS")
		c.str(&s.probe, "probe", "", "JSON payload invoked on the alias once it is on the rollback point; it must succeed there", "SLIPWAY_DRILL_PROBE")
		c.duration(&s.window, "window", 0, "length of the window of the drill's checks (default 1m)", "SLIPWAY_DRILL_WINDOW")
	case "abort":
		c.boolean(&s.requestOnly, "request-only", "only record the abort in the rollout store, for a process still driving the canary from this state directory (it rolls back within 10s); production may still be split when abort exits", "SLIPWAY_ABORT_REQUEST_ONLY")
	}
}

// defaultLeaseTTL is how long a canary driver's lease lasts without a
// renewal (--lease-ttl); it is renewed every third of it.
const defaultLeaseTTL = time.Minute

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
		return usageError("--function (or SLIPWAY_FUNCTION) is required")
	}
	switch s.providerKey = canonicalProvider(s.providerKey); s.providerKey {
	case "memory":
		if strings.ContainsAny(s.function, "/\\") {
			return usageError("--function %q: the memory provider wants a plain name", s.function)
		}
	case "awslambda", "gcprun", "azurefunc":
		if s.providerKey == "azurefunc" && (s.subscription == "" || s.resourceGroup == "") {
			return usageError("--provider azurefunc needs --subscription (or AZURE_SUBSCRIPTION_ID) and --resource-group")
		}
		// Flags only the memory provider understands.
		for _, name := range []string{"load", "simulate-error-rate", "code", "seed", "resolution"} {
			if s.set[name] {
				return usageError("--%s works with the memory provider only", name)
			}
		}
		s.realTime = true
	default:
		return usageError("--provider %q: want one of %s", s.providerKey, strings.Join(providerNames(), ", "))
	}
	if k, ok := providerByName(s.providerKey); ok {
		// The step keys the provider cannot carry out, before anything
		// is opened.
		if err := s.cfg.checkPowers(k.typ, s.cmd); err != nil {
			return err
		}
	}
	if s.providerKey == "gcprun" && s.project == "" {
		return usageError("--provider gcprun needs a project: --project, SLIPWAY_PROJECT, GOOGLE_CLOUD_PROJECT or the config file's project")
	}
	if s.providerKey == "gcprun" && s.region == "" {
		return usageError("--provider gcprun needs a location: --region, SLIPWAY_REGION or the config file's region (e.g. us-central1)")
	}
	if s.stateURL == "" {
		return usageError("--state is empty")
	}
	if s.resolution < time.Second || s.resolution%time.Second != 0 {
		return usageError("--resolution %v: want whole seconds, at least 1s", s.resolution)
	}
	if s.leaseTTL < time.Second {
		return usageError("--lease-ttl %v: want at least 1s", s.leaseTTL)
	}
	for name, alias := range map[string]string{"staging": s.staging, "production": s.production, "alias": s.alias} {
		if strings.ContainsAny(alias, " \t\n/") || (alias == "" && name != "alias") {
			return usageError("--%s %q is not an alias name", name, alias)
		}
	}
	if s.staging == s.production {
		return usageError("--staging and --production are both %q", s.staging)
	}
	if s.id != "" && (strings.HasPrefix(s.id, ".") || strings.ContainsFunc(s.id, func(c rune) bool { return !idChar(c) }) || len(s.id) > 120) {
		return usageError("--id %q: want at most 120 characters from [A-Za-z0-9._-], not starting with a dot", s.id)
	}
	if s.release != "" && !validReleaseID(s.release) {
		return usageError("--release %q: want a release ID, at most 150 characters from [A-Za-z0-9._-], not starting with a dot", s.release)
	}
	for name, u := range map[string]string{"webhook": s.webhook, "slack-webhook": s.slackWebhook} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			// The URL carries a secret: never print it.
			return usageError("--%s is not an http(s) URL", name)
		}
	}
	if !(s.load >= 0) || math.IsInf(s.load, 0) {
		return usageError("--load %v: want requests per second ≥ 0", s.load)
	}
	if !(s.simulateErrorRate >= 0 && s.simulateErrorRate <= 1) {
		return usageError("--simulate-error-rate %v: want a share in 0..1", s.simulateErrorRate)
	}
	if s.cmd == "status" && s.entries < 0 {
		return usageError("--entries %d is negative", s.entries)
	}
	if err := s.buildSteps(); err != nil {
		return err
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
			return usageError("--keep-last and --keep-within must not be negative")
		}
		if s.keepLast > 0 || s.keepWithin > 0 {
			s.retention = &retention.Policy{KeepLast: s.keepLast, KeepWithin: s.keepWithin}
			if err := s.retention.Validate(); err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
		} else if s.cmd == "prune" {
			return usageError("prune needs a policy: --keep-last N and/or --keep-within D")
		}
	}
	return nil
}

// buildPublish reads the artifact and the commits and builds the publish
// request.
func (s *settings) buildPublish() error {
	var req release.PublishRequest
	switch {
	case s.packageURL != "" && (s.zip != "" || s.code != "" || s.providerKey != "azurefunc"):
		return usageError("--package-url is the azurefunc provider's artifact, instead of --zip and --code")
	case s.packageURL != "":
		req.Artifact.URI = s.packageURL
	case s.zip != "" && s.code != "":
		return usageError("give one of --zip and --code, not both")
	case s.zip != "":
		b, err := os.ReadFile(s.zip)
		if err != nil {
			return usageError("--zip: %v", err)
		}
		req.Artifact.Zip = b
	case s.code != "":
		req.Artifact.Zip = []byte(s.code)
	default:
		return usageError("%s needs the artifact: --zip PATH (or --code TEXT with the memory provider, --package-url URL with azurefunc)", s.cmd)
	}
	if s.memoryMB < 0 || s.timeout < 0 {
		return usageError("--memory-mb and --timeout must not be negative")
	}
	req.Config = s.configOver(provider.Config{})
	req.Commit = s.commit
	req.Prerelease = s.prerelease
	if s.level != "" {
		l, err := semver.ParseLevel(s.level)
		if err != nil {
			return usageError("--level %q: want major, minor or patch", s.level)
		}
		req.Level = &l
	}
	if s.semverText != "" {
		v, err := semver.ParseTolerant(s.semverText)
		if err != nil {
			return usageError("--semver: %v", err)
		}
		req.Semver = &v
	}
	if s.commitsFile != "" {
		b, err := os.ReadFile(s.commitsFile)
		if err != nil {
			return usageError("--commits-file: %v", err)
		}
		req.Commits = splitCommits(b)
		if len(req.Commits) > 0 {
			s.releaseCommit, _, _ = strings.Cut(req.Commits[0], "\n")
		}
	}
	if s.schema != nil && req.Semver == nil {
		// --semver names the version: the schemas are not compared (the
		// candidate's still validates the contract's events).
		req.Schema = s.schema
	}
	if req.Semver == nil && req.Level == nil && s.commitsFile == "" && (req.Schema == nil || req.Schema.Previous == nil) {
		return usageError("%s needs a version: --level, --semver or --commits-file (or --schema with --previous-schema)", s.cmd)
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

// buildStrategy builds the canary strategy: the --strategy preset, or the
// config file's custom steps or blue/green (a --strategy flag or
// environment variable wins over the file), judged by the candidate's
// error rate relative to the stable version's the file's other checks and the default, sequential judgement
// (canary.DefaultAnalysis).
func (s *settings) buildStrategy() error {
	st, err := canary.Preset(s.strategyName)
	if err != nil {
		return usageError("--strategy %q: want one of %s", s.strategyName, strings.Join(canary.Presets(), ", "))
	}
	if s.cfg != nil && s.cfg.strategy != nil && !s.flagOrEnv("strategy") {
		st = *s.cfg.strategy
	}
	if err := s.checkErrorRate(); err != nil {
		return err
	}
	if s.cfg != nil {
		if s.cfg.file.Checks != nil {
			st.Analysis.FailureLimit = s.cfg.file.Checks.FailureLimit
		}
		if s.cfg.hooks.PreTraffic != nil {
			st.PreTraffic = &canary.HookSpec{Name: hookPreTraffic, Timeout: s.cfg.hookTO}
		}
		if s.cfg.hooks.PostTraffic != nil {
			st.PostTraffic = &canary.HookSpec{Name: hookPostTraffic, Timeout: s.cfg.hookTO}
		}
	}
	if len(st.Steps) > 0 && st.Steps[0].Weight < provider.AllTraffic || st.BlueGreen != nil {
		// All at once leaves no stable share to compare with: no check.
		// The error-rate rule, the default judgement (sequential error-rate
		// and p99 tests at a 5% false-rollback rate over the whole rollout),
		// then the config file's checks.
		st.Analysis.Checks = append([]canary.CheckSpec{{Name: errorRateCheck, Check: s.errorRate()}}, canary.DefaultAnalysis().Checks...)
		if s.cfg != nil {
			st.Analysis.Checks = append(st.Analysis.Checks, s.cfg.checks...)
		}
	}
	if err := st.Validate(provider.Capabilities{}); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	s.strategy = st
	return nil
}

// flagOrEnv reports whether name was given by a flag or the environment
// (not by the config file).
func (s *settings) flagOrEnv(name string) bool { return s.givenNotByFile[name] }

// errorRateCheck is the name of the canary's check, in the strategy and in
// a stored rollout state.
const errorRateCheck = "error rate"

func (s *settings) checkErrorRate() error {
	if !(s.errorRateFactor > 0) || math.IsInf(s.errorRateFactor, 0) || !(s.errorRateSlack >= 0 && s.errorRateSlack <= 1) {
		return usageError("--error-rate-factor must be > 0 and --error-rate-slack in 0..1")
	}
	return nil
}

// errorRate is the check: the candidate's error rate against the stable
// version's.
func (s *settings) errorRate() canary.Check {
	return canary.Relative{Metric: canary.ErrorRate, Factor: s.errorRateFactor, Slack: s.errorRateSlack}
}

// checks are the checks of a canary, by name: the error rate against the
// stable version's and the config file's; a resumed rollout finds them by
// name.
func (s *settings) checks() map[string]canary.Check {
	m := canary.DefaultChecks()
	m[errorRateCheck] = s.errorRate()
	if s.cfg != nil {
		for _, c := range s.cfg.checks {
			m[c.Name] = c.Check
		}
	}
	return m
}
