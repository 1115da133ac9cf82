package memory

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// z99 is the standard normal quantile of 0.99.
const z99 = 2.3263478740408408

// initSigma is the log-normal spread of cold-start init times.
const initSigma = 0.25

// exactLatencyLimit is the number of invocations up to which latency
// percentiles are taken from that many drawn latencies; above it the three
// order statistics are drawn directly from their joint law (see latencies).
// Both ways give the same law; the limit only bounds the work per period.
const exactLatencyLimit = 1000

// sample draws one period's point from its expectation, in a fixed order:
// arrivals ~ Poisson, throttles ~ Binomial(arrivals), errors and cold
// starts ~ Binomial(invocations), the longest init time, then latencies.
func (e expectation) sample(r *rand.Rand, start time.Time) provider.Point {
	pt := provider.Point{Start: start}
	arrivals := poisson(r, e.arrivals)
	if arrivals == 0 {
		return pt
	}
	pt.Throttles = binomial(r, arrivals, ratio(e.throttles, e.arrivals))
	pt.Invocations = arrivals - pt.Throttles
	invoked := e.arrivals - e.throttles
	pt.Errors = binomial(r, pt.Invocations, ratio(e.errors, invoked))
	pt.ColdStarts = binomial(r, pt.Invocations, ratio(e.colds, invoked))
	if pt.ColdStarts > 0 && e.behavior.ColdStart.Init > 0 {
		// The largest of k standard normals is Φ⁻¹(U^(1/k)).
		z := normalQuantile(math.Pow(openUnit(r), 1/float64(pt.ColdStarts)))
		pt.InitDuration = roundMicro(float64(e.behavior.ColdStart.Init) * math.Exp(initSigma*z))
	}
	pt.P50, pt.P90, pt.P99 = latencies(r, e.behavior.Latency, pt.Invocations)
	return pt
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return min(1, max(0, a/b))
}

// latencies returns the nearest-rank p50, p90 and p99 of n invocations
// drawn from l: the order statistics X_(r) of ranks r = ⌈p·n⌉. Up to
// exactLatencyLimit invocations they are computed from n drawn latencies.
// Above, they are drawn from their exact joint law without drawing the n
// latencies: for a continuous F, U_(r) = F(X_(r)) are the order statistics
// of n uniforms, and with independent G_1 ~ Gamma(r1), G_2 ~ Gamma(r2 − r1),
// G_3 ~ Gamma(r3 − r2), G_4 ~ Gamma(n − r3 + 1),
//
//	(U_(r1), U_(r2), U_(r3)) = (G_1, G_1+G_2, G_1+G_2+G_3) / (G_1+…+G_4)
//
// (the uniform spacings are a Dirichlet vector), so each U_(r) is
// Beta(r, n − r + 1), with mean r/(n+1). The two ways agree in law, so a
// canary whose candidate is below the limit and whose stable version is
// above it (600 against 5,400 requests) compares like with like — which
// the normal approximation N(p, p(1−p)/n) once used here did not: its mean
// p is above r/(n+1) (0.99 against 0.98902 at n = 1001), which made the
// larger side's p99 too high by a third of its spread.
func latencies(r *rand.Rand, l Latency, n int64) (p50, p90, p99 time.Duration) {
	if n == 0 || l.Median <= 0 {
		return 0, 0, 0
	}
	mu := math.Log(float64(l.Median))
	sigma := 0.0
	if l.P99 > l.Median {
		sigma = math.Log(float64(l.P99)/float64(l.Median)) / z99
	}
	ps := [3]float64{0.5, 0.9, 0.99}
	var ranks [3]int64
	for i, p := range ps {
		ranks[i] = max(1, int64(math.Ceil(p*float64(n))))
	}
	var out [3]float64
	if n <= exactLatencyLimit {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = mu + sigma*r.NormFloat64()
		}
		slices.Sort(xs)
		for i, k := range ranks {
			out[i] = math.Exp(xs[k-1])
		}
	} else {
		var g [4]float64
		prev := int64(0)
		for i, k := range ranks {
			g[i] = gamma(r, float64(k-prev))
			prev = k
		}
		g[3] = gamma(r, float64(n-prev+1))
		total := g[0] + g[1] + g[2] + g[3]
		cum := 0.0
		for i := range ranks {
			cum += g[i]
			u := min(max(cum/total, 1e-12), 1-1e-12)
			out[i] = math.Exp(mu + sigma*normalQuantile(u))
		}
	}
	return roundMicro(out[0]), roundMicro(out[1]), roundMicro(out[2])
}

// gamma draws from Gamma(a, 1): 0 for a ≤ 0; Marsaglia and Tsang's
// squeeze-and-reject method for a ≥ 1 ("A simple method for generating
// gamma variables", ACM TOMS 26(3), 2000); for a < 1, Gamma(a+1)·U^(1/a).
func gamma(r *rand.Rand, a float64) float64 {
	switch {
	case a <= 0:
		return 0
	case a < 1:
		return gamma(r, a+1) * math.Pow(openUnit(r), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := openUnit(r)
		x2 := x * x
		if u < 1-0.0331*x2*x2 || math.Log(u) < 0.5*x2+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

func roundMicro(ns float64) time.Duration {
	return time.Duration(math.Round(ns/1e3)) * time.Microsecond
}

// normalQuantile is Φ⁻¹(u) for u in (0, 1).
func normalQuantile(u float64) float64 { return math.Sqrt2 * math.Erfinv(2*u-1) }

// openUnit returns a uniform number in (0, 1).
func openUnit(r *rand.Rand) float64 {
	for {
		if u := r.Float64(); u > 0 {
			return u
		}
	}
}

// poisson draws from Poisson(lambda): Knuth's product of uniforms below
// 10, Hörmann's transformed rejection (PTRS) above.
func poisson(r *rand.Rand, lambda float64) int64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda < 10:
		limit, prod := math.Exp(-lambda), r.Float64()
		var k int64
		for prod > limit {
			k++
			prod *= r.Float64()
		}
		return k
	}
	slam, loglam := math.Sqrt(lambda), math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return int64(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return int64(k)
		}
	}
}

// binomial draws from Binomial(n, p): by geometric waiting times while
// the mean is below 1000 (exact), by the normal approximation above it.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(r, n, 1-p)
	}
	mean := float64(n) * p
	if mean >= 1000 {
		x := math.Round(mean + math.Sqrt(mean*(1-p))*r.NormFloat64())
		return int64(min(max(x, 0), float64(n)))
	}
	logq := math.Log1p(-p)
	var x, pos int64
	for {
		g := math.Floor(math.Log(openUnit(r))/logq) + 1
		if g > float64(n-pos) {
			return x
		}
		pos += int64(g)
		x++
	}
}
