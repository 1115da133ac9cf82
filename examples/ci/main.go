// Command ci is the program a CI step calls to release a serverless
// function with slipway: each subcommand is one step of a pipeline, and
// the steps of a job (separate processes) share their state through a
// directory.
//
//	go run ./examples/ci publish -function checkout -zip build/checkout.zip -commits-file commits.txt
//	go run ./examples/ci promote -function checkout -strategy Canary10Percent5Minutes
//	go run ./examples/ci rollback -function checkout
//	go run ./examples/ci resume -function checkout
//	go run ./examples/ci abort -function checkout -reason "errors in eu-west"
//	go run ./examples/ci prune -function checkout -keep-last 5 -dry-run
//	go run ./examples/ci status -function checkout
//
// # Subcommands
//
//   - publish publishes the artifact (-zip, or -code text on the memory
//     provider) as a new immutable version numbered with the next semantic
//     version (-level, -semver, or the Conventional Commits of
//     -commits-file), and points the staging alias at it. The version's
//     configuration is that of the version production serves, changed only
//     by the flags given (-runtime, -handler, -memory-mb, -timeout): on
//     Lambda a publish sets the whole configuration, so omitted settings
//     must not reset it. It is
//     release.Workflow.Release run with the staging alias as its target
//     stage and an all-at-once switch, so the publication and the staging
//     route are journaled like any release. Commits that call for no
//     release publish nothing and exit 0.
//   - promote moves the production alias to the version staging serves
//     with release.Workflow.Promote: a canary (-strategy, a preset of
//     canary.Preset) judged every minute by the candidate's error rate
//     against the stable version's (-error-rate-factor, -error-rate-slack).
//     It exits 3 when the canary rolled back.
//   - release is publish and promote in one step (release.Workflow.Release
//     with the staging and production stages).
//   - rollback puts an alias (default production) back on its previous good
//     version, which release.Workflow.RollbackWith reads from the journal,
//     so it works in a later job, or on the version -to names.
//   - resume continues the production canary a killed job left unfinished
//     (-release names the release, else the function's unfinished one is
//     found) with release.Workflow.Resume, from the state the canary saved
//     in rollouts/: it goes on where it stopped, is judged by the same
//     error-rate check (give the same -error-rate-factor and
//     -error-rate-slack as promote), and the release ends as promote's
//     would (journal, notification, retention, summary, outputs, exit 0 or
//     3). A saved canary is unfinished when it has not ended and still owns
//     the production route (its revision is the one the canary last wrote),
//     or when it ended but the release's outcome never reached the journal;
//     one superseded by a later route change (a rollback by hand) is left
//     alone. With nothing unfinished resume says so, changes nothing and
//     exits 0; a split production route that no saved canary owns (the
//     killed job's state was lost) exits 1, naming abort and rollback.
//   - abort rolls the unfinished production canary back, so that
//     production serves the stable version when it exits: it journals the
//     request (actor, -reason), records it in the rollout store
//     (release.Workflow.Abort) and then drives the rollback itself
//     (release.Workflow.Resume), since the job that started the canary is
//     normally dead. -request-only only records it, for a process still
//     driving the canary from the same state directory (two processes must
//     not drive one canary); that process, or a later resume, rolls back.
//     A split route no saved canary owns is rolled back as rollback does.
//     A canary rolled back on request exits 0.
//   - prune applies a retention policy (-keep-last, -keep-within) with
//     release.Workflow.Prune, always keeping routed versions and the
//     journal's rollback points; -dry-run prints the plan only.
//   - status prints the aliases with their traffic, the versions with
//     their semantic versions, the routes that are not as the journal left
//     them (release.Verify) and the last journal entries.
//
// # Flags and environment
//
// Every flag falls back to an environment variable (-function to
// SLIPWAY_FUNCTION, -state-dir to SLIPWAY_STATE_DIR, …; -h lists them).
// On GitHub Actions the actor defaults to $GITHUB_ACTOR, the commit to
// $GITHUB_SHA, the release ID to the function and
// $GITHUB_RUN_ID.$GITHUB_RUN_ATTEMPT (with the subcommand appended),
// notifications link to $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID,
// the Markdown summary of the run is appended to $GITHUB_STEP_SUMMARY and
// the step's outputs (outcome, version, semver, release) to $GITHUB_OUTPUT.
// -webhook and -slack-webhook (SLIPWAY_WEBHOOK_URL,
// SLIPWAY_SLACK_WEBHOOK_URL) notify promotions, rollbacks and failures.
// Invalid input is reported with exit code 2 before any provider call and
// before anything is written.
//
// # Providers and state
//
// The default provider is the memory provider (provider/memory), whose
// state lives in -state-dir (default .slipway): state.json holds the
// functions, versions and routes, journal.jsonl the audit journal
// (journal.FileJournal) and rollouts/ the canary states
// (canary.FileStore). Its time is virtual: each process starts a virtual
// clock at the later of the wall clock and the journal's last entry, so a
// ten-minute canary finishes at once and the times in the state only move
// forward from step to step; -real-time waits for real (and refuses a
// state whose journal is ahead of the wall clock). -load sets the simulated
// production traffic and -simulate-error-rate makes the candidate fail a
// share of its invocations, to rehearse a rollback.
//
// With -provider aws (SLIPWAY_PROVIDER=aws) the functions are AWS Lambda
// functions, reached through the standard AWS configuration chain (as
// examples/awslambda does); time is real, and the journal and rollout
// states stay in -state-dir, which the pipeline must keep between jobs.
//
// With -provider azure the functions are Azure function apps of
// -subscription and -resource-group, reached with DefaultAzureCredential
// (as examples/azurefunc does); versions are published from -package-url
// (an uploaded .zip the app can read), the canary runs through the ramp-up
// slot and promotion is a slot swap.
//
// # Exit codes
//
//	0  done: published, promoted, unchanged, rolled back on request (rollback, abort), nothing to resume, pruned, status printed
//	1  error: the platform, the journal, a refused or failed release
//	2  usage: invalid flags or environment (nothing was called or written)
//	3  the canary rolled back (promote, release, resume): production is on the previous version (checks failed, or interrupted)
//	4  status -fail-on-drift found routes changed behind the journal's back
//
// SIGINT and SIGTERM cancel the step: a canary in progress rolls back
// (exit 3). A job killed outright (SIGKILL, a lost runner, a timeout that
// does not wait) leaves the production route split, journaled without an
// outcome, and the canary's state in rollouts/: resume continues the
// canary to its end, abort rolls it back, and rollback restores the
// version that canary was moving away from (the canary's state is then
// superseded). They need the state directory as the killed job left it:
// save it even when the job fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/canary"
)

// Exit codes.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitRolledBack = 3
	exitDrift      = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errDrift is status -fail-on-drift finding drift.
var errDrift = errors.New("drift found")

// run runs one subcommand and returns the process's exit code. It is the
// whole program, minus the process: tests call it in-process.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	s, err := parseArgs(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		err = execute(ctx, s, stdout, stderr)
	}
	code := exitCode(err)
	if err != nil {
		fmt.Fprintf(stderr, "slipway-ci: %v\n", err)
	}
	return code
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, canary.ErrRolledBack):
		return exitRolledBack
	case errors.Is(err, errDrift):
		return exitDrift
	}
	return exitError
}

// execute opens the provider and the state and runs s.cmd.
func execute(ctx context.Context, s *settings, stdout, stderr io.Writer) error {
	st, err := open(ctx, s, stderr)
	if err != nil {
		return err
	}
	defer st.close(stderr)
	switch s.cmd {
	case "publish":
		return st.publish(ctx, stdout)
	case "release":
		return st.release(ctx, stdout)
	case "promote":
		return st.promote(ctx, stdout)
	case "rollback":
		return st.rollback(ctx, stdout)
	case "prune":
		return st.prune(ctx, stdout)
	case "resume":
		return st.resume(ctx, stdout)
	case "abort":
		return st.abort(ctx, stdout)
	}
	return st.status(ctx, stdout)
}
