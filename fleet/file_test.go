package fleet_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/fleet"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

const planFile = `{
  "id": "rel-7",
  "strategy": {"preset": "Canary10Percent5Minutes", "interval": "1m", "checks": [{"name": "error rate", "critical": true}]},
  "publish": {"artifact": {"zip": "djI="}},
  "targets": [
    {"function": "api", "region": "eu-west-1", "provider": "aws-eu", "group": "shop"},
    {"function": "worker", "region": "eu-west-1", "provider": "aws-eu", "group": "shop"},
    {"function": "api", "region": "us-east-1", "provider": "aws-us", "candidate": "7"}
  ],
  "waves": [
    {"name": "canary", "regions": ["eu-west-1"], "bake": "10m", "maxParallel": 1},
    {"name": "rest", "bake": "1h30m", "approval": true}
  ],
  "regions": {"us-east-1": {"timeZone": "America/New_York",
    "policy": {"windows": [{"days": ["Mon", "Tue"], "start": "09:00", "end": "17:00"}]}}},
  "accounts": {"aws-us": {"maxParallel": 5, "rate": 10, "burst": 2}},
  "onFailure": "release",
  "bakeChecks": ["bake errors"]
}`

// TestLoadPlan reads a plan file with durations as text, a preset
// strategy, named checks and policies, and gives the plan it describes,
// which round-trips through JSON.
func TestLoadPlan(t *testing.T) {
	p, err := fleet.LoadPlan(strings.NewReader(planFile))
	if err != nil {
		t.Fatal(err)
	}
	s := canary.Canary(1000, 5*time.Minute)
	s.Interval = time.Minute
	s.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Critical: true}}
	want := fleet.Plan{
		ID: "rel-7", Strategy: s,
		Publish: &provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v2")}},
		Targets: []fleet.Target{
			{Function: "api", Region: "eu-west-1", Provider: "aws-eu", Group: "shop"},
			{Function: "worker", Region: "eu-west-1", Provider: "aws-eu", Group: "shop"},
			{Function: "api", Region: "us-east-1", Provider: "aws-us", Candidate: "7"},
		},
		Waves: []fleet.Wave{
			{Name: "canary", Regions: []string{"eu-west-1"}, Bake: 10 * time.Minute, MaxParallel: 1},
			{Name: "rest", Bake: 90 * time.Minute, Approval: true},
		},
		Regions: map[string]fleet.Region{"us-east-1": {TimeZone: "America/New_York", Policy: release.DeployPolicy{Windows: []release.DeployWindow{
			{Days: []time.Weekday{time.Monday, time.Tuesday}, Start: release.TimeOfDay{Hour: 9}, End: release.TimeOfDay{Hour: 17}}}}}},
		Accounts:   map[string]fleet.Limit{"aws-us": {MaxParallel: 5, Rate: 10, Burst: 2}},
		OnFailure:  fleet.ScopeRelease,
		BakeChecks: []string{"bake errors"},
	}
	if diff := cmp.Diff(want, p, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back fleet.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

// TestLoadPlanRefuses: unknown fields, durations that are not text, an
// unknown preset or scope and an invalid plan are refused (with ErrInvalid
// but for the preset, whose error is canary's).
func TestLoadPlanRefuses(t *testing.T) {
	edits := map[string][2]string{
		"unknown field":  {`"id"`, `"name": "x", "id"`},
		"numeric bake":   {`"10m"`, `600`},
		"bad duration":   {`"10m"`, `"ten minutes"`},
		"unknown preset": {`Canary10Percent5Minutes`, `Canary99`},
		"scope":          {`"release"`, `"everything"`},
		"invalid id":     {`"id": "rel-7"`, `"id": ""`},
		"empty wave":     {`{"name": "rest"`, `{"name": "none", "targets": ["aws-eu/eu-west-1/api"]}, {"name": "rest"`},
	}
	for name, e := range edits {
		t.Run(name, func(t *testing.T) {
			in := strings.Replace(planFile, e[0], e[1], 1)
			if in == planFile {
				t.Fatal("edit changed nothing")
			}
			_, err := fleet.LoadPlan(strings.NewReader(in))
			if err == nil {
				t.Fatal("loaded")
			}
			if name != "unknown preset" && !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}
