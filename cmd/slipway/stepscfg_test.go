package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// The input schemas and recorded events of the step tests: the candidate
// (v2) requires customerId, which the event recorded before it lacks.
const (
	schemaV1 = `{"type":"object","properties":{"orderId":{"type":"string"}},"required":["orderId"]}`
	schemaV2 = `{"type":"object","properties":{"orderId":{"type":"string"},"customerId":{"type":"string"}},"required":["orderId","customerId"]}`
	eventOld = `{"orderId":"o-1"}`
)

// stepFiles writes the schemas and the contract under dir.
func stepFiles(t *testing.T, dir string) {
	t.Helper()
	for name, body := range map[string]string{
		"schema/v1.json":                    schemaV1,
		"schema/v2.json":                    schemaV2,
		"contract/order-v1.json":            eventOld,
		"contract/order-v1.expect.json":     `{"status":200}`,
		"contract/order-v2.json":            `{"orderId":"o-2","customerId":"c-9"}`,
		"other/order.json":                  `{"orderId":"o-3","customerId":"c-1"}`,
		"contract-bad/broken.json":          `{"orderId":`,
		"schema/broken.json":                `{"type":"object","required":7}`,
		"infra/revert.sh":                   "#!/bin/sh\necho revert\n",
		"contract-expect-bad/e.json":        `{}`,
		"contract-expect-bad/e.expect.json": `{"status":"ok"}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// prepared runs the flag, environment and file fallbacks of subcommand cmd
// over the config doc (written as dir/slipway.yaml), as a run would before
// opening anything.
func prepared(t *testing.T, dir, cmd, doc string, env map[string]string, args ...string) (*settings, error) {
	t.Helper()
	path := filepath.Join(dir, "slipway.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &settings{cmd: cmd}
	c := &cli{envs: map[string][]string{}, fs: pflag.NewFlagSet(cmd, pflag.ContinueOnError)}
	c.str(&s.configPath, "config", "", "config file", "SLIPWAY_CONFIG")
	s.register(c)
	if err := c.fs.Parse(append([]string{"--config", path, "--function", "checkout"}, args...)); err != nil {
		t.Fatal(err)
	}
	return s, s.prepare(c, func(k string) string { return env[k] })
}

// TestConfigSteps: each release-step key of slipway.yaml lands in its
// field of release.Options, release.Request or release.DrillRequest, for
// the subcommands that run the step; flags and the environment override
// the keys that have them.
func TestConfigSteps(t *testing.T) {
	dir := t.TempDir()
	stepFiles(t, dir)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	events := []release.RecordedEvent{
		{Name: "order-v1.json", Payload: json.RawMessage(eventOld), Expect: release.Expectation{Status: 200}},
		{Name: "order-v2.json", Payload: json.RawMessage(`{"orderId":"o-2","customerId":"c-9"}`)},
	}
	const publishArgs = "--code v2 --level patch"
	type got func(*settings, release.Options) any
	options := func(f func(release.Options) any) got { return func(_ *settings, o release.Options) any { return f(o) } }
	hookOf := func(o release.Options) any {
		if o.OnRollback == nil {
			return nil
		}
		return struct {
			Timeout time.Duration
			Command []string
			Func    bool
		}{o.OnRollback.Timeout, o.OnRollback.Command, o.OnRollback.Func != nil}
	}
	for _, tc := range []struct {
		name, cmd, doc string
		env            map[string]string
		args           string
		got            got
		want           any
	}{
		{"lockDown", "promote", "lockDown:\n  dryRun: true\n  ownAccounts: ['123456789012']\n", nil, "",
			options(func(o release.Options) any { return o.LockDown }), &release.LockDownOptions{DryRun: true, OwnAccounts: []string{"123456789012"}}},
		{"lockDown defaults", "release", "lockDown: {}\n", nil, publishArgs,
			options(func(o release.Options) any { return o.LockDown }), &release.LockDownOptions{}},
		{"lockDown not on publish", "publish", "lockDown: {}\n", nil, publishArgs,
			options(func(o release.Options) any { return o.LockDown }), (*release.LockDownOptions)(nil)},
		{"remap", "resume", "remap:\n  dryRun: true\n  alias: live\n", nil, "",
			options(func(o release.Options) any { return o.Remap }), &release.RemapOptions{DryRun: true, Alias: "live"}},
		{"remap not on publish", "publish", "remap: {}\n", nil, publishArgs,
			options(func(o release.Options) any { return o.Remap }), (*release.RemapOptions)(nil)},
		{"synthetic", "release", "synthetic:\n  perMinute: 20\n  payload: {synthetic: true, n: 1}\n", nil, publishArgs,
			options(func(o release.Options) any { return o.Synthetic }), &release.SyntheticTraffic{PerMinute: 20, Payload: json.RawMessage(`{"n":1,"synthetic":true}`)}},
		{"synthetic from the environment", "release", "synthetic:\n  perMinute: 20\n", map[string]string{"SLIPWAY_SYNTHETIC_PER_MINUTE": "2.5"}, publishArgs,
			options(func(o release.Options) any { return o.Synthetic }), &release.SyntheticTraffic{PerMinute: 2.5}},
		{"synthetic from a flag only", "release", "functions: [{name: checkout}]\n", nil, publishArgs + " --synthetic-per-minute 6",
			options(func(o release.Options) any { return o.Synthetic }), &release.SyntheticTraffic{PerMinute: 6}},
		{"synthetic not on resume", "resume", "synthetic:\n  perMinute: 20\n", nil, "",
			options(func(o release.Options) any { return o.Synthetic }), (*release.SyntheticTraffic)(nil)},
		{"synthetic on promote", "promote", "synthetic:\n  perMinute: 20\n", nil, "",
			options(func(o release.Options) any { return o.Synthetic }), &release.SyntheticTraffic{PerMinute: 20}},
		{"synthetic on promote from a flag", "promote", "functions: [{name: checkout}]\n", nil, "--synthetic-per-minute 4",
			options(func(o release.Options) any { return o.Synthetic }), &release.SyntheticTraffic{PerMinute: 4}},
		{"synthetic not on publish", "publish", "synthetic:\n  perMinute: 20\n", nil, publishArgs,
			options(func(o release.Options) any { return o.Synthetic }), (*release.SyntheticTraffic)(nil)},
		{"onRollback", "rollback", "onRollback:\n  command: [./revert.sh, apply]\n  dir: infra\n  timeout: 15m\n", nil, "",
			func(s *settings, _ release.Options) any { return s.cfg.steps.revert },
			&revertCommand{Argv: []string{"./revert.sh", "apply"}, Dir: filepath.Join(dir, "infra"), Timeout: 15 * time.Minute}},
		{"onRollback hook", "promote", "onRollback:\n  command: [sh, -c, 'exit 0']\n  timeout: 15m\n", nil, "", options(hookOf),
			struct {
				Timeout time.Duration
				Command []string
				Func    bool
			}{15 * time.Minute, nil, true}},
		{"onRollback secrets", "abort", "notifications:\n  slack: {channel: C1, tokenEnv: BOT}\nonRollback:\n  command: [sh]\n", nil, "",
			func(s *settings, _ release.Options) any { return s.cfg.steps.revert.Secrets }, []string{"BOT"}},
		{"onRollback not on publish", "publish", "onRollback:\n  command: [sh]\n", nil, publishArgs, options(hookOf), nil},
		{"contract", "release", "contract:\n  events: contract/*.json\n  schema: schema/v1.json\n", nil, publishArgs,
			func(s *settings, _ release.Options) any { return s.contract }, &release.Contract{Events: events, Schema: read("schema/v1.json")}},
		{"contract from a flag", "publish", "contract:\n  events: contract/*.json\n", nil, publishArgs + " --contract " + filepath.Join(dir, "other", "*.json"),
			func(s *settings, _ release.Options) any { return s.contract },
			&release.Contract{Events: []release.RecordedEvent{{Name: "order.json", Payload: json.RawMessage(`{"orderId":"o-3","customerId":"c-1"}`)}}}},
		{"publish.schema", "publish", "publish:\n  schema:\n    previous: schema/v1.json\n    candidate: schema/v2.json\n", nil, "--code v2",
			func(s *settings, _ release.Options) any { return s.publish.Schema }, &release.InputSchema{Previous: read("schema/v1.json"), Candidate: read("schema/v2.json")}},
		{"publish.schema from the environment", "release", "publish:\n  schema:\n    previous: schema/v1.json\n    candidate: schema/v2.json\n",
			map[string]string{"SLIPWAY_SCHEMA": filepath.Join(dir, "schema", "v1.json")}, "--code v2",
			func(s *settings, _ release.Options) any { return s.publish.Schema }, &release.InputSchema{Previous: read("schema/v1.json"), Candidate: read("schema/v1.json")}},
		{"publish.schema with --semver", "release", "publish:\n  schema:\n    previous: schema/v1.json\n    candidate: schema/v2.json\ncontract:\n  events: contract/order-v2.json\n", nil, "--code v2 --semver 2.0.0",
			func(s *settings, _ release.Options) any {
				return []any{s.publish.Schema, s.replayContract(s.publish).Schema}
			}, []any{(*release.InputSchema)(nil), read("schema/v2.json")}},
		{"drill", "drill", "checks:\n  maxErrorRate: 0.05\n  maxLatencyP99: 800ms\ndrill:\n  alias: qa\n  probe: {ping: true}\n  checks: [maxLatencyP99, maxErrorRate]\n  window: 2m\n", nil, "--id d1",
			func(s *settings, _ release.Options) any { return s.drillRequest() },
			release.DrillRequest{Function: "checkout", Alias: "qa", ID: "d1-drill", Actor: "tester", Probe: json.RawMessage(`{"ping":true}`),
				Checks: []string{"p99 latency", "max error rate"}, Window: 2 * time.Minute}},
		{"drill flags", "drill", "drill:\n  alias: qa\n  probe: {ping: true}\n  window: 2m\n", map[string]string{"SLIPWAY_DRILL_WINDOW": "30s"}, "--alias staging --probe [1]",
			func(s *settings, _ release.Options) any { return s.drillRequest() },
			release.DrillRequest{Function: "checkout", Alias: "staging", Actor: "tester", Probe: json.RawMessage(`[1]`), Window: 30 * time.Second}},
		{"drill checks in the options", "drill", "checks:\n  maxErrorRate: 0.05\ndrill:\n  checks: [maxErrorRate]\n", nil, "",
			func(s *settings, _ release.Options) any {
				var names []string
				for n := range s.drillChecks(nil) {
					names = append(names, n)
				}
				return names
			}, []string{"max error rate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, compileSchema(t), []byte(tc.doc)); err != nil {
				t.Errorf("the schema refuses it: %v", err)
			}
			env := map[string]string{"USER": "tester"}
			for k, v := range tc.env {
				env[k] = v
			}
			s, err := prepared(t, dir, tc.cmd, tc.doc, env, strings.Fields(tc.args)...)
			if err != nil {
				t.Fatal(err)
			}
			var opts release.Options
			s.applyConfig(&opts)
			if diff := cmp.Diff(tc.want, tc.got(s, opts)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigStepsRejected: each bad value of a step key is refused with
// file:line and the field, by the command (before anything is opened) and,
// where a schema can say it, by the schema.
func TestConfigStepsRejected(t *testing.T) {
	dir := t.TempDir()
	stepFiles(t, dir)
	s := compileSchema(t)
	for _, tc := range []struct {
		name, cmd, doc, want string
		schemaToo            bool
	}{
		{"contract without events", "release", "contract:\n  schema: schema/v1.json\n", "slipway.yaml:2: contract.events: is empty", true},
		{"contract bad pattern", "release", "contract:\n  events: 'contract/[*.json'\n", `slipway.yaml:2: contract.events: "contract/[*.json" is not a file pattern`, false},
		{"contract matches nothing", "release", "contract:\n  events: nothing/*.json\n", `slipway.yaml:2: contract.events: `, false},
		{"contract event not JSON", "publish", "contract:\n  events: contract-bad/*.json\n", "slipway.yaml:2: contract.events: ", false},
		{"contract expectation bad", "publish", "contract:\n  events: contract-expect-bad/*.json\n", "slipway.yaml:2: contract.events: ", false},
		{"contract schema missing", "publish", "contract:\n  events: contract/*.json\n  schema: schema/none.json\n", "slipway.yaml:3: contract.schema: ", false},
		{"contract schema broken", "publish", "contract:\n  events: contract/*.json\n  schema: schema/broken.json\n", "slipway.yaml:3: contract.schema: ", false},
		{"contract unknown key", "release", "contract:\n  event: a\n", "slipway.yaml:2: event: unknown field", true},
		{"schema without candidate", "release", "publish:\n  schema:\n    previous: schema/v1.json\n", "slipway.yaml:3: publish.schema.candidate: is empty", true},
		{"schema candidate missing", "release", "publish:\n  schema:\n    candidate: schema/none.json\n", "slipway.yaml:3: publish.schema.candidate: ", false},
		{"schema candidate broken", "release", "publish:\n  schema:\n    candidate: schema/broken.json\n", "slipway.yaml:3: publish.schema.candidate: ", false},
		{"schema previous broken", "publish", "publish:\n  schema:\n    previous: schema/broken.json\n    candidate: schema/v1.json\n", "slipway.yaml:3: publish.schema.previous: ", false},
		{"publish unknown key", "release", "publish:\n  zip: a.zip\n", "slipway.yaml:2: zip: unknown field", true},
		{"synthetic rate zero", "release", "synthetic:\n  perMinute: 0\n", "slipway.yaml:2: synthetic.perMinute: 0 is not a rate", true},
		{"synthetic rate high", "release", "synthetic:\n  perMinute: 5000\n", "slipway.yaml:2: synthetic.perMinute: 5000 is not a rate", true},
		{"synthetic rate text", "promote", "synthetic:\n  perMinute: lots\n", "slipway.yaml:2: cannot unmarshal", true},
		{"synthetic unknown key", "promote", "synthetic:\n  rate: 5\n", "slipway.yaml:2: rate: unknown field", true},
		{"onRollback empty", "promote", "onRollback:\n  timeout: 1m\n", "slipway.yaml:2: onRollback.command: is empty", true},
		{"onRollback not found", "promote", "onRollback:\n  command: [no-such-command-xyz]\n", `slipway.yaml:2: onRollback.command[0]: command "no-such-command-xyz" not found`, false},
		{"onRollback bad dir", "promote", "onRollback:\n  command: [sh]\n  dir: nowhere\n", `slipway.yaml:3: onRollback.dir: "nowhere" is not a directory`, false},
		{"onRollback bad timeout", "promote", "onRollback:\n  command: [sh]\n  timeout: soon\n", `slipway.yaml:3: onRollback.timeout: "soon" is not a duration`, true},
		{"onRollback shell string", "promote", "onRollback:\n  command: terraform apply\n", "slipway.yaml:2: cannot unmarshal", true},
		{"lockDown bad account", "promote", "lockDown:\n  ownAccounts:\n    - '1234 5678'\n", `slipway.yaml:3: lockDown.ownAccounts[0]: "1234 5678" is not an account ID`, true},
		{"lockDown unknown key", "promote", "lockDown:\n  dryrun: true\n", "slipway.yaml:2: dryrun: unknown field", true},
		{"remap bad alias", "promote", "remap:\n  alias: prod/live\n", `slipway.yaml:2: remap.alias: "prod/live" is not an alias name`, true},
		{"drill bad alias", "drill", "drill:\n  alias: a b\n  probe: {}\n", `slipway.yaml:2: drill.alias: "a b" is not an alias name`, true},
		{"drill relative check", "drill", "checks:\n  errorRate: {factor: 1.5}\ndrill:\n  checks: [errorRate]\n", `slipway.yaml:4: drill.checks[0]: "errorRate" is not a check a drill can judge`, true},
		{"drill check not set", "drill", "drill:\n  checks: [maxErrorRate]\n", `slipway.yaml:2: drill.checks[0]: "maxErrorRate": checks.maxErrorRate is not set`, false},
		{"drill bad window", "drill", "drill:\n  probe: {}\n  window: soon\n", `slipway.yaml:3: drill.window: "soon" is not a duration`, true},
		{"drill zero window", "drill", "drill:\n  probe: {}\n  window: 0s\n", "slipway.yaml:3: drill.window: is zero", false},
		{"drill window off the resolution", "drill", "checks:\n  maxErrorRate: 0.1\ndrill:\n  checks: [maxErrorRate]\n  window: 1500ms\n", "slipway.yaml:5: drill.window: 1.5s is not a multiple", false},
		{"drill nothing to verify", "drill", "drill:\n  alias: staging\n", "drill needs a verification", false},
		{"drill unknown key", "drill", "drill:\n  stage: staging\n", "slipway.yaml:2: stage: unknown field", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); tc.schemaToo && err == nil {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			args := []string{}
			if tc.cmd == "release" || tc.cmd == "publish" {
				args = []string{"--code", "v2", "--level", "patch"}
			}
			_, err := prepared(t, dir, tc.cmd, tc.doc, nil, args...)
			want := tc.want
			if strings.HasPrefix(want, "slipway.yaml") {
				want = dir + string(filepath.Separator) + want
			}
			if err == nil || !strings.Contains(err.Error(), want) || exitCode(err) != exitUsage {
				t.Errorf("prepare = %v (exit %d), want %q, exit 2", err, exitCode(err), tc.want)
			}
		})
	}
}

// onlyProvider hides every optional power of the provider it wraps.
type onlyProvider struct{ provider.Provider }

// readerProvider can read permissions and list event sources, not change
// them (as gcprun).
type readerProvider struct {
	provider.Provider
	provider.PermissionReader
	provider.EventSourceLister
}

// TestStepPowers: a step key the provider cannot carry out is refused with
// file:line before the provider is called (open checks it right after
// building the provider); a dry run needs only the reading powers. The
// adapters are checked by type: memory and awslambda have every power,
// gcprun reads permissions and event sources but changes neither, and
// azurefunc only invokes.
func TestStepPowers(t *testing.T) {
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	providers := map[string]provider.Provider{
		"memory": mem, "awslambda": (*awslambda.Provider)(nil), "gcprun": (*gcprun.Provider)(nil), "azurefunc": (*azurefunc.Provider)(nil),
		"none": onlyProvider{mem}, "reader": readerProvider{Provider: mem, PermissionReader: mem, EventSourceLister: mem},
	}
	const (
		lock     = "lockDown:\n  ownAccounts: ['1']\n"
		lockDry  = "lockDown:\n  dryRun: true\n"
		remap    = "remap:\n  alias: live\n"
		remapDry = "remap:\n  dryRun: true\n"
		contract = "contract:\n  events: c/*.json\n"
		synth    = "synthetic:\n  perMinute: 5\n"
		probe    = "drill:\n  probe: {ping: true}\n"
	)
	for _, tc := range []struct {
		provider, cmd, doc, want string // want "" accepts
	}{
		{"memory", "promote", lock + remap + synth, ""},
		{"awslambda", "release", lock + remap + contract + synth, ""},
		{"gcprun", "promote", lock, "x.yaml:1: lockDown: the provider cannot remove invoke permissions"},
		{"gcprun", "promote", lockDry, ""},
		{"gcprun", "resume", remap, "x.yaml:1: remap: the provider cannot update event sources"},
		{"gcprun", "release", remapDry + contract + synth, ""},
		{"azurefunc", "promote", lockDry, "x.yaml:1: lockDown: the provider cannot read invoke permissions"},
		{"azurefunc", "release", "checks: {}\n" + remapDry, "x.yaml:2: remap: the provider cannot list event sources"},
		{"azurefunc", "release", contract + synth, ""},
		{"azurefunc", "publish", lock + remap, ""}, // publish never promotes to production
		{"azurefunc", "drill", lock + remap + probe, ""},
		{"reader", "promote", lock, "x.yaml:1: lockDown: the provider cannot remove invoke permissions"},
		{"reader", "promote", lockDry + remapDry, ""},
		{"none", "release", contract, "x.yaml:1: contract: the provider cannot invoke a version"},
		{"none", "publish", contract, "x.yaml:1: contract: the provider cannot invoke a version"},
		{"none", "promote", contract, ""}, // promote replays nothing
		{"none", "release", synth, "x.yaml:1: synthetic: the provider cannot invoke a version"},
		{"none", "promote", synth, "x.yaml:1: synthetic: the provider cannot invoke a version"},
		{"none", "drill", probe, "x.yaml:2: drill.probe: the provider cannot invoke an alias"},
	} {
		t.Run(tc.provider+" "+tc.cmd+" "+strings.Fields(tc.doc)[0], func(t *testing.T) {
			c, err := parseConfig("x.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			err = c.checkPowers(providers[tc.provider], tc.cmd)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != exitUsage):
				t.Errorf("checkPowers = %v, want %q (exit 2)", err, tc.want)
			}
		})
	}
	var none *config
	if err := none.checkPowers(onlyProvider{mem}, "release"); err != nil {
		t.Errorf("no config: %v", err)
	}
}

// TestRevertCommand: the onRollback command runs in its directory with
// the release's context in its environment; its output reaches the
// workflow with the values of secret environment variables redacted, and
// its failure is an error naming the command, not its arguments.
func TestRevertCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DEPLOY_TOKEN", "tok-0123456789")
	t.Setenv("PLAIN_NAME", "named-secret-42")
	t.Setenv("SHORT_TOKEN", "abc")
	r := &revertCommand{
		Argv:    []string{"sh", "-c", `pwd; echo "$SLIPWAY_RELEASE $SLIPWAY_FUNCTION $SLIPWAY_ALIAS $SLIPWAY_CANDIDATE $SLIPWAY_STABLE $SLIPWAY_SEMVER"; echo "token=$DEPLOY_TOKEN named=$PLAIN_NAME short=$SHORT_TOKEN" >&2; exit 4`},
		Dir:     dir,
		Secrets: []string{"PLAIN_NAME"},
	}
	h := r.hook()
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := h.Run(context.Background(), release.RevertContext{Release: "r1", Function: "checkout", Alias: "production", Candidate: "2", Stable: "1", Semver: "1.1.0"})
	if err == nil || !strings.Contains(res.Err, "onRollback sh: exit status 4") || strings.Contains(res.Err, "pwd") {
		t.Errorf("err %v, result err %q", err, res.Err)
	}
	want := dir + "\nr1 checkout production 2 1 1.1.0\ntoken=[redacted $DEPLOY_TOKEN] named=[redacted $PLAIN_NAME] short=abc\n"
	if diff := cmp.Diff(want, res.Output); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestRedact: longer secrets first, short values and ordinary names kept.
func TestRedact(t *testing.T) {
	env := []string{"A_TOKEN=secret-1", "B_TOKEN=secret-1-longer", "HOME=/home/runner/work", "X_SECRET=12345", "NOEQUALS"}
	got := string(redact([]byte("secret-1-longer secret-1 /home/runner/work 12345"), env, nil))
	if want := "[redacted $B_TOKEN] [redacted $A_TOKEN] /home/runner/work 12345"; got != want {
		t.Errorf("redact = %q, want %q", got, want)
	}
}

// TestStepsRunInTheWorkflow: a release with synthetic, lockDown and remap
// in the file invokes both versions during the canary (journaled apart
// from the organic traffic, and in the summary) and runs the dry-run
// lock-down and remap after the promotion; publish runs none of them, and
// promote journals the synthetic traffic its canary runs with.
func TestStepsRunInTheWorkflow(t *testing.T) {
	p := newPipeline(t)
	cfg := filepath.Join(t.TempDir(), "slipway.yaml")
	if err := os.WriteFile(cfg, []byte("synthetic:\n  perMinute: 3\n  payload: {synthetic: true}\nlockDown:\n  dryRun: true\nremap:\n  dryRun: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env["SLIPWAY_CONFIG"] = cfg
	p.must(exitOK, "publish", "--code", "v1", "--level", "minor")
	count := func(outcome string) int { return len(decisions(p.journal(), outcome)) }
	for _, o := range []string{"synthetic traffic", "lock-down planned (dry run)", "remap planned (dry run)"} {
		if n := count(o); n != 0 {
			t.Errorf("%d %q entries after publish, want none", n, o)
		}
	}
	p.must(exitOK, "promote", "--strategy", "AllAtOnce")
	if n := count("synthetic traffic set"); n != 1 {
		t.Errorf("%d %q entries after promote, want 1", n, "synthetic traffic set")
	}
	p.must(exitOK, "release", "--code", "v2", "--level", "minor", "--strategy", "Canary10Percent5Minutes")
	syn := decisions(p.journal(), "synthetic traffic")
	both := regexp.MustCompile(`version 1 \d+ organic \(\d+ errors\) \+ [1-9]\d* synthetic.*version 2 \d+ organic \(\d+ errors\) \+ [1-9]\d* synthetic`)
	if len(syn) != 1 || !both.MatchString(syn[0].Reason) {
		t.Errorf("synthetic traffic entries: %+v", syn)
	}
	if md := p.read(p.summary); !strings.Contains(md, "### Synthetic traffic") {
		t.Errorf("the summary lacks the synthetic traffic:\n%s", md)
	}
	for _, o := range []string{"lock-down planned (dry run)", "remap planned (dry run)"} {
		if n := count(o); n != 2 {
			t.Errorf("%d %q entries after a promote and a release, want 2", n, o)
		}
	}
}

// TestStepPowersBeforeAnythingIsTouched: a provider without a power the
// file's steps need is refused with file:line, exit 2, before the state
// directory or the provider is opened (azurefunc removes no permissions
// and lists no event sources).
func TestStepPowersBeforeAnythingIsTouched(t *testing.T) {
	p := newPipeline(t)
	cfg := filepath.Join(t.TempDir(), "slipway.yaml")
	if err := os.WriteFile(cfg, []byte("provider: azurefunc\nlockDown:\n  ownAccounts: ['123456789012']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env["SLIPWAY_CONFIG"] = cfg
	s := p.must(exitUsage, "promote", "--subscription", "sub", "--resource-group", "rg")
	if want := cfg + ":2: lockDown: the provider cannot read invoke permissions"; !strings.Contains(s.stderr, want) {
		t.Errorf("stderr %q, want %q", s.stderr, want)
	}
	if _, err := os.Stat(p.dir); err == nil {
		t.Error("the state directory was created")
	}
}

// A failing pre- or post-traffic hook's output goes into the rollout's
// error (journaled, printed): the values of secret-looking variables and
// of those the file names are redacted there, as in onRollback's output.
func TestCommandHookRedacts(t *testing.T) {
	t.Setenv("MY_API_TOKEN", "supersecretvalue")
	t.Setenv("ROUTING_FOR_PAGER", "pagerroutingkey42")
	hook := commandHook([]string{"sh", "-c", `echo "token=$MY_API_TOKEN pager=$ROUTING_FOR_PAGER fn=$SLIPWAY_FUNCTION"; exit 3`}, []string{"ROUTING_FOR_PAGER"})
	err := hook(context.Background(), canary.HookInput{Function: "checkout", Alias: "live", Candidate: "2", Stable: "1", Stage: "PreTraffic"})
	if err == nil {
		t.Fatal("a hook that exits 3 passed")
	}
	for _, secret := range []string{"supersecretvalue", "pagerroutingkey42"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("hook error shows %q: %v", secret, err)
		}
	}
	for _, want := range []string{"[redacted $MY_API_TOKEN]", "[redacted $ROUTING_FOR_PAGER]", "fn=checkout", "exit status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("hook error %q lacks %q", err, want)
		}
	}
}
