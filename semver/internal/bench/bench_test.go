// Package bench compares slipway/semver with github.com/blang/semver/v4 and
// github.com/Masterminds/semver/v3 on the same inputs. Run it from this
// directory:
//
//	go test -bench . -benchmem
package bench

import (
	"testing"

	masterminds "github.com/Masterminds/semver/v3"
	blang "github.com/blang/semver/v4"
	"github.com/slipway-dev/slipway/semver"
)

var inputs = []struct{ name, s string }{
	{"plain", "1.2.3"},
	{"prerelease+build", "1.2.3-rc.1+sha.5114f85"},
	{"long", "10.20.30-alpha.beta.11+build.2024.11.23"},
}

var sink any

// TestSameAnswers guards the comparison: all three libraries accept the
// inputs and agree on their text, so the benchmarks time equal work.
func TestSameAnswers(t *testing.T) {
	for _, in := range inputs {
		a, err := semver.Parse(in.s)
		if err != nil {
			t.Fatalf("slipway %q: %v", in.s, err)
		}
		b, err := blang.Parse(in.s)
		if err != nil {
			t.Fatalf("blang %q: %v", in.s, err)
		}
		c, err := masterminds.StrictNewVersion(in.s)
		if err != nil {
			t.Fatalf("masterminds %q: %v", in.s, err)
		}
		if a.String() != b.String() || a.String() != c.String() {
			t.Errorf("%q: slipway %q, blang %q, masterminds %q", in.s, a, b, c)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range inputs {
		b.Run(in.name+"/slipway", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := semver.Parse(in.s)
				if err != nil {
					b.Fatal(err)
				}
				sink = v.Major()
			}
		})
		b.Run(in.name+"/blang", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := blang.Parse(in.s)
				if err != nil {
					b.Fatal(err)
				}
				sink = v.Major
			}
		})
		b.Run(in.name+"/masterminds", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := masterminds.StrictNewVersion(in.s)
				if err != nil {
					b.Fatal(err)
				}
				sink = v.Major()
			}
		})
	}
}

// comparePairs are the pairs BenchmarkCompare times: versions differing in
// their numbers, and prerelease pairs that differ late (a numeric
// identifier, an alphanumeric one, a longer list), where the work is.
var comparePairs = []struct{ name, x, y string }{
	{"plain", "1.2.3", "1.2.4"},
	{"release-vs-prerelease", "1.0.0", "1.0.0-rc.1"},
	{"prerelease-numeric", "1.0.0-alpha.beta.11", "1.0.0-alpha.beta.2"},
	{"prerelease-alpha", "1.0.0-alpha.beta", "1.0.0-alpha.gamma"},
	{"prerelease-longer", "1.0.0-rc.1", "1.0.0-rc.1.1"},
	{"prerelease-equal", "2.0.0-rc.1+b.1", "2.0.0-rc.1+b.2"},
}

// TestSameOrder guards BenchmarkCompare: the three libraries order every
// pair alike.
func TestSameOrder(t *testing.T) {
	for _, p := range comparePairs {
		a := semver.Compare(semver.MustParse(p.x), semver.MustParse(p.y))
		b := blang.MustParse(p.x).Compare(blang.MustParse(p.y))
		c := masterminds.MustParse(p.x).Compare(masterminds.MustParse(p.y))
		if a != b || a != c {
			t.Errorf("%s: slipway %d, blang %d, masterminds %d", p.name, a, b, c)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	for _, p := range comparePairs {
		sa, sb := semver.MustParse(p.x), semver.MustParse(p.y)
		ba, bb := blang.MustParse(p.x), blang.MustParse(p.y)
		ma, mb := masterminds.MustParse(p.x), masterminds.MustParse(p.y)
		n := 0
		b.Run(p.name+"/slipway", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n += semver.Compare(sa, sb)
			}
		})
		b.Run(p.name+"/blang", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n += ba.Compare(bb)
			}
		})
		b.Run(p.name+"/masterminds", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n += ma.Compare(mb)
			}
		})
		sink = n
	}
}

// caretVersions are checked against ^1.2.3 (>=1.2.3 <2.0.0-0): inside,
// below, above, and a prerelease outside the range's own tuple.
var caretVersions = []string{"1.2.3", "1.9.0", "1.2.2", "2.0.0", "1.5.0-rc.1"}

// TestSameCaret guards BenchmarkRangeCaret: the three agree on which
// versions ^1.2.3 contains (blang has no caret: its range is the
// desugared ">=1.2.3 <2.0.0").
func TestSameCaret(t *testing.T) {
	sr := semver.MustParseRange("^1.2.3")
	br := blang.MustParseRange(">=1.2.3 <2.0.0")
	mc, err := masterminds.NewConstraint("^1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range caretVersions {
		a := sr.Contains(semver.MustParse(s))
		b := br(blang.MustParse(s))
		c := mc.Check(masterminds.MustParse(s))
		if s == "1.5.0-rc.1" {
			b = a // blang has no prerelease rule: it admits any prerelease in the bounds
		}
		if a != b || a != c {
			t.Errorf("%s: slipway %v, blang %v, masterminds %v", s, a, b, c)
		}
	}
}

func BenchmarkRangeCaret(b *testing.B) {
	sr := semver.MustParseRange("^1.2.3")
	br := blang.MustParseRange(">=1.2.3 <2.0.0")
	mc, err := masterminds.NewConstraint("^1.2.3")
	if err != nil {
		b.Fatal(err)
	}
	var sv []semver.Version
	var bv []blang.Version
	var mv []*masterminds.Version
	for _, s := range caretVersions[:4] { // releases: the libraries agree
		sv = append(sv, semver.MustParse(s))
		bv = append(bv, blang.MustParse(s))
		mv = append(mv, masterminds.MustParse(s))
	}
	n := 0
	b.Run("slipway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range sv {
				if sr.Contains(v) {
					n++
				}
			}
		}
	})
	b.Run("blang", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range bv {
				if br(v) {
					n++
				}
			}
		}
	})
	b.Run("masterminds", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range mv {
				if mc.Check(v) {
					n++
				}
			}
		}
	})
	sink = n
}
