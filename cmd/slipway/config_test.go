package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/release"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("slipway.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("slipway.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("slipway.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaValidate validates a YAML document against the schema as an editor
// would: YAML to JSON values, then the schema.
func schemaValidate(t *testing.T, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// TestSchemaAcceptsTheExample: the example config is valid for the schema
// and for the command, which reads it into the settings.
func TestSchemaAcceptsTheExample(t *testing.T) {
	doc, err := os.ReadFile("testdata/slipway.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := schemaValidate(t, compileSchema(t), doc); err != nil {
		t.Errorf("the schema refuses the example: %v", err)
	}
	c, err := parseConfig("slipway.example.yaml", doc)
	if err != nil {
		t.Fatalf("the command refuses the example: %v", err)
	}
	want := canary.Custom(canary.Step{Weight: 500, Bake: 10 * time.Minute}, canary.Step{Weight: 2500, Bake: 10 * time.Minute}, canary.Step{Weight: 5000, Bake: 10 * time.Minute})
	want.Interval, want.WarmUp = time.Minute, 30*time.Second
	if diff := cmp.Diff(&want, c.strategy); diff != "" {
		t.Errorf("strategy (-want +got):\n%s", diff)
	}
	var names []string
	for _, ch := range c.checks {
		names = append(names, ch.Name)
	}
	if diff := cmp.Diff([]string{"max error rate", "p99 latency", "judge LatencyP99"}, names); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if c.policy == nil || len(c.policy.Windows) != 1 || c.policy.Windows[0].Start != (release.TimeOfDay{Hour: 9}) || len(c.policy.Freezes) != 1 {
		t.Errorf("policy: %+v", c.policy)
	}
	for flag, want := range map[string]string{"provider": "awslambda", "region": "eu-west-1", "production": "live", "keep-last": "10", "error-rate-factor": "1.5", "lease-ttl": "2m"} {
		if got := c.flags[flag].value; got != want {
			t.Errorf("--%s from the file: %q, want %q", flag, got, want)
		}
	}
	if got := c.flags["production"].line; got != 12 {
		t.Errorf("stages.production is on line %d, want 12", got)
	}
}

// TestSchemaAndCommandRejectBadConfigs: each bad config is refused by both
// the schema (so an editor flags it) and the command (with file:line).
func TestSchemaAndCommandRejectBadConfigs(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", "stratgy:\n  preset: AllAtOnce\n", "x.yaml:1: stratgy: unknown field"},
		{"unknown provider", "provider: heroku\n", `x.yaml:1: provider: "heroku" is not a provider`},
		{"two strategies", "strategy:\n  preset: AllAtOnce\n  steps:\n    - weight: 10\n", "x.yaml:2: strategy: give exactly one of preset, steps and blueGreen"},
		{"bad preset", "strategy:\n  preset: Canary50\n", `x.yaml:2: strategy.preset: "Canary50" is not a preset`},
		{"weight zero", "strategy:\n  steps:\n    - weight: 0\n", "x.yaml:3: strategy.steps[0].weight"},
		{"bad bake", "strategy:\n  steps:\n    - weight: 10\n      bake: 5 minutes\n", `x.yaml:4: strategy.steps[0].bake: "5 minutes" is not a duration`},
		{"slack over 1", "checks:\n  errorRate:\n    factor: 1\n    slack: 2\n", "x.yaml:4: checks.errorRate.slack"},
		{"bad metric", "checks:\n  judge:\n    metric: Vibes\n", `x.yaml:3: checks.judge.metric: "Vibes" is not a metric`},
		{"bad time", "windows:\n  - days: [Mon]\n    start: \"9am\"\n    end: \"17:00\"\n", `x.yaml:3: windows[0].start: "9am" is not a time of day`},
		{"negative keep", "retention:\n  keepLast: -1\n", "x.yaml:2: retention.keepLast: -1 is negative"},
		{"duplicate function", "functions:\n  - name: a\n  - name: a\n", `x.yaml:3: functions[1].name: "a" is listed twice`},
		{"same stages", "stages:\n  staging: live\n  production: live\n", "x.yaml:3: stages.production"}, // the schema cannot say this
		{"wrong type", "functions: checkout\n", "x.yaml:1: cannot unmarshal"},
		{"bad freeze", "freezes:\n  - name: x\n    start: tomorrow\n    end: 2027-01-01\n", `x.yaml:3: freezes[0].start: "tomorrow" is not a time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); err == nil && tc.name != "same stages" {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			_, err := parseConfig("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSchemaNamesWhatTheCommandKnows: the schema's presets and providers
// are the command's.
func TestSchemaNamesWhatTheCommandKnows(t *testing.T) {
	b, err := os.ReadFile("slipway.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties struct {
			Provider struct {
				Enum []string `json:"enum"`
			} `json:"provider"`
			Strategy struct {
				Properties struct {
					Preset struct {
						Enum []string `json:"enum"`
					} `json:"preset"`
				} `json:"properties"`
			} `json:"strategy"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	presets := doc.Properties.Strategy.Properties.Preset.Enum
	want := canary.Presets()
	slices.Sort(presets)
	slices.Sort(want)
	if diff := cmp.Diff(want, presets); diff != "" {
		t.Errorf("presets (-command +schema):\n%s", diff)
	}
	var names []string
	for _, k := range providerKinds() {
		names = append(append(names, k.name), k.aliases...)
	}
	slices.Sort(names)
	got := slices.Sorted(slices.Values(doc.Properties.Provider.Enum))
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("providers (-command +schema):\n%s", diff)
	}
}
