package stats

import (
	"fmt"
	"math"
)

// This file holds the anytime-valid (sequential) tests: tests that may be
// looked at after every observation, as often as one likes, and still
// reject a true null hypothesis with probability at most α over the whole
// sequence. They follow Lindon, Sanden and Shirikian, "Rapid Regression
// Detection in Software Deployments through Sequential Testing" (KDD 2022,
// arXiv:2205.14762), and Lindon and Malek, "Anytime-Valid Inference for
// Multinomial Count Data" (NeurIPS 2022, arXiv:2011.03567).
//
// Both tests reduce to one statistic: a sequence of Bernoulli trials whose
// success probability under the null hypothesis, p0, is known trial by
// trial and may change from one trial to the next.
//
//   - Errors (CountEvidence): conditional on the total number of errors of
//     a period, each error is the candidate's with probability
//     p0 = r0·n1/(r0·n1 + n2), where n1 and n2 are the period's candidate
//     and stable requests and r0 the tolerated ratio of error rates
//     (1: none). This is the Poisson-process reduction of Lindon and
//     Malek (§ time-inhomogeneous Poisson processes): with error intensities
//     λ_i(t) = n_i(t)·e^{δ_i}·λ(t) sharing any common time-varying factor
//     λ(t), the next error belongs to the candidate with probability
//     ∝ n1·e^{δ1}. Where requests are counted and errors drawn per request
//     (binomial, not Poisson), the candidate's share of a fixed number of
//     errors is hypergeometric, which is smaller in the convex order than
//     the binomial (Hoeffding 1963, Theorem 4): the likelihood ratios below
//     are convex in the count, so their expectation under the null is at
//     most 1 and the test stays valid (conservative).
//   - Latency (QuantileEvidence): in a period where the candidate served n1
//     requests and the stable version n2, the candidate's sample quantile
//     exceeds the stable one's with a probability p0(n1, n2, q) that is the
//     same for every continuous latency distribution when both come from
//     the same one (QuantileExceedance). One trial per period: "was the
//     candidate's p99 higher?" — a sign test with exact, sample-size-aware
//     null probabilities, in the spirit of the paper's sequential tests of
//     stochastic order.
//
// The alternatives are "the candidate's odds are e^δ times the null's",
// δ > 0: success probability θ = p0·e^δ/(1 − p0 + p0·e^δ). The likelihood
// ratio of x successes in n trials at p0 is then
//
//	LR(δ) = θ^x (1−θ)^(n−x) / (p0^x (1−p0)^(n−x)) = e^{xδ} / (1 − p0 + p0·e^δ)^n
//
// and the test martingale is the mixture M = Σ_k w_k·Π_t LR_t(δ_k) over a
// fixed grid δ_k = k·0.25, k = 1…28 (odds ratios 1.28 … e^7 ≈ 1097), with
// weights w_k — a discrete prior, so the mixture is exact, not a quadrature
// of anything — chosen before the first observation (Prior):
//
//   - PriorUniform (the zero value): w_k = 1/28. CountEvidence's tests use
//     it: a period's errors can carry any amount of evidence (a clear fault
//     gives e^20 in one minute), so no alternative is favoured.
//   - PriorSaturating: w_k = 1/112 + (3/4)/17 for δ ≥ 3 (k ≥ 12), 1/112
//     below — three quarters of the mass where the evidence of a single
//     trial saturates, one quarter spread over the whole grid. For one
//     trial a period (QuantileEvidence) the likelihood ratio of a success,
//     e^δ/(1 − p0 + p0·e^δ), rises to its bound 1/p0 as δ grows: at
//     p0 = 0.41 (p99 of 600 against 5,400 requests) δ = 3 already gives
//     2.28 of the bound 2.44, while a failure costs e^−δ. A regression that
//     makes the candidate's percentile higher in nearly every period (a
//     +30% p99 at 600 against 5,400 requests: 96.8% of periods) is best
//     served by the large δ; the quarter of uniform mass keeps mild
//     regressions (a success probability of 0.6–0.8, δ ≈ 1) detectable at
//     the cost of a constant factor 4 of evidence against the uniform
//     prior. After 5
//     successes at p0 = 0.41, M = 73.7 (uniform: 57.7); at p0 = 0.47,
//     38.2 (uniform: 30.6).
//
// Under the null each factor has expectation 1 (at most 1 when the
// candidate is no worse: E[LR] is increasing in the true θ), so M is a
// non-negative supermartingale starting at 1 and, by Ville's inequality,
// P(sup_t M_t ≥ 1/α) ≤ α: rejecting when M reaches 1/α keeps the
// false-rejection probability at most α however often and however long one
// looks, whatever the (fixed) prior. The sequential p-value is
// p_t = min(1, 1/max_{s≤t} M_s): non-increasing, and P(∃t: p_t ≤ α) ≤ α.
//
// Worked example (a row of TestEvidenceWorkedExamples and of the SciPy
// reference; PriorUniform): a period with 10 candidate and 90 stable requests, r0 = 1,
// so p0 = 0.1; 3 of the period's 5 errors are the candidate's. At δ = 2
// (odds ratio 7.39): LR = e^6/(0.9 + 0.1·7.389)^5 = 403.43/11.82 = 34.12;
// the mixture over the 28 grid points is M = 14.62, so p = 0.0684: not yet
// significant at 5% — one period of 5 errors is little evidence. Two more
// such periods give M = 1.49e4 and p = 6.7e-5.

const (
	// seqGridStep and seqGridSize define the grid of log odds ratios of
	// the mixture: δ_k = k·seqGridStep, k = 1…seqGridSize.
	seqGridStep = 0.25
	seqGridSize = 28
	// seqSaturatingFrom is the first grid index (k−1) of the
	// concentrated part of PriorSaturating: δ = 3.
	seqSaturatingFrom = 11
	// seqSaturatingShare is the share of PriorSaturating's mass on
	// δ ≥ 3; the rest is spread uniformly over the whole grid.
	seqSaturatingShare = 0.75
)

// Prior is the mixing distribution of a sequential test's alternatives
// over the grid δ_k (see above). It is part of the test and must be fixed
// before the first observation: changing it afterwards voids the
// guarantee.
type Prior uint8

const (
	// PriorUniform weighs every δ_k equally: the prior of count tests.
	PriorUniform Prior = iota
	// PriorSaturating puts three quarters of the mass on δ ≥ 3 and
	// spreads the rest over the whole grid: the prior of one-trial-a-period
	// tests whose evidence per trial is bounded by 1/p0 (QuantileEvidence
	// in package canary's Sequential).
	PriorSaturating
)

// String returns "uniform" or "saturating".
func (p Prior) String() string {
	switch p {
	case PriorUniform:
		return "uniform"
	case PriorSaturating:
		return "saturating"
	}
	return fmt.Sprintf("Prior(%d)", uint8(p))
}

// logWeight is log w_k of p at grid index k (δ = (k+1)·seqGridStep).
func (p Prior) logWeight(k int) float64 {
	switch p {
	case PriorSaturating:
		w := (1 - seqSaturatingShare) / seqGridSize
		if k >= seqSaturatingFrom {
			w += seqSaturatingShare / (seqGridSize - seqSaturatingFrom)
		}
		return math.Log(w)
	}
	return -math.Log(seqGridSize)
}

// Evidence is the state of a sequential test: the log likelihood ratio of
// every alternative of the mixture, the running maximum of the mixture and
// the counts seen. The zero value is a test that has seen nothing
// (M = 1, p = 1). It is a plain value: it serialises with encoding/json
// without loss (floats round-trip exactly), so a rollout that is resumed
// from its stored state continues the same test.
type Evidence struct {
	// Prior is the mixture's prior, set before the first update (the zero
	// value: PriorUniform). An unknown Prior makes Update fail.
	Prior Prior `json:"prior,omitempty"`
	// LogLR[k] is log Π_t LR_t(δ_{k+1}).
	LogLR [seqGridSize]float64 `json:"logLR"`
	// LogMax is the log of the largest mixture value seen so far (≥ 0).
	LogMax float64 `json:"logMax"`
	// Trials and Successes count the Bernoulli trials fed (errors and the
	// candidate's errors; periods and periods the candidate was slower).
	Trials    int64 `json:"trials"`
	Successes int64 `json:"successes"`
}

// Update returns e after x successes in n trials, each a success with
// probability p0 under the null hypothesis. n = 0 (nothing observed), p0 = 0
// with x = 0 and p0 = 1 with x = n carry no information and change
// only the counts. The error wraps ErrInvalid: x outside 0…n, p0
// outside [0, 1] or NaN, or a success with p0 = 0 (impossible under any
// hypothesis of the family).
func (e Evidence) Update(x, n int64, p0 float64) (Evidence, error) {
	switch {
	case n < 0 || x < 0 || x > n:
		return e, fmt.Errorf("stats: sequential update: %d successes of %d trials: %w", x, n, ErrInvalid)
	case !(p0 >= 0 && p0 <= 1):
		return e, fmt.Errorf("stats: sequential update: null probability %v outside [0, 1]: %w", p0, ErrInvalid)
	case p0 == 0 && x > 0:
		return e, fmt.Errorf("stats: sequential update: %d successes where the null probability is 0: %w", x, ErrInvalid)
	case e.Prior > PriorSaturating:
		return e, fmt.Errorf("stats: sequential update: unknown %v: %w", e.Prior, ErrInvalid)
	}
	e.Trials += n
	e.Successes += x
	if n == 0 || p0 == 0 || (p0 == 1 && x == n) {
		return e, nil
	}
	for k := range e.LogLR {
		d := float64(k+1) * seqGridStep
		// log(1 − p0 + p0·e^δ) = log1p(p0·(e^δ − 1)).
		e.LogLR[k] += float64(x)*d - float64(n)*math.Log1p(p0*math.Expm1(d))
	}
	e.LogMax = max(e.LogMax, e.LogE())
	return e, nil
}

// LogE is the log of the mixture M = Σ_k w_k·exp(LogLR[k]) under e's
// Prior, computed without overflow. The zero Evidence has LogE 0 (M = 1).
func (e Evidence) LogE() float64 {
	m := math.Inf(-1)
	for k, l := range e.LogLR {
		m = max(m, l+e.Prior.logWeight(k))
	}
	s := 0.0
	for k, l := range e.LogLR {
		s += math.Exp(l + e.Prior.logWeight(k) - m)
	}
	return m + math.Log(s)
}

// EValue is the mixture M (an e-value: its expectation under the null is
// at most 1); +Inf when it overflows a float64.
func (e Evidence) EValue() float64 { return math.Exp(e.LogE()) }

// PValue is the sequential p-value min(1, 1/max_{s≤t} M_s): valid at any
// stopping time, never increasing as evidence is added.
func (e Evidence) PValue() float64 { return math.Min(1, math.Exp(-e.LogMax)) }

// Rejects reports whether the null hypothesis is rejected at level alpha:
// the mixture has reached 1/alpha at some point (PValue() ≤ alpha).
func (e Evidence) Rejects(alpha float64) bool { return e.LogMax >= -math.Log(alpha) }

// Combine returns the log of the average of the e-values of es: the average
// of test supermartingales is one, so rejecting when it reaches 1/α tests
// all the nulls together at level α — at least as powerful as Bonferroni
// (any one reaching K/α suffices). An empty es gives 0 (M = 1). It is Mix
// with equal weights.
func Combine(es ...Evidence) float64 {
	if len(es) == 0 {
		return 0
	}
	ws := make([]float64, len(es))
	for i := range ws {
		ws[i] = 1
	}
	return Mix(ws, es...)
}

// Mix returns the log of the weighted average Σ_i v_i·M_i of the e-values
// of es, v_i = weights[i]/Σ weights. With weights fixed in advance (or
// chosen from the past only) this is again a test supermartingale under
// the intersection of the nulls — no independence between the tests is
// needed — so rejecting when it reaches 1/α keeps the level α. The weights
// say where the evidence is expected: a test weighted v need only reach
// 1/(v·α) on its own. Worked example (TestMixWorkedExample): e-values 0.01
// and 25 weighted 1 and 9 mix to 0.1·0.01 + 0.9·25 = 22.501 ≥ 20 = 1/0.05,
// where the plain average, 12.505, is not. An empty es gives 0 (M = 1). It
// panics when the lengths differ or a weight is negative, NaN or infinite,
// or all are zero: programmer errors no input can cause.
func Mix(weights []float64, es ...Evidence) float64 {
	if len(weights) != len(es) {
		panic(fmt.Sprintf("stats: Mix of %d e-values with %d weights", len(es), len(weights)))
	}
	if len(es) == 0 {
		return 0
	}
	total := 0.0
	for _, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			panic(fmt.Sprintf("stats: Mix weight %v", w))
		}
		total += w
	}
	if total == 0 {
		panic("stats: Mix weights are all zero")
	}
	m := math.Inf(-1)
	for i, e := range es {
		if weights[i] > 0 {
			m = max(m, e.LogE()+math.Log(weights[i]/total))
		}
	}
	s := 0.0
	for i, e := range es {
		if weights[i] > 0 {
			s += math.Exp(e.LogE() + math.Log(weights[i]/total) - m)
		}
	}
	return m + math.Log(s)
}

// CountShare is the null probability that one error of a period is the
// candidate's, when the candidate served n1 requests and the stable version
// n2 and the candidate's error rate is at most ratio times the stable one's:
// ratio·n1/(ratio·n1 + n2). Worked example: 10 and 90 requests, ratio 1:
// 0.1; ratio 1.5: 15/105 = 0.142857. It is NaN when n1 + n2 = 0.
func CountShare(n1, n2 int64, ratio float64) float64 {
	a := ratio * float64(n1)
	return a / (a + float64(n2))
}

// CountEvidence adds one period of error counts to e: x1 errors in n1
// candidate requests, x2 in n2 stable ones, the null hypothesis being that
// the candidate's error rate is at most ratio (≥ 1; 1 = equal) times the
// stable one's. The trials are the period's x1 + x2 errors, a success being
// a candidate error. A period without errors, or without traffic on one
// side, carries no evidence.
func CountEvidence(e Evidence, x1, n1, x2, n2 int64, ratio float64) (Evidence, error) {
	switch {
	case x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2:
		return e, fmt.Errorf("stats: count evidence: %d errors of %d and %d of %d: %w", x1, n1, x2, n2, ErrInvalid)
	case !(ratio >= 1) || math.IsInf(ratio, 0):
		return e, fmt.Errorf("stats: count evidence: ratio %v is not finite and ≥ 1: %w", ratio, ErrInvalid)
	}
	if n1 == 0 || n2 == 0 {
		return e, nil
	}
	return e.Update(x1, x1+x2, CountShare(n1, n2, ratio))
}

// QuantileEvidence adds one period of latency to e: the candidate's
// q-quantile c over n1 requests against the stable version's s over n2,
// the null hypothesis being that the candidate's latency is stochastically
// at most ratio (≥ 1) times the stable one's. The trial succeeds when
// c > ratio·s (strictly: ties count against the alternative, which only
// makes the test conservative); its null probability is
// QuantileExceedance(n1, n2, q). A side without requests carries no
// evidence.
func QuantileEvidence(e Evidence, c float64, n1 int64, s float64, n2 int64, q, ratio float64) (Evidence, error) {
	switch {
	case !(ratio >= 1) || math.IsInf(ratio, 0):
		return e, fmt.Errorf("stats: quantile evidence: ratio %v is not finite and ≥ 1: %w", ratio, ErrInvalid)
	case math.IsNaN(c) || math.IsNaN(s) || math.IsInf(c, 0) || math.IsInf(s, 0):
		return e, fmt.Errorf("stats: quantile evidence: quantiles %v and %v: %w", c, s, ErrInvalid)
	case n1 < 0 || n2 < 0:
		return e, fmt.Errorf("stats: quantile evidence: %d and %d requests: %w", n1, n2, ErrInvalid)
	}
	if n1 == 0 || n2 == 0 {
		return e, nil
	}
	p0, err := QuantileExceedance(n1, n2, q)
	if err != nil {
		return e, err
	}
	var x int64
	if c > ratio*s {
		x = 1
	}
	return e.Update(x, 1, p0)
}

// QuantileRank is the nearest-rank position of the q-quantile in n sorted
// values, ⌈q·n⌉ (at least 1): the definition CloudWatch's and the memory
// provider's percentiles follow.
func QuantileRank(n int64, q float64) int64 {
	return max(1, int64(math.Ceil(q*float64(n))))
}

// QuantileExceedance is the probability that the nearest-rank q-quantile of
// n1 independent draws exceeds that of n2 other draws from the same
// continuous distribution: P(X_(r1:n1) > Y_(r2:n2)) with r = QuantileRank.
// It does not depend on the distribution: X_(r1) > Y_(r2) exactly when
// fewer than r1 of the X fall below Y_(r2), and the number K of X below
// Y_(r2) is beta-binomial, K ~ BetaBinomial(n1, r2, n2 − r2 + 1) (given
// U = F(Y_(r2)) ~ Beta(r2, n2 − r2 + 1), K ~ Binomial(n1, U)). So
//
//	P = Σ_{j=0}^{r1−1} C(n1, j)·B(j + r2, n1 − j + n2 − r2 + 1) / B(r2, n2 − r2 + 1),
//
// summed over the shorter side (the other by complement). Worked
// examples (SciPy's integral ∫ f_{Beta(r1, n1−r1+1)}·F_{Beta(r2, n2−r2+1)}
// agrees to 1e-12, testdata/sequential): equal samples of 1 (q any):
// 1/2; medians of 3 against 3: 1/2; p99 of 10 against 90 requests
// (each the largest value of its side): 10/100 = 0.1, the chance that the
// largest of all 100 is the candidate's; p99 of 100 against 900: 0.3026 —
// a small sample's p99 is more often the lower one, so "is the candidate's
// p99 higher?" has a null probability well below 1/2 at a 10% canary, and
// a sign test that assumed 1/2 would be blind; p99 of 1000 against 1000:
// 1/2.
// The error wraps ErrInvalid: n1 or n2 below 1, q outside (0, 1).
func QuantileExceedance(n1, n2 int64, q float64) (float64, error) {
	if n1 < 1 || n2 < 1 || !(q > 0 && q < 1) {
		return 0, fmt.Errorf("stats: quantile exceedance of %d against %d at %v: %w", n1, n2, q, ErrInvalid)
	}
	r1, r2 := QuantileRank(n1, q), QuantileRank(n2, q)
	n := float64(n1)
	a, b := float64(r2), float64(n2-r2+1)
	// log pmf of BetaBinomial(n, a, b) at j.
	logPMF := func(j float64) float64 {
		return lchoose(n, j) + lbeta(j+a, n-j+b) - lbeta(a, b)
	}
	// Each term from its logarithm: no underflow far from the mode, where
	// a recurrence started at the end of the range would lose everything.
	if r1-1 < n1-r1+1 {
		s := 0.0
		for j := range r1 {
			s += math.Exp(logPMF(float64(j)))
		}
		return min(1, max(0, s)), nil
	}
	s := 0.0
	for j := r1; j <= n1; j++ {
		s += math.Exp(logPMF(float64(j)))
	}
	return min(1, max(0, 1-s)), nil
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

func lchoose(n, k float64) float64 {
	return -math.Log(n+1) - lbeta(n-k+1, k+1)
}
