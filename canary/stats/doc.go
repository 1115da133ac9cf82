// Package stats holds the statistics behind slipway's canary checks, with no
// platform knowledge: it imports nothing of slipway's, reads no clock and
// keeps no state between calls.
//
//   - Fixed-horizon tests, each valid for one look at one sample: the
//     Wilcoxon–Mann–Whitney rank-sum test with the Hodges–Lehmann shift and
//     its interval (MannWhitney, R's wilcox.test), the two-proportion test
//     and its interval (TwoProportion, R's prop.test), and Kayenta's
//     Mann–Whitney classifier built on them (Classify).
//   - Sequential (anytime-valid) tests, valid however often they are looked
//     at: Evidence, a mixture test martingale over Bernoulli trials with
//     known, changing null probabilities, fed by CountEvidence (the
//     candidate's share of the errors against its share of the requests)
//     and QuantileEvidence (whether the candidate's p99 exceeded the stable
//     one's, against the exact null probability QuantileExceedance), each
//     under a Prior fixed in advance, and combined by Mix (a weighted
//     average of e-values with fixed weights). See sequential.go for the
//     mathematics and worked numbers.
//
// Package canary turns these into checks (canary.Judge) that read metrics
// from a provider; errors here wrap ErrInvalid, which canary re-wraps as
// provider.ErrInvalid.
//
// The reference values the tests compare against are computed outside Go
// (R, SciPy); the scripts and their output live under testdata with their
// provenance.
package stats
