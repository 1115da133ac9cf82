package schemadiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway/semver"
)

// ErrInvalid is wrapped by errors for a schema that is not JSON, or not a
// JSON Schema (an object or a boolean).
var ErrInvalid = errors.New("schemadiff: invalid schema")

// Kind names what changed.
type Kind string

// The kinds of change Diff reports, with their level.
const (
	PropertyRemoved    Kind = "property removed"          // MAJOR
	PropertyRequired   Kind = "property became required"  // MAJOR
	RequiredAdded      Kind = "required property added"   // MAJOR
	TypeNarrowed       Kind = "type narrowed"             // MAJOR
	EnumNarrowed       Kind = "enum narrowed"             // MAJOR (const too)
	BoundTightened     Kind = "bound tightened"           // MAJOR
	PatternChanged     Kind = "pattern or format changed" // MAJOR
	AdditionalClosed   Kind = "additional properties closed"
	SchemaClosed       Kind = "schema refuses everything" // MAJOR (true → false)
	CompositionChanged Kind = "composition changed"       // MAJOR, not analysed
	OptionalAdded      Kind = "optional property added"   // MINOR
	TypeWidened        Kind = "type widened"              // PATCH
	EnumWidened        Kind = "enum widened"              // PATCH
	BoundRelaxed       Kind = "bound relaxed"             // PATCH
	RequirementDropped Kind = "requirement dropped"       // PATCH
	ConstraintRemoved  Kind = "constraint removed"        // PATCH
	AnnotationChanged  Kind = "annotation changed"        // PATCH
	RemoteRefChanged   Kind = "remote reference changed"  // MAJOR, not analysed
)

// Change is one difference between two schemas.
type Change struct {
	// Path locates it in the input: "" for the top level, "order.items[].sku"
	// for a nested property (array items as "[]").
	Path   string       `json:"path"`
	Kind   Kind         `json:"kind"`
	Level  semver.Level `json:"level"`
	Detail string       `json:"detail,omitempty"`
}

func (c Change) String() string {
	s := string(c.Kind)
	if c.Path != "" {
		s += " at " + c.Path
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Report is the classified difference between two schemas.
type Report struct {
	// Level is the largest Level of Changes, Patch when there are none.
	Level   semver.Level `json:"level"`
	Changes []Change     `json:"changes,omitempty"`
}

// Reason explains Level in one line: the changes at that level, e.g.
// `major: property removed at customer.id; property became required at
// region`.
func (r Report) Reason() string {
	var parts []string
	for _, c := range r.Changes {
		if c.Level == r.Level {
			parts = append(parts, c.String())
		}
	}
	if len(parts) == 0 {
		return r.Level.String() + ": the input schema did not change in a way that matters to callers"
	}
	return r.Level.String() + ": " + strings.Join(parts, "; ")
}

// Diff classifies the change from the schema old to the schema new (both
// JSON Schema documents). Changes are ordered by path, then kind.
func Diff(old, new []byte) (Report, error) {
	o, err := decode("old", old)
	if err != nil {
		return Report{}, err
	}
	n, err := decode("new", new)
	if err != nil {
		return Report{}, err
	}
	d := &differ{oldRoot: o, newRoot: n, seen: map[[2]string]bool{}}
	d.node("", o, n)
	r := Report{Level: semver.Patch, Changes: d.changes}
	slices.SortStableFunc(r.Changes, func(a, b Change) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
	for _, c := range r.Changes {
		r.Level = max(r.Level, c.Level)
	}
	return r, nil
}

func decode(which string, b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: the %s schema is not JSON: %w", ErrInvalid, which, err)
	}
	switch v.(type) {
	case map[string]any, bool:
		return v, nil
	}
	return nil, fmt.Errorf("%w: the %s schema is neither an object nor a boolean", ErrInvalid, which)
}

type differ struct {
	oldRoot, newRoot any
	changes          []Change
	seen             map[[2]string]bool // pairs of $ref followed, against cycles
}

func (d *differ) add(path string, k Kind, l semver.Level, format string, a ...any) {
	d.changes = append(d.changes, Change{Path: path, Kind: k, Level: l, Detail: fmt.Sprintf(format, a...)})
}

// resolve follows a local $ref ("#/…" JSON pointer) in root; ok is false
// for a remote one.
func resolve(root any, s map[string]any) (map[string]any, string, bool) {
	ref, _ := s["$ref"].(string)
	if ref == "" {
		return s, "", true
	}
	if !strings.HasPrefix(ref, "#") {
		return s, ref, false
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#"), "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return s, ref, false
		}
		cur = m[tok]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return s, ref, false
	}
	// Sibling keywords of $ref (2020-12) apply too.
	merged := maps.Clone(m)
	for k, v := range s {
		if k != "$ref" {
			merged[k] = v
		}
	}
	return merged, ref, true
}

func (d *differ) node(path string, o, n any) {
	ob, oIsBool := o.(bool)
	nb, nIsBool := n.(bool)
	switch {
	case oIsBool && nIsBool:
		if ob && !nb {
			d.add(path, SchemaClosed, semver.Major, "true → false")
		} else if !ob && nb {
			d.add(path, TypeWidened, semver.Patch, "false → true")
		}
		return
	case oIsBool:
		if !ob {
			d.add(path, TypeWidened, semver.Patch, "false → a schema")
			return
		}
		o = map[string]any{}
	case nIsBool:
		if !nb {
			d.add(path, SchemaClosed, semver.Major, "a schema → false")
			return
		}
		n = map[string]any{}
	}
	om, _ := o.(map[string]any)
	nm, _ := n.(map[string]any)
	om, oref, ook := resolve(d.oldRoot, om)
	nm, nref, nok := resolve(d.newRoot, nm)
	if !ook || !nok {
		if oref != nref || !reflect.DeepEqual(om, nm) {
			d.add(path, RemoteRefChanged, semver.Major, "%q → %q", oref, nref)
		}
		return
	}
	if oref != "" || nref != "" {
		key := [2]string{oref, nref}
		if d.seen[key] {
			return
		}
		d.seen[key] = true
		defer delete(d.seen, key)
	}
	d.types(path, om, nm)
	d.enums(path, om, nm)
	d.bounds(path, om, nm)
	d.patterns(path, om, nm)
	d.compositions(path, om, nm)
	d.object(path, om, nm)
	if oi, ni := om["items"], nm["items"]; oi != nil || ni != nil {
		switch {
		case oi == nil:
			d.node(path+"[]", true, ni)
		case ni == nil:
			d.node(path+"[]", oi, true)
		default:
			d.node(path+"[]", oi, ni)
		}
	}
	for _, k := range []string{"description", "title", "examples", "default", "$comment", "deprecated"} {
		if !reflect.DeepEqual(om[k], nm[k]) {
			d.add(path, AnnotationChanged, semver.Patch, "%s", k)
		}
	}
}

// typeSet returns the types a schema allows, nil for any.
func typeSet(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// allows reports whether the type set ts admits every value of type t.
func allows(ts []string, t string) bool {
	return ts == nil || slices.Contains(ts, t) || (t == "integer" && slices.Contains(ts, "number"))
}

func (d *differ) types(path string, o, n map[string]any) {
	ot, nt := typeSet(o), typeSet(n)
	if nt != nil && ot == nil {
		d.add(path, TypeNarrowed, semver.Major, "any → %s", strings.Join(nt, "|"))
		return
	}
	var lost, gained []string
	for _, t := range ot {
		if !allows(nt, t) {
			lost = append(lost, t)
		}
	}
	for _, t := range nt {
		if !allows(ot, t) {
			gained = append(gained, t)
		}
	}
	if ot != nil && nt == nil {
		d.add(path, TypeWidened, semver.Patch, "%s → any", strings.Join(ot, "|"))
		return
	}
	if len(lost) > 0 {
		d.add(path, TypeNarrowed, semver.Major, "%s → %s", strings.Join(ot, "|"), strings.Join(nt, "|"))
	} else if len(gained) > 0 {
		d.add(path, TypeWidened, semver.Patch, "%s → %s", strings.Join(ot, "|"), strings.Join(nt, "|"))
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (d *differ) enums(path string, o, n map[string]any) {
	oe, oHas := o["enum"].([]any)
	ne, nHas := n["enum"].([]any)
	if c, ok := o["const"]; ok {
		oe, oHas = []any{c}, true
	}
	if c, ok := n["const"]; ok {
		ne, nHas = []any{c}, true
	}
	if !nHas {
		if oHas {
			d.add(path, EnumWidened, semver.Patch, "enum removed")
		}
		return
	}
	if !oHas {
		d.add(path, EnumNarrowed, semver.Major, "any value → one of %s", jsonText(ne))
		return
	}
	in := func(list []any, v any) bool {
		return slices.ContainsFunc(list, func(x any) bool { return reflect.DeepEqual(x, v) })
	}
	var lost, gained []any
	for _, v := range oe {
		if !in(ne, v) {
			lost = append(lost, v)
		}
	}
	for _, v := range ne {
		if !in(oe, v) {
			gained = append(gained, v)
		}
	}
	if len(lost) > 0 {
		d.add(path, EnumNarrowed, semver.Major, "no longer accepts %s", jsonText(lost))
	} else if len(gained) > 0 {
		d.add(path, EnumWidened, semver.Patch, "also accepts %s", jsonText(gained))
	}
}

// lower bounds tighten upwards, upper bounds downwards.
var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "multipleOf"}
)

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

func (d *differ) bounds(path string, o, n map[string]any) {
	check := func(k string, tighter func(old, new float64) bool) {
		ov, oOK := number(o[k])
		nv, nOK := number(n[k])
		switch {
		case !oOK && !nOK:
		case !oOK:
			d.add(path, BoundTightened, semver.Major, "%s %v added", k, n[k])
		case !nOK:
			d.add(path, BoundRelaxed, semver.Patch, "%s %v removed", k, o[k])
		case ov == nv:
		case k == "multipleOf":
			// A new step accepts fewer values unless it divides the old one.
			if r := ov / nv; r != float64(int64(r)) {
				d.add(path, BoundTightened, semver.Major, "%s %v → %v", k, o[k], n[k])
			} else {
				d.add(path, BoundRelaxed, semver.Patch, "%s %v → %v", k, o[k], n[k])
			}
		case tighter(ov, nv):
			d.add(path, BoundTightened, semver.Major, "%s %v → %v", k, o[k], n[k])
		default:
			d.add(path, BoundRelaxed, semver.Patch, "%s %v → %v", k, o[k], n[k])
		}
	}
	for _, k := range lowerBounds {
		check(k, func(old, new float64) bool { return new > old })
	}
	for _, k := range upperBounds {
		check(k, func(old, new float64) bool { return new < old })
	}
}

func (d *differ) patterns(path string, o, n map[string]any) {
	for _, k := range []string{"pattern", "format", "contentEncoding", "contentMediaType"} {
		ov, oOK := o[k]
		nv, nOK := n[k]
		switch {
		case !nOK && oOK:
			d.add(path, ConstraintRemoved, semver.Patch, "%s %v removed", k, ov)
		case nOK && !reflect.DeepEqual(ov, nv):
			d.add(path, PatternChanged, semver.Major, "%s %v → %v", k, jsonText(ov), jsonText(nv))
		}
	}
}

func (d *differ) compositions(path string, o, n map[string]any) {
	for _, k := range []string{"allOf", "anyOf", "oneOf", "not", "if", "then", "else",
		"dependentRequired", "dependentSchemas", "dependencies", "patternProperties", "propertyNames",
		"prefixItems", "contains", "unevaluatedProperties", "unevaluatedItems"} {
		if !reflect.DeepEqual(o[k], n[k]) {
			d.add(path, CompositionChanged, semver.Major, "%s changed; not analysed, taken as breaking", k)
		}
	}
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func join(path, prop string) string {
	if path == "" {
		return prop
	}
	return path + "." + prop
}

func (d *differ) object(path string, o, n map[string]any) {
	op, _ := o["properties"].(map[string]any)
	np, _ := n["properties"].(map[string]any)
	oreq, nreq := stringList(o["required"]), stringList(n["required"])
	for _, k := range slices.Sorted(maps.Keys(op)) {
		if _, ok := np[k]; !ok {
			d.add(join(path, k), PropertyRemoved, semver.Major, "")
			continue
		}
		d.node(join(path, k), op[k], np[k])
	}
	for _, k := range slices.Sorted(maps.Keys(np)) {
		if _, ok := op[k]; ok {
			continue
		}
		if slices.Contains(nreq, k) {
			d.add(join(path, k), RequiredAdded, semver.Major, "")
		} else {
			d.add(join(path, k), OptionalAdded, semver.Minor, "")
		}
	}
	for _, k := range nreq {
		_, newProp := np[k]
		_, oldProp := op[k]
		if slices.Contains(oreq, k) || (newProp && !oldProp) {
			continue // unchanged, or reported as RequiredAdded
		}
		d.add(join(path, k), PropertyRequired, semver.Major, "")
	}
	for _, k := range oreq {
		_, wasProp := op[k]
		_, isProp := np[k]
		if wasProp && !isProp {
			continue // reported as PropertyRemoved
		}
		if !slices.Contains(nreq, k) {
			d.add(join(path, k), RequirementDropped, semver.Patch, "")
		}
	}
	oa, oHas := o["additionalProperties"]
	na, nHas := n["additionalProperties"]
	switch {
	case !nHas && !oHas:
	case nHas && na == false && (!oHas || oa != false):
		d.add(path, AdditionalClosed, semver.Major, "additionalProperties false")
	case !reflect.DeepEqual(oa, na):
		if !oHas {
			oa = true
		}
		if !nHas {
			na = true
		}
		d.node(path+"{*}", oa, na)
	}
}
