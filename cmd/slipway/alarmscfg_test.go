package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// alarmProvider is a provider that reads alarms (as awslambda does).
type alarmProvider struct{ *memory.Provider }

func (alarmProvider) Alarms(context.Context, []string, time.Time) ([]provider.Alarm, error) {
	return nil, nil
}

// TestConfigAlarms: checks.alarms becomes a canary.Alarms check over the
// provider's alarm reader, named "alarms".
func TestConfigAlarms(t *testing.T) {
	doc := "checks:\n  alarms: [checkout-errors, checkout-latency]\n"
	if err := schemaValidate(t, compileSchema(t), []byte(doc)); err != nil {
		t.Errorf("the schema refuses it: %v", err)
	}
	c, err := parseConfig("x.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := alarmProvider{mem}
	spec, err := c.alarmsCheck(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &canary.CheckSpec{Name: "alarms", Check: canary.Alarms{Reader: p, Names: []string{"checkout-errors", "checkout-latency"}}}
	if diff := cmp.Diff(want, spec, cmp.Comparer(func(a, b provider.AlarmReader) bool { return a == b })); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}
	// A provider without alarms is refused with the file's line.
	if _, err := c.alarmsCheck(mem); err == nil || !strings.Contains(err.Error(), "x.yaml:2: checks.alarms: the provider reads no alarms") {
		t.Errorf("memory provider: %v", err)
	}
	// No alarms configured: no check.
	none, _ := parseConfig("x.yaml", []byte("checks:\n  maxErrorRate: 0.1\n"))
	if spec, err := none.alarmsCheck(mem); spec != nil || err != nil {
		t.Errorf("without alarms: %v, %v", spec, err)
	}
}

// TestConfigAlarmsRejected: bad alarm lists are refused with file:line.
func TestConfigAlarmsRejected(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"empty list", "checks:\n  alarms: []\n", "x.yaml:2: checks.alarms: is empty"},
		{"empty name", "checks:\n  alarms:\n    - a\n    - ''\n", `x.yaml:4: checks.alarms[1]: "" is not an alarm name`},
		{"twice", "checks:\n  alarms:\n    - a\n    - a\n", `x.yaml:4: checks.alarms[1]: "a" is listed twice`},
		{"not a list", "checks:\n  alarms: a\n", "x.yaml:2: cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); err == nil {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			_, err := parseConfig("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAlarmsNeedAnAlarmReader: a release with checks.alarms on a provider
// that reads no alarms fails before anything is published.
func TestAlarmsNeedAnAlarmReader(t *testing.T) {
	p := newPipeline(t)
	p.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0")
	cfg := filepath.Join(t.TempDir(), "slipway.yaml")
	if err := os.WriteFile(cfg, []byte("checks:\n  alarms: [checkout-errors]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env["SLIPWAY_CONFIG"] = cfg
	s := p.run("release", "--code", "v2", "--level", "minor")
	if s.code == exitOK || !strings.Contains(s.stderr+s.stdout, ":2: checks.alarms: the provider reads no alarms") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", s.code, s.stdout, s.stderr)
	}
	if got := p.versions(); len(got) != 1 {
		t.Errorf("versions: %v, want only 1", got)
	}
}

// TestAddCheck: the alarms check joins the release's strategy (the
// preset's when the options carry none) and resume's checks by name.
func TestAddCheck(t *testing.T) {
	spec := canary.CheckSpec{Name: "alarms", Check: canary.Alarms{Names: []string{"a"}}}
	def := canary.Custom(canary.Step{Weight: 1000, Bake: time.Minute})
	def.Analysis.Checks = []canary.CheckSpec{{Name: "x", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.1}}}
	var opts release.Options
	addCheck(&opts, def, spec)
	var names []string
	for _, c := range opts.Strategy.Analysis.Checks {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"x", "alarms"}, names); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if len(def.Analysis.Checks) != 1 {
		t.Errorf("the default strategy was changed: %v", def.Analysis.Checks)
	}
	opts = release.Options{Runner: canary.RunnerOptions{Checks: map[string]canary.Check{}}}
	addCheck(&opts, def, spec)
	if _, ok := opts.Runner.Checks["alarms"]; !ok {
		t.Error("resume's checks lack alarms")
	}
}
