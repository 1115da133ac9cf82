// Package stats holds the statistics behind slipway's canary checks, with no
// platform knowledge: it imports nothing of slipway's, reads no clock and
// keeps no state between calls.
//
//   - Fixed-horizon tests, each valid for one look at one sample: the
//     Wilcoxon–Mann–Whitney rank-sum test with the Hodges–Lehmann shift and
//     its interval (MannWhitney, R's wilcox.test), the two-proportion test
//     and its interval (TwoProportion, R's prop.test), and Kayenta's
//     Mann–Whitney classifier built on them (Classify).
//
// Package canary turns these into checks (canary.Judge) that read metrics
// from a provider; errors here wrap ErrInvalid, which canary re-wraps as
// provider.ErrInvalid.
//
// The reference values the tests compare against are computed outside Go
// (R, SciPy); the scripts and their output live under testdata with their
// provenance.
package stats
