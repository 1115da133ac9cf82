// Side-by-side benchmarks of slipway's semver against blang/semver and
// Masterminds/semver. A separate module so the library's go.mod never
// requires them.
module github.com/slipway-dev/slipway/semver/internal/bench

go 1.26.0

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/blang/semver/v4 v4.0.0
	github.com/slipway-dev/slipway v0.0.0
)

replace github.com/slipway-dev/slipway => ../../..
