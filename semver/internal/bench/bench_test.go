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

func BenchmarkCompare(b *testing.B) {
	x, y := "1.0.0-alpha.beta.11", "1.0.0-alpha.beta.2"
	sa, sb := semver.MustParse(x), semver.MustParse(y)
	ba, bb := blang.MustParse(x), blang.MustParse(y)
	ma, mb := masterminds.MustParse(x), masterminds.MustParse(y)
	n := 0
	b.Run("slipway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n += semver.Compare(sa, sb)
		}
	})
	b.Run("blang", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n += ba.Compare(bb)
		}
	})
	b.Run("masterminds", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n += ma.Compare(mb)
		}
	})
	sink = n
}
