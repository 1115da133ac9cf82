// Package providertest is the conformance suite of the provider contract:
// Run checks any provider.Provider against every clause of that contract, as
// testing/fstest.TestFS checks an fs.FS and gocloud.dev/blob/drivertest
// checks a blob driver. The in-memory provider, every cloud adapter pointed
// at its emulator, and any provider a user writes run the same tests.
//
// # Use
//
// In a provider's own test file:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(t *testing.T) provider.Provider {
//			p, err := memory.New(memory.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return p
//		})
//	}
//
// The factory is called once per subtest with that subtest's *testing.T, so
// each clause starts from a fresh, empty provider (tear it down with
// t.Cleanup). Each subtest also uses its own function name (Options.Function
// followed by the subtest's name in lower case), so a factory may return
// clients of one shared emulator or cloud account; Options.Setup creates the
// function first on platforms where Publish needs an existing one.
// Subtests call t.Parallel.
//
// # What is checked
//
// One subtest per clause, named after it; run one with
// go test -run 'TestConformance/Routes/UpdateStaleRevision'.
//
//   - Capabilities: stable across calls, granularity dividing 10000.
//   - Publish: the returned version carries the input's code hash,
//     configuration, description and labels and reads back equal;
//     idempotency (same code and configuration give the same ID and the
//     original description and labels, also when other versions were
//     published in between, and a nil Environment equals an empty one); a
//     changed configuration or code gives a new version and leaves the old
//     one as it was; immutability (mutating the input or any returned
//     Version's maps and slices changes nothing stored); invalid input
//     rejected with ErrInvalid before any version is created; concurrent
//     publishes of distinct artifacts get distinct IDs, and of one artifact
//     one version.
//   - Versions: ErrNotFound from Version and Versions; Options.Versions
//     (default 120) versions listed oldest first with unique IDs, each
//     readable and equal to what Publish returned; an early break stops the
//     iterator (it never calls yield again after yield returned false); a
//     sequence can be ranged twice.
//   - Routes: create with an empty revision, create-existing is ErrConflict,
//     update with the current revision, a stale or made-up revision is
//     ErrConflict and changes nothing, a revision on a missing alias is
//     ErrNotFound, Route on a missing alias is ErrNotFound, Routes sorted by
//     alias, returned routes not aliased to stored ones, split routes read
//     back with the same traffic, and two goroutines racing from one
//     revision (repeated 20 times): exactly one wins, the other gets
//     ErrConflict, and the route is the winner's. Eight writers each
//     adding weight by read-modify-write with retries on ErrConflict lose
//     no step. Functions are isolated: one function's versions and routes
//     are unknown to another's.
//   - Weights: negative, above 10000, not summing to 10000, duplicate
//     versions, an unknown version, an empty alias, version or weight list,
//     a zero primary, more versions than MaxRouteVersions, a weight finer
//     than Granularity, and a split on a route outside SplitRoutes are each
//     refused with the sentinel Capabilities.CheckRoute gives (ErrInvalid or
//     ErrUnsupported; ErrInvalid for an unknown version), on create and on
//     update, leaving every route as it was.
//   - DeleteVersion: ErrUnsupported when Capabilities().DeleteVersions is
//     false; otherwise ErrInUse for a primary or weighted reference and for
//     the newest version, ErrNotFound for an unknown one, and a deleted
//     version is gone from Version and Versions and cannot be routed to.
//   - Cancel: every method called with a cancelled context returns an error
//     matching context.Canceled and changes nothing.
//   - Invoke (when the provider is a provider.Invoker; skipped otherwise):
//     invoking a version or an alias runs it (a 2xx status, and the version
//     that ran when the platform names it), ErrNotFound for a missing
//     function, version or alias, ErrInvalid without a qualifier.
//
// Every expected error is checked with errors.Is against the sentinel, and
// errors.As must find a *provider.Error naming the operation and the
// function.
//
// Clauses the provider's Capabilities say are absent are skipped with
// t.Skip, never passed vacuously. Options.SkipSlow skips the paging and
// concurrency clauses for quick runs against remote platforms.
//
// Concurrency tolerates what the contract allows: a concurrent Publish may
// fail with ErrConflict (the platform refused a concurrent update), but at
// least one must succeed and no two successes may share an ID.
//
// The suite is strict by test: this package's own tests run it against
// wrappers of the in-memory provider that each break one clause (ignoring
// revision tokens, deleting in-use versions, publishing twice, skipping a
// page, ignoring an early break, sharing maps with the caller, misordering
// routes, routing to unknown versions, ignoring the context, dropping
// *provider.Error, overstating Capabilities, ignoring function names) and
// check that each fails in the clause it breaks.
//
// # Metrics
//
// RunMetrics checks a provider.Metrics, which is read only, so it takes one
// source and MetricsOptions naming a function and versions it knows: a
// stable Resolution, ErrInvalid for malformed and misaligned queries,
// ErrNotFound for an unknown function, context.Canceled, and the shape of
// observations (the query echoed, Through aligned and never past the clock,
// one series per version in order, one point per whole period and never a
// partial one, consistent counts and percentiles). With
// MetricsOptions.WantTraffic the caller promises traffic in the window, and
// an all-zero answer fails.
//
// # Metric sources with known traffic
//
// RunSource checks a source the caller can seed: a MetricsFixture names the
// source, three versions and a Seed function that makes the traffic of a
// fixed Plan (SourcePlan: 600 invocations and 6 errors per period for the
// first version, 60 and 12 for the second, none for the third, silence
// before and after). It runs RunMetrics's clauses over the seeded window,
// then checks the same windows for every version, the seeded totals at two
// periods, per-version separation, zero points for empty windows, paging
// over a long window, and the platform's rate-limit and 5xx answers mapped
// to provider.ErrThrottled and provider.ErrUnavailable. The memory
// provider, the CloudWatch reader of provider/awslambda on lambdatest, and
// the Prometheus and Datadog sources under metrics/ pass it.
package providertest
