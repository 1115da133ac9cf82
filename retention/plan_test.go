package retention_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// samplePlan is a plan of two functions that uses every rule, a note and a
// function that could not be read.
func samplePlan() retention.Plan {
	now := t0.Add(10 * 24 * time.Hour)
	pol := retention.Policy{
		KeepLast:           2,
		KeepWithin:         72 * time.Hour,
		KeepLabels:         []retention.LabelRule{{Latest: retention.LatestOfMinor}},
		Pinned:             map[string][]string{"orders": {"1"}},
		RollbackPoints:     map[string]retention.RouteHistory{"orders": {"live": {"3", "2"}}},
		KeepRollbackPoints: 1,
	}
	orders := retention.Snapshot{
		Function: "orders",
		Versions: versions(10, "1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1", "1.1.2", "1.2.0", "1.2.1", "1.2.2", "1.2.3"),
		Routes:   []provider.Route{route("live", "4", 9000, "6", 1000)},
		Usage:    []provider.Usage{{Version: "5", Reason: "provisioned concurrency 2"}},
	}
	billing := retention.Snapshot{Function: "billing", Versions: versions(3), UsageUnknown: true}
	return retention.Plan{
		Policy: pol,
		Time:   now,
		Functions: []retention.FunctionPlan{
			retention.Decide(billing, pol, now),
			{Function: "ghost", Versions: []retention.Decision{}, Error: "get versions ghost: not found"},
			retention.Decide(orders, pol, now),
		},
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	plan := samplePlan()
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	var got retention.Plan
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plan, got); diff != "" {
		t.Errorf("plan after a JSON round trip (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("decoded plan does not validate: %v", err)
	}
	// The encoding is the documented one: a reader in another language
	// finds the fields under these names.
	for _, frag := range []string{
		`"policy":{"keepLast":2,`, `"keepWithin":"72h0m0s"`, `"time":"2025-03-11T12:00:00Z"`,
		`{"version":"4","created":"2025-03-04T12:00:00Z","semver":"1.1.0","action":"keep","reasons":[{"rule":"route","detail":"alias live (90%)"}`,
		`{"version":"2","created":"2025-03-02T12:00:00Z","semver":"1.0.1","action":"delete","reasons":[{"rule":"none",`,
		`"error":"get versions ghost: not found"`,
	} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON plan lacks %s:\n%s", frag, b)
		}
	}
}

func TestPlanCountsAndDeletions(t *testing.T) {
	plan := samplePlan()
	versions, kept, deleted := plan.Counts()
	if versions != 13 || kept+deleted != versions {
		t.Errorf("Counts() = %d, %d, %d; want 13 versions split into kept and deleted", versions, kept, deleted)
	}
	var all []string
	for _, f := range plan.Functions {
		all = append(all, f.Deletions()...)
	}
	if len(all) != deleted {
		t.Errorf("Deletions() over the functions = %v, want %d of them", all, deleted)
	}
	if diff := cmp.Diff([]string{"2", "7", "8"}, plan.Functions[2].Deletions()); diff != "" {
		t.Errorf("orders Deletions() (-want +got):\n%s", diff)
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*retention.Plan)
		wantErr string
	}{
		{"as planned", func(*retention.Plan) {}, ""},
		{"keep everything", func(p *retention.Plan) {
			for fi := range p.Functions {
				for vi := range p.Functions[fi].Versions {
					p.Functions[fi].Versions[vi].Action = retention.Keep
				}
			}
		}, ""},
		{"empty function name", func(p *retention.Plan) { p.Functions[0].Function = "" }, "functions[0].function is empty"},
		{"function twice", func(p *retention.Plan) { p.Functions[1].Function = "billing" }, `functions[1].function "billing" appears twice`},
		{"empty version", func(p *retention.Plan) { p.Functions[2].Versions[0].Version = "" }, "functions[2].versions[0].version is empty"},
		{"version twice", func(p *retention.Plan) { p.Functions[2].Versions[1].Version = "1" }, `functions[2].versions[1].version "1" appears twice`},
		{"unknown action", func(p *retention.Plan) { p.Functions[2].Versions[1].Action = "archive" }, `functions[2].versions[1].action is "archive"`},
		{"delete a routed version", func(p *retention.Plan) { p.Functions[2].Versions[3].Action = retention.Delete }, `deletes version 4 of orders which rule "route" keeps`},
		{"delete a version in use", func(p *retention.Plan) { p.Functions[2].Versions[4].Action = retention.Delete }, `deletes version 5 of orders which rule "usage" keeps`},
		{"delete the newest, reasons removed", func(p *retention.Plan) {
			d := &p.Functions[2].Versions[9]
			d.Action, d.Reasons = retention.Delete, nil
		}, "deletes version 10, the newest of orders"},
		{"delete a pinned version, reasons removed", func(p *retention.Plan) {
			d := &p.Functions[2].Versions[0]
			d.Action, d.Reasons = retention.Delete, nil
		}, "deletes version 1 of orders which is pinned"},
		{"delete in a function that was not planned", func(p *retention.Plan) {
			p.Functions[1].Versions = []retention.Decision{{Version: "1", Action: retention.Delete}, {Version: "2", Action: retention.Keep}}
		}, "deletes a version of a function that could not be planned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := samplePlan()
			tt.edit(&plan)
			err := plan.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}
