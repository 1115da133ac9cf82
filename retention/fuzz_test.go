package retention_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// FuzzPolicyJSON: any input either fails to decode or decodes to a policy
// that Validate judges without panicking, whose invalidity wraps
// provider.ErrInvalid, and that survives an encode/decode round trip
// unchanged (the custom keepWithin encoding included).
func FuzzPolicyJSON(f *testing.F) {
	for _, p := range []retention.Policy{samplePlan().Policy, {KeepLast: 3}, {AllowDeleteAllUnreferenced: true}} {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"keepLast":2,"keepWithin":"720h","keepLabels":[{"range":">=1.2.0 <2"}]}`))
	f.Add([]byte(`{"keepWithin":86400000000000}`))
	f.Add([]byte(`{"keepLast":-1,"keepLabels":[{"range":"not a range"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p retention.Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		if err := p.Validate(); err != nil && !errors.Is(err, provider.ErrInvalid) {
			t.Fatalf("Validate(%s) = %v, not wrapping ErrInvalid", b, err)
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal of a decoded policy: %v", err)
		}
		var back retention.Policy
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("decoding %s: %v", enc, err)
		}
		if diff := cmp.Diff(p, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip of %s changed the policy (-decoded +round-tripped):\n%s", b, diff)
		}
	})
}

// FuzzPlanValidate: a plan decoded from any input is judged by Validate
// without panicking, and a plan Validate accepts never deletes a version
// with a safety reason (a route references it, it is a rollback point, in
// use…), the newest version, or a pinned one — so a hand-edited plan
// cannot smuggle such a deletion into Apply.
func FuzzPlanValidate(f *testing.F) {
	b, err := json.Marshal(samplePlan())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"policy":{"keepLast":1},"functions":[{"function":"f","versions":[{"version":"1","action":"delete"},{"version":"2","action":"delete"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pl retention.Plan
		if err := json.Unmarshal(b, &pl); err != nil {
			return
		}
		if err := pl.Validate(); err != nil {
			if !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("Validate = %v, not wrapping ErrInvalid", err)
			}
			return
		}
		for _, fp := range pl.Functions {
			if fp.Error != "" {
				continue
			}
			for _, d := range fp.Versions {
				for _, r := range d.Reasons {
					if d.Action == retention.Delete && r.Rule.Safety() {
						t.Fatalf("a valid plan deletes version %s of %s, which rule %q keeps", d.Version, fp.Function, r.Rule)
					}
				}
			}
			dels := fp.Deletions()
			if len(fp.Versions) > 0 && len(dels) > 0 && dels[len(dels)-1] == fp.Versions[len(fp.Versions)-1].Version {
				t.Fatalf("a valid plan deletes the newest version %s of %s", dels[len(dels)-1], fp.Function)
			}
			for _, id := range dels {
				for _, pin := range pl.Policy.Pinned[fp.Function] {
					if pin == id {
						t.Fatalf("a valid plan deletes pinned version %s of %s", id, fp.Function)
					}
				}
			}
		}
	})
}
