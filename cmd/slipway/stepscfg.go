package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// The release steps around the canary, as slipway.yaml names them (the
// JSON names of the release package's types): contract, publish.schema,
// synthetic, onRollback, lockDown, remap and drill. Paths in the file are
// relative to the file's directory; paths in flags to the working
// directory.

// contractCfg is release.ContractSource.
type contractCfg struct {
	Events string `yaml:"events"`
	Schema string `yaml:"schema"`
}

// publishCfg holds publish.schema, release.InputSchema by file.
type publishCfg struct {
	Schema *schemaCfg `yaml:"schema"`
}

type schemaCfg struct {
	Previous  string `yaml:"previous"`
	Candidate string `yaml:"candidate"`
}

// syntheticCfg is release.SyntheticTraffic.
type syntheticCfg struct {
	PerMinute float64   `yaml:"perMinute"`
	Payload   yaml.Node `yaml:"payload"`
}

// onRollbackCfg is release.RevertHook's command form.
type onRollbackCfg struct {
	Command []string `yaml:"command"`
	Dir     string   `yaml:"dir"`
	Timeout string   `yaml:"timeout"`
}

// drillCfg is release.DrillRequest (slipway drill).
type drillCfg struct {
	Alias  string    `yaml:"alias"`
	Probe  yaml.Node `yaml:"probe"`
	Checks []string  `yaml:"checks"`
	Window string    `yaml:"window"`
}

// lockDownCfg and remapCfg are release.LockDownOptions and
// release.RemapOptions: run after a promotion to production.
type lockDownCfg struct {
	DryRun      bool     `yaml:"dryRun"`
	OwnAccounts []string `yaml:"ownAccounts"`
}

type remapCfg struct {
	DryRun bool   `yaml:"dryRun"`
	Alias  string `yaml:"alias"`
}

// drillCheckName maps a name drill.checks accepts (a key of checks in the
// file) to the name of the check it configures. Only absolute checks: a
// drill's window has one version, nothing to compare with.
func drillCheckName(key string) (string, bool) {
	switch key {
	case "maxErrorRate":
		return "max error rate", true
	case "maxLatencyP99":
		return "p99 latency", true
	case "alarms":
		return alarmsCheckName, true
	}
	return "", false
}

// stepsConfig is what the file's step keys build.
type stepsConfig struct {
	syntheticPayload json.RawMessage
	revert           *revertCommand
	drillChecks      []string // check names (drillCheckNames' values)
	drillWindow      time.Duration
	// lines of the keys whose power the provider must have, 0 when absent.
	lockDownAt, remapAt, contractAt, syntheticAt, probeAt int
}

// buildSteps validates the step keys and fills c.steps and the flags the
// keys stand in for.
func (c *config) buildSteps(root *yaml.Node, bad func(string, ...any) func(...any) error, dur func(string, ...any) (time.Duration, error),
	set func(flag, value string, path ...any)) error {
	f := c.file
	dir := filepath.Dir(c.path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if a, err := filepath.Abs(filepath.Join(dir, p)); err == nil {
			return a
		}
		return filepath.Join(dir, p)
	}
	if ct := f.Contract; ct != nil {
		if ct.Events == "" {
			return bad("is empty: a pattern of recorded events (contract/*.json)", "contract", "events")()
		}
		if _, err := filepath.Match(ct.Events, ""); err != nil {
			return bad("%q is not a file pattern: %v", "contract", "events")(ct.Events, err)
		}
		set("contract", abs(ct.Events), "contract", "events")
		set("contract-schema", abs(ct.Schema), "contract", "schema")
		c.steps.contractAt = keyLine(root, "contract")
	}
	if p := f.Publish; p != nil && p.Schema != nil {
		if p.Schema.Candidate == "" {
			return bad("is empty: the candidate's input JSON Schema file", "publish", "schema", "candidate")()
		}
		set("schema", abs(p.Schema.Candidate), "publish", "schema", "candidate")
		set("previous-schema", abs(p.Schema.Previous), "publish", "schema", "previous")
	}
	if sy := f.Synthetic; sy != nil {
		if !(sy.PerMinute > 0 && sy.PerMinute <= 1000) {
			return bad("%v is not a rate in (0, 1000] invocations per minute per version", "synthetic", "perMinute")(sy.PerMinute)
		}
		set("synthetic-per-minute", strconv.FormatFloat(sy.PerMinute, 'g', -1, 64), "synthetic", "perMinute")
		payload, err := nodeJSON(&sy.Payload)
		if err != nil {
			return bad("%v", "synthetic", "payload")(err)
		}
		c.steps.syntheticPayload = payload
		c.steps.syntheticAt = keyLine(root, "synthetic")
	}
	if h := f.OnRollback; h != nil {
		if len(h.Command) == 0 || h.Command[0] == "" {
			return bad("is empty: the command and its arguments", "onRollback", "command")()
		}
		if _, err := lookPath(h.Command[0], abs(h.Dir)); err != nil {
			return bad("command %q not found", "onRollback", "command", 0)(h.Command[0])
		}
		if h.Dir != "" {
			if fi, err := os.Stat(abs(h.Dir)); err != nil || !fi.IsDir() {
				return bad("%q is not a directory", "onRollback", "dir")(h.Dir)
			}
		}
		to, err := dur(h.Timeout, "onRollback", "timeout")
		if err != nil {
			return err
		}
		c.steps.revert = &revertCommand{Argv: h.Command, Dir: abs(h.Dir), Timeout: to, Secrets: c.secretEnvNames()}
	}
	if l := f.LockDown; l != nil {
		for i, a := range l.OwnAccounts {
			if a == "" || strings.ContainsAny(a, " \t\n") {
				return bad("%q is not an account ID", "lockDown", "ownAccounts", i)(a)
			}
		}
		c.steps.lockDownAt = keyLine(root, "lockDown")
	}
	if r := f.Remap; r != nil {
		if r.Alias != "" {
			if err := provider.CheckName("remap.alias", r.Alias); err != nil || strings.ContainsAny(r.Alias, " \t\n/") {
				return bad("%q is not an alias name", "remap", "alias")(r.Alias)
			}
		}
		c.steps.remapAt = keyLine(root, "remap")
	}
	if d := f.Drill; d != nil {
		if d.Alias != "" {
			if strings.ContainsAny(d.Alias, " \t\n/") {
				return bad("%q is not an alias name", "drill", "alias")(d.Alias)
			}
			set("alias", d.Alias, "drill", "alias")
		}
		probe, err := nodeJSON(&d.Probe)
		if err != nil {
			return bad("%v", "drill", "probe")(err)
		}
		if probe != nil {
			set("probe", string(probe), "drill", "probe")
			c.steps.probeAt = line(root, "drill", "probe")
		}
		for i, name := range d.Checks {
			check, ok := drillCheckName(name)
			if !ok {
				return bad("%q is not a check a drill can judge: want maxErrorRate, maxLatencyP99 or alarms (absolute checks: a drill's window has no stable version to compare with)", "drill", "checks", i)(name)
			}
			if !c.configures(name) {
				return bad("%q: checks.%s is not set", "drill", "checks", i)(name, name)
			}
			c.steps.drillChecks = append(c.steps.drillChecks, check)
		}
		w, err := dur(d.Window, "drill", "window")
		if err != nil {
			return err
		}
		if d.Window != "" && w == 0 {
			return bad("is zero", "drill", "window")()
		}
		c.steps.drillWindow = w
		set("window", d.Window, "drill", "window")
	}
	return nil
}

// keyLine is the line of a top-level key of root.
func keyLine(root *yaml.Node, key string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// configures reports whether the file's checks set the key of checks.
func (c *config) configures(key string) bool {
	ch := c.file.Checks
	if ch == nil {
		return false
	}
	switch key {
	case "maxErrorRate":
		return ch.MaxErrorRate != nil
	case "maxLatencyP99":
		return ch.MaxLatencyP99 != ""
	case "alarms":
		return ch.Alarms != nil
	}
	return false
}

// secretEnvNames are the environment variables the file names as holding
// secrets (the notifiers').
func (c *config) secretEnvNames() []string {
	n := c.file.Notify
	if n == nil {
		return nil
	}
	var out []string
	if n.PagerDuty != nil {
		out = append(out, n.PagerDuty.RoutingKeyEnv)
	}
	if n.Teams != nil {
		out = append(out, n.Teams.WebhookURLEnv)
	}
	if n.Slack != nil {
		out = append(out, n.Slack.TokenEnv)
	}
	return out
}

// nodeJSON is a YAML value as JSON; nil for an absent one.
func nodeJSON(n *yaml.Node) (json.RawMessage, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON: %v", err)
	}
	return b, nil
}

// lookPath finds a command as exec.Command would, a relative path with a
// slash resolved from dir.
func lookPath(name, dir string) (string, error) {
	if strings.Contains(name, "/") && !filepath.IsAbs(name) && dir != "" {
		name = filepath.Join(dir, name)
	}
	return exec.LookPath(name)
}

// checkPowers refuses, with the file's line, the step keys the provider
// cannot carry out in command cmd, before anything is written to it.
func (c *config) checkPowers(p provider.Provider, cmd string) error {
	if c == nil {
		return nil
	}
	f, st := c.file, c.steps
	afterPromotion := afterPromotionCommand(cmd)
	need := func(at int, field, what string, ok bool) error {
		if ok || at == 0 {
			return nil
		}
		return configError(c.path, at, field, "the provider cannot %s (set it only for a provider that can, e.g. memory or awslambda)", what)
	}
	_, invoker := p.(provider.Invoker)
	_, reader := p.(provider.PermissionReader)
	_, remover := p.(provider.PermissionRemover)
	_, lister := p.(provider.EventSourceLister)
	_, updater := p.(provider.EventSourceUpdater)
	if afterPromotion && f.LockDown != nil {
		if err := need(st.lockDownAt, "lockDown", "read invoke permissions", reader); err != nil {
			return err
		}
		if err := need(st.lockDownAt, "lockDown", "remove invoke permissions (dryRun: true only plans)", remover || f.LockDown.DryRun); err != nil {
			return err
		}
	}
	if afterPromotion && f.Remap != nil {
		if err := need(st.remapAt, "remap", "list event sources", lister); err != nil {
			return err
		}
		if err := need(st.remapAt, "remap", "update event sources (dryRun: true only plans)", updater || f.Remap.DryRun); err != nil {
			return err
		}
	}
	if (cmd == "publish" || cmd == "release") && f.Contract != nil {
		if err := need(st.contractAt, "contract", "invoke a version (replay)", invoker); err != nil {
			return err
		}
	}
	if syntheticCommand(cmd) && f.Synthetic != nil {
		if err := need(st.syntheticAt, "synthetic", "invoke a version (synthetic traffic)", invoker); err != nil {
			return err
		}
	}
	if cmd == "drill" && st.probeAt > 0 {
		if err := need(st.probeAt, "drill.probe", "invoke an alias (probe)", invoker); err != nil {
			return err
		}
	}
	return nil
}

// afterPromotionCommand reports whether cmd may promote to the production
// alias (lock-down, remap and synthetic traffic apply to it);
// rollbackCommand whether it may roll production back (the revert hook).
// Publish's workflow has the staging alias as its "production": none of
// them applies to it.
func afterPromotionCommand(cmd string) bool {
	return cmd == "release" || cmd == "promote" || cmd == "resume"
}

// syntheticCommand reports whether cmd's canary takes the file's
// synthetic traffic: release and promote (Workflow.Resume continues with
// the setting the release journaled).
func syntheticCommand(cmd string) bool { return cmd == "release" || cmd == "promote" }

func rollbackCommand(cmd string) bool {
	return afterPromotionCommand(cmd) || cmd == "abort" || cmd == "rollback"
}

// applySteps puts the step options the subcommand uses into opts.
func (s *settings) applySteps(opts *release.Options) {
	if syntheticCommand(s.cmd) && s.synthetic != nil {
		opts.Synthetic = s.synthetic
	}
	if s.cfg == nil {
		return
	}
	if afterPromotionCommand(s.cmd) {
		if l := s.cfg.file.LockDown; l != nil {
			opts.LockDown = &release.LockDownOptions{DryRun: l.DryRun, OwnAccounts: l.OwnAccounts}
		}
		if r := s.cfg.file.Remap; r != nil {
			opts.Remap = &release.RemapOptions{DryRun: r.DryRun, Alias: r.Alias}
		}
	}
	if rollbackCommand(s.cmd) && s.cfg.steps.revert != nil {
		opts.OnRollback = s.cfg.steps.revert.hook()
	}
}

// origin names where a setting came from, for an error: the file's
// file:line: field, or the flag.
func (s *settings) origin(flag string) string {
	if s.cfg != nil && !s.flagOrEnv(flag) {
		if v, ok := s.cfg.flags[flag]; ok {
			return fmt.Sprintf("%s:%d: %s", s.cfg.path, v.line, v.field)
		}
	}
	return "--" + flag
}

// buildSteps reads the contract and the schemas the settings name and
// builds the synthetic traffic and the drill, so that a missing file or a
// bad value fails with exit 2 before anything is called.
func (s *settings) buildSteps() error {
	if s.cmd == "publish" || s.cmd == "release" {
		if s.schemaFile == "" && s.previousSchemaFile != "" {
			return usageError("%s: needs the candidate's schema too (--schema or publish.schema.candidate)", s.origin("previous-schema"))
		}
		if s.schemaFile != "" {
			sch := &release.InputSchema{}
			var err error
			if sch.Candidate, err = os.ReadFile(s.schemaFile); err != nil {
				return usageError("%s: %v", s.origin("schema"), err)
			}
			if s.previousSchemaFile != "" {
				if sch.Previous, err = os.ReadFile(s.previousSchemaFile); err != nil {
					return usageError("%s: %v", s.origin("previous-schema"), err)
				}
			}
			if err := sch.Validate(); err != nil {
				field := "schema"
				if ie := (*provider.InvalidError)(nil); errors.As(err, &ie) && ie.Field == "schema.previous" {
					field = "previous-schema"
				}
				return usageError("%s: %v", s.origin(field), err)
			}
			s.schema = sch
		}
		if s.contractSchema != "" && s.contractEvents == "" {
			return usageError("%s: needs the events too (--contract or contract.events)", s.origin("contract-schema"))
		}
		if s.contractEvents != "" {
			c, err := loadContract(s.contractEvents, s.contractSchema)
			if err != nil {
				what := "contract"
				ie := (*provider.InvalidError)(nil)
				if errors.Is(err, fs.ErrNotExist) && s.contractSchema != "" && strings.Contains(err.Error(), "contract schema") ||
					errors.As(err, &ie) && ie.What == "contract" && ie.Field == "schema" {
					what = "contract-schema"
				}
				return usageError("%s: %v", s.origin(what), err)
			}
			s.contract = &c
		}
	}
	if syntheticCommand(s.cmd) && s.syntheticPerMinute != 0 {
		syn := &release.SyntheticTraffic{PerMinute: s.syntheticPerMinute}
		if s.cfg != nil {
			syn.Payload = s.cfg.steps.syntheticPayload
		}
		if err := syn.Validate(); err != nil {
			return usageError("%s: %v", s.origin("synthetic-per-minute"), err)
		}
		s.synthetic = syn
	}
	if s.cmd == "drill" {
		if s.probe != "" && !json.Valid([]byte(s.probe)) {
			return usageError("%s: not JSON", s.origin("probe"))
		}
		if s.window < 0 {
			return usageError("%s: %v is negative", s.origin("window"), s.window)
		}
		var checks []string
		if s.cfg != nil {
			checks = s.cfg.steps.drillChecks
		}
		if s.probe == "" && len(checks) == 0 {
			return usageError("drill needs a verification: --probe JSON, drill.probe or drill.checks in the config file")
		}
		if len(checks) > 0 && s.window > 0 && s.window%s.resolution != 0 && s.providerKey == "memory" {
			return usageError("%s: %v is not a multiple of the memory provider's resolution %v", s.origin("window"), s.window, s.resolution)
		}
	}
	return nil
}

// loadContract reads the events matching pattern (a file pattern; relative
// to the working directory unless absolute) and the schema file.
func loadContract(pattern, schema string) (release.Contract, error) {
	abs, err := filepath.Abs(pattern)
	if err != nil {
		return release.Contract{}, err
	}
	// fs.Glob wants an unrooted pattern: glob from the root.
	root := filepath.VolumeName(abs) + string(filepath.Separator)
	rel := filepath.ToSlash(strings.TrimPrefix(abs, root))
	src := release.ContractSource{Events: rel}
	if schema != "" {
		sa, err := filepath.Abs(schema)
		if err != nil {
			return release.Contract{}, err
		}
		src.Schema = filepath.ToSlash(strings.TrimPrefix(sa, root))
	}
	return src.Load(os.DirFS(root))
}

// drillRequest is the drill the settings ask for.
func (s *settings) drillRequest() release.DrillRequest {
	req := release.DrillRequest{Function: s.function, Alias: s.alias, ID: s.releaseID(), Actor: s.actor, Reason: s.reason, Window: s.window}
	if s.probe != "" {
		req.Probe = json.RawMessage(s.probe)
	}
	if s.cfg != nil {
		req.Checks = s.cfg.steps.drillChecks
	}
	return req
}

// drillChecks are the checks a drill names, by name.
func (s *settings) drillChecks(alarms *canary.CheckSpec) map[string]canary.Check {
	m := map[string]canary.Check{}
	if s.cfg == nil {
		return m
	}
	for _, c := range s.cfg.checks {
		m[c.Name] = c.Check
	}
	if alarms != nil {
		m[alarms.Name] = alarms.Check
	}
	return m
}
