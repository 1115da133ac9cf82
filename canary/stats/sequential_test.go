package stats_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary/stats"
)

// seqReference is testdata/sequential/reference.json, written by gen.py
// with SciPy.
type seqReference struct {
	Provenance map[string]string `json:"provenance"`
	Quantile   []struct {
		N1, N2 int64
		Q      float64
		P      float64
	} `json:"quantileExceedance"`
	Sequences []struct {
		Name    string       `json:"name"`
		Prior   string       `json:"prior"`
		Updates [][3]float64 `json:"updates"`
		Steps   []struct {
			LogE   float64 `json:"logE"`
			PValue float64 `json:"pValue"`
		} `json:"steps"`
	} `json:"sequences"`
	Mixes []struct {
		Name    string    `json:"name"`
		A       string    `json:"a"`
		B       string    `json:"b"`
		Weights []float64 `json:"weights"`
		LogMix  float64   `json:"logMix"`
	} `json:"mixes"`
}

// refPrior maps the reference's prior names to Prior values.
func refPrior(t *testing.T, name string) stats.Prior {
	t.Helper()
	for _, p := range []stats.Prior{stats.PriorUniform, stats.PriorSaturating} {
		if p.String() == name {
			return p
		}
	}
	t.Fatalf("reference prior %q is unknown", name)
	return 0
}

// replay feeds a reference sequence's updates to a test with its prior.
func replay(t *testing.T, ref seqReference, name string) stats.Evidence {
	t.Helper()
	for _, s := range ref.Sequences {
		if s.Name != name {
			continue
		}
		e := stats.Evidence{Prior: refPrior(t, s.Prior)}
		for _, u := range s.Updates {
			var err error
			if e, err = e.Update(int64(u[0]), int64(u[1]), u[2]); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	t.Fatalf("no reference sequence %q", name)
	return stats.Evidence{}
}

func readSeqReference(t *testing.T) seqReference {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sequential", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref seqReference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Provenance["scipy"] == "" || len(ref.Quantile) == 0 || len(ref.Sequences) == 0 {
		t.Fatalf("reference.json lacks provenance or cases: %+v", ref.Provenance)
	}
	return ref
}

// TestQuantileExceedanceReference compares QuantileExceedance with SciPy's
// numerical integral of the two order statistics' Beta laws, to 1e-6
// absolute (it agrees far closer).
func TestQuantileExceedanceReference(t *testing.T) {
	ref := readSeqReference(t)
	worst := 0.0
	for _, c := range ref.Quantile {
		got, err := stats.QuantileExceedance(c.N1, c.N2, c.Q)
		if err != nil {
			t.Fatal(err)
		}
		d := math.Abs(got - c.P)
		worst = max(worst, d)
		if d > 1e-6 {
			t.Errorf("QuantileExceedance(%d, %d, %v) = %.12g, SciPy %.12g", c.N1, c.N2, c.Q, got, c.P)
		}
	}
	t.Logf("%d cases, largest difference from SciPy %.3g", len(ref.Quantile), worst)
}

// TestEvidenceReference replays every sequence of the reference and
// compares the mixture's log e-value and the sequential p-value after each
// update, to 1e-6.
func TestEvidenceReference(t *testing.T) {
	ref := readSeqReference(t)
	for _, s := range ref.Sequences {
		t.Run(s.Name, func(t *testing.T) {
			e := stats.Evidence{Prior: refPrior(t, s.Prior)}
			for i, u := range s.Updates {
				var err error
				e, err = e.Update(int64(u[0]), int64(u[1]), u[2])
				if err != nil {
					t.Fatal(err)
				}
				want := s.Steps[i]
				if d := math.Abs(e.LogE() - want.LogE); d > 1e-6 {
					t.Errorf("step %d: log e-value %.12g, SciPy %.12g", i, e.LogE(), want.LogE)
				}
				if d := math.Abs(e.PValue() - want.PValue); d > 1e-6 {
					t.Errorf("step %d: p-value %.12g, SciPy %.12g", i, e.PValue(), want.PValue)
				}
			}
		})
	}
}

// TestMixReference compares Mix of two replayed reference tests with
// SciPy's weighted logsumexp, to 1e-6.
func TestMixReference(t *testing.T) {
	ref := readSeqReference(t)
	if len(ref.Mixes) == 0 {
		t.Fatal("reference.json has no mixes")
	}
	for _, m := range ref.Mixes {
		got := stats.Mix(m.Weights, replay(t, ref, m.A), replay(t, ref, m.B))
		if d := math.Abs(got - m.LogMix); d > 1e-6 {
			t.Errorf("%s: log Mix %.12g, SciPy %.12g", m.Name, got, m.LogMix)
		}
	}
}

// evidenceOf is a test whose e-value is v under any prior.
func evidenceOf(v float64) stats.Evidence {
	var e stats.Evidence
	for k := range e.LogLR {
		e.LogLR[k] = math.Log(v)
	}
	return e
}

// TestMixWorkedExample checks Mix's doc numbers, Combine as equal weights,
// and the panics on programmer errors.
func TestMixWorkedExample(t *testing.T) {
	a, b := evidenceOf(0.01), evidenceOf(25)
	if got := math.Exp(stats.Mix([]float64{1, 9}, a, b)); math.Abs(got-22.501) > 1e-9 {
		t.Errorf("Mix(1, 9) = %v, want 22.501", got)
	}
	if got := math.Exp(stats.Combine(a, b)); math.Abs(got-12.505) > 1e-9 {
		t.Errorf("Combine = %v, want 12.505", got)
	}
	if got := math.Exp(stats.Mix([]float64{0, 2}, a, b)); math.Abs(got-25) > 1e-9 {
		t.Errorf("Mix(0, 2) = %v, want 25", got)
	}
	if got := stats.Mix(nil); got != 0 {
		t.Errorf("Mix() = %v, want 0", got)
	}
	for _, ws := range [][]float64{{1}, {-1, 2}, {0, 0}, {math.NaN(), 1}, {math.Inf(1), 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mix(%v) did not panic", ws)
				}
			}()
			stats.Mix(ws, a, b)
		}()
	}
}

// TestPriorSaturating checks the saturating prior's doc numbers: five
// periods with the candidate's percentile higher give M = 73.7 at
// p0 = 0.41 (uniform prior: 57.7) and 38.2 at p0 = 0.47 (30.6), and its
// weights sum to 1 (a fresh test has M = 1).
func TestPriorSaturating(t *testing.T) {
	for _, c := range []struct {
		p0                  float64
		saturating, uniform float64
	}{{0.41, 73.7, 57.7}, {0.47, 38.2, 30.6}} {
		for _, pc := range []struct {
			prior stats.Prior
			want  float64
		}{{stats.PriorSaturating, c.saturating}, {stats.PriorUniform, c.uniform}} {
			e := stats.Evidence{Prior: pc.prior}
			if got := e.EValue(); math.Abs(got-1) > 1e-12 {
				t.Errorf("%v: fresh M = %v, want 1", pc.prior, got)
			}
			for range 5 {
				e, _ = e.Update(1, 1, c.p0)
			}
			if got := e.EValue(); math.Abs(got-pc.want) > 0.05 {
				t.Errorf("%v prior, 5 successes at p0 = %v: M = %.2f, want %v", pc.prior, c.p0, got, pc.want)
			}
		}
	}
	if _, err := (stats.Evidence{Prior: 7}).Update(1, 1, 0.5); !errors.Is(err, stats.ErrInvalid) {
		t.Errorf("unknown prior: err = %v, want ErrInvalid", err)
	}
	if got := stats.Prior(7).String(); got != "Prior(7)" {
		t.Errorf("String = %q", got)
	}
}

// TestEvidenceWorkedExamples checks the numbers of the doc comments.
func TestEvidenceWorkedExamples(t *testing.T) {
	var e stats.Evidence
	e, err := e.Update(3, 5, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	// δ = 2 is the 8th grid point: LR = e^6/(0.9 + 0.1·e^2)^5 = 34.12.
	if got := math.Exp(e.LogLR[7]); math.Abs(got-34.12) > 0.01 {
		t.Errorf("LR(δ=2) = %v, want 34.12", got)
	}
	if got := e.EValue(); math.Abs(got-14.62) > 0.01 {
		t.Errorf("M = %v, want 14.62", got)
	}
	if got := e.PValue(); math.Abs(got-0.0684) > 1e-4 || e.Rejects(0.05) {
		t.Errorf("p = %v (rejects %v), want 0.0684, not rejected", got, e.Rejects(0.05))
	}
	e, _ = e.Update(3, 5, 0.1)
	e, _ = e.Update(3, 5, 0.1)
	if got := e.PValue(); math.Abs(got-6.7e-5) > 1e-6 || !e.Rejects(0.05) {
		t.Errorf("after three periods p = %v, want 6.7e-5 and rejected", got)
	}
	for _, c := range []struct {
		n1, n2 int64
		ratio  float64
		want   float64
	}{{10, 90, 1, 0.1}, {10, 90, 1.5, 15.0 / 105}, {0, 90, 1, 0}, {10, 0, 1, 1}} {
		if got := stats.CountShare(c.n1, c.n2, c.ratio); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("CountShare(%d, %d, %v) = %v, want %v", c.n1, c.n2, c.ratio, got, c.want)
		}
	}
	for _, c := range []struct {
		n1, n2 int64
		q      float64
		want   float64
	}{{1, 1, 0.99, 0.5}, {3, 3, 0.5, 0.5}, {10, 90, 0.99, 0.1}, {100, 900, 0.99, 0.3026}, {1000, 1000, 0.99, 0.5}} {
		got, err := stats.QuantileExceedance(c.n1, c.n2, c.q)
		if err != nil || math.Abs(got-c.want) > 5e-5 {
			t.Errorf("QuantileExceedance(%d, %d, %v) = %v, %v; want %v", c.n1, c.n2, c.q, got, err, c.want)
		}
	}
}

// TestEvidenceNoInformation: periods that say nothing leave the test where
// it was, and the p-value never rises.
func TestEvidenceNoInformation(t *testing.T) {
	var e stats.Evidence
	e, _ = e.Update(4, 5, 0.1)
	before := e
	for _, u := range [][3]float64{{0, 0, 0.1}, {0, 3, 0}, {3, 3, 1}} {
		var err error
		e, err = e.Update(int64(u[0]), int64(u[1]), u[2])
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.LogLR != before.LogLR || e.LogMax != before.LogMax {
		t.Errorf("uninformative updates moved the test: %+v → %+v", before, e)
	}
	p := e.PValue()
	e, _ = e.Update(0, 50, 0.1) // strong evidence for the null
	if e.PValue() != p || e.EValue() >= before.EValue() {
		t.Errorf("p-value %v → %v (must not change), e-value %v → %v (must fall)", p, e.PValue(), before.EValue(), e.EValue())
	}
}

func TestEvidenceInvalid(t *testing.T) {
	var e stats.Evidence
	for _, u := range [][3]float64{{-1, 2, 0.5}, {3, 2, 0.5}, {1, 2, 1.5}, {1, 2, math.NaN()}, {1, 2, 0}} {
		if _, err := e.Update(int64(u[0]), int64(u[1]), u[2]); !errors.Is(err, stats.ErrInvalid) {
			t.Errorf("Update%v: err = %v, want ErrInvalid", u, err)
		}
	}
	if _, err := stats.CountEvidence(e, 1, 10, 0, 10, 0.5); !errors.Is(err, stats.ErrInvalid) {
		t.Errorf("ratio 0.5: err = %v", err)
	}
	if _, err := stats.QuantileEvidence(e, math.Inf(1), 10, 1, 10, 0.99, 1); !errors.Is(err, stats.ErrInvalid) {
		t.Errorf("infinite quantile: err = %v", err)
	}
	if _, err := stats.QuantileExceedance(0, 10, 0.99); !errors.Is(err, stats.ErrInvalid) {
		t.Errorf("n1 = 0: err = %v", err)
	}
}

// TestEvidenceJSON: the state survives a JSON round trip bit for bit, so a
// resumed rollout continues the same test.
func TestEvidenceJSON(t *testing.T) {
	var e stats.Evidence
	e, _ = e.Update(7, 11, 0.137)
	e, _ = e.Update(1, 9, 0.41)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back stats.Evidence
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestEvidenceNullSimulation: under the null (each error the candidate's
// with probability p0, p0 changing as a linear rollout's weights do), the
// test rejects in at most α of 4,000 seeded sequences of 200 looks, with
// the Monte-Carlo standard error stated; and the latency sign test at its
// exact null probability likewise.
func TestEvidenceNullSimulation(t *testing.T) {
	const runs, looks, alpha = 4000, 200, 0.05
	r := rand.New(rand.NewPCG(13, 2022))
	rejected := 0
	for range runs {
		var e stats.Evidence
		for i := range looks {
			p0 := 0.1 * float64(1+i*9/looks)
			n := int64(r.IntN(12))
			var x int64
			for range n {
				if r.Float64() < p0 {
					x++
				}
			}
			e, _ = e.Update(x, n, p0)
		}
		if e.Rejects(alpha) {
			rejected++
		}
	}
	rate := float64(rejected) / runs
	se := math.Sqrt(alpha * (1 - alpha) / runs)
	t.Logf("null rejections: %d of %d = %.4f (α = %v, Monte-Carlo s.e. %.4f)", rejected, runs, rate, alpha, se)
	if rate > alpha+2*se {
		t.Errorf("rejected %.4f of null sequences, more than α = %v + 2 s.e.", rate, alpha)
	}
	// One sign trial a period at its exact null probability (0.39…0.47, as
	// the p99 of ~600 against ~5,400 requests), under the saturating prior.
	rejected = 0
	for range runs {
		e := stats.Evidence{Prior: stats.PriorSaturating}
		for range looks {
			p0 := 0.39 + 0.08*r.Float64()
			var x int64
			if r.Float64() < p0 {
				x = 1
			}
			e, _ = e.Update(x, 1, p0)
		}
		if e.Rejects(alpha) {
			rejected++
		}
	}
	rate = float64(rejected) / runs
	t.Logf("sign trials, saturating prior: null rejections %d of %d = %.4f (α = %v, Monte-Carlo s.e. %.4f)", rejected, runs, rate, alpha, se)
	if rate > alpha+2*se {
		t.Errorf("rejected %.4f of null sign sequences, more than α = %v + 2 s.e.", rate, alpha)
	}
}
