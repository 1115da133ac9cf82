package stats

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

// subsetCounts counts, by plain dynamic programming over the ranks
// 1…m+n in exact integers, the ways m of them can be chosen with each
// rank sum, indexed by W = sum − m(m+1)/2: the null distribution of the
// rank-sum statistic, computed independently of Harding's algorithm.
func subsetCounts(m, n int) []*big.Int {
	// f[j][s]: ways to choose j ranks summing to s.
	maxSum := m * (2*(m+n) - m + 1) / 2
	f := make([][]*big.Int, m+1)
	for j := range f {
		f[j] = make([]*big.Int, maxSum+1)
		for s := range f[j] {
			f[j][s] = new(big.Int)
		}
	}
	f[0][0].SetInt64(1)
	for r := 1; r <= m+n; r++ {
		for j := min(r, m); j >= 1; j-- {
			for s := maxSum; s >= r; s-- {
				f[j][s].Add(f[j][s], f[j-1][s-r])
			}
		}
	}
	base := m * (m + 1) / 2
	out := make([]*big.Int, m*n+1)
	for w := range out {
		out[w] = f[m][w+base]
	}
	return out
}

// TestMWDistExact checks the exact distribution against exact integer
// counts: every count equal while counts fit a float64's 53 bits, every
// lower-tail probability to 1e-14 relative.
func TestMWDistExact(t *testing.T) {
	sizes := []int{1, 2, 3, 4, 7, 12, 20, 27}
	worst := 0.0
	for _, m := range sizes {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%dx%d", m, n), func(t *testing.T) {
				want := subsetCounts(m, n)
				d := newMWDist(m, n)
				if len(d.count) != len(want) {
					t.Fatalf("%d counts, want %d", len(d.count), len(want))
				}
				total := new(big.Int)
				for _, c := range want {
					total.Add(total, c)
				}
				cum := new(big.Int)
				for w, c := range want {
					if c.IsInt64() && c.Int64() < 1<<53 && d.count[w] != float64(c.Int64()) {
						t.Fatalf("count[%d] = %v, want %v", w, d.count[w], c)
					}
					cum.Add(cum, c)
					exact, _ := new(big.Rat).SetFrac(cum, total).Float64()
					got := d.p(float64(w), true)
					dev := math.Abs(got-exact) / exact
					worst = max(worst, dev)
					if dev > 1e-14 {
						t.Fatalf("P(W ≤ %d) = %v, exact %v", w, got, exact)
					}
				}
			})
		}
	}
	t.Logf("largest relative deviation of P(W ≤ w) from exact counts: %.2g", worst)
}

// TestMWDistSmall is the table of mwDist's doc: m = n = 3.
func TestMWDistSmall(t *testing.T) {
	d := newMWDist(3, 3)
	want := []float64{1, 1, 2, 3, 3, 3, 3, 2, 1, 1}
	for i, c := range want {
		if d.count[i] != c {
			t.Fatalf("counts %v, want %v", d.count, want)
		}
	}
	if d.total != 20 || d.p(1, true) != 2.0/20 {
		t.Errorf("total %v, P(W ≤ 1) = %v; want 20 and 0.1", d.total, d.p(1, true))
	}
}
