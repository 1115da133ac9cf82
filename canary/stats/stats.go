package stats

import (
	"fmt"
	"math"
	"slices"
)

// This file holds the pure statistics behind canary.Judge and Classify: the
// Wilcoxon–Mann–Whitney rank-sum test with its Hodges–Lehmann shift
// estimate and confidence interval (R's wilcox.test), and the two-sample
// test for equality of proportions (R's prop.test). Nothing here reads a
// clock, allocates shared state or takes a context.

// Direction is the direction of concern of a metric: which way a change of
// the candidate against the stable version counts as a regression. For the
// test functions it is the alternative hypothesis about the candidate
// (experiment) relative to the stable version (control):
//
//	Increase  the candidate is higher  (R: alternative = "greater")
//	Decrease  the candidate is lower   (R: alternative = "less")
//	Either    the candidate differs    (R: alternative = "two.sided")
//
// The zero value is Increase, the right default for error rates, throttles,
// cold starts and latencies.
type Direction int

const (
	// Increase: only a higher candidate is a regression.
	Increase Direction = iota
	// Decrease: only a lower candidate is a regression (throughput, say).
	Decrease
	// Either: any significant change is a regression.
	Either
)

func (d Direction) String() string {
	switch d {
	case Increase:
		return "Increase"
	case Decrease:
		return "Decrease"
	case Either:
		return "Either"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// MarshalText encodes the direction by name ("Increase", "Decrease",
// "Either", Kayenta's spelling).
func (d Direction) MarshalText() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("stats: direction %d: %w", int(d), ErrInvalid)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a direction name; Kayenta's lower-case spelling
// ("increase") is accepted too.
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "Increase", "increase":
		*d = Increase
	case "Decrease", "decrease":
		*d = Decrease
	case "Either", "either":
		*d = Either
	default:
		return fmt.Errorf("stats: unknown direction %q: %w", b, ErrInvalid)
	}
	return nil
}

func (d Direction) valid() bool { return d >= Increase && d <= Either }

// MWResult is the outcome of a Wilcoxon–Mann–Whitney rank-sum test of an
// experiment sample x against a control sample y, as R's
// wilcox.test(x, y, conf.int = TRUE) reports it.
type MWResult struct {
	// W is the rank-sum statistic: the sum of the ranks of x in the
	// combined sample minus n_x(n_x+1)/2, which equals the number of pairs
	// with x_i > y_j plus half the number of tied pairs.
	W float64
	// PValue of the test of a zero location shift against the alternative.
	PValue float64
	// Estimate is the Hodges–Lehmann estimate of the shift x − y.
	Estimate float64
	// Lower and Upper bound the confidence interval of the shift; a
	// one-sided test has an infinite bound on the open side. With heavily
	// tied data the asymptotic interval can come out with Lower > Upper,
	// as in R; it is reported as computed, not re-ordered.
	Lower, Upper float64
	// Exact reports whether the exact null distribution was used (both
	// samples shorter than 50 and no ties), rather than the normal
	// approximation.
	Exact bool
}

// statUnirootTol is R's default tol.root for wilcox.test: the absolute
// tolerance of the root search behind the asymptotic interval and
// estimate. The step function being inverted is flat between breakpoints,
// so any point within the tolerance of the crossing is as good as another;
// matching R's root finder step for step gives R's numbers.
const statUnirootTol = 1e-4

// statExactLimit: R uses the exact distribution when both samples are
// shorter than this and there are no ties.
const statExactLimit = 50

// MannWhitney runs the two-sided Wilcoxon–Mann–Whitney rank-sum test of
// experiment against control and returns the p-value and the Hodges–Lehmann
// estimate of the shift experiment − control with its confLevel confidence
// interval, with the semantics of R's
//
//	wilcox.test(experiment, control, conf.int = TRUE, conf.level = confLevel)
//
// (exact = NULL, correct = TRUE): when both samples have fewer than 50
// values and no value is tied, the exact null distribution of W is used,
// the estimate is the median of the n_x·n_y pairwise differences and the
// interval is read off their order statistics; otherwise W is compared
// with its normal approximation, corrected for ties and for continuity,
// and the estimate and interval are found by inverting that approximation
// with R's root finder (uniroot, tolerance 1e-4).
//
// Worked example (exact): experiment 20, 22, 21, 25, 30 against control
// 1, 2.2, 1.1, 2.5, 3 — every experiment value beats every control value,
// so W = 25 of a possible 5·5 = 25. Of the C(10,5) = 252 equally likely
// rank arrangements only one gives W = 25, so P(W ≥ 25) = 1/252 and the
// two-sided p-value is 2/252 = 0.0079. The 25 differences x_i − y_j run
// from 17 to 29; their median, 20, is the estimate. The interval is read
// off the sorted differences at the 2.5% quantile of W: P(W ≤ 2) = 4/252 <
// 0.025 ≤ P(W ≤ 3) = 7/252, so the 95% interval is [d(3), d(23)] =
// [17.8, 27.8].
//
// Worked example (normal approximation with ties): experiment 1, 1, 2, 3
// against control 2, 2, 4, 5 has W = 3 (pairs won: 3>2, 3>2; tied pairs:
// 2=2 twice → 2 + 2·0.5 = 3), mean n_x·n_y/2 = 8, and with tie groups of
// sizes 2 and 3 the variance is (16/12)·(9 − (6+24)/(8·7)) = 11.286, so
// z = (3 − 8 + 0.5)/3.359 = −1.340 and p = 2·Φ(−1.340) = 0.180; inverting
// the approximation gives the estimate −1 and the interval [−4, 1].
//
// It returns an error wrapping ErrInvalid for an empty sample,
// a non-finite value, confLevel outside (0, 1), or when each sample is
// constant and ties make the interval undefined (R stops there too:
// "cannot compute confidence interval when all observations are tied").
func MannWhitney(experiment, control []float64, confLevel float64) (MWResult, error) {
	return MannWhitneyDirected(experiment, control, confLevel, Either)
}

// MannWhitneyDirected is MannWhitney with the alternative chosen by dir
// (Increase: "greater", Decrease: "less", Either: "two.sided"). A one-sided
// interval is open on one side: [Lower, +Inf) for Increase, (-Inf, Upper]
// for Decrease.
func MannWhitneyDirected(experiment, control []float64, confLevel float64, dir Direction) (MWResult, error) {
	if err := statCheckSamples(experiment, control, confLevel, dir); err != nil {
		return MWResult{}, err
	}
	s := newMWShift(experiment, control)
	if s.exactApplies() {
		return s.exact(confLevel, dir), nil
	}
	return s.asymptotic(confLevel, dir, false)
}

func statCheckSamples(x, y []float64, confLevel float64, dir Direction) error {
	if len(x) == 0 || len(y) == 0 {
		return fmt.Errorf("stats: mann-whitney: empty sample (experiment %d, control %d values): %w", len(x), len(y), ErrInvalid)
	}
	for _, s := range [2][]float64{x, y} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("stats: mann-whitney: non-finite value %v: %w", v, ErrInvalid)
			}
		}
	}
	if !(confLevel > 0 && confLevel < 1) {
		return fmt.Errorf("stats: mann-whitney: confidence %v outside (0,1): %w", confLevel, ErrInvalid)
	}
	if !dir.valid() {
		return fmt.Errorf("stats: mann-whitney: direction %d: %w", int(dir), ErrInvalid)
	}
	return nil
}

// mwShift holds sorted copies of both samples, so that the rank-sum
// statistic of x − d against y can be computed by one merge, in
// O(n_x + n_y), for every shift d the root finder tries.
type mwShift struct {
	x, y   []float64 // sorted ascending
	nx, ny float64
}

func newMWShift(x, y []float64) *mwShift {
	s := &mwShift{x: slices.Clone(x), y: slices.Clone(y), nx: float64(len(x)), ny: float64(len(y))}
	slices.Sort(s.x)
	slices.Sort(s.y)
	return s
}

// rankSum returns, for the combined sample (x − d, y), U = #{x_i − d > y_j}
// + ½·#{x_i − d = y_j} (R's W: the rank sum of x minus n_x(n_x+1)/2, with
// average ranks for ties) and Σ(t³ − t) over the groups of tied values.
// x_i − d is computed exactly as R computes c(x - d, y), so ties are the
// same ties R sees.
func (s *mwShift) rankSum(d float64) (u, ties float64) {
	x, y := s.x, s.y
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case i == len(x):
			v = y[j]
		case j == len(y):
			v = x[i] - d
		default:
			v = min(x[i]-d, y[j])
		}
		below := float64(j) // y values strictly below v
		cx, cy := 0.0, 0.0
		for i < len(x) && x[i]-d == v {
			cx++
			i++
		}
		for j < len(y) && y[j] == v {
			cy++
			j++
		}
		u += cx*below + 0.5*cx*cy
		t := cx + cy
		ties += t*t*t - t
	}
	return u, ties
}

func (s *mwShift) hasTies() bool {
	_, t := s.rankSum(0)
	return t != 0
}

func (s *mwShift) exactApplies() bool {
	return len(s.x) < statExactLimit && len(s.y) < statExactLimit && !s.hasTies()
}

func (s *mwShift) constantSamples() bool {
	return s.x[0] == s.x[len(s.x)-1] && s.y[0] == s.y[len(s.y)-1]
}

// sigma is the standard deviation of W under the null hypothesis, with
// R's tie correction: sqrt(n_x·n_y/12 · ((n_x+n_y+1) − Σ(t³−t)/((n_x+n_y)(n_x+n_y−1)))).
func (s *mwShift) sigma(ties float64) float64 {
	nx, ny := s.nx, s.ny
	return math.Sqrt((nx * ny / 12) * ((nx + ny + 1) - ties/((nx+ny)*(nx+ny-1))))
}

func statCorrection(z float64, dir Direction) float64 {
	switch dir {
	case Increase:
		return 0.5
	case Decrease:
		return -0.5
	}
	switch {
	case z > 0:
		return 0.5
	case z < 0:
		return -0.5
	}
	return 0
}

// z returns the standardised statistic (dz − correction)/σ at shift d, the
// function R's wilcox.test inverts for its interval.
func (s *mwShift) z(d float64, correct bool, dir Direction) float64 {
	u, ties := s.rankSum(d)
	dz := u - s.nx*s.ny/2
	corr := 0.0
	if correct {
		corr = statCorrection(dz, dir)
	}
	return (dz - corr) / s.sigma(ties)
}

// asymptotic is R's normal-approximation branch. kayentaEstimate selects
// Kayenta's estimate, which keeps the continuity correction in the
// function whose root is the estimate; R drops it (correct <- FALSE).
func (s *mwShift) asymptotic(confLevel float64, dir Direction, kayentaEstimate bool) (MWResult, error) {
	if s.constantSamples() {
		return MWResult{}, fmt.Errorf("stats: mann-whitney: each sample is constant (%v and %v): the interval is undefined: %w", s.x[0], s.y[0], ErrInvalid)
	}
	u, ties := s.rankSum(0)
	r := MWResult{W: u}
	z := (u - s.nx*s.ny/2 - statCorrection(u-s.nx*s.ny/2, dir)) / s.sigma(ties)
	switch dir {
	case Increase:
		r.PValue = statPnormUpper(z)
	case Decrease:
		r.PValue = statPnorm(z)
	default:
		r.PValue = 2 * min(statPnorm(z), statPnormUpper(z))
	}

	alpha := 1 - confLevel
	mumin := s.x[0] - s.y[len(s.y)-1]
	mumax := s.x[len(s.x)-1] - s.y[0]
	wmin := s.z(mumin, true, dir)
	wmax := s.z(mumax, true, dir)
	root := func(zq float64) float64 {
		fl := wmin - zq
		if fl <= 0 {
			return mumin
		}
		fu := wmax - zq
		if fu >= 0 {
			return mumax
		}
		return statZeroin(func(d float64) float64 { return s.z(d, true, dir) - zq }, mumin, mumax, fl, fu, statUnirootTol, 1000)
	}
	switch dir {
	case Increase:
		r.Lower, r.Upper = root(-statQnorm(alpha)), math.Inf(1)
	case Decrease:
		r.Lower, r.Upper = math.Inf(-1), root(statQnorm(alpha))
	default:
		r.Lower = root(-statQnorm(alpha / 2))
		r.Upper = root(statQnorm(alpha / 2))
	}

	// The estimate: the shift at which the standardised statistic is 0.
	// R solves it without continuity correction; Kayenta with it (and,
	// two-sided, its correction is sign(dz)·½ whatever the alternative).
	estDir, correct := dir, false
	if kayentaEstimate {
		estDir, correct = Either, true
	}
	f := func(d float64) float64 { return s.z(d, correct, estDir) }
	r.Estimate = statZeroin(f, mumin, mumax, f(mumin), f(mumax), statUnirootTol, 1000)
	return r, nil
}

// exact is R's exact branch (no ties, both samples shorter than 50).
func (s *mwShift) exact(confLevel float64, dir Direction) MWResult {
	m, n := len(s.x), len(s.y)
	u, _ := s.rankSum(0)
	dist := newMWDist(m, n)
	r := MWResult{W: u, Exact: true}
	switch dir {
	case Increase:
		r.PValue = dist.p(u-1, false)
	case Decrease:
		r.PValue = dist.p(u, true)
	default:
		var p float64
		if u > float64(m*n)/2 {
			p = dist.p(u-1, false)
		} else {
			p = dist.p(u, true)
		}
		r.PValue = min(2*p, 1)
	}

	diffs := make([]float64, 0, m*n)
	for _, xv := range s.x {
		for _, yv := range s.y {
			diffs = append(diffs, xv-yv)
		}
	}
	slices.Sort(diffs)
	alpha := 1 - confLevel
	switch dir {
	case Increase:
		qu := max(dist.q(alpha), 1)
		r.Lower, r.Upper = diffs[qu-1], math.Inf(1)
	case Decrease:
		qu := max(dist.q(alpha), 1)
		r.Lower, r.Upper = math.Inf(-1), diffs[m*n-qu]
	default:
		qu := max(dist.q(alpha/2), 1)
		r.Lower, r.Upper = diffs[qu-1], diffs[m*n-qu]
	}
	r.Estimate = statMedianSorted(diffs)
	return r
}

func statMedianSorted(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// mwDist is the exact null distribution of W for samples of m and n
// values: count[u] is the number of the C(m+n, m) equally likely rank
// arrangements with W = u, the coefficient of q^u in the Gaussian binomial
// [m+n choose m]_q. For m = n = 3 the counts over u = 0…9 are
// 1 1 2 3 3 3 3 2 1 1 (sum 20 = C(6,3)), so P(W ≤ 1) = 2/20.
type mwDist struct {
	m, n  int
	count []float64
	total float64
}

func newMWDist(m, n int) *mwDist {
	// Harding's algorithm (Applied Statistics 33, 1984): [o+k choose k]_q
	// = Π_{i=1..k} (1 − q^{o+i}) / (1 − q^i), built in place, one factor
	// at a time, with k = min(m, n) and o = max(m, n). After step i the
	// array holds [o+i choose i]_q, of degree i·o; multiplying by
	// (1 − q^{o+i}) is one subtraction per coefficient and dividing by
	// (1 − q^i) one running sum, so the whole table costs O(k·m·n) and one
	// allocation (49 against 49 values: 0.2 million operations, where
	// q-Pascal's triangle needs 6 million and an allocation per entry).
	// The coefficients are counts, exact below 2^53; beyond, the tail
	// probabilities agree with exact integer counts to a few ulps
	// (TestMWDistExact, up to 27 against 27; 2e-15 at 49 against 49, the
	// largest exact case, where the R reference cases also agree).
	k, o := min(m, n), max(m, n)
	d := &mwDist{m: m, n: n, count: make([]float64, m*n+1)}
	c := d.count
	c[0] = 1
	for i := 1; i <= k; i++ {
		deg := i * o
		for e := deg; e >= o+i; e-- {
			c[e] -= c[e-o-i]
		}
		for e := i; e <= deg; e++ {
			c[e] += c[e-i]
		}
	}
	for _, v := range c {
		d.total += v
	}
	return d
}

// p is R's pwilcox(q, m, n, lower.tail): P(W ≤ q), or P(W > q) when lower
// is false, summing the shorter tail as R does.
func (d *mwDist) p(q float64, lower bool) float64 {
	mn := d.m * d.n
	q = math.Floor(q + 1e-7)
	if q < 0 {
		if lower {
			return 0
		}
		return 1
	}
	if q >= float64(mn) {
		if lower {
			return 1
		}
		return 0
	}
	qi := int(q)
	p := 0.0
	if qi <= mn/2 {
		for i := 0; i <= qi; i++ {
			p += d.count[i] / d.total
		}
	} else {
		qi = mn - qi
		for i := 0; i < qi; i++ {
			p += d.count[i] / d.total
		}
		lower = !lower
	}
	if lower {
		return p
	}
	return 0.5 - p + 0.5
}

// q is R's qwilcox(x, m, n): the smallest w with P(W ≤ w) ≥ x, with R's
// guard of 10 ulps against rounding.
func (d *mwDist) q(x float64) int {
	mn := d.m * d.n
	p := 0.0
	if x <= 0.5 {
		x -= 10 * statEpsilon
		for q := 0; ; q++ {
			p += d.count[q] / d.total
			if p >= x || q == mn {
				return q
			}
		}
	}
	x = 1 - x + 10*statEpsilon
	for q := 0; ; q++ {
		p += d.count[q] / d.total
		if p > x || q == mn {
			return mn - q
		}
	}
}

const statEpsilon = 2.220446049250313e-16 // DBL_EPSILON

// statZeroin is R's R_zeroin2 (Brent's method as in netlib's zeroin.c),
// which uniroot calls: it finds a root of f in [ax, bx] given f(ax) = fa
// and f(bx) = fb of opposite signs, to within tol. Reproducing R's
// iteration step for step reproduces R's roots, not just roots within tol
// of them.
func statZeroin(f func(float64) float64, ax, bx, fa, fb, tol float64, maxit int) float64 {
	a, b := ax, bx
	c, fc := a, fa
	if fa == 0 {
		return a
	}
	if fb == 0 {
		return b
	}
	for it := maxit + 1; it > 0; it-- {
		prevStep := b - a
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tolAct := 2*statEpsilon*math.Abs(b) + tol/2
		newStep := (c - b) / 2
		if math.Abs(newStep) <= tolAct || fb == 0 {
			return b
		}
		if math.Abs(prevStep) >= tolAct && math.Abs(fa) > math.Abs(fb) {
			var p, q float64
			cb := c - b
			if a == c {
				t1 := fb / fa
				p = cb * t1
				q = 1 - t1
			} else {
				qq := fa / fc
				t1 := fb / fc
				t2 := fb / fa
				p = t2 * (cb*qq*(qq-t1) - (b-a)*(t1-1))
				q = (qq - 1) * (t1 - 1) * (t2 - 1)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if p < (0.75*cb*q-math.Abs(tolAct*q)/2) && p < math.Abs(prevStep*q/2) {
				newStep = p / q
			}
		}
		if math.Abs(newStep) < tolAct {
			if newStep > 0 {
				newStep = tolAct
			} else {
				newStep = -tolAct
			}
		}
		a, fa = b, fb
		b += newStep
		fb = f(b)
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			c, fc = a, fa
		}
	}
	return b
}

// statPnorm is the standard normal distribution function Φ(z).
func statPnorm(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// statPnormUpper is 1 − Φ(z), computed without cancellation.
func statPnormUpper(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// statQnorm is the standard normal quantile Φ⁻¹(p), by Wichura's
// algorithm AS 241 (PPND16, about 16 digits), which R's qnorm uses:
// statQnorm(0.975) = 1.959963984540054.
func statQnorm(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	}
	q := p - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - q*q
		return q * (((((((r*2509.0809287301226727+
			33430.575583588128105)*r+67265.770927008700853)*r+
			45921.953931549871457)*r+13731.693765509461125)*r+
			1971.5909503065514427)*r+133.14166789178437745)*r +
			3.387132872796366608) /
			(((((((r*5226.495278852545925+
				28729.085735721942674)*r+39307.89580009271061)*r+
				21213.794301586595867)*r+5394.1960214247511077)*r+
				687.1870074920579083)*r+42.313330701600911252)*r + 1)
	}
	r := p
	if q > 0 {
		r = 1 - p
	}
	r = math.Sqrt(-math.Log(r))
	var val float64
	if r <= 5 {
		r -= 1.6
		val = (((((((r*7.7454501427834140764e-4+
			.0227238449892691845833)*r+.24178072517745061177)*
			r+1.27045825245236838258)*r+
			3.64784832476320460504)*r+5.7694972214606914055)*
			r+4.6303378461565452959)*r +
			1.42343711074968357734) /
			(((((((r*
				1.05075007164441684324e-9+5.475938084995344946e-4)*
				r+.0151986665636164571966)*r+
				.14810397642748007459)*r+.68976733498510000455)*
				r+1.6763848301838038494)*r+
				2.05319162663775882187)*r + 1)
	} else {
		r -= 5
		val = (((((((r*2.01033439929228813265e-7+
			2.71155556874348757815e-5)*r+
			.0012426609473880784386)*r+.026532189526576123093)*
			r+.29656057182850489123)*r+
			1.7848265399172913358)*r+5.4637849111641143699)*
			r + 6.6579046435011037772) /
			(((((((r*
				2.04426310338993978564e-15+1.4215117583164458887e-7)*
				r+1.8463183175100546818e-5)*r+
				7.868691311456132591e-4)*r+.0148753612908506148525)*
				r+.13692988092273580531)*r+
				.59983220655588793769)*r + 1)
	}
	if q < 0 {
		val = -val
	}
	return val
}

// TwoProportion tests whether the proportion x1/n1 (the candidate's, say
// errors per invocation) differs from x2/n2 (the stable version's) in the
// direction dir, and returns the signed statistic z and its p-value.
//
// It is R's prop.test(c(x1, x2), c(n1, n2), alternative, correct): the
// Pearson chi-square statistic of the 2×2 table against the pooled
// proportion p = (x1+x2)/(n1+n2), with Yates' continuity correction when
// correct is true (R's default, and what Judge uses), the correction
// capped at |x1/n1 − x2/n2| / (1/n1 + 1/n2) as R caps it. z is
// sign(x1/n1 − x2/n2)·√X²; the two-sided p-value is P(χ²₁ > X²), the
// one-sided ones Φ(−z) for Increase and Φ(z) for Decrease.
//
// Worked example: 30 errors in 400 candidate invocations (7.5%) against
// 120 in 4000 stable ones (3%): p = 150/4400 = 0.03409; the four cells
// differ from their expectations by |30 − 400·0.03409| = 16.36; with
// Yates the statistic is X² = (16.36 − 0.5)²·(1/13.64 + 1/386.4 +
// 1/136.4 + 1/3864) = 21.02, so z = 4.584 and the one-sided p-value
// (Increase) is 2.3e-6: the candidate's error rate is higher with
// overwhelming confidence.
//
// Degenerate input: when n1 or n2 is not positive or a count is outside
// [0, n], z and p are NaN. When the pooled proportion is 0 or 1 (no errors
// at all, or nothing but errors, on both sides) R's statistic is 0/0; here
// z is 0 and p is 1: nothing distinguishes the two samples.
func TwoProportion(x1, n1, x2, n2 int64, dir Direction, correct bool) (z, p float64) {
	if n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2 || !dir.valid() {
		return math.NaN(), math.NaN()
	}
	if x1+x2 == 0 || x1+x2 == n1+n2 {
		return 0, 1
	}
	fx1, fn1, fx2, fn2 := float64(x1), float64(n1), float64(x2), float64(n2)
	p1, p2 := fx1/fn1, fx2/fn2
	delta := p1 - p2
	yates := 0.0
	if correct {
		yates = min(0.5, math.Abs(delta)/(1/fn1+1/fn2))
	}
	pool := (fx1 + fx2) / (fn1 + fn2)
	var stat float64
	for _, cell := range [4][2]float64{
		{fx1, fn1 * pool}, {fx2, fn2 * pool},
		{fn1 - fx1, fn1 * (1 - pool)}, {fn2 - fx2, fn2 * (1 - pool)},
	} {
		dev := math.Abs(cell[0]-cell[1]) - yates
		stat += dev * dev / cell[1]
	}
	z = math.Sqrt(stat)
	if delta < 0 {
		z = -z
	}
	switch dir {
	case Increase:
		return z, statPnormUpper(z)
	case Decrease:
		return z, statPnorm(z)
	}
	// P(χ²₁ > X²) = P(|Z| > √X²).
	return z, math.Erfc(math.Sqrt(stat / 2))
}

// TwoProportionInterval returns R's prop.test confidence interval for the
// difference of proportions x1/n1 − x2/n2 at confidence confLevel: the Wald
// interval widened by the same continuity correction as TwoProportion,
// delta ∓ (z·sqrt(p1(1−p1)/n1 + p2(1−p2)/n2) + yates·(1/n1 + 1/n2)), clipped
// to [−1, 1], with z = Φ⁻¹((1+confLevel)/2) two-sided or Φ⁻¹(confLevel)
// one-sided, where the open side is 1 (Increase) or −1 (Decrease).
//
// With the numbers of the TwoProportion example and confLevel 0.95,
// Increase: delta = 0.045, the standard error is 0.01348, the correction
// 0.5·(1/400 + 1/4000) = 0.001375, so the interval is [0.0215, 1].
//
// Invalid input (see TwoProportion) gives NaN bounds.
func TwoProportionInterval(x1, n1, x2, n2 int64, confLevel float64, dir Direction, correct bool) (lower, upper float64) {
	if n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2 || !dir.valid() || !(confLevel > 0 && confLevel < 1) {
		return math.NaN(), math.NaN()
	}
	fn1, fn2 := float64(n1), float64(n2)
	p1, p2 := float64(x1)/fn1, float64(x2)/fn2
	delta := p1 - p2
	yates := 0.0
	if correct {
		yates = min(0.5, math.Abs(delta)/(1/fn1+1/fn2))
	}
	var z float64
	if dir == Either {
		z = statQnorm((1 + confLevel) / 2)
	} else {
		z = statQnorm(confLevel)
	}
	width := z*math.Sqrt(p1*(1-p1)/fn1+p2*(1-p2)/fn2) + yates*(1/fn1+1/fn2)
	switch dir {
	case Increase:
		return max(delta-width, -1), 1
	case Decrease:
		return -1, min(delta+width, 1)
	}
	return max(delta-width, -1), min(delta+width, 1)
}

// Valid reports whether d is one of Increase, Decrease and Either.
func (d Direction) Valid() bool { return d.valid() }

// Median is the median of v (the mean of the two middle values for an even
// count), NaN for an empty v. v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return statMedianSorted(slices.Sorted(slices.Values(v)))
}
