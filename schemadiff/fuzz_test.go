package schemadiff_test

import (
	"testing"

	"github.com/slipway-dev/slipway/schemadiff"
	"github.com/slipway-dev/slipway/semver"
)

// FuzzDiff: any two documents are classified without a panic, as an error
// wrapping ErrInvalid or a report whose Level is the largest of its
// changes; a schema compared with itself has no change.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(orderV1), []byte(`{"type":"object"}`))
	f.Add([]byte(`true`), []byte(`false`))
	f.Add([]byte(`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`), []byte(`{"items":{"enum":[1,2]}}`))
	f.Add([]byte(`{"properties":{"a":{"type":["integer","null"],"minimum":1}},"required":["a"]}`), []byte(`{"properties":{"a":{"type":"number"}}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r, err := schemadiff.Diff(a, b)
		if err != nil {
			return
		}
		top := semver.Patch
		for _, c := range r.Changes {
			top = max(top, c.Level)
		}
		if r.Level != top {
			t.Fatalf("Level %v, largest change %v", r.Level, top)
		}
		self, err := schemadiff.Diff(a, a)
		if err != nil {
			t.Fatalf("Diff(a, a): %v", err)
		}
		if len(self.Changes) != 0 {
			t.Fatalf("Diff(a, a) reports %v", self.Changes)
		}
	})
}
