package semver

import (
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Version is a SemVer 2.0.0 version: MAJOR.MINOR.PATCH, an optional
// prerelease (after "-") and optional build metadata (after "+").
//
// Version is a small comparable value type. The zero Version is 0.0.0.
// Values are valid by construction: they come from [Parse], [ParseTolerant],
// [New] and the methods of this package, all of which validate.
//
// The == operator compares every part including build metadata, so
// 1.0.0+a != 1.0.0+b; [Compare] and [Version.Equal] ignore build metadata,
// as precedence does.
type Version struct {
	major, minor, patch uint64
	pre                 string // dot-separated identifiers, without the "-"
	build               string // dot-separated identifiers, without the "+"
}

// New returns the version major.minor.patch, without prerelease or build
// metadata.
func New(major, minor, patch uint64) Version {
	return Version{major: major, minor: minor, patch: patch}
}

// Parse parses s as a strict SemVer 2.0.0 version and reports what is
// wrong, and where, when it is not one. Parse accepts exactly the strings
// of the SemVer 2.0.0 grammar:
//
//   - no surrounding whitespace and no "v" prefix (see [ParseTolerant]);
//   - all three of MAJOR.MINOR.PATCH, each a decimal number without a
//     leading zero and at most math.MaxUint64;
//   - prerelease and build identifiers are non-empty and made of
//     [0-9A-Za-z-]; numeric prerelease identifiers have no leading zero
//     (they may be longer than any integer type: they compare by value
//     all the same); build identifiers may have leading zeros.
//
// A parsed version prints back as s: Parse(s) succeeds only for canonical
// text, and [Version.String] returns that text. Parsing allocates nothing:
// the prerelease and build strings share the memory of s.
//
// Errors are *[ParseError] values wrapping [ErrInvalid].
func Parse(s string) (Version, error) {
	v, msg := parse(s, 0)
	if msg != "" {
		if s != "" && (s[0] == 'v' || s[0] == 'V') {
			if _, m := parse(s, 1); m == "" {
				msg = `leading "` + s[:1] + `" is not allowed (ParseTolerant accepts it)`
			}
		}
		return Version{}, parseError(s, msg)
	}
	return v, nil
}

// ParseTolerant is [Parse] that also accepts a single leading "v" or "V",
// as in Git tags like v1.2.3. The prefix is not kept: the result is the
// same Version as Parse of the rest, and its String has no prefix. Nothing
// else is tolerated: "vv1.2.3", " v1.2.3", "v1.2" and "=1.2.3" are errors.
func ParseTolerant(s string) (Version, error) {
	if s != "" && (s[0] == 'v' || s[0] == 'V') {
		v, msg := parse(s, 1)
		if msg != "" {
			return Version{}, parseError(s, msg)
		}
		return v, nil
	}
	return Parse(s)
}

// MustParse is like [Parse] but panics if s is not a valid version. It is
// meant for constants in programs and tests.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// parse does the work of Parse on s[i:]; it returns a non-empty message
// instead of an error so that the success path allocates nothing.
func parse(s string, i int) (Version, string) {
	var v Version
	if s == "" {
		return v, "empty string"
	}
	var msg string
	if v.major, i, msg = parseNumber(s, i, "major"); msg != "" {
		return Version{}, msg
	}
	if msg = expectDot(s, i, "major", "minor"); msg != "" {
		return Version{}, msg
	}
	if v.minor, i, msg = parseNumber(s, i+1, "minor"); msg != "" {
		return Version{}, msg
	}
	if msg = expectDot(s, i, "minor", "patch"); msg != "" {
		return Version{}, msg
	}
	if v.patch, i, msg = parseNumber(s, i+1, "patch"); msg != "" {
		return Version{}, msg
	}
	if i == len(s) {
		return v, ""
	}
	switch s[i] {
	case '-':
		end := strings.IndexByte(s[i+1:], '+')
		if end < 0 {
			end = len(s)
		} else {
			end += i + 1
		}
		if msg = checkIdentifiers(s, i+1, end, "prerelease"); msg != "" {
			return Version{}, msg
		}
		v.pre = s[i+1 : end]
		i = end
		if i == len(s) {
			return v, ""
		}
	case '+':
	default:
		return Version{}, unexpected(s, i, `after patch version (want "-", "+" or the end)`)
	}
	// s[i] == '+'
	if msg = checkIdentifiers(s, i+1, len(s), "build"); msg != "" {
		return Version{}, msg
	}
	v.build = s[i+1:]
	return v, ""
}

// parseNumber parses the decimal number that starts at s[i].
func parseNumber(s string, i int, part string) (uint64, int, string) {
	start := i
	var n uint64
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := uint64(s[i] - '0')
		// Up to 19 digits cannot overflow; check only beyond that, so the
		// common case costs no division.
		if i-start >= 19 && n > (math.MaxUint64-d)/10 {
			return 0, i, part + " version " + s[start:end(s, i)] + " overflows uint64"
		}
		n = n*10 + d
	}
	switch {
	case i == start && i == len(s):
		return 0, i, part + " version is missing"
	case i == start:
		return 0, i, unexpected(s, i, "where the "+part+" version should start")
	case s[start] == '0' && i-start > 1:
		return 0, i, part + " version has a leading zero"
	}
	return n, i, ""
}

// end returns the index just past the digits that start at s[i].
func end(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func expectDot(s string, i int, after, next string) string {
	if i == len(s) {
		return next + " version is missing (want MAJOR.MINOR.PATCH)"
	}
	if s[i] != '.' {
		return unexpected(s, i, `after `+after+` version (want ".")`)
	}
	return ""
}

// checkIdentifiers validates the dot-separated identifiers s[start:stop]
// of a prerelease (numeric identifiers must not have leading zeros) or of
// build metadata.
func checkIdentifiers(s string, start, stop int, what string) string {
	if start == stop {
		return what + " is empty"
	}
	idStart, n := start, 1
	numeric := true
	for i := start; i <= stop; i++ {
		if i == stop || s[i] == '.' {
			if i == idStart {
				return fmt.Sprintf("%s identifier %d is empty (at offset %d)", what, n, i)
			}
			if what == "prerelease" && numeric && s[idStart] == '0' && i-idStart > 1 {
				return fmt.Sprintf("%s identifier %q has a leading zero", what, s[idStart:i])
			}
			idStart, n, numeric = i+1, n+1, true
			continue
		}
		c := s[i]
		switch {
		case isDigit(c):
		case isAlnumHyphen(c):
			numeric = false
		default:
			return unexpected(s, i, "in "+what+" (want [0-9A-Za-z-] or \".\")")
		}
	}
	return ""
}

// unexpected describes the character at s[i].
func unexpected(s string, i int, where string) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return fmt.Sprintf("unexpected %q at offset %d %s", r, i, where)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnumHyphen(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-'
}

// Major returns the major version number.
func (v Version) Major() uint64 { return v.major }

// Minor returns the minor version number.
func (v Version) Minor() uint64 { return v.minor }

// Patch returns the patch version number.
func (v Version) Patch() uint64 { return v.patch }

// Prerelease returns the prerelease identifiers joined by dots, without
// the leading "-" ("rc.1" for 1.2.3-rc.1), or "" if there are none.
func (v Version) Prerelease() string { return v.pre }

// Build returns the build metadata identifiers joined by dots, without the
// leading "+" ("sha.5114f85" for 1.2.3+sha.5114f85), or "" if there are
// none.
func (v Version) Build() string { return v.build }

// IsPrerelease reports whether v has prerelease identifiers.
func (v Version) IsPrerelease() bool { return v.pre != "" }

// PrereleaseIdentifiers returns the prerelease identifiers, or nil.
func (v Version) PrereleaseIdentifiers() []string { return split(v.pre) }

// BuildIdentifiers returns the build metadata identifiers, or nil.
func (v Version) BuildIdentifiers() []string { return split(v.build) }

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// Core returns v without prerelease and build metadata: 1.2.3 for
// 1.2.3-rc.1+sha.5114f85.
func (v Version) Core() Version { return New(v.major, v.minor, v.patch) }

// WithPrerelease returns v with its prerelease replaced by pre, the
// dot-separated identifiers without the leading "-" ("" removes it). The
// build metadata is kept. It fails with [ErrInvalid] if pre is malformed.
func (v Version) WithPrerelease(pre string) (Version, error) {
	if pre != "" {
		if msg := checkIdentifiers(pre, 0, len(pre), "prerelease"); msg != "" {
			return Version{}, parseError(pre, msg)
		}
	}
	v.pre = pre
	return v, nil
}

// WithBuild returns v with its build metadata replaced by build, the
// dot-separated identifiers without the leading "+" ("" removes it). Slipway
// records the commit this way, as in 1.4.0+sha.5114f85. It fails with
// [ErrInvalid] if build is malformed.
func (v Version) WithBuild(build string) (Version, error) {
	if build != "" {
		if msg := checkIdentifiers(build, 0, len(build), "build"); msg != "" {
			return Version{}, parseError(build, msg)
		}
	}
	v.build = build
	return v, nil
}

// String returns the canonical text of v, such as "1.2.3-rc.1+sha.5114f85".
// Parse(v.String()) returns v.
func (v Version) String() string {
	var buf [64]byte
	return string(v.appendTo(buf[:0]))
}

func (v Version) appendTo(b []byte) []byte {
	b = strconv.AppendUint(b, v.major, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.minor, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.patch, 10)
	if v.pre != "" {
		b = append(b, '-')
		b = append(b, v.pre...)
	}
	if v.build != "" {
		b = append(b, '+')
		b = append(b, v.build...)
	}
	return b
}

// Compare returns -1, 0 or +1 as a has lower, equal or higher precedence
// than b, following semver.org §11:
//
//   - MAJOR, MINOR and PATCH compare numerically, in that order;
//   - a version with a prerelease is lower than the same version without:
//     1.0.0-rc.1 < 1.0.0;
//   - prerelease identifiers compare left to right: numeric identifiers by
//     value (of any length), others in ASCII order, numeric lower than
//     alphanumeric, and when all shared identifiers are equal, fewer
//     identifiers is lower: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta
//     < 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0;
//   - build metadata is ignored: 1.0.0+a and 1.0.0+b compare equal.
//
// Compare has the signature [slices.SortFunc] wants and allocates nothing.
func Compare(a, b Version) int {
	switch {
	case a.major != b.major:
		return cmpUint(a.major, b.major)
	case a.minor != b.minor:
		return cmpUint(a.minor, b.minor)
	case a.patch != b.patch:
		return cmpUint(a.patch, b.patch)
	}
	return comparePrerelease(a.pre, b.pre)
}

// compare is Compare on pointers, so that the range checks, which compare
// a version with each comparator's, copy no Version.
func compare(a, b *Version) int {
	switch {
	case a.major != b.major:
		return cmpUint(a.major, b.major)
	case a.minor != b.minor:
		return cmpUint(a.minor, b.minor)
	case a.patch != b.patch:
		return cmpUint(a.patch, b.patch)
	}
	return comparePrerelease(a.pre, b.pre)
}

func cmpUint(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// comparePrerelease compares two valid prerelease strings; "" means none
// and sorts last.
//
// Identifiers before the first differing byte, at i, are equal, so only
// the identifiers holding that byte decide, and the byte itself says how
// they compare: numeric identifiers (no leading zeros) by length, then at
// i; a numeric one below an alphanumeric one; alphanumeric ones in ASCII
// order, at i, a prefix first. Identifiers that are equal up to their ends
// mean one list ended at i: fewer identifiers is lower (the other list
// goes on with a dot, which no identifier holds). One pass, no allocation.
func comparePrerelease(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return 1
	}
	if b == "" {
		return -1
	}
	i, n := 0, min(len(a), len(b))
	for i < n && a[i] == b[i] {
		i++
	}
	start := i
	numA := true // the shared part of the identifiers is all digits
	for start > 0 && a[start-1] != '.' {
		start--
		if !isDigit(a[start]) {
			numA = false
		}
	}
	numB := numA
	endA, endB := i, i
	for endA < len(a) && a[endA] != '.' {
		if !isDigit(a[endA]) {
			numA = false
		}
		endA++
	}
	for endB < len(b) && b[endB] != '.' {
		if !isDigit(b[endB]) {
			numB = false
		}
		endB++
	}
	numA = numA && endA > start
	numB = numB && endB > start
	switch {
	case i == endA && i == endB: // equal identifiers: one list ended at i
		if endA == len(a) {
			return -1
		}
		return 1
	case numA && numB:
		if la, lb := endA-start, endB-start; la != lb {
			return cmpLen(la, lb)
		}
		// Same length, not equal: the differing byte is inside both.
		return cmpByte(a[i], b[i])
	case numA:
		return -1
	case numB:
		return 1
	case i < endA && i < endB:
		return cmpByte(a[i], b[i])
	case i < endA: // b's identifier is a proper prefix of a's
		return 1
	}
	return -1 // a's identifier is a proper prefix of b's
}

func cmpLen(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

func cmpByte(a, b byte) int {
	if a < b {
		return -1
	}
	return 1
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// Compare returns [Compare](v, o).
func (v Version) Compare(o Version) int { return Compare(v, o) }

// Less reports whether v has lower precedence than o.
func (v Version) Less(o Version) bool { return Compare(v, o) < 0 }

// Equal reports whether v and o have equal precedence, that is whether
// they differ at most in build metadata. Use == to compare build metadata
// too. (go-cmp uses this method, so cmp.Diff treats versions that differ
// only in build metadata as equal, as time.Time's Equal ignores the
// location.)
func (v Version) Equal(o Version) bool { return Compare(v, o) == 0 }

// AppendText implements [encoding.TextAppender].
func (v Version) AppendText(b []byte) ([]byte, error) { return v.appendTo(b), nil }

// MarshalText implements [encoding.TextMarshaler]: the canonical text, so a
// Version is a JSON string.
func (v Version) MarshalText() ([]byte, error) { return v.appendTo(nil), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse]'s strict
// rules. It makes *Version usable with encoding/json and [flag.TextVar].
func (v *Version) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Scan implements [database/sql.Scanner] for string and []byte column
// values, parsed with [Parse]. SQL NULL is an error; scan a nullable
// column into sql.Null[Version].
func (v *Version) Scan(src any) error {
	switch src := src.(type) {
	case string:
		p, err := Parse(src)
		if err != nil {
			return err
		}
		*v = p
		return nil
	case []byte:
		// string(src) copies: drivers may reuse the buffer.
		return v.UnmarshalText(src)
	case nil:
		return fmt.Errorf("semver: cannot scan NULL into Version (use sql.Null[Version]): %w", ErrInvalid)
	}
	return fmt.Errorf("semver: cannot scan %T into Version: %w", src, ErrInvalid)
}

// Value implements [database/sql/driver.Valuer]: the canonical text.
func (v Version) Value() (driver.Value, error) { return v.String(), nil }
