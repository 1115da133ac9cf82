package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// Lock-down and remap: the fixes for two findings of the safety report
// (Compare): old versions still invocable by anyone or by other accounts,
// and event-source mappings pinned to a version. Both plan first; a dry run
// journals the plan and changes nothing. Release runs them after a
// promotion to production when Options.LockDown or Options.Remap is set;
// Workflow.LockDown and Workflow.Remap run them on their own.

// LockDownOptions configure a lock-down.
//
// In the CLI's configuration file:
//
//	lockDown:
//	  dryRun: true
//	  ownAccounts: ["123456789012"]
type LockDownOptions struct {
	// DryRun plans and journals the plan without removing anything.
	DryRun bool `json:"dryRun,omitempty"`
	// OwnAccounts are the account IDs (12 digits on AWS) whose grants are
	// not cross-account. A grant to any other account is removed from an
	// unrouted version, as is a public one (provider.Permission.Public).
	// Grants to services (s3.amazonaws.com) are kept.
	OwnAccounts []string `json:"ownAccounts,omitempty"`
}

// Grant is one invoke grant of an unrouted version, found (and, unless in
// a dry run, removed) by a lock-down.
type Grant struct {
	Version   string `json:"version"`
	Statement string `json:"statement"`
	Principal string `json:"principal"`
	// Why is "public" or "cross-account 210987654321".
	Why string `json:"why"`
	// Removed is true once removed; Err is why the removal failed or was
	// skipped (the version became routed since the plan).
	Removed bool   `json:"removed,omitempty"`
	Err     string `json:"err,omitempty"`
}

// LockDownReport is what a lock-down found and did.
type LockDownReport struct {
	Function string  `json:"function"`
	DryRun   bool    `json:"dryRun,omitempty"`
	Grants   []Grant `json:"grants,omitempty"`
}

// Text is one line: "removed 2 grants: version 3 public (statement
// public), …" or "would remove …" in a dry run.
func (r LockDownReport) Text() string {
	if len(r.Grants) == 0 {
		return "no public or cross-account grant on a version nothing routes to"
	}
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	parts := make([]string, 0, len(r.Grants))
	n := 0
	for _, g := range r.Grants {
		s := fmt.Sprintf("version %s %s (statement %s)", g.Version, g.Why, g.Statement)
		if g.Err != "" {
			s += ": " + g.Err
		} else {
			n++
		}
		parts = append(parts, s)
	}
	if r.DryRun {
		n = len(r.Grants)
	}
	return fmt.Sprintf("%s %d of %d grants: %s", verb, n, len(r.Grants), strings.Join(parts, "; "))
}

var accountRe = regexp.MustCompile(`\b[0-9]{12}\b`)

// whyLock says why a grant should go, "" to keep it.
func whyLock(perm provider.Permission, own []string) string {
	if perm.Public {
		return "public"
	}
	for _, acct := range accountRe.FindAllString(perm.Principal, -1) {
		if !slices.Contains(own, acct) {
			return "cross-account " + acct
		}
	}
	return ""
}

// routedVersions returns the versions any route of fn references.
func routedVersions(ctx context.Context, p provider.Provider, fn string) (map[string]bool, error) {
	rs, err := p.Routes(ctx, fn)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rs {
		for _, w := range r.Weights {
			out[w.Version] = true
		}
	}
	return out, nil
}

// PlanLockDown lists the public and cross-account invoke grants of the
// versions of fn that no route references. It fails with an error
// wrapping provider.ErrUnsupported when p cannot read permissions.
func PlanLockDown(ctx context.Context, p provider.Provider, fn string, opts LockDownOptions) ([]Grant, error) {
	pr, ok := p.(provider.PermissionReader)
	if !ok {
		return nil, fmt.Errorf("release: lock-down %s: reading permissions: %w", fn, provider.ErrUnsupported)
	}
	routed, err := routedVersions(ctx, p, fn)
	if err != nil {
		return nil, fmt.Errorf("release: lock-down %s: %w", fn, err)
	}
	var out []Grant
	for v, err := range p.Versions(ctx, fn) {
		if err != nil {
			return nil, fmt.Errorf("release: lock-down %s: versions: %w", fn, err)
		}
		if routed[v.ID] {
			continue
		}
		ps, err := pr.Permissions(ctx, fn, v.ID)
		switch {
		case errors.Is(err, provider.ErrNotFound):
			continue // deleted since it was listed
		case err != nil:
			return nil, fmt.Errorf("release: lock-down %s: permissions of version %s: %w", fn, v.ID, err)
		}
		for _, perm := range ps {
			if why := whyLock(perm, opts.OwnAccounts); why != "" {
				out = append(out, Grant{Version: v.ID, Statement: perm.ID, Principal: perm.Principal, Why: why})
			}
		}
	}
	return out, nil
}

// lockDown plans and (unless a dry run) removes, re-reading the routes
// right before removing so a version routed since the plan keeps its
// grants. Each removal, and a dry run's plan, is journaled through record.
func lockDown(ctx context.Context, p provider.Provider, fn string, opts LockDownOptions, record func(context.Context, journal.Entry) error) (LockDownReport, error) {
	rep := LockDownReport{Function: fn, DryRun: opts.DryRun}
	grants, err := PlanLockDown(ctx, p, fn, opts)
	if err != nil {
		return rep, err
	}
	rep.Grants = grants
	if opts.DryRun || len(grants) == 0 {
		outcome := "lock-down planned (dry run)"
		if !opts.DryRun {
			outcome = "lock-down"
		}
		return rep, record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: outcome, Reason: rep.Text()})
	}
	pr, ok := p.(provider.PermissionRemover)
	if !ok {
		return rep, fmt.Errorf("release: lock-down %s: removing permissions: %w", fn, provider.ErrUnsupported)
	}
	routed, err := routedVersions(ctx, p, fn)
	if err != nil {
		return rep, fmt.Errorf("release: lock-down %s: %w", fn, err)
	}
	var errs []error
	for i := range rep.Grants {
		g := &rep.Grants[i]
		if routed[g.Version] {
			g.Err = "skipped: a route sends it traffic now"
			continue
		}
		if err := pr.RemovePermission(ctx, fn, g.Version, g.Statement); err != nil && !errors.Is(err, provider.ErrNotFound) {
			g.Err = err.Error()
			errs = append(errs, err)
			continue
		}
		g.Removed = true
		reason := fmt.Sprintf("removed %s invoke grant %q (principal %s) from version %s, which no route sends traffic to", g.Why, g.Statement, g.Principal, g.Version)
		if err := record(ctx, journal.Entry{Kind: journal.EntryDecision, Outcome: "lock-down", Candidate: g.Version, Reason: reason}); err != nil {
			return rep, err
		}
	}
	return rep, errors.Join(errs...)
}

// LockDown removes the public and cross-account invoke grants of the
// versions of fn no route sends traffic to (Lambda: RemovePermission with
// the version as qualifier), journaling each removal; with opts.DryRun it
// journals the plan and removes nothing. Run it dry first. It needs the
// provider's PermissionReader and PermissionRemover powers (ErrUnsupported
// otherwise). Removals that fail are in the report and the error; the
// others are done.
func (w *Workflow) LockDown(ctx context.Context, fn string, opts LockDownOptions) (LockDownReport, error) {
	record, err := w.standaloneRecord(fn, "lockdown")
	if err != nil {
		return LockDownReport{}, err
	}
	return lockDown(ctx, w.p, fn, opts, record)
}

// RemapOptions configure a remap of pinned event-source mappings.
//
// In the CLI's configuration file:
//
//	remap:
//	  dryRun: true
//	  alias: production
type RemapOptions struct {
	// DryRun plans and journals the plan without changing a mapping.
	DryRun bool `json:"dryRun,omitempty"`
	// Alias is the stage alias mappings are pointed at; empty means the
	// production stage.
	Alias string `json:"alias,omitempty"`
}

// Remapped is one mapping a remap moved (or would move).
type Remapped struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	// From is the version it was pinned to, To the alias.
	From string `json:"from"`
	To   string `json:"to"`
	Done bool   `json:"done,omitempty"`
	Err  string `json:"err,omitempty"`
}

// RemapReport is what a remap found and did.
type RemapReport struct {
	Function string     `json:"function"`
	DryRun   bool       `json:"dryRun,omitempty"`
	Mappings []Remapped `json:"mappings,omitempty"`
}

// Text is one line for the journal and the summary.
func (r RemapReport) Text() string {
	if len(r.Mappings) == 0 {
		return "no event-source mapping pinned to a version"
	}
	verb := "repointed"
	if r.DryRun {
		verb = "would repoint"
	}
	parts := make([]string, 0, len(r.Mappings))
	for _, m := range r.Mappings {
		s := fmt.Sprintf("%s (%s) from version %s to %q", m.ID, m.Source, m.From, m.To)
		if m.Err != "" {
			s += ": " + m.Err
		}
		parts = append(parts, s)
	}
	return verb + " " + strings.Join(parts, "; ")
}

// remap points every event-source mapping of fn pinned to a version at
// opts.Alias.
func remap(ctx context.Context, p provider.Provider, fn string, opts RemapOptions, record func(context.Context, journal.Entry) error) (RemapReport, error) {
	rep := RemapReport{Function: fn, DryRun: opts.DryRun}
	el, ok := p.(provider.EventSourceLister)
	if !ok {
		return rep, fmt.Errorf("release: remap %s: listing event sources: %w", fn, provider.ErrUnsupported)
	}
	if _, err := p.Route(ctx, fn, opts.Alias); err != nil {
		return rep, fmt.Errorf("release: remap %s: alias %q: %w", fn, opts.Alias, err)
	}
	rs, err := p.Routes(ctx, fn)
	if err != nil {
		return rep, fmt.Errorf("release: remap %s: %w", fn, err)
	}
	es, err := el.EventSources(ctx, fn)
	if err != nil {
		return rep, fmt.Errorf("release: remap %s: event sources: %w", fn, err)
	}
	for _, e := range es {
		if e.Qualifier == "" || e.Qualifier == "$LATEST" || slices.ContainsFunc(rs, func(r provider.Route) bool { return r.Alias == e.Qualifier }) {
			continue
		}
		rep.Mappings = append(rep.Mappings, Remapped{ID: e.ID, Source: e.Source, From: e.Qualifier, To: opts.Alias})
	}
	if opts.DryRun || len(rep.Mappings) == 0 {
		outcome := "remap planned (dry run)"
		if !opts.DryRun {
			outcome = "remap"
		}
		return rep, record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: opts.Alias, Outcome: outcome, Reason: rep.Text()})
	}
	up, ok := p.(provider.EventSourceUpdater)
	if !ok {
		return rep, fmt.Errorf("release: remap %s: updating event sources: %w", fn, provider.ErrUnsupported)
	}
	var errs []error
	for i := range rep.Mappings {
		m := &rep.Mappings[i]
		if _, err := up.UpdateEventSource(ctx, fn, m.ID, m.To); err != nil {
			m.Err = err.Error()
			errs = append(errs, err)
			continue
		}
		m.Done = true
		reason := fmt.Sprintf("repointed event-source mapping %s (%s) from version %s to alias %q", m.ID, m.Source, m.From, m.To)
		if err := record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: m.To, Outcome: "remap", Candidate: m.From, Reason: reason}); err != nil {
			return rep, err
		}
	}
	return rep, errors.Join(errs...)
}

// Remap points every event-source mapping of fn that is pinned to a
// version (the safety report's finding) at the stage alias opts.Alias
// (Lambda: UpdateEventSourceMapping with a qualified FunctionName),
// journaling each change; with opts.DryRun it journals the plan and changes
// nothing. Run it dry first: the mapping then invokes whatever the alias
// serves. It needs the provider's EventSourceLister and EventSourceUpdater
// powers (ErrUnsupported otherwise); ErrNotFound when the alias does not
// exist.
func (w *Workflow) Remap(ctx context.Context, fn string, opts RemapOptions) (RemapReport, error) {
	if opts.Alias == "" {
		opts.Alias = w.stages.Production
	}
	record, err := w.standaloneRecord(fn, "remap")
	if err != nil {
		return RemapReport{}, err
	}
	return remap(ctx, w.p, fn, opts, record)
}

// standaloneRecord journals the entries of an operation run outside a
// release (lock-down, remap), under a release ID derived from fn, what and
// the time.
func (w *Workflow) standaloneRecord(fn, what string) (func(context.Context, journal.Entry) error, error) {
	if err := provider.CheckName("function", fn); err != nil {
		return nil, err
	}
	now := w.clock.Now()
	id, _, err := releaseID("", fn, what, now)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, e journal.Entry) error {
		e.Time, e.Release, e.Function = w.clock.Now(), id, fn
		if e.Actor == "" {
			e.Actor = w.opts.Actor
		}
		if err := w.journal.Append(ctx, e); err != nil {
			return fmt.Errorf("release %s: journal: %w", id, err)
		}
		return nil
	}, nil
}
