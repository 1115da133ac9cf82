package semver_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/slipway-dev/slipway/semver"
)

// Timings live here, never in tests. Side-by-side numbers against other
// libraries are in the nested module internal/bench (cd there and run
// go test -bench . -benchmem).

var (
	sinkVersion semver.Version
	sinkInt     int
	sinkBool    bool
)

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"1.2.3", "1.2.3-rc.1+sha.5114f85", "10.20.30-alpha.beta.11+build.2024.11.23"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := semver.Parse(s)
				if err != nil {
					b.Fatal(err)
				}
				sinkVersion = v
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	v := semver.MustParse("1.2.3-rc.1+sha.5114f85")
	b.ReportAllocs()
	for b.Loop() {
		sinkInt += len(v.String())
	}
}

func BenchmarkCompare(b *testing.B) {
	pairs := [][2]string{
		{"1.2.3", "1.2.4"},
		{"1.0.0-beta.11", "1.0.0-beta.2"},
		{"1.0.0-alpha.beta.gamma.1", "1.0.0-alpha.beta.gamma.2"},
	}
	for _, p := range pairs {
		x, y := semver.MustParse(p[0]), semver.MustParse(p[1])
		b.Run(p[0]+"_vs_"+p[1], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkInt += semver.Compare(x, y)
			}
		})
	}
}

// versions returns n distinct-ish versions, a quarter of them prereleases.
func versions(n int) []semver.Version {
	r := rand.New(rand.NewPCG(1, 2))
	vs := make([]semver.Version, n)
	for i := range vs {
		s := fmt.Sprintf("%d.%d.%d", r.IntN(5), r.IntN(20), r.IntN(50))
		if r.IntN(4) == 0 {
			s += fmt.Sprintf("-%s.%d", []string{"alpha", "beta", "rc"}[r.IntN(3)], r.IntN(12))
		}
		vs[i] = semver.MustParse(s)
	}
	return vs
}

func BenchmarkSort1000(b *testing.B) {
	vs := versions(1000)
	work := make([]semver.Version, len(vs))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, vs)
		slices.SortFunc(work, semver.Compare)
	}
}

func BenchmarkRangeContains(b *testing.B) {
	r := semver.MustParseRange("^1.2.3 || >=2.0.0-rc.1 <3")
	for _, s := range []string{"1.9.0", "2.0.0-rc.2", "3.1.0"} {
		v := semver.MustParse(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBool = r.Contains(v)
			}
		})
	}
}

func BenchmarkParseRange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r, err := semver.ParseRange("^1.2.3 || >=2.0.0-rc.1 <3")
		if err != nil {
			b.Fatal(err)
		}
		sinkBool = r.Contains(sinkVersion)
	}
}
