package semver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Level is the part of a version a release changes. Levels are ordered:
// Patch < Minor < Major, so the larger of two levels is the bigger change.
// The zero Level is not a level; [LevelFromCommits] returns it with false
// when no release is needed.
type Level uint8

// The levels, from smallest to largest change.
const (
	Patch Level = iota + 1
	Minor
	Major
)

// String returns "patch", "minor" or "major", or "Level(N)" for a value
// that is none of them.
func (l Level) String() string {
	switch l {
	case Patch:
		return "patch"
	case Minor:
		return "minor"
	case Major:
		return "major"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// ParseLevel returns the Level named s: "major", "minor" or "patch", the
// names String returns. Other strings (including "Major") are an error
// wrapping [ErrInvalid].
func ParseLevel(s string) (Level, error) {
	switch s {
	case "patch":
		return Patch, nil
	case "minor":
		return Minor, nil
	case "major":
		return Major, nil
	}
	return 0, parseError(s, `not a level (want "major", "minor" or "patch")`)
}

// MarshalText implements [encoding.TextMarshaler]. Only the three levels
// can be marshalled.
func (l Level) MarshalText() ([]byte, error) {
	if !l.valid() {
		return nil, fmt.Errorf("semver: cannot marshal %v: %w", l, ErrInvalid)
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseLevel].
func (l *Level) UnmarshalText(text []byte) error {
	p, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = p
	return nil
}

func (l Level) valid() bool { return l == Patch || l == Minor || l == Major }

// Bump returns the next release of v at level l, with node-semver's inc
// semantics:
//
//   - if v is a prerelease of the version that bumping v's release would
//     give, the result is that release: 1.2.0-rc.1 by Minor is 1.2.0, 1.0.0-1
//     by Major is 1.0.0, 1.2.3-4 by Patch is 1.2.3;
//   - otherwise the number at l goes up by one and the numbers below it go
//     to zero: 1.2.3 by Minor is 1.3.0, 1.2.3-rc.1 by Minor is 1.3.0;
//   - prerelease and build metadata are dropped.
//
// Bump panics if l is not [Major], [Minor] or [Patch], or if the number
// would go past math.MaxUint64; [Version.NextFromCommits] and the
// prerelease bumps report the overflow as [ErrOverflow] instead.
func (v Version) Bump(l Level) Version {
	n, err := v.bump(l)
	if err != nil {
		panic(err)
	}
	return n
}

func (v Version) bump(l Level) (Version, error) {
	var err error
	switch l {
	case Major:
		if v.minor != 0 || v.patch != 0 || v.pre == "" {
			v.major, err = incUint(v.major, v, "major")
		}
		v.minor, v.patch = 0, 0
	case Minor:
		if v.patch != 0 || v.pre == "" {
			v.minor, err = incUint(v.minor, v, "minor")
		}
		v.patch = 0
	case Patch:
		if v.pre == "" {
			v.patch, err = incUint(v.patch, v, "patch")
		}
	default:
		panic(fmt.Sprintf("semver: Bump(%v): not a Level", l))
	}
	if err != nil {
		return Version{}, err
	}
	v.pre, v.build = "", ""
	return v, nil
}

func incUint(n uint64, v Version, part string) (uint64, error) {
	if n == math.MaxUint64 {
		return 0, fmt.Errorf("semver: bump %s: %s version: %w", v, part, ErrOverflow)
	}
	return n + 1, nil
}

// A Base is the number a prerelease counter starts from, as node-semver's
// identifierBase.
type Base uint8

const (
	// BaseZero starts counters at 0: 1.2.3 prerelease "rc" is 1.2.4-rc.0.
	BaseZero Base = iota
	// BaseOne starts counters at 1: 1.2.3 prerelease "rc" is 1.2.4-rc.1.
	BaseOne
	// BaseNone adds no counter where one would start: 1.2.3 prerelease
	// "rc" is 1.2.4-rc. An existing counter still goes up.
	BaseNone
)

// PreOptions says how a prerelease bump names the prerelease.
type PreOptions struct {
	// ID is the prerelease identifier to use, such as "rc" or
	// "alpha.beta" (dot-separated identifiers are allowed). Empty means
	// none: BumpPrerelease advances the existing prerelease and a new
	// prerelease is just the counter.
	ID string
	// Base is where a new counter starts. The zero value is BaseZero.
	Base Base
}

// BumpPre returns the first prerelease of v.Bump(l)'s release line, with
// identifier id and a counter starting at 0, as node-semver's premajor,
// preminor and prepatch:
//
//	1.2.3      BumpPre(Major, "rc")  2.0.0-rc.0
//	1.2.3      BumpPre(Minor, "rc")  1.3.0-rc.0
//	1.2.3      BumpPre(Patch, "rc")  1.2.4-rc.0
//	1.2.3-rc.1 BumpPre(Minor, "")    1.3.0-0
//
// Unlike Bump, BumpPre always moves to a new release: 1.2.0-1 by Patch is
// 1.2.1-0, not 1.2.0-0. It is BumpPreWith(l, PreOptions{ID: id}).
func (v Version) BumpPre(l Level, id string) (Version, error) {
	return v.BumpPreWith(l, PreOptions{ID: id})
}

// BumpPreWith is [Version.BumpPre] with the counter's base chosen by o:
// 1.2.3 BumpPreWith(Major, PreOptions{ID: "dev", Base: BaseOne}) is
// 2.0.0-dev.1, and with BaseNone it is 2.0.0-dev.
//
// It fails with [ErrInvalid] if l is not a Level, if o.ID is not valid
// prerelease text, or if o.ID is empty with BaseNone (the prerelease would
// be empty); and with [ErrOverflow] if a number would pass math.MaxUint64.
func (v Version) BumpPreWith(l Level, o PreOptions) (Version, error) {
	if !l.valid() {
		return Version{}, fmt.Errorf("semver: BumpPre(%v): not a level: %w", l, ErrInvalid)
	}
	if err := o.check(); err != nil {
		return Version{}, err
	}
	v.pre, v.build = "", ""
	var err error
	switch l {
	case Major:
		v.major, err = incUint(v.major, v, "major")
		v.minor, v.patch = 0, 0
	case Minor:
		v.minor, err = incUint(v.minor, v, "minor")
		v.patch = 0
	case Patch:
		v.patch, err = incUint(v.patch, v, "patch")
	}
	if err != nil {
		return Version{}, err
	}
	return v.nextPre(o)
}

// BumpPrerelease returns the next prerelease after v, as node-semver's
// "prerelease" increment with identifier id:
//
//	1.2.3              BumpPrerelease("rc")     1.2.4-rc.0  (a release starts the next patch)
//	1.2.4-rc.0         BumpPrerelease("rc")     1.2.4-rc.1
//	1.2.4-rc.1         BumpPrerelease("")       1.2.4-rc.2
//	1.2.3-alpha.0.beta BumpPrerelease("")       1.2.3-alpha.1.beta  (the last number goes up)
//	1.2.3-alpha        BumpPrerelease("")       1.2.3-alpha.0       (a counter is added)
//	1.2.3-alpha.3      BumpPrerelease("beta")   1.2.3-beta.0        (another identifier restarts)
//
// The identifier is matched against the leading identifiers of v's
// prerelease: if they are id followed by a number, that number goes up;
// otherwise the prerelease restarts as id followed by the base. It is
// BumpPrereleaseWith(PreOptions{ID: id}).
func (v Version) BumpPrerelease(id string) (Version, error) {
	return v.BumpPrereleaseWith(PreOptions{ID: id})
}

// BumpPrereleaseWith is [Version.BumpPrerelease] with the counter's base
// chosen by o: 1.2.3 with PreOptions{ID: "rc", Base: BaseOne} is 1.2.4-rc.1,
// and with BaseNone 1.2.4-rc. With BaseNone, advancing a prerelease that
// is exactly o.ID and has no number is an error (1.2.3-rc would stay
// 1.2.3-rc).
//
// It fails with [ErrInvalid] if o.ID is not valid prerelease text, if o.ID
// is empty with BaseNone, or in the case above; and with [ErrOverflow] if
// the patch number would pass math.MaxUint64.
func (v Version) BumpPrereleaseWith(o PreOptions) (Version, error) {
	if err := o.check(); err != nil {
		return Version{}, err
	}
	v.build = ""
	if v.pre == "" {
		var err error
		if v.patch, err = incUint(v.patch, v, "patch"); err != nil {
			return Version{}, err
		}
	}
	return v.nextPre(o)
}

func (o PreOptions) check() error {
	if o.Base > BaseNone {
		return fmt.Errorf("semver: prerelease base %d: %w", o.Base, ErrInvalid)
	}
	if o.ID == "" {
		if o.Base == BaseNone {
			return fmt.Errorf("semver: prerelease identifier is empty and Base is BaseNone: %w", ErrInvalid)
		}
		return nil
	}
	if msg := checkIdentifiers(o.ID, 0, len(o.ID), "prerelease"); msg != "" {
		return parseError(o.ID, msg)
	}
	return nil
}

// nextPre advances v's prerelease (node-semver's "pre" step).
func (v Version) nextPre(o PreOptions) (Version, error) {
	base := "0"
	if o.Base == BaseOne {
		base = "1"
	}
	var ids []string
	if v.pre == "" {
		ids = []string{base}
	} else {
		ids = strings.Split(v.pre, ".")
		i := len(ids) - 1
		for ; i >= 0; i-- {
			if isNumeric(ids[i]) {
				ids[i] = incDecimal(ids[i])
				break
			}
		}
		if i < 0 { // no number to advance: add a counter
			if o.ID == v.pre && o.Base == BaseNone {
				return Version{}, fmt.Errorf("semver: prerelease of %s with identifier %q and no base: %q already exists: %w", v, o.ID, o.ID, ErrInvalid)
			}
			ids = append(ids, base)
		}
	}
	if o.ID != "" {
		fresh := o.ID + "." + base
		if o.Base == BaseNone {
			fresh = o.ID
		}
		want := strings.Split(o.ID, ".")
		if hasPrefix(ids, want) {
			// Same identifier: keep the advanced counter, if there is one.
			if len(ids) == len(want) || !isNumeric(ids[len(want)]) {
				ids = []string{fresh}
			}
		} else {
			ids = []string{fresh}
		}
	}
	v.pre = strings.Join(ids, ".")
	return v, nil
}

func hasPrefix(ids, prefix []string) bool {
	if len(prefix) > len(ids) {
		return false
	}
	for i, p := range prefix {
		if ids[i] != p {
			return false
		}
	}
	return true
}

// incDecimal adds one to a decimal number of any length.
func incDecimal(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}
