// Command slipway releases serverless functions from a CI job or a
// terminal: each subcommand is one step, and the steps (separate
// processes, on separate machines) share their state through a URL.
//
//	go install github.com/slipway-dev/slipway/cmd/slipway@latest
//	slipway publish --function checkout --zip build/checkout.zip --commits-file commits.txt
//	slipway promote --function checkout --strategy Canary10Percent5Minutes
//	slipway status --fail-on-unfinished
//	slipway resume | abort --reason "errors in eu-west" | rollback
//	slipway prune --keep-last 5 --dry-run
//	slipway journal verify
//
// # Subcommands
//
//   - publish publishes the artifact (--zip, or --code text on the memory
//     provider) as a new immutable version numbered with the next semantic
//     version (--level, --semver, or the Conventional Commits of
//     --commits-file), and points the staging alias at it. A --semver
//     below the highest released number is refused without --force (then
//     journaled as forced); a number that exists is always refused.
//   - promote moves the production alias to the version staging serves
//     through a canary (--strategy or the config file's strategy) judged by
//     the config file's checks, by default the candidate's error rate
//     against the stable version's. A version production was rolled back
//     from before is refused without --force. It exits 3 when the canary
//     rolled back.
//   - release is publish and promote in one step.
//   - rollback puts an alias (default production) back on its previous good
//     version from the journal, or on --to.
//   - resume continues the production canary a killed job left unfinished;
//     abort rolls it back (see "A job killed mid-canary").
//   - drill runs a rollback fire drill on a stage alias (default staging):
//     to its rollback point, verified by a probe and/or one window of
//     checks, and back, journaling both times; the next drill finishes one
//     whose process died.
//   - prune applies a retention policy; --dry-run prints the plan.
//   - status prints the aliases, versions, every unfinished canary (who
//     drove it, since when, its step, traffic and last verdicts, and what
//     to run), the leases of canary drivers (stale ones are crashed
//     writers), drift from the journal and the last journal entries;
//     --watch keeps it live.
//   - journal verify reads every journal entry; journal repair moves
//     damaged ones aside.
//   - report writes a self-contained HTML page of a release.
//   - version, completion.
//
// # State
//
// --state (SLIPWAY_STATE, default the directory .slipway) names where the
// journal, the rollout states and the leases live: a directory or a
// file:// URL, or s3://bucket/prefix, gs://, azblob://, mem://
// (gocloud.dev/blob). Every object is written create-if-absent, so two
// jobs can never both take one journal number or both save after one
// rollout state; a canary's driver holds a lease on the function's
// production alias, so two resumes never drive one canary (the second
// exits 5). mem:// lives only as long as the process: it suits release,
// which publishes and promotes in one process, to rehearse without
// leaving anything behind.
//
// The memory provider (the default) keeps its simulated platform in
// memory.json next to the journal for a directory, nowhere for mem://, and
// in --memory-state otherwise. Its time is virtual (a canary finishes at
// once) unless --real-time; both continue from the journal's last entry.
//
// # A job killed mid-canary
//
// SIGINT and SIGTERM roll the canary back before the step exits (exit 3).
// A job killed outright (SIGKILL, a lost runner) leaves production split,
// the canary's state saved and its lease unreleased: status shows it (and
// the lease as stale once its holder is known dead or --lease-ttl has
// passed), resume continues it, abort rolls it back.
//
// # Exit codes
//
//	0  done: published, promoted, unchanged, rolled back on request (rollback, abort), nothing to resume, pruned, status printed
//	1  error: the platform, the journal, a refused release (a version number going backwards, a rolled-back version without --force, an unknown function), a failed contract replay, a refused drill
//	2  usage: invalid flags, environment or config file (nothing was called or written)
//	3  the canary rolled back (promote, release, resume): production is on the previous version (checks failed, or SIGINT/SIGTERM)
//	4  status --fail-on-drift found routes changed behind the journal's back
//	5  busy: another process drives the function's production canary (its lease is held)
//	6  status --fail-on-unfinished found an unfinished canary
//	7  drill: the rollback point failed its verification; the alias was put back
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/release"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitRolledBack  = 3
	exitDrift       = 4
	exitBusy        = 5
	exitUnfinished  = 6
	exitDrillFailed = 7
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errDrift is status --fail-on-drift finding drift; errUnfinished is
// status --fail-on-unfinished finding an unfinished canary.
var (
	errDrift      = errors.New("drift found")
	errUnfinished = errors.New("unfinished canary")
)

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
	case errors.Is(err, blobstore.ErrBusy):
		return exitBusy
	case errors.Is(err, errUnfinished):
		return exitUnfinished
	case errors.Is(err, release.ErrDrillFailed):
		return exitDrillFailed
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
	st.out = stdout
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
	case "drill":
		return st.drill(ctx, stdout)
	}
	return st.status(ctx, stdout)
}
