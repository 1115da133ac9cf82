package semver

import (
	"fmt"
	"math"
	"strings"
)

// A Range is a set of versions written in node-semver's range grammar, such
// as "^1.2.3", ">=1.0.0 <2.0.0-0 || 3.x" or "1.2 - 2". It is a union (||) of
// comparator sets; a version is in a set when it satisfies every comparator
// of the set, subject to the prerelease rule (see [Range.Contains]).
//
// The zero Range is "*": it contains every version without a prerelease,
// as the empty range does. Ranges are immutable and safe for concurrent
// use. Compare two ranges with [Range.Equal] or their String forms.
type Range struct {
	sets [][]comparator
}

type operator uint8

const (
	opAny operator = iota // the empty comparator: anything
	opEQ
	opLT
	opLE
	opGT
	opGE
)

var opText = [...]string{opAny: "", opEQ: "", opLT: "<", opLE: "<=", opGT: ">", opGE: ">="}

// A comparator is one desugared term: op and a version without build
// metadata (v is unused for opAny).
type comparator struct {
	op operator
	v  Version
}

func (c comparator) String() string {
	if c.op == opAny {
		return ""
	}
	return opText[c.op] + c.v.String()
}

func (c *comparator) test(v *Version) bool {
	switch c.op {
	case opAny:
		return true
	case opEQ:
		return compare(v, &c.v) == 0
	case opLT:
		return compare(v, &c.v) < 0
	case opLE:
		return compare(v, &c.v) <= 0
	case opGT:
		return compare(v, &c.v) > 0
	default: // opGE
		return compare(v, &c.v) >= 0
	}
}

// isNull reports whether c is "<0.0.0-0", which no version satisfies.
func (c comparator) isNull() bool {
	return c.op == opLT && c.v == Version{pre: "0"}
}

// ParseRange parses a range in node-semver's grammar, without its loose
// mode (node-semver 7.8 with loose and includePrerelease off):
//
//   - comparators: 1.2.3 (or =1.2.3), <1.2.3, <=1.2.3, >1.2.3, >=1.2.3;
//     whitespace may separate the operator from the version (">= 1.2.3");
//   - x-ranges and partial versions: "*", "x", "X", "1.x", "1.2.*", "1", "1.2";
//     after a wildcard every part must be a wildcard ("1.x.3" is an error);
//     with an operator, "<1.2" is <1.2.0-0, ">1.2" is >=1.3.0, "<=1.2" is
//     <1.3.0-0;
//   - tilde: "~1.2.3" and "~>1.2.3" are >=1.2.3 <1.3.0-0, "~1.2" is
//     >=1.2.0 <1.3.0-0, "~1" is >=1.0.0 <2.0.0-0;
//   - caret: changes that do not modify the left-most non-zero part:
//     "^1.2.3" is >=1.2.3 <2.0.0-0, "^0.2.3" is >=0.2.3 <0.3.0-0, "^0.0.3" is
//     >=0.0.3 <0.0.4-0, "^1.2" is >=1.2.0 <2.0.0-0, "^0.0" is <0.1.0-0,
//     "^0" is <1.0.0-0;
//   - hyphen ranges: "1.2.3 - 2.3.4" is >=1.2.3 <=2.3.4; a partial lower end
//     fills zeros ("1.2 - 2.3.4" is >=1.2.0 <=2.3.4) and a partial upper end
//     takes the whole of it ("1.2.3 - 2.3" is >=1.2.3 <2.4.0-0);
//   - comparators separated by whitespace intersect; "||" separates
//     alternatives; an empty range, or an empty alternative, is any version.
//
// Numbers follow [Parse]'s rules (no leading zeros, at most
// math.MaxUint64), a "v" prefix is not accepted, and build metadata is
// allowed and ignored. A range whose desugaring would need a number above
// math.MaxUint64 (such as "^18446744073709551615.0.0") is an error.
//
// Errors are *[ParseError] values wrapping [ErrInvalid].
func ParseRange(s string) (Range, error) {
	var r Range
	rest := s
	for {
		part, tail, more := strings.Cut(rest, "||")
		set, msg := parseSet(part)
		if msg != "" {
			return Range{}, parseError(s, msg)
		}
		r.sets = append(r.sets, set)
		if !more {
			break
		}
		rest = tail
	}
	if len(r.sets) > 1 {
		// Drop alternatives that match nothing, unless all do; if one
		// alternative matches anything, so does the range.
		kept := r.sets[:0:0]
		for _, set := range r.sets {
			if !set[0].isNull() {
				kept = append(kept, set)
			}
		}
		switch {
		case len(kept) == 0:
			r.sets = r.sets[:1]
		case len(kept) > 1:
			for _, set := range kept {
				if len(set) == 1 && set[0].op == opAny {
					kept = [][]comparator{set}
					break
				}
			}
			r.sets = kept
		default:
			r.sets = kept
		}
	}
	return r, nil
}

// MustParseRange is like [ParseRange] but panics on error. It is meant for
// constants in programs and tests.
func MustParseRange(s string) Range {
	r, err := ParseRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// fields splits s at runs of whitespace.
func fields(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}

// isOperator reports whether tok is an operator alone, to be joined to the
// version that follows it ("~> 1.2", ">= 1.0.0").
func isOperator(tok string) bool {
	switch tok {
	case "<", "<=", ">", ">=", "=", "~", "~>", "^":
		return true
	}
	return false
}

// parseSet parses one ||-alternative into its comparators.
func parseSet(s string) ([]comparator, string) {
	toks := fields(s)
	if len(toks) == 3 && toks[1] == "-" {
		return hyphen(toks[0], toks[2])
	}
	// Join lone operators to the version after them.
	terms := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		if tok == "-" {
			return nil, `hyphen "-" is not between two versions (a hyphen range is "A - B", alone between ||s)`
		}
		if isOperator(tok) {
			if i+1 == len(toks) {
				return nil, fmt.Sprintf("operator %q has no version after it", tok)
			}
			i++
			tok += toks[i]
		}
		terms = append(terms, tok)
	}
	var set []comparator
	for _, term := range terms {
		cs, msg := expand(term)
		if msg != "" {
			return nil, msg
		}
		set = append(set, cs...)
	}
	return reduce(set), ""
}

// reduce applies node-semver's clean-ups to one comparator set: ">=0.0.0"
// is any version; a set holding "<0.0.0-0" is just that; duplicates go
// (the first stays); "any" goes when something else is left.
func reduce(set []comparator) []comparator {
	if len(set) == 0 {
		return []comparator{{op: opAny}}
	}
	out := set[:0]
	hasAny := false
	for _, c := range set {
		if c.op == opGE && c.v == (Version{}) {
			c = comparator{op: opAny}
		}
		if c.isNull() {
			return []comparator{c}
		}
		if c.op == opAny {
			if hasAny {
				continue
			}
			hasAny = true
		} else if containsComparator(out, c) {
			continue
		}
		out = append(out, c)
	}
	if hasAny && len(out) > 1 {
		kept := out[:0]
		for _, c := range out {
			if c.op != opAny {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	return out
}

func containsComparator(cs []comparator, c comparator) bool {
	for _, d := range cs {
		if d.op == c.op && d.v == c.v {
			return true
		}
	}
	return false
}

// A partial is a possibly partial version in a range: "1", "1.2.x",
// "1.2.3-rc.1". The first fixed parts of n are numbers; the rest are
// wildcards or absent. pre is kept only when all three parts are numbers.
type partial struct {
	n     [3]uint64
	fixed int
	pre   string
}

func (p partial) version() Version {
	return Version{major: p.n[0], minor: p.n[1], patch: p.n[2], pre: p.pre}
}

func isWildcard(s string) bool { return s == "x" || s == "X" || s == "*" }

var partName = [3]string{"major", "minor", "patch"}

// parsePartial parses a version that may be partial or have wildcards.
// Build metadata is checked and dropped.
func parsePartial(s string) (partial, string) {
	var p partial
	if s == "" {
		return p, "version is missing"
	}
	rest := s
	wild := false
	for k := 0; k < 3; k++ {
		j := 0
		for j < len(rest) && rest[j] != '.' && rest[j] != '-' && rest[j] != '+' {
			j++
		}
		part := rest[:j]
		switch {
		case part == "":
			return p, fmt.Sprintf("version %q: %s version is missing", s, partName[k])
		case isWildcard(part):
			wild = true
		case wild:
			return p, fmt.Sprintf("version %q: %s version %s follows a wildcard", s, partName[k], part)
		default:
			n, next, msg := parseNumber(part, 0, partName[k])
			if msg == "" && next != len(part) {
				msg = unexpected(part, next, "in the "+partName[k]+" version")
			}
			if msg != "" {
				return p, fmt.Sprintf("version %q: %s", s, msg)
			}
			p.n[k] = n
			p.fixed++
		}
		rest = rest[j:]
		if rest == "" || rest[0] != '.' {
			break
		}
		if k == 2 {
			return p, fmt.Sprintf("version %q: too many parts", s)
		}
		rest = rest[1:]
	}
	if rest != "" && rest[0] == '-' {
		if strings.Count(s[:len(s)-len(rest)], ".") != 2 {
			return p, fmt.Sprintf("version %q: a prerelease needs MAJOR.MINOR.PATCH", s)
		}
		pre := rest[1:]
		if i := strings.IndexByte(pre, '+'); i >= 0 {
			pre = pre[:i]
		}
		if msg := checkIdentifiers(pre, 0, len(pre), "prerelease"); msg != "" {
			return p, fmt.Sprintf("version %q: %s", s, msg)
		}
		if !wild {
			p.pre = pre
		}
		rest = rest[1+len(pre):]
	}
	if rest != "" && rest[0] == '+' {
		if msg := checkIdentifiers(rest, 1, len(rest), "build"); msg != "" {
			return p, fmt.Sprintf("version %q: %s", s, msg)
		}
		rest = ""
	}
	if rest != "" {
		return p, fmt.Sprintf("version %q: %s", s, unexpected(s, len(s)-len(rest), ""))
	}
	return p, ""
}

// inc returns n+1 or reports overflow.
func inc(n uint64, s string) (uint64, string) {
	if n == math.MaxUint64 {
		return 0, fmt.Sprintf("version %q: the range's bound would overflow uint64", s)
	}
	return n + 1, ""
}

// upper returns the exclusive upper bound "<X.Y.Z-0" of the versions that
// share the first k parts of p (k is 1 or 2), or of p.n[0].p.n[1].(p+1) for
// k == 3.
func upper(p partial, k int, s string) (comparator, string) {
	var v Version
	var msg string
	switch k {
	case 1:
		v.major, msg = inc(p.n[0], s)
	case 2:
		v.major = p.n[0]
		v.minor, msg = inc(p.n[1], s)
	case 3:
		v.major, v.minor = p.n[0], p.n[1]
		v.patch, msg = inc(p.n[2], s)
	}
	v.pre = "0"
	return comparator{op: opLT, v: v}, msg
}

// lower returns ">=" the first version p allows: missing parts are zero.
func lower(p partial) comparator {
	return comparator{op: opGE, v: p.version()}
}

// expand desugars one term such as "^1.2", "~>1.2.3", "<=1.x" or "1.2.3".
func expand(term string) ([]comparator, string) {
	var op string
	for _, o := range []string{"~>", "~", "^", ">=", "<=", ">", "<", "="} {
		if strings.HasPrefix(term, o) {
			op = o
			break
		}
	}
	p, msg := parsePartial(term[len(op):])
	if msg != "" {
		if term[len(op):] == "" {
			msg = fmt.Sprintf("operator %q has no version after it", op)
		}
		return nil, msg
	}
	anyC := []comparator{{op: opAny}}
	switch op {
	case "~>", "~":
		if p.fixed == 0 {
			return anyC, ""
		}
		k := 2
		if p.fixed == 1 {
			k = 1
		}
		hi, msg := upper(p, k, term)
		return []comparator{lower(p), hi}, msg
	case "^":
		k := 0
		switch {
		case p.fixed == 0:
			return anyC, ""
		case p.fixed == 1 || p.n[0] != 0:
			k = 1
		case p.fixed == 2 || p.n[1] != 0:
			k = 2
		default: // ^0.0.p
			k = 3
		}
		hi, msg := upper(p, k, term)
		return []comparator{lower(p), hi}, msg
	}
	// An x-range, a partial version or a plain comparator.
	if p.fixed == 3 {
		c := comparator{v: p.version()}
		switch op {
		case "", "=":
			c.op = opEQ
		case "<":
			c.op = opLT
		case "<=":
			c.op = opLE
		case ">":
			c.op = opGT
		case ">=":
			c.op = opGE
		}
		return []comparator{c}, ""
	}
	if p.fixed == 0 {
		if op == "<" || op == ">" {
			return []comparator{{op: opLT, v: Version{pre: "0"}}}, ""
		}
		return anyC, ""
	}
	switch op {
	case "", "=": // 1.2 is >=1.2.0 <1.3.0-0
		hi, msg := upper(p, p.fixed, term)
		return []comparator{lower(p), hi}, msg
	case ">=": // >=1.2 is >=1.2.0
		return []comparator{lower(p)}, ""
	case "<": // <1.2 is <1.2.0-0
		p.pre = "0"
		return []comparator{{op: opLT, v: p.version()}}, ""
	case ">": // >1.2 is >=1.3.0
		hi, msg := upper(p, p.fixed, term)
		hi.op, hi.v.pre = opGE, ""
		return []comparator{hi}, msg
	default: // "<=": <=1.2 is <1.3.0-0
		hi, msg := upper(p, p.fixed, term)
		return []comparator{hi}, msg
	}
}

// hyphen desugars "from - to".
func hyphen(from, to string) ([]comparator, string) {
	f, msg := parsePartial(from)
	if msg != "" {
		return nil, msg
	}
	t, msg := parsePartial(to)
	if msg != "" {
		return nil, msg
	}
	var set []comparator
	if f.fixed > 0 {
		set = append(set, lower(f))
	}
	switch t.fixed {
	case 0:
	case 3:
		set = append(set, comparator{op: opLE, v: t.version()})
	default:
		hi, msg := upper(t, t.fixed, to)
		if msg != "" {
			return nil, msg
		}
		set = append(set, hi)
	}
	return reduce(set), ""
}

// Contains reports whether v is in r: whether v satisfies every comparator
// of at least one of r's comparator sets, where a v with a prerelease
// counts only for a set with a comparator on the same MAJOR.MINOR.PATCH
// that has a prerelease too (node-semver's rule). Thus ">=1.2.3-rc.1"
// contains 1.2.3-rc.2 and 1.2.3 but not 1.2.4-rc.1, and "^1.2.3" contains
// no prerelease. Build metadata of v is ignored. Contains allocates nothing.
func (r Range) Contains(v Version) bool {
	if len(r.sets) == 0 {
		return v.pre == ""
	}
	for _, set := range r.sets {
		if containsSet(set, &v) {
			return true
		}
	}
	return false
}

func containsSet(set []comparator, v *Version) bool {
	for i := range set {
		if !set[i].test(v) {
			return false
		}
	}
	if v.pre == "" {
		return true
	}
	for i := range set {
		c := &set[i]
		if c.op != opAny && c.v.pre != "" &&
			c.v.major == v.major && c.v.minor == v.minor && c.v.patch == v.patch {
			return true
		}
	}
	return false
}

// String returns the range in node-semver's canonical form (what its
// validRange returns): comparators separated by a space, alternatives by
// "||", "*" for any version and "<0.0.0-0" for none, such as
// ">=1.2.3 <2.0.0-0||>=3.0.0". ParseRange(r.String()) is equal to r.
func (r Range) String() string {
	var b strings.Builder
	for i, set := range r.sets {
		if i > 0 {
			b.WriteString("||")
		}
		n := b.Len()
		for _, c := range set {
			if c.op == opAny {
				continue
			}
			if b.Len() > n {
				b.WriteByte(' ')
			}
			b.WriteString(c.String())
		}
	}
	if b.Len() == 0 {
		return "*"
	}
	return b.String()
}

// Equal reports whether r and o have the same canonical form
// ([Range.String]). Equal ranges contain the same versions; ranges with
// different canonical forms may too (">=1.0.0 <1.0.1-0" and "1.0.x").
func (r Range) Equal(o Range) bool { return r.String() == o.String() }

// MarshalText implements [encoding.TextMarshaler]: the canonical form.
func (r Range) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseRange].
func (r *Range) UnmarshalText(text []byte) error {
	p, err := ParseRange(string(text))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// MaxSatisfying returns the version of highest precedence in vs that r
// contains, and false if r contains none. Of versions with equal
// precedence the first in vs wins.
func MaxSatisfying(vs []Version, r Range) (Version, bool) {
	var best Version
	found := false
	for _, v := range vs {
		if r.Contains(v) && (!found || Compare(best, v) < 0) {
			best, found = v, true
		}
	}
	return best, found
}

// MinSatisfying returns the version of lowest precedence in vs that r
// contains, and false if r contains none. Of versions with equal precedence
// the first in vs wins.
func MinSatisfying(vs []Version, r Range) (Version, bool) {
	var best Version
	found := false
	for _, v := range vs {
		if r.Contains(v) && (!found || Compare(best, v) > 0) {
			best, found = v, true
		}
	}
	return best, found
}
