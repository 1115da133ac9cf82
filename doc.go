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
// # The packages, and which imports which
//
// The work is split into small packages that callers compose, in layers;
// a package imports only from the layers below it (and the leaves):
//
//	fleet                                   releases in waves over many functions
//	   │
//	release                                 the workflow; only fleet and programs import it
//	   │ imports every package below
//	canary    retention    journal    notify
//	   │          │           │          │
//	   ▼          ▼           ▼          ▼
//	provider ◄── provider/memory, provider/awslambda, provider/gcprun, provider/azurefunc
//	         ◄── provider/providertest, metrics/prometheus, metrics/datadog
//
//	leaves: semver (imported by retention and release),
//	        canary/stats (imported by canary)
//
// What each package is for, and why its imports are what they are:
//
//   - [github.com/slipway-dev/slipway/provider]: the platform contract —
//     immutable versions, routes (aliases, traffic targets, slots) with
//     traffic in basis points and compare-and-swap revisions, capabilities
//     checked before any call, metrics, typed errors, optional powers
//     found by type assertion, and a retrying wrapper. It imports nothing
//     of ours: everything else is written against it. Subpackages hold the
//     conformance suite (providertest), the in-memory provider (memory) and
//     the cloud adapters (awslambda, with its in-process emulator
//     lambdatest); an adapter imports provider and its cloud's SDK only,
//     so it can be used without the release machinery.
//   - [github.com/slipway-dev/slipway/semver]: strict SemVer 2.0.0 parsing,
//     precedence, bumps, prerelease increments, Conventional Commits and
//     node-style ranges. A leaf: version numbers need nothing else.
//   - [github.com/slipway-dev/slipway/canary]: strategies, pluggable metric
//     checks (thresholds, relative bounds, a statistical judge), and a
//     deterministic state machine (Next, pure) with a runner that performs
//     its actions through a provider and persists its state so a killed CI
//     job can resume the rollout. It imports provider, and its statistics
//     from a leaf package with no platform knowledge (canary/stats).
//   - [github.com/slipway-dev/slipway/retention]: plan and apply pruning of
//     old versions, never one a route still uses. It imports provider (and
//     semver, to keep versions by label), not canary: pruning needs no
//     rollout.
//   - [github.com/slipway-dev/slipway/journal]: the append-only audit trail
//     of route changes and decisions (memory and file journals, an optional
//     index, the rollback target after a restart), with its conformance
//     suite journal/journaltest. It imports provider only: it stores routes
//     and knows nothing of the workflow that writes them.
//   - [github.com/slipway-dev/slipway/notify]: telling people about an
//     outcome (webhook, Slack, several at once). It imports provider only.
//   - [github.com/slipway-dev/slipway/release]: the end-to-end workflow —
//     publish, stage, test, canary, promote or roll back, prune — with deploy
//     windows, drift and safety reports, and a Markdown summary. It composes
//     all of the above and nothing imports it but fleet (releases of many
//     functions in waves) and programs (examples/, the command).
//   - Metric sources (metrics/prometheus, metrics/datadog) implement
//     provider.Metrics beside the adapters and import provider only.
//   - [github.com/slipway-dev/slipway/fleet]: one change released to many
//     functions across regions and accounts in waves, with a bake and a
//     verdict per wave and groups rolled back together; it runs in-process,
//     or on Temporal through the separate module
//     github.com/slipway-dev/slipway/temporal. Nothing imports fleet but
//     commands and examples.
//
// The rules behind the arrows ("never" imports: an adapter never imports
// canary, retention, release, journal or notify; canary and retention
// never import release; semver, canary/stats and provider import nothing
// of ours; journal and notify only provider) are a table in
// internal/importrules, checked in CI over go list -deps -test, tests
// included. Tests that drive the canary runner or retention through a
// cloud adapter live in internal/integration for that reason. The design
// behind the graph is in docs/design.md, platform facts with their sources
// in docs/platforms/, and how we write code in docs/style.md.
//
// Every package takes a context on each call, has no global state and is
// safe for concurrent use. The in-memory provider runs in virtual time, so
// the whole workflow can be rehearsed in tests: see examples/quickstart.
package slipway
