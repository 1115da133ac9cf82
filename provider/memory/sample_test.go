package memory

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary/stats"
)

// TestLatencyQuantileLaw: the p99 the provider reports for a healthy
// candidate exceeds the stable version's exactly as often as the
// nearest-rank law of two samples from one distribution says
// (stats.QuantileExceedance, which canary.Sequential's latency test relies
// on), within 4 Monte-Carlo standard errors — whichever side of
// exactLatencyLimit each version's invocations fall on: a 10% canary at 100
// requests a second (600 against 5,400 a minute), the same with the roles
// swapped (a linear rollout at 90%), and a split straddling the limit.
func TestLatencyQuantileLaw(t *testing.T) {
	lat := Latency{Median: 50 * time.Millisecond, P99: 200 * time.Millisecond}
	draws := 20000
	if testing.Short() {
		draws = 5000
	}
	r := rand.New(rand.NewPCG(2026, 13))
	for _, c := range []struct{ n1, n2 int64 }{{600, 5400}, {5400, 600}, {1400, 700}} {
		want, err := stats.QuantileExceedance(c.n1, c.n2, 0.99)
		if err != nil {
			t.Fatal(err)
		}
		higher := 0
		for range draws {
			_, _, cand := latencies(r, lat, c.n1)
			_, _, stable := latencies(r, lat, c.n2)
			if cand > stable {
				higher++
			}
		}
		got := float64(higher) / float64(draws)
		se := math.Sqrt(want * (1 - want) / float64(draws))
		t.Logf("p99 of %d above p99 of %d: %.4f of %d draws, exact %.4f (s.e. %.4f)", c.n1, c.n2, got, draws, want, se)
		if math.Abs(got-want) > 4*se {
			t.Errorf("p99 of %d above p99 of %d in %.4f of %d draws, the nearest-rank law says %.4f ± %.4f (4 s.e.)", c.n1, c.n2, got, draws, want, 4*se)
		}
	}
}

// TestLatencyOrderStatisticMean: above exactLatencyLimit the reported
// quantile's level U = F(X_(r)) has the mean r/(n+1) of the order
// statistic (Beta(r, n−r+1)), not p.
func TestLatencyOrderStatisticMean(t *testing.T) {
	lat := Latency{Median: 50 * time.Millisecond, P99: 200 * time.Millisecond}
	sigma := math.Log(4) / z99
	r := rand.New(rand.NewPCG(7, 7))
	const n, draws = 1001, 20000
	for i, p := range []float64{0.5, 0.9, 0.99} {
		k := math.Ceil(p * n)
		mean, sd := k/(n+1), math.Sqrt(k*(n+1-k)/((n+1)*(n+1)*(n+2)))
		sum := 0.0
		for range draws {
			q := [3]time.Duration{}
			q[0], q[1], q[2] = latencies(r, lat, n)
			z := math.Log(float64(q[i])/float64(lat.Median)) / sigma
			sum += 0.5 * math.Erfc(-z/math.Sqrt2) // Φ(z) = F(X_(r))
		}
		got := sum / draws
		if se := sd / math.Sqrt(draws); math.Abs(got-mean) > 4*se+1e-5 {
			t.Errorf("p%v of %d: mean level %.6f, the order statistic's %.6f ± %.6f", 100*p, n, got, mean, 4*se)
		}
	}
}

// TestGamma checks the Gamma sampler's mean and variance (both a) for
// shapes below and above 1.
func TestGamma(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const draws = 200000
	for _, a := range []float64{0.3, 1, 2.5, 55, 5346} {
		var s, s2 float64
		for range draws {
			g := gamma(r, a)
			s += g
			s2 += g * g
		}
		mean := s / draws
		variance := s2/draws - mean*mean
		if se := math.Sqrt(a / draws); math.Abs(mean-a) > 5*se {
			t.Errorf("Gamma(%v): mean %.4f, want %v ± %.4f", a, mean, a, 5*se)
		}
		// The variance's s.e. is about a·√(2/draws) for large a.
		if math.Abs(variance/a-1) > 5*math.Sqrt((2+6/a)/draws) {
			t.Errorf("Gamma(%v): variance %.4f, want %v", a, variance, a)
		}
	}
	if g := gamma(r, 0); g != 0 {
		t.Errorf("Gamma(0) = %v, want 0", g)
	}
}
