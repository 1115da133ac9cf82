// Package release is the workflow a CI job runs to release a serverless
// function safely, composed from the other packages of slipway: semver
// numbers the versions, provider publishes them and moves traffic, canary
// judges a candidate while traffic shifts to it, and retention prunes old
// versions afterwards. Nothing imports release.
//
// # The workflow
//
// One release of a function goes:
//
//  1. Publish: the artifact becomes an immutable version labelled with the
//     next semantic version (provider.LabelSemver) and its commit
//     (provider.LabelCommit). The number follows the last release
//     (LastReleased) by an explicit level or by the Conventional Commits
//     since (NextVersion); a number that exists is refused
//     (*VersionExistsError), commits that call for nothing publish nothing
//     (semver.ErrNoRelease), and publishing the same artifact again returns
//     the version it already is (Published.Existing).
//  2. Stage: the staging alias is pointed at the version and the caller's
//     integration tests run against it.
//  3. Canary: production traffic moves to the candidate in steps while
//     checks judge it, within the deploy windows of a DeployPolicy (Check before
//     the release starts, CheckShift before each increase; a rollback is
//     never blocked).
//  4. Promote, or roll back to the previous good version, and notify
//     (a notify.Notifier: Webhook, Slack, Multi).
//  5. Prune old versions by the caller's retention policy.
//
// Workflow runs these steps: Release does all of them for one function,
// Promote moves the version one alias serves to another through the canary
// runner, Rollback puts an alias back on its previous good version from
// the journal (after a restart too), Resume continues a release whose
// process died mid-canary, Abort rolls a running canary back from another
// goroutine or process, and Prune applies retention. The canary runner
// never writes a route the workflow has not admitted and journaled: the
// provider it drives checks the DeployPolicy before every increase of the
// candidate's traffic (holding up to Options.MaxHold for a window to open,
// else refusing, which rolls the canary back; a decrease is never blocked)
// and appends a journal.Entry after every write. A journal that cannot record a
// write cancels the canary, which rolls back. Each step is reported as a
// typed Event (Options.OnEvent), and each run returns a Result with its
// Summary.
//
// Every route change and decision is appended to a journal.Journal
// (package journal: MemoryJournal, or FileJournal: JSON lines, fsynced,
// torn-tail recovery), which is the audit trail and the memory of the
// workflow: journal.PreviousGood answers the rollback target after a
// process restart, and Verify reports routes
// changed behind the journal's back (Drift). A Summary renders a run as
// Markdown for a CI job summary.
//
// # Drift and safety
//
// Compare reports the differences between two stages' configurations
// (runtime, handler, memory, timeout, environment variable names with
// their values masked, execution role) with go-cmp, and CompareConfig
// does the same for a desired configuration. Both run safety checks:
// environment variables that look like plain-text secrets
// (LooksLikePlainSecret) and a changed execution role; Compare adds
// event-source mappings pinned to a version and old versions anyone may
// invoke, through the optional provider.EventSourceLister and
// provider.PermissionReader. A check the provider cannot answer is
// reported as not checked (SafetyNotChecked), never as passed.
//
// # Conventions
//
// Every function that does I/O takes a context first. Time comes from the
// caller (journal.Entry.Time, DeployPolicy.Check's argument), never from time.Now, so a
// release runs in virtual time in tests. Errors wrap the sentinels of
// package provider (provider.ErrNotFound, ErrConflict, ErrInvalid, …) or
// this package's own (ErrBlocked) or the journal's (journal.ErrCorrupt,
// journal.ErrClosed), with typed errors (*BlockedError,
// *VersionExistsError, *HTTPError) where callers need the fields. Values are plain data:
// policies, reports, summaries and journal entries serialise to JSON and
// compare under cmp.Diff.
package release
