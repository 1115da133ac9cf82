package canary

import (
	"errors"
	"fmt"

	"github.com/slipway-dev/slipway/canary/stats"
	"github.com/slipway-dev/slipway/provider"
)

// Direction is the direction of concern of a check: which way a change of
// the candidate against the stable version counts as a regression. It is
// the statistics package's type (stats.Direction), named here because
// every check's configuration uses it.
type Direction = stats.Direction

// The directions of concern (see stats.Direction).
const (
	Increase = stats.Increase
	Decrease = stats.Decrease
	Either   = stats.Either
)

// DefaultConfidence is the confidence level of the statistical checks:
// 95% (stats.DefaultConfidence).
const DefaultConfidence = stats.DefaultConfidence

// DefaultTolerance is Kayenta's tolerance (stats.DefaultTolerance).
const DefaultTolerance = stats.DefaultTolerance

// DefaultMinPeriods is the minimum number of periods with latency data
// per side for the Mann–Whitney judgement of a latency. With 3 periods
// a side, a candidate slower in every period is the one arrangement in
// C(6,3) = 20 that is completely separated: 5%, the one-sided error a
// 95% judgement allows; fewer periods cannot say anything.
const DefaultMinPeriods = 3

// statsError makes an error of package stats, which has its own sentinel,
// an error of this package: errors.Is(err, provider.ErrInvalid) holds for
// an invalid argument, and the stats error stays in the chain.
func statsError(what string, err error) error {
	if errors.Is(err, stats.ErrInvalid) {
		return fmt.Errorf("canary: %s: %w (%w)", what, err, provider.ErrInvalid)
	}
	return fmt.Errorf("canary: %s: %w", what, err)
}
