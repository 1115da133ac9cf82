package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/slipway-dev/slipway/journal"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// errRefused is a release the guards refused: exit 1, nothing changed.
var errRefused = errors.New("refused")

// The journal's outcome of a guard overridden with --force.
const outcomeForced = "forced"

// guardSemver refuses a --semver below the highest released version of the
// function, unless --force; forced, it journals the override before the
// publication. (A number a version already carries is refused by the
// workflow, *release.VersionExistsError, force or not: a version number
// names one artifact.)
func (st *state) guardSemver(ctx context.Context) error {
	s := st.s
	want := s.publish.Semver
	if want == nil {
		return nil
	}
	rs, err := release.Releases(ctx, st.p, s.function)
	if errors.Is(err, provider.ErrNotFound) || (err == nil && len(rs) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	top := rs[len(rs)-1]
	if want.Compare(top.Semver) >= 0 {
		return nil
	}
	if !s.force {
		return fmt.Errorf("%w: --semver %s is below %s, the highest released version of %s (version %s): a version number never goes backwards; --force publishes it anyway and journals that",
			errRefused, want, top.Semver, s.function, top.Version.ID)
	}
	return st.journalForced(ctx, "", s.staging, fmt.Sprintf("semver %s published below the highest released %s (version %s) with --force", want, top.Semver, top.Version.ID))
}

// rolledBack reports whether the journal has production rolled back from
// version id of the function.
func (st *state) rolledBack(ctx context.Context, id string) (journal.Entry, bool, error) {
	s := st.s
	for e, err := range st.journal.Entries(ctx, journal.Filter{Function: s.function, Alias: s.production}) {
		if err != nil {
			return journal.Entry{}, false, err
		}
		if e.Kind == journal.EntryRollback && e.Candidate == id {
			return e, true, nil
		}
	}
	return journal.Entry{}, false, nil
}

// claimCanary is what release and promote do before their canary moves
// production to version id: refuse a version production was rolled back
// from (guardRolledBack), then take the rollout's lease (drive). done
// releases the lease.
func (st *state) claimCanary(ctx context.Context, id string) (done func(), err error) {
	if err := st.guardRolledBack(ctx, id); err != nil {
		return nil, err
	}
	return st.drive(ctx, "")
}

// guardRolledBack refuses to promote version id to production when
// production was rolled back from it before, unless --force (journaled).
func (st *state) guardRolledBack(ctx context.Context, id string) error {
	s := st.s
	if id == "" {
		return nil
	}
	e, ok, err := st.rolledBack(ctx, id)
	if err != nil || !ok {
		return err
	}
	when := e.Time.UTC().Format("2006-01-02 15:04:05")
	if !s.force {
		return fmt.Errorf("%w: version %s of %s was rolled back from %s at %s (%s): --force promotes it again and journals that",
			errRefused, id, s.function, s.production, when, oneLine(e.Reason))
	}
	return st.journalForced(ctx, id, s.production, fmt.Sprintf("version %s, rolled back from %s at %s, promoted again with --force", id, s.production, when))
}

// journalForced records an override before acting on it.
func (st *state) journalForced(ctx context.Context, candidate, alias, reason string) error {
	s := st.s
	st.printer(st.out).line("slipway: %s %s: %s", s.cmd, s.function, reason)
	return st.journal.Append(ctx, journal.Entry{
		Time: st.clock.Now(), Release: s.releaseID(), Kind: journal.EntryDecision, Function: s.function, Alias: alias,
		Actor: s.actor, Reason: reason, Candidate: candidate, Outcome: outcomeForced,
	})
}

// stagedVersion returns the version the staging alias serves ("" when it
// does not exist).
func (st *state) stagedVersion(ctx context.Context) (string, error) {
	r, err := st.p.Route(ctx, st.s.function, st.s.staging)
	if errors.Is(err, provider.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.Primary(), nil
}

// existingVersion returns the version whose code is the artifact's (what
// an idempotent publish returns), "" when none.
func (st *state) existingVersion(ctx context.Context, req release.PublishRequest) (string, error) {
	sum := req.Artifact.SHA256
	if len(req.Artifact.Zip) > 0 {
		h := sha256.Sum256(req.Artifact.Zip)
		sum = hex.EncodeToString(h[:])
	}
	for v, err := range st.p.Versions(ctx, st.s.function) {
		if errors.Is(err, provider.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if sum != "" && v.CodeSHA256 == sum {
			return v.ID, nil
		}
	}
	return "", nil
}

// requireFunction fails when the function does not exist: resume and abort
// of a misspelt function are errors, not "nothing to do".
func (st *state) requireFunction(ctx context.Context) error {
	for _, err := range st.p.Versions(ctx, st.s.function) {
		if errors.Is(err, provider.ErrNotFound) {
			return fmt.Errorf("function %q does not exist (provider %s): check --function", st.s.function, st.s.providerKey)
		}
		return err
	}
	return fmt.Errorf("function %q has no versions (provider %s): nothing was ever released", st.s.function, st.s.providerKey)
}
