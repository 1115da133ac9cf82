package schemadiff_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/schemadiff"
	"github.com/slipway-dev/slipway/semver"
)

const orderV1 = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["orderId", "amount"],
  "properties": {
    "orderId": {"type": "string", "pattern": "^o-[0-9]+$"},
    "amount": {"type": "number", "minimum": 0},
    "currency": {"enum": ["EUR", "USD"]},
    "note": {"type": ["string", "null"], "maxLength": 200},
    "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}
  },
  "$defs": {"item": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}}
}`

// edit applies a textual replacement to orderV1, failing the test when the
// old text is not there exactly once.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(orderV1, old) != 1 {
		t.Fatalf("edit: %q occurs %d times", old, strings.Count(orderV1, old))
	}
	return strings.Replace(orderV1, old, new, 1)
}

func TestDiff(t *testing.T) {
	type change struct {
		Path  string
		Kind  schemadiff.Kind
		Level semver.Level
	}
	for _, tc := range []struct {
		name      string
		old, new  string
		level     semver.Level
		changes   []change
		reasonHas string
	}{
		{name: "unchanged", new: orderV1, level: semver.Patch},
		{name: "description only", new: edit(t, `"amount": {"type": "number", "minimum": 0}`, `"amount": {"type": "number", "minimum": 0, "description": "in cents"}`),
			level: semver.Patch, changes: []change{{"amount", schemadiff.AnnotationChanged, semver.Patch}}},
		{name: "removed required property", new: edit(t, `"orderId": {"type": "string", "pattern": "^o-[0-9]+$"},`, ``),
			level: semver.Major, changes: []change{{"orderId", schemadiff.PropertyRemoved, semver.Major}}, reasonHas: "property removed at orderId"},
		{name: "removed optional property", new: edit(t, `"currency": {"enum": ["EUR", "USD"]},`, ``),
			level: semver.Major, changes: []change{{"currency", schemadiff.PropertyRemoved, semver.Major}}},
		{name: "new required property", new: edit(t, `"currency": {"enum": ["EUR", "USD"]},`, `"currency": {"enum": ["EUR", "USD"]}, "region": {"type": "string"},`),
			old: "", level: semver.Minor, changes: []change{{"region", schemadiff.OptionalAdded, semver.Minor}}},
		{name: "existing property becomes required", new: edit(t, `"required": ["orderId", "amount"]`, `"required": ["orderId", "amount", "currency"]`),
			level: semver.Major, changes: []change{{"currency", schemadiff.PropertyRequired, semver.Major}}},
		{name: "requirement dropped", new: edit(t, `"required": ["orderId", "amount"]`, `"required": ["orderId"]`),
			level: semver.Patch, changes: []change{{"amount", schemadiff.RequirementDropped, semver.Patch}}},
		{name: "type narrowed number to integer", new: edit(t, `"amount": {"type": "number", "minimum": 0}`, `"amount": {"type": "integer", "minimum": 0}`),
			level: semver.Major, changes: []change{{"amount", schemadiff.TypeNarrowed, semver.Major}}},
		{name: "type widened integer to number", new: strings.Replace(orderV1, `"qty": {"type": "integer"}`, `"qty": {"type": "number"}`, 1),
			level: semver.Patch, changes: []change{{"items[].qty", schemadiff.TypeWidened, semver.Patch}}},
		{name: "null no longer allowed", new: edit(t, `"type": ["string", "null"]`, `"type": "string"`),
			level: semver.Major, changes: []change{{"note", schemadiff.TypeNarrowed, semver.Major}}},
		{name: "enum narrowed", new: edit(t, `["EUR", "USD"]`, `["EUR"]`),
			level: semver.Major, changes: []change{{"currency", schemadiff.EnumNarrowed, semver.Major}}},
		{name: "enum widened", new: edit(t, `["EUR", "USD"]`, `["EUR", "USD", "GBP"]`),
			level: semver.Patch, changes: []change{{"currency", schemadiff.EnumWidened, semver.Patch}}},
		{name: "bound tightened", new: edit(t, `"maxLength": 200`, `"maxLength": 100`),
			level: semver.Major, changes: []change{{"note", schemadiff.BoundTightened, semver.Major}}},
		{name: "bound relaxed", new: edit(t, `"minimum": 0`, `"minimum": -10`),
			level: semver.Patch, changes: []change{{"amount", schemadiff.BoundRelaxed, semver.Patch}}},
		{name: "pattern changed", new: edit(t, `"^o-[0-9]+$"`, `"^o-[0-9]{6}$"`),
			level: semver.Major, changes: []change{{"orderId", schemadiff.PatternChanged, semver.Major}}},
		{name: "closed to additional properties", new: edit(t, `"type": "object",
  "required"`, `"type": "object", "additionalProperties": false,
  "required"`),
			level: semver.Major, changes: []change{{"", schemadiff.AdditionalClosed, semver.Major}}},
		{name: "nested through $ref: new required item field", new: strings.Replace(orderV1, `"required": ["sku"]`, `"required": ["sku", "qty"]`, 1),
			level: semver.Major, changes: []change{{"items[].qty", schemadiff.PropertyRequired, semver.Major}}},
		{name: "composition changed", new: edit(t, `"items": {"type": "array",`, `"items": {"type": "array", "anyOf": [{"minItems": 1}],`),
			level: semver.Major, changes: []change{{"items", schemadiff.CompositionChanged, semver.Major}}},
		{name: "mixed: optional added and property removed", new: edit(t, `"currency": {"enum": ["EUR", "USD"]},`, `"channel": {"type": "string"},`),
			level: semver.Major, changes: []change{{"channel", schemadiff.OptionalAdded, semver.Minor}, {"currency", schemadiff.PropertyRemoved, semver.Major}}},
		{name: "true to an object schema", old: `true`, new: `{"type": "object"}`,
			level: semver.Major, changes: []change{{"", schemadiff.TypeNarrowed, semver.Major}}},
		{name: "schema to false", old: `{"type": "object"}`, new: `false`,
			level: semver.Major, changes: []change{{"", schemadiff.SchemaClosed, semver.Major}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old
			if old == "" {
				old = orderV1
			}
			r, err := schemadiff.Diff([]byte(old), []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			var got []change
			for _, c := range r.Changes {
				got = append(got, change{c.Path, c.Kind, c.Level})
			}
			if diff := cmp.Diff(tc.changes, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s\nreport: %+v", diff, r)
			}
			if r.Level != tc.level {
				t.Errorf("level = %v, want %v", r.Level, tc.level)
			}
			if !strings.Contains(r.Reason(), tc.reasonHas) || !strings.HasPrefix(r.Reason(), tc.level.String()+": ") {
				t.Errorf("reason %q", r.Reason())
			}
		})
	}
}

// The "new required property" row above adds an optional one; a new
// property that is also required is MAJOR.
func TestDiff_NewRequiredProperty(t *testing.T) {
	new := strings.Replace(orderV1, `"required": ["orderId", "amount"]`, `"required": ["orderId", "amount", "region"]`, 1)
	new = strings.Replace(new, `"currency": {"enum": ["EUR", "USD"]},`, `"currency": {"enum": ["EUR", "USD"]}, "region": {"type": "string"},`, 1)
	r, err := schemadiff.Diff([]byte(orderV1), []byte(new))
	if err != nil {
		t.Fatal(err)
	}
	want := []schemadiff.Change{{Path: "region", Kind: schemadiff.RequiredAdded, Level: semver.Major}}
	if diff := cmp.Diff(want, r.Changes); diff != "" || r.Level != semver.Major {
		t.Errorf("(-want +got):\n%s level %v", diff, r.Level)
	}
}

func TestDiff_Invalid(t *testing.T) {
	for _, bad := range []string{``, `{`, `"a string"`, `[1]`} {
		if _, err := schemadiff.Diff([]byte(bad), []byte(orderV1)); !errors.Is(err, schemadiff.ErrInvalid) {
			t.Errorf("Diff(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDiff_RecursiveRefTerminates(t *testing.T) {
	s := `{"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"},"v":{"type":"string"}}}},"$ref":"#/$defs/node"}`
	n := strings.Replace(s, `"v":{"type":"string"}`, `"v":{"type":"integer"}`, 1)
	r, err := schemadiff.Diff([]byte(s), []byte(n))
	if err != nil {
		t.Fatal(err)
	}
	if r.Level != semver.Major {
		t.Errorf("level %v, changes %v", r.Level, r.Changes)
	}
}

func TestBump(t *testing.T) {
	removed, err := schemadiff.Diff([]byte(orderV1), []byte(strings.Replace(orderV1, `"currency": {"enum": ["EUR", "USD"]},`, ``, 1)))
	if err != nil {
		t.Fatal(err)
	}
	optional, err := schemadiff.Diff([]byte(orderV1), []byte(strings.Replace(orderV1, `"currency": {"enum": ["EUR", "USD"]},`, `"currency": {"enum": ["EUR", "USD"]}, "x": {},`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	same, _ := schemadiff.Diff([]byte(orderV1), []byte(orderV1))
	for _, tc := range []struct {
		name    string
		schema  schemadiff.Report
		commits []string
		want    semver.Level
		reason  string
	}{
		{"schema major beats fix", removed, []string{"fix: rounding"}, semver.Major,
			"major: the input schema breaks callers (property removed at currency); the commits call for patch"},
		{"breaking commit with an unchanged schema", same, []string{"feat!: new pricing"}, semver.Major,
			"major: the commits call for major; the input schema is unchanged"},
		{"optional property beats fix", optional, []string{"fix: x"}, semver.Minor,
			"minor: the input schema adds to what callers may send (optional property added at x); the commits call for patch"},
		{"feat equals optional property", optional, []string{"feat: x"}, semver.Minor,
			"minor: the commits call for minor; the input schema adds to what callers may send (optional property added at x)"},
		{"nothing at all", same, []string{"chore: deps"}, semver.Patch,
			"patch: the input schema is unchanged; no commit calls for a release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := schemadiff.Bump(tc.schema, tc.commits)
			if d.Level != tc.want || d.Reason != tc.reason {
				t.Errorf("Bump = %v %q, want %v %q", d.Level, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	v, err := schemadiff.Compile([]byte(orderV1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		doc      string
		rejected bool
		has      string
	}{
		{`{"orderId":"o-1","amount":3,"items":[{"sku":"a","qty":2}]}`, false, ""},
		{`{"orderId":"o-1"}`, true, "amount"},
		{`{"orderId":"x","amount":1}`, true, "/orderId"},
		{`{"orderId":"o-1","amount":1,"items":[{"qty":1.5}]}`, true, "/items/0"},
	} {
		err := v.Validate([]byte(tc.doc))
		if tc.rejected != (err != nil) || (err != nil && (!errors.Is(err, schemadiff.ErrRejected) || !strings.Contains(err.Error(), tc.has))) {
			t.Errorf("Validate(%s) = %v", tc.doc, err)
		}
	}
	if err := v.Validate([]byte(`{`)); err == nil || errors.Is(err, schemadiff.ErrRejected) {
		t.Errorf("non-JSON document: %v", err)
	}
	if _, err := schemadiff.Compile([]byte(`{"type": 12}`)); !errors.Is(err, schemadiff.ErrInvalid) {
		t.Errorf("Compile of a bad schema: %v", err)
	}
}
