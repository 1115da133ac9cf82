package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/slipway-dev/slipway/provider"
)

// ApplyOptions tune Apply. The zero value is ready to use:
// DefaultApplyConcurrency versions at once, DefaultRate calls per second,
// the zero provider.RetryPolicy, a fresh reference check before every
// delete call, DefaultGrace, no progress events, silent, the wall clock.
type ApplyOptions struct {
	// Concurrency is how many versions are being checked and deleted at
	// once, and so how many deletes of a function can share one fresh
	// reference check; 0 means DefaultApplyConcurrency. Calls in flight
	// never exceed it. It trades calls for freshness: with fresh checks a
	// delete waits behind the others for its tokens, so it is sent up to
	// about Concurrency × (requests per delete) ÷ rate after the read that
	// cleared it began (Report.MaxCheckAge says how long it was), and each
	// read is shared by more deletes. See the package documentation for
	// the measurements.
	Concurrency int
	// Rate is the call budget in calls per second (0 means DefaultRate) and
	// Burst its burst (0 means 1). Both are ignored when Limiter is set.
	Rate  float64
	Burst int
	// Limiter, when set, is the budget shared across calls: pass the same
	// limiter to the Planner, to Apply runs over other functions of the same
	// account and region, and to deploy tooling, so that together they stay
	// under the platform's limit.
	Limiter *rate.Limiter
	// Retry retries throttled and transiently failed calls; every attempt
	// takes a token, and a throttle's retry-after hint is honoured
	// (provider.RetryPolicy.Backoff). Pass an unwrapped provider (not
	// provider.WithRetry), or retries multiply.
	Retry provider.RetryPolicy
	// RecheckInterval is how stale the reference check before a delete may
	// be. 0, the default, checks fresh before every delete call: the
	// function's usage and routes are read by a read that begins after the
	// delete asked for it, and then the delete takes its token of the rate
	// budget and is sent (deletes of one function that ask while a read
	// waits for its token share that read). A positive value is an opt-in to
	// staleness: one read serves every delete of the function for that
	// long (an in-use refusal from the platform discards it), which saves
	// calls and leaves a route that moves in between to the platform's
	// in-use refusal. Negative is invalid. See the package
	// documentation for the call counts.
	RecheckInterval time.Duration
	// Grace is how long a delete call already sent may run on after ctx
	// ends, so that its outcome is known and reported; 0 means DefaultGrace.
	Grace time.Duration
	// Progress, when set, receives an event after every version settles.
	// It is called from Apply's goroutines, one call at a time, and should
	// return quickly.
	Progress func(Progress)
	// Logger receives a Debug record per version, a Warn record per
	// failure and an Info record per run. Nil is silent.
	Logger *slog.Logger
	// Clock is the time of the run: the rate budget, the retry backoff
	// (unless Retry.Sleep is set) and RecheckInterval read and wait on it.
	// Nil means the wall clock. Grace is always measured in real time: it
	// bounds real calls.
	Clock provider.Clock
}

// Outcome is what happened to one planned deletion.
type Outcome string

// Outcomes.
const (
	// Deleted: the version was deleted by this run.
	Deleted Outcome = "deleted"
	// Skipped: the version was kept after all, for the reason reported:
	// a route or a usage references it now, the platform refused because it
	// is in use, or it was already gone.
	Skipped Outcome = "skipped"
	// Failed: the version could not be deleted (or checked); the error is
	// reported. It may still exist, and does unless InDoubt is set.
	Failed Outcome = "failed"
	// Canceled: the context ended before this version's delete was sent;
	// it was not deleted.
	Canceled Outcome = "canceled"
)

// Progress is an event of a running Apply.
type Progress struct {
	// Function and Version name the version that just settled.
	Function string
	Version  string
	Outcome  Outcome
	// Detail is the skip reason or the failure's message.
	Detail string
	// FunctionsDone counts functions whose every planned deletion has
	// settled, out of Functions (functions with nothing to delete are done
	// from the start).
	FunctionsDone, Functions int
	// Deleted, Skipped, Failed and Canceled count settled versions so far,
	// out of Planned deletions.
	Deleted, Skipped, Failed, Canceled, Planned int
}

// Report is what an Apply did, function by function in plan order, versions
// in creation order.
type Report struct {
	Functions []FunctionReport `json:"functions"`
	// MaxCheckAge is the longest time between the start of the reference
	// read (usage, then routes) that found a version unreferenced and the
	// sending of its delete call, over every delete call of the run: how
	// long a route had to move unseen before the platform's own refusal was
	// the only guard. It is measured on ApplyOptions.Clock.
	MaxCheckAge time.Duration `json:"maxCheckAgeNanos,omitempty"`
}

// FunctionReport is what an Apply did to one function. Every planned
// deletion appears in exactly one of Deleted, Skipped, Failed and Canceled.
type FunctionReport struct {
	Function string    `json:"function"`
	Planned  int       `json:"planned"`
	Deleted  []string  `json:"deleted,omitempty"`
	Skipped  []Skip    `json:"skipped,omitempty"`
	Failed   []Failure `json:"failed,omitempty"`
	Canceled []string  `json:"canceled,omitempty"`
	// Error is the plan's error for a function that could not be planned.
	Error string `json:"error,omitempty"`
}

// Skip is a planned deletion that was not done, and why.
type Skip struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// Failure is a planned deletion that failed.
type Failure struct {
	Version string `json:"version"`
	Err     error  `json:"-"`
	// InDoubt is set when a delete call failed in a way that may have
	// taken effect (provider.ErrUnavailable) and reading the version back
	// failed too: the version may or may not exist.
	InDoubt bool `json:"inDoubt,omitempty"`
}

// MarshalJSON encodes the failure with its error message.
func (f Failure) MarshalJSON() ([]byte, error) {
	msg := ""
	if f.Err != nil {
		msg = f.Err.Error()
	}
	type plain Failure
	return json.Marshal(struct {
		plain
		Error string `json:"error"`
	}{plain(f), msg})
}

// UnmarshalJSON decodes a failure; Err becomes an error with the recorded
// message (the chain of sentinels is not kept).
func (f *Failure) UnmarshalJSON(b []byte) error {
	type plain Failure
	var aux struct {
		*plain
		Error string `json:"error"`
	}
	aux.plain = (*plain)(f)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	f.Err = nil
	if aux.Error != "" {
		f.Err = errors.New(aux.Error)
	}
	return nil
}

// Totals sums a report.
type Totals struct {
	Functions, Planned, Deleted, Skipped, Failed, Canceled int
}

// Totals sums the report over its functions.
func (r Report) Totals() Totals {
	t := Totals{Functions: len(r.Functions)}
	for _, f := range r.Functions {
		t.Planned += f.Planned
		t.Deleted += len(f.Deleted)
		t.Skipped += len(f.Skipped)
		t.Failed += len(f.Failed)
		t.Canceled += len(f.Canceled)
	}
	return t
}

// Apply deletes the versions plan marks Delete, for a fleet at once, and
// reports what it did.
//
// Before any call it checks the plan (Plan.Validate), the options, and that
// the provider can delete versions at all (ErrUnsupported otherwise).
//
// Versions are deleted oldest first, function after function, with at most
// Concurrency deletes in flight (errgroup.SetLimit) and every call — the
// reference reads as well as the deletes and their retries — taking a token
// of one rate budget (ApplyOptions.Limiter, or Rate and Burst). Before
// every delete call, retries included, the function's usage and routes are
// read by a read that begins after the delete asked for it (deletes of one
// function asking while a read waits for its token share it; see the
// package documentation), and the delete then takes its token and is sent: a
// version that a route or a usage references now is skipped and reported,
// never deleted. Report.MaxCheckAge is the longest any delete call was sent
// after the read that cleared it began. A positive RecheckInterval opts into
// reusing a read for that long instead. A platform refusal because the
// version is in use (provider.ErrInUse) is a skip too. Throttling and
// transient failures are retried under Retry; any other refusal fails that
// version only, and the run goes on.
//
// When ctx ends, no new delete is sent; deletes already sent run on for at
// most Grace so that the report is exact: a version is reported Deleted only
// when a delete call succeeded (or, after an ambiguous failure, the version
// is confirmed gone), and every version this run deleted is reported
// Deleted. The rest are Canceled, or Failed with InDoubt when even the
// confirmation failed.
//
// The report is always complete. The error is nil when every planned
// deletion was deleted or skipped; otherwise it joins one error per failed
// version (each wrapping the provider's error) and, when ctx ended before
// every deletion was attempted, an error wrapping ctx.Err().
func Apply(ctx context.Context, p provider.Provider, plan Plan, opts ApplyOptions) (Report, error) {
	if err := plan.Validate(); err != nil {
		return Report{}, err
	}
	conc, err := checkConcurrency("apply options", opts.Concurrency, DefaultApplyConcurrency)
	if err != nil {
		return Report{}, err
	}
	if opts.Grace < 0 {
		return Report{}, fmt.Errorf("retention: %w", provider.Invalid("apply options", "grace", "is negative"))
	}
	if opts.RecheckInterval < 0 {
		return Report{}, fmt.Errorf("retention: %w", provider.Invalid("apply options", "recheck interval",
			fmt.Sprintf("is %s; 0 checks fresh before every delete", opts.RecheckInterval)))
	}
	b, err := newBudget("apply options", opts.Limiter, opts.Rate, opts.Burst, opts.Retry, opts.Clock)
	if err != nil {
		return Report{}, err
	}
	caps := p.Capabilities()
	a := &applier{p: p, b: b, opts: opts, deleteTokens: max(caps.DeleteRequests, 1), usageTokens: max(caps.UsageRequests, 1)}
	if a.opts.Grace == 0 {
		a.opts.Grace = DefaultGrace
	}

	rep := Report{Functions: make([]FunctionReport, len(plan.Functions))}
	for fi, f := range plan.Functions {
		st := &fnState{name: f.Function, lock: make(chan struct{}, 1)}
		a.fns = append(a.fns, st)
		rep.Functions[fi] = FunctionReport{Function: f.Function, Error: f.Error}
		for _, id := range f.Deletions() {
			a.tasks = append(a.tasks, task{fn: fi, version: id})
			st.remaining++
		}
		rep.Functions[fi].Planned = st.remaining
		if st.remaining == 0 {
			a.progress.FunctionsDone++
		}
	}
	a.progress.Functions = len(plan.Functions)
	a.progress.Planned = len(a.tasks)
	a.results = make([]result, len(a.tasks))
	if len(a.tasks) > 0 && !p.Capabilities().DeleteVersions {
		return Report{}, fmt.Errorf("retention: the plan deletes %d versions but the platform cannot delete versions: %w",
			len(a.tasks), provider.ErrUnsupported)
	}
	if opts.Logger != nil {
		opts.Logger.InfoContext(ctx, "retention: applying plan", "functions", len(plan.Functions), "deletions", len(a.tasks))
	}

	var g errgroup.Group
	g.SetLimit(conc)
	// With a reference cache (RecheckInterval > 0), the read of the next
	// function's references (Usage, then Routes) is launched beside the
	// current function's last 2·conc deletes: with conc calls in
	// flight, that is about how long the read takes to get its tokens and
	// answers. So the deletes do not all stop and wait for the read when
	// they reach the next function, and the read is as fresh as it can be
	// without that wait. Fresh checks (the default) cannot be read ahead.
	prefetch := func(fi int) {
		if a.opts.RecheckInterval > 0 {
			g.Go(func() error {
				// An error leaves the cache empty: the deletes read again
				// and report what fails.
				_, _, _ = a.references(ctx, a.fns[fi], "")
				return nil
			})
		}
	}
	end := make([]int, len(a.tasks)) // end[ti]: index after the last task of ti's function
	for ti := len(a.tasks) - 1; ti >= 0; ti-- {
		end[ti] = ti + 1
		if ti+1 < len(a.tasks) && a.tasks[ti+1].fn == a.tasks[ti].fn {
			end[ti] = end[ti+1]
		}
	}
	launched := 0
	for ti, t := range a.tasks {
		if ctx.Err() != nil {
			break
		}
		first := ti == 0 || a.tasks[ti-1].fn != t.fn
		if ti == 0 {
			prefetch(t.fn)
		}
		if e := end[ti]; e < len(a.tasks) && (ti == e-2*conc || first && e-ti < 2*conc) {
			prefetch(a.tasks[e].fn)
		}
		g.Go(func() error {
			a.settle(ctx, ti, a.delete(ctx, t))
			return nil
		})
		launched = ti + 1
	}
	_ = g.Wait() // the goroutines return nil; outcomes are in a.results
	a.readers.Wait()
	for ti := launched; ti < len(a.tasks); ti++ {
		a.settle(ctx, ti, result{outcome: Canceled})
	}

	rep.MaxCheckAge = a.maxCheckAge
	var errs []error
	if err := ctx.Err(); err != nil && slices.ContainsFunc(a.results, func(r result) bool { return r.outcome == Canceled }) {
		errs = append(errs, fmt.Errorf("retention: apply stopped early: %w", err))
	}
	for ti, t := range a.tasks {
		r := a.results[ti]
		fr := &rep.Functions[t.fn]
		switch r.outcome {
		case Deleted:
			fr.Deleted = append(fr.Deleted, t.version)
		case Skipped:
			fr.Skipped = append(fr.Skipped, Skip{Version: t.version, Reason: r.detail})
		case Failed:
			fr.Failed = append(fr.Failed, Failure{Version: t.version, Err: r.err, InDoubt: r.inDoubt})
			errs = append(errs, fmt.Errorf("retention: delete %s version %s: %w", fr.Function, t.version, r.err))
		case Canceled:
			fr.Canceled = append(fr.Canceled, t.version)
		}
	}
	if opts.Logger != nil {
		t := rep.Totals()
		opts.Logger.InfoContext(ctx, "retention: plan applied", "planned", t.Planned, "deleted", t.Deleted,
			"skipped", t.Skipped, "failed", t.Failed, "canceled", t.Canceled)
	}
	return rep, errors.Join(errs...)
}

type task struct {
	fn      int // index in the plan's functions
	version string
}

type result struct {
	outcome Outcome
	detail  string
	err     error
	inDoubt bool
}

type applier struct {
	p    provider.Provider
	b    *budget
	opts ApplyOptions
	// deleteTokens and usageTokens are what a delete and a Usage call take
	// of the budget: the requests the provider sends for them
	// (Capabilities.DeleteRequests and UsageRequests).
	deleteTokens, usageTokens int
	fns                       []*fnState
	tasks                     []task
	// readers tracks the goroutines performing fresh reference reads.
	readers sync.WaitGroup

	mu       sync.Mutex // guards results, progress, maxCheckAge and fnState.remaining
	results  []result
	progress Progress
	// maxCheckAge is the longest a delete call was sent after the start of
	// the reference read that cleared it.
	maxCheckAge time.Duration
}

// fnState is one function's reference checks.
type fnState struct {
	name      string
	remaining int // planned deletions not settled yet; guarded by applier.mu

	// fresh hands out the fresh reads (RecheckInterval 0); it serialises
	// them, and so guards usageUnknown in that mode.
	fresh freshReads

	// lock (capacity 1) serialises the cached reads (RecheckInterval > 0)
	// and guards the fields below. A channel rather than a sync.Mutex: a
	// delete waiting for another's read gives up when ctx ends, and the
	// wait is one that testing/synctest recognises as blocked.
	lock   chan struct{}
	valid  bool
	readAt time.Time
	refs   map[string]string // version → why it is referenced now
	// usageUnknown is set once the provider answered that it cannot tell
	// usage; it is not asked again.
	usageUnknown bool
}

// references returns why version is referenced now ("" when it is not),
// and when the read that tells began. By default it waits for a read of the
// function's routes and usage that begins after this call; with a positive
// RecheckInterval it answers from the last read unless that is older than
// the interval or was invalidated.
func (a *applier) references(ctx context.Context, st *fnState, version string) (string, time.Time, error) {
	if a.opts.RecheckInterval == 0 {
		begin := func(ctx context.Context) error {
			// The tokens of the read's first call: Usage, or Routes where
			// the provider cannot tell usage. Only the reading goroutine
			// reads and writes usageUnknown.
			n := 1
			if !st.usageUnknown {
				n = a.usageTokens
			}
			return a.b.waitN(ctx, n)
		}
		refs, at, err := st.fresh.get(ctx, &a.readers, begin, func(ctx context.Context) (map[string]string, time.Time, error) {
			return a.readReferences(ctx, st, true)
		})
		return refs[version], at, err
	}
	select {
	case st.lock <- struct{}{}:
	case <-ctx.Done():
		return "", time.Time{}, ctx.Err()
	}
	defer func() { <-st.lock }()
	if st.valid && a.b.clock.Now().Sub(st.readAt) < a.opts.RecheckInterval {
		return st.refs[version], st.readAt, nil
	}
	refs, at, err := a.readReferences(ctx, st, false)
	if err != nil {
		return "", time.Time{}, err
	}
	st.refs, st.readAt, st.valid = refs, at, true
	return refs[version], at, nil
}

func (st *fnState) invalidate() {
	st.lock <- struct{}{}
	st.valid = false
	<-st.lock
}

// delete checks and deletes one version. Every attempt checks the
// references (fresh by default: a read that begins after the attempt
// asked), then takes its token of the budget and sends the delete at once;
// a retry after a throttle or a transient failure checks again. The token
// is taken after the check, not before, so that every call reaches the
// platform at the pace of the budget: a delete holding a token while it
// waited for the check would be sent in a burst with the check's calls.
func (a *applier) delete(ctx context.Context, t task) result {
	st := a.fns[t.fn]
	if ctx.Err() != nil {
		return result{outcome: Canceled}
	}
	// why: the check found the version referenced. checkErr: the check
	// failed (its own calls were retried already). sent: a delete call
	// went out. uncertain: some call failed in a way that may have taken
	// effect, and no later answer settled it.
	var (
		why             string
		checkErr, last  error
		sent, uncertain bool
	)
	err := a.b.retry.Do(ctx, func(ctx context.Context) error {
		var readAt time.Time
		if why, readAt, checkErr = a.references(ctx, st, t.version); checkErr != nil || why != "" {
			return nil // settled below, without another attempt
		}
		if err := a.b.waitN(ctx, a.deleteTokens); err != nil {
			return err
		}
		a.checkAge(a.b.clock.Now().Sub(readAt))
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.Grace)
		defer cancel()
		sent = true
		last = a.p.DeleteVersion(cctx, st.name, t.version)
		switch {
		case last == nil:
			uncertain = false
		case errors.Is(last, provider.ErrNotFound) && uncertain:
			// An earlier attempt did delete it.
			last, uncertain = nil, false
		case errors.Is(last, provider.ErrUnavailable) || cctx.Err() != nil:
			uncertain = true
		case errors.Is(last, provider.ErrThrottled):
			// Nothing changed; an earlier ambiguity stays.
		default:
			uncertain = false // the version still exists (ErrInUse and others)
		}
		return last
	})
	switch {
	case why != "" && uncertain:
		// An earlier attempt failed ambiguously and the version is
		// referenced now: it exists unless that attempt deleted it.
		r := a.confirm(ctx, st, t.version, last)
		if r.outcome == Deleted || r.inDoubt {
			return r
		}
		return result{outcome: Skipped, detail: why}
	case why != "":
		return result{outcome: Skipped, detail: why}
	case checkErr != nil && uncertain:
		return a.confirm(ctx, st, t.version, last)
	case checkErr != nil && ctx.Err() != nil:
		return result{outcome: Canceled}
	case checkErr != nil:
		return result{outcome: Failed, err: fmt.Errorf("reference check: %w", checkErr)}
	case !sent && ctx.Err() != nil:
		return result{outcome: Canceled}
	case !sent:
		return result{outcome: Failed, err: err}
	case last == nil:
		return result{outcome: Deleted}
	case uncertain:
		return a.confirm(ctx, st, t.version, last)
	case errors.Is(last, provider.ErrInUse):
		st.invalidate()
		return result{outcome: Skipped, detail: "refused by the platform: " + last.Error()}
	case errors.Is(last, provider.ErrNotFound):
		return result{outcome: Skipped, detail: "already gone (not deleted by this run)"}
	case ctx.Err() != nil && errors.Is(last, provider.ErrThrottled):
		return result{outcome: Canceled}
	}
	return result{outcome: Failed, err: err}
}

// confirm settles a delete whose last failure (cause) may have taken effect
// by reading the version back, within the grace period even when ctx ended.
func (a *applier) confirm(ctx context.Context, st *fnState, version string, cause error) result {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.Grace)
	defer cancel()
	err := a.b.call(cctx, 1, func(ctx context.Context) error {
		_, err := a.p.Version(ctx, st.name, version)
		return err
	})
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return result{outcome: Deleted}
	case err == nil && ctx.Err() != nil:
		return result{outcome: Canceled}
	case err == nil:
		return result{outcome: Failed, err: cause}
	}
	return result{outcome: Failed, inDoubt: true,
		err: fmt.Errorf("%w (and reading the version back failed: %w)", cause, err)}
}

// checkAge records the age of the reference read that cleared a delete call
// about to be sent.
func (a *applier) checkAge(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxCheckAge = max(a.maxCheckAge, d)
}

// settle records one outcome and emits a progress event.
func (a *applier) settle(ctx context.Context, ti int, r result) {
	t := a.tasks[ti]
	st := a.fns[t.fn]
	a.mu.Lock()
	defer a.mu.Unlock()
	a.results[ti] = r
	st.remaining--
	if st.remaining == 0 {
		a.progress.FunctionsDone++
	}
	switch r.outcome {
	case Deleted:
		a.progress.Deleted++
	case Skipped:
		a.progress.Skipped++
	case Failed:
		a.progress.Failed++
	case Canceled:
		a.progress.Canceled++
	}
	ev := a.progress
	ev.Function, ev.Version, ev.Outcome, ev.Detail = st.name, t.version, r.outcome, r.detail
	if r.err != nil {
		ev.Detail = r.err.Error()
	}
	if l := a.opts.Logger; l != nil {
		if r.outcome == Failed {
			l.WarnContext(ctx, "retention: delete failed", "function", st.name, "version", t.version, "err", r.err)
		} else {
			l.DebugContext(ctx, "retention: version settled", "function", st.name, "version", t.version,
				"outcome", string(r.outcome), "detail", r.detail)
		}
	}
	if a.opts.Progress != nil {
		a.opts.Progress(ev)
	}
}
