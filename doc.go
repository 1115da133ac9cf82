// Package slipway releases serverless functions safely, as a library you
// import rather than a controller you run.
//
// A release is: publish the built code as an immutable version labelled
// with the next semantic version, point the staging alias at it, run the
// caller's integration tests, shift production traffic to it in steps
// (canary, linear, blue/green) while checks compare it with the stable
// version, then promote it or roll back automatically, and finally prune
// old versions that nothing uses any more.
//
// The work is split into small packages that callers compose:
//
//   - [github.com/slipway-dev/slipway/semver]: strict SemVer 2.0.0 parsing,
//     precedence, bumps, prerelease increments, Conventional Commits and
//     node-style ranges.
//   - [github.com/slipway-dev/slipway/provider]: the platform contract —
//     immutable versions, routes (aliases, traffic targets, slots) with
//     traffic in basis points and compare-and-swap revisions, capabilities
//     checked before any call, metrics, typed errors and a retrying
//     wrapper. Subpackages hold the conformance suite (providertest), the
//     in-memory provider (memory) and the cloud adapters (awslambda, with
//     its in-process emulator lambdatest).
//   - [github.com/slipway-dev/slipway/canary]: strategies, pluggable metric
//     checks (thresholds, relative bounds, a Mann–Whitney judge), and a
//     deterministic state machine with a runner that persists its state so
//     a killed CI job can resume the rollout.
//   - [github.com/slipway-dev/slipway/retention]: plan and apply pruning of
//     old versions, never one a route still uses.
//   - [github.com/slipway-dev/slipway/release]: the end-to-end workflow
//     with an append-only audit journal, deploy windows and drift reports.
//   - [github.com/slipway-dev/slipway/fleet]: one change released to many
//     functions across regions and accounts in waves, with a bake and a
//     verdict per wave and groups rolled back together; it runs in-process,
//     or on Temporal through the separate module
//     github.com/slipway-dev/slipway/temporal. Nothing imports fleet but
//     commands and examples.
//
// Every package takes a context on each call, has no global state and is
// safe for concurrent use. The in-memory provider runs in virtual time, so
// the whole workflow can be rehearsed in tests: see examples/quickstart.
package slipway
