package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/canary"
)

type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     any    `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// TestActionYAML: the action at the repository root parses; every input
// and output is described, every input is used by a step and documented
// in the README, every output comes from the step running slipway and is
// one the command writes; the binary is installed (not go run) and run
// with exec, so the runner's SIGTERM reaches it.
func TestActionYAML(t *testing.T) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.Name == "" || a.Description == "" || a.Runs.Using != "composite" {
		t.Errorf("name %q, description %q, runs.using %q", a.Name, a.Description, a.Runs.Using)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var steps strings.Builder
	var run string
	for _, s := range a.Runs.Steps {
		steps.WriteString(s.Run)
		for _, v := range s.Env {
			steps.WriteString(v + "\n")
		}
		if s.ID == "run" {
			run = s.Run
		}
	}
	if len(a.Inputs) < 8 {
		t.Errorf("%d inputs", len(a.Inputs))
	}
	for name, in := range a.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", name)
		}
		if !strings.Contains(steps.String(), "inputs."+name+" }}") && !strings.Contains(string(b), "inputs."+name+" }}") {
			t.Errorf("input %s is not used", name)
		}
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("input %s is not documented in cmd/slipway/README.md's action table", name)
		}
	}
	// The outputs the command writes to $GITHUB_OUTPUT.
	var written []string
	for _, f := range []string{"commands.go", "resume.go", "timeout.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?:\\n|")([a-z-]+)=`).FindAllStringSubmatch(string(src), -1) {
			written = append(written, m[1])
		}
	}
	for name, out := range a.Outputs {
		if strings.TrimSpace(out.Description) == "" {
			t.Errorf("output %s has no description", name)
		}
		if out.Value != "${{ steps.run.outputs."+name+" }}" {
			t.Errorf("output %s = %q, want the run step's", name, out.Value)
		}
		if !slices.Contains(written, name) {
			t.Errorf("output %s is never written by the command (it writes %v)", name, written)
		}
	}
	if !strings.Contains(steps.String(), "go install \"github.com/slipway-dev/slipway/cmd/slipway@") || strings.Contains(steps.String(), "go run") {
		t.Error("the action does not install the binary")
	}
	if !strings.Contains(run, "exec slipway ") {
		t.Errorf("the run step does not exec slipway:\n%s", run)
	}
}

// TestCITemplates: the GitLab template and the example workflow parse;
// GitLab jobs queue on a resource group and are not interruptible; the
// GitHub workflow has no concurrency group that would cancel a pending
// run, derives its timeout from the strategy and waits on the lease.
func TestCITemplates(t *testing.T) {
	var gl map[string]map[string]any
	b, err := os.ReadFile("../../ci/slipway.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &gl); err != nil {
		t.Fatal(err)
	}
	job := gl[".slipway"]
	if job["resource_group"] == nil || job["interruptible"] != false || job["script"] == nil {
		t.Errorf(".slipway: %v", job)
	}
	var gh map[string]any
	b, err = os.ReadFile("github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &gh); err != nil {
		t.Fatal(err)
	}
	if _, ok := gh["concurrency"]; ok {
		t.Error("the workflow has a concurrency group: GitHub cancels its pending runs")
	}
	text := string(b)
	for _, want := range []string{"command: timeout", "timeout-minutes: ${{ fromJSON(needs.plan.outputs.timeout) }}", "wait: 3h", "uses: slipway-dev/slipway@v1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the workflow lacks %q", want)
		}
	}
}

// TestTimeoutFromStrategy: the job timeout covers the strategy; the
// issue's workflow had 60 minutes for a 100-minute canary.
func TestTimeoutFromStrategy(t *testing.T) {
	p := newPipeline(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		// 9 judged steps of at most 10m + 1m of window alignment, 10 of
		// metrics lag, 15 of margin.
		{[]string{"timeout", "--strategy", "Linear10PercentEvery10Minutes"}, "timeout-minutes=124\n"},
		{[]string{"timeout", "--strategy", "Canary10Percent5Minutes"}, "timeout-minutes=23\n"},
		{[]string{"timeout", "--strategy", "AllAtOnce", "--margin", "5m"}, "timeout-minutes=6\n"}, // one interval of metrics lag
	} {
		if s := p.must(exitOK, tc.args...); s.stdout != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, s.stdout, tc.want)
		}
	}
}

// TestStrategyDurationCoversEveryStart: whenever a judged rollout starts
// within the minute, its bakes (each lasting until its last whole window
// has ended, canary.Plan.BakeEnd) end within strategyDuration.
func TestStrategyDurationCoversEveryStart(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, name := range canary.Presets() {
		st, err := canary.JudgedPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		p, d := st.Plan(), strategyDuration(st)
		for off := range 60 {
			start := t0.Add(time.Duration(off) * time.Second)
			at := start
			for i := range p.Steps {
				at = p.BakeEnd(i, at, len(st.Analysis.Checks) > 0)
			}
			if got := at.Sub(start); got > d {
				t.Errorf("%s started at +%ds: bakes last %s, more than strategyDuration %s", name, off, got, d)
			}
		}
	}
}
