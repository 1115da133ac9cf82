package semver_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/semver"
)

// FuzzParse checks that Parse never panics, that what it accepts is
// canonical (prints back as the input), that the result round-trips through
// String and text encoding, and that Compare and Bump behave on it.
// The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0.0.0", "1.2.3", "1.0.0-alpha.1", "1.0.0-alpha.beta+exp.sha.5114f85",
		"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "18446744073709551615.0.0",
		"1.0.0-99999999999999999999", "v1.2.3", "1.2", "01.2.3", "1.2.3-01", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := semver.Parse(s)
		if err != nil {
			if !errors.Is(err, semver.ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", s, err)
			}
			if tv, terr := semver.ParseTolerant(s); terr == nil {
				// Only a "v" prefix separates the two.
				if s[0] != 'v' && s[0] != 'V' || semver.MustParse(s[1:]) != tv {
					t.Fatalf("ParseTolerant(%q) = %v but Parse fails: %v", s, tv, err)
				}
			}
			return
		}
		if got := v.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q: accepted input is not canonical", s, got)
		}
		again, err := semver.Parse(v.String())
		if err != nil || again != v {
			t.Fatalf("Parse(%q) = %v, %v; want %v", v.String(), again, err, v)
		}
		var u semver.Version
		if b, _ := v.MarshalText(); u.UnmarshalText(b) != nil || u != v {
			t.Fatalf("text round trip of %v gave %v", v, u)
		}
		if semver.Compare(v, v) != 0 || !v.Equal(again) || v.Less(v) {
			t.Fatalf("Compare(%v, itself) = %d", v, semver.Compare(v, v))
		}
		core := v.Core()
		if c := semver.Compare(v, core); v.IsPrerelease() && c != -1 || !v.IsPrerelease() && c != 0 {
			t.Fatalf("Compare(%v, %v) = %d", v, core, c)
		}
		for _, l := range []semver.Level{semver.Major, semver.Minor, semver.Patch} {
			if n, err := v.NextFromCommits([]string{"fix: x"}); err == nil && !v.Less(n) {
				t.Fatalf("%v.NextFromCommits(fix) = %v, not greater", v, n)
			}
			n, err := v.BumpPre(l, "rc")
			if err != nil {
				if !errors.Is(err, semver.ErrOverflow) {
					t.Fatalf("%v.BumpPre(%v, rc): %v", v, l, err)
				}
				continue
			}
			if !v.Less(n) {
				t.Fatalf("%v.BumpPre(%v, rc) = %v, not greater", v, l, n)
			}
			if _, err := semver.Parse(n.String()); err != nil {
				t.Fatalf("%v.BumpPre(%v, rc) = %q, which does not parse: %v", v, l, n, err)
			}
		}
		if n, err := v.BumpPrerelease(""); err == nil {
			if !v.Less(n) {
				t.Fatalf("%v.BumpPrerelease() = %v, not greater", v, n)
			}
		} else if !errors.Is(err, semver.ErrOverflow) {
			t.Fatalf("%v.BumpPrerelease(): %v", v, err)
		}
	})
}

// FuzzParseRange checks that ParseRange never panics, that its canonical
// form parses back to itself, and that Contains does not panic.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"^1.2.3", "~1.2", "1.x || >=2.0.0-rc.1 <3", "1.2.3 - 2", "", "||", "*",
		">= 1.0.0", "^0.0.1-beta+build", "<x", "1.x.3", "^18446744073709551615.0.0",
	} {
		f.Add(s, "1.2.3-rc.1")
	}
	f.Fuzz(func(t *testing.T, s, version string) {
		r, err := semver.ParseRange(s)
		if err != nil {
			if !errors.Is(err, semver.ErrInvalid) {
				t.Fatalf("ParseRange(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		canon := r.String()
		again, err := semver.ParseRange(canon)
		if err != nil || again.String() != canon {
			t.Fatalf("ParseRange(%q) = %q, %v; want the canonical form back", canon, again, err)
		}
		if v, err := semver.Parse(version); err == nil && r.Contains(v) != again.Contains(v) {
			t.Fatalf("%q and its canonical form %q disagree on %v", s, canon, v)
		}
	})
}

// FuzzCompare checks Compare against a plain reading of semver.org §11
// (split every identifier, compare numbers as big integers), so the fast
// paths in Compare cannot drift from the specification.
func FuzzCompare(f *testing.F) {
	for _, p := range [][2]string{
		{"1.0.0-alpha.beta.11", "1.0.0-alpha.beta.2"}, {"1.0.0-alpha", "1.0.0-alpha.1"},
		{"1.0.0-a.b", "1.0.0-a.bc"}, {"1.0.0-1.2", "1.0.0-1.10"}, {"1.0.0-x.9", "1.0.0-x.90"},
		{"1.0.0-rc.1", "1.0.0"}, {"2.0.0", "10.0.0"}, {"1.0.0-a1", "1.0.0-a10"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, x, y string) {
		a, errA := semver.Parse(x)
		b, errB := semver.Parse(y)
		if errA != nil || errB != nil {
			return
		}
		got, want := semver.Compare(a, b), referenceCompare(a, b)
		if got != want {
			t.Fatalf("Compare(%q, %q) = %d, want %d", x, y, got, want)
		}
		if back := semver.Compare(b, a); back != -got {
			t.Fatalf("Compare(%q, %q) = %d but reversed = %d", x, y, got, back)
		}
	})
}

func referenceCompare(a, b semver.Version) int {
	for _, c := range []int{cmpU(a.Major(), b.Major()), cmpU(a.Minor(), b.Minor()), cmpU(a.Patch(), b.Patch())} {
		if c != 0 {
			return c
		}
	}
	pa, pb := a.Prerelease(), b.Prerelease()
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	}
	xs, ys := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := 0; i < len(xs) && i < len(ys); i++ {
		x, xok := number(xs[i])
		y, yok := number(ys[i])
		var c int
		switch {
		case xok && yok:
			c = x.Cmp(y)
		case xok:
			c = -1
		case yok:
			c = 1
		default:
			c = strings.Compare(xs[i], ys[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpU(uint64(len(xs)), uint64(len(ys)))
}

// number reads a numeric identifier (digits only: "-1" is alphanumeric).
func number(s string) (*big.Int, bool) {
	if strings.Trim(s, "0123456789") != "" {
		return nil, false
	}
	return new(big.Int).SetString(s, 10)
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
