package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/journal/blobjournal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// runIn runs f in the clock's time: as a participant of a virtual clock,
// directly on the real one.
func runIn(clk canary.Clock, f func()) {
	if vc, ok := clk.(*canary.VirtualClock); ok {
		vc.Run(f)
		return
	}
	f()
}

// state is what one step works with: the settings, the clock, the
// provider, the bucket of the shared state, the journal, the rollout store.
type state struct {
	s *settings
	// clock is canary.RealClock(), an offset real clock, or a
	// *canary.VirtualClock, passed as is (not wrapped) so that the runner
	// recognises a virtual clock.
	clock   canary.Clock
	p       provider.Provider
	metrics provider.Metrics
	mem     *memory.Provider // nil for a cloud provider
	bucket  *blob.Bucket
	journal *blobjournal.Journal
	store   *blobstore.Store
	lease   *blobstore.Lease // held while driving a canary
	pr      *printer
	out     io.Writer // the step's standard output
	awsCfg  aws.Config
	memPath string // the memory provider's state file, "" for none
	closers []func() error
}

// open builds the clock, the provider, the journal and the rollout store.
// A cloud provider's configuration is loaded and the state URL opened
// before anything is written, so a missing region fails without writing.
func open(ctx context.Context, s *settings, stderr io.Writer) (*state, error) {
	st := &state{s: s}
	if s.providerKey == "awslambda" {
		// The platform's configuration first: a missing region fails
		// before anything is created.
		if err := st.loadAWS(ctx); err != nil {
			return nil, err
		}
	}
	create := s.cmd != "status" && s.cmd != "resume" && s.cmd != "abort"
	b, memPath, guard, err := openBucket(ctx, s.stateURL, create)
	if err != nil {
		return nil, err
	}
	st.bucket = b
	st.closers = append(st.closers, b.Close)
	fail := func(err error) (*state, error) {
		st.close(stderr)
		return nil, err
	}
	j, err := blobjournal.Open(ctx, b, blobjournal.Options{Guard: blobjournal.Guard(guard)})
	if err != nil {
		return fail(fmt.Errorf("journal: %w", err))
	}
	st.journal = j
	st.closers = append(st.closers, j.Close)
	st.store = blobstore.New(b, blobstore.Options{Guard: guard, Alive: processAlive})

	last, err := lastJournalTime(ctx, j)
	if err != nil {
		return fail(err)
	}
	// Times only move forward from step to step: the clock starts one
	// second after the journal's last entry (the release IDs the workflow
	// derives from the time, to the second, differ), in virtual time or
	// in real time from there.
	now := time.Now()
	start := now
	if !last.IsZero() {
		start = latest(now, last.Add(time.Second))
	}
	switch {
	case !s.realTime:
		st.clock = canary.NewVirtualClock(start)
	case start.Equal(now):
		st.clock = canary.RealClock()
	default:
		st.clock = offsetClock{base: start, at: now}
	}
	open, ok := providerByName(s.providerKey)
	if !ok {
		return fail(usageError("--provider %q: want one of %s", s.providerKey, strings.Join(providerNames(), ", ")))
	}
	st.memPath = memPath
	if err := open.open(ctx, st, memPath); err != nil {
		return fail(err)
	}
	if s.cfg != nil && s.cfg.metrics != nil {
		// The file's metrics source replaces the provider's own for the
		// checks.
		src, err := s.cfg.metrics.open(s.getenv, st.clock.Now)
		if err != nil {
			return fail(err)
		}
		st.metrics = provider.WithRetryMetrics(src, provider.RetryPolicy{Sleep: st.clock.Sleep})
	}
	if _, err := s.cfg.alarmsCheck(st.p); err != nil {
		return fail(err)
	}
	if err := s.cfg.checkPowers(st.p, s.cmd); err != nil {
		return fail(err) // settings.validate checked the type; this is the instance
	}
	return st, nil
}

// offsetClock is real time shifted to start at base (at the wall-clock
// instant at): a --real-time step after steps that ran ahead in virtual
// time continues from where they left off, at real speed.
type offsetClock struct{ base, at time.Time }

func (c offsetClock) Now() time.Time { return c.base.Add(time.Since(c.at)) }

func (c offsetClock) Sleep(ctx context.Context, d time.Duration) error {
	return canary.RealClock().Sleep(ctx, d)
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lastJournalTime returns the time of the journal's newest entry, the zero
// time when it is empty.
func lastJournalTime(ctx context.Context, j journal.Journal) (time.Time, error) {
	var last time.Time
	for e, err := range j.Entries(ctx, journal.Filter{}) {
		if err != nil {
			return time.Time{}, fmt.Errorf("journal: %w", err)
		}
		last = latest(last, e.Time)
	}
	return last, nil
}

// providerKind is one platform the command can release to. Adding one is
// adding a row to providerKinds.
type providerKind struct {
	name    string
	aliases []string
	open    func(ctx context.Context, st *state, memPath string) error
	// typ is a nil value of the provider's type: its optional powers are
	// known before anything is opened.
	typ provider.Provider
}

func providerKinds() []providerKind {
	return []providerKind{
		{name: "memory", open: openMemory, typ: (*memory.Provider)(nil)},
		{name: "awslambda", aliases: []string{"aws", "lambda"}, open: func(ctx context.Context, st *state, _ string) error { return st.openAWS(ctx) }, typ: (*awslambda.Provider)(nil)},
		{name: "gcprun", aliases: []string{"gcp", "cloudrun"}, open: func(ctx context.Context, st *state, _ string) error { return st.openGCP(ctx) }, typ: (*gcprun.Provider)(nil)},
		{name: "azurefunc", aliases: []string{"azure"}, open: func(ctx context.Context, st *state, _ string) error { return st.openAzure() }, typ: (*azurefunc.Provider)(nil)},
	}
}

// providerNames lists the platforms by name.
func providerNames() []string {
	var out []string
	for _, k := range providerKinds() {
		out = append(out, k.name)
	}
	return out
}

// canonicalProvider returns the name of the platform name or one of its
// aliases names, or name itself.
func canonicalProvider(name string) string {
	if k, ok := providerByName(name); ok {
		return k.name
	}
	return name
}

func providerByName(name string) (providerKind, bool) {
	for _, k := range providerKinds() {
		if k.name == name || slices.Contains(k.aliases, name) {
			return k, true
		}
	}
	return providerKind{}, false
}

func openMemory(_ context.Context, st *state, memPath string) error {
	s := st.s
	// A Provider writes its Path only when something changes: status, which
	// changes nothing, leaves the file alone.
	opts := memory.Options{Now: st.clock.Now, Sleep: st.clock.Sleep, Seed: s.seed, Path: memPath, Resolution: s.resolution}
	mem, err := memory.New(opts)
	if err != nil {
		return fmt.Errorf("memory provider: %w", err)
	}
	st.mem, st.p, st.metrics = mem, mem, mem
	if s.cmd == "publish" || s.cmd == "release" || s.cmd == "promote" || s.cmd == "drill" {
		mem.SetLoad(s.function, s.production, s.load)
		mem.SetLoad(s.function, s.staging, s.load/10)
		if memPath != "" {
			if err := mem.Sync(); err != nil {
				return fmt.Errorf("memory provider: %w", err)
			}
		}
	}
	return nil
}

// loadAWS loads the AWS configuration.
func (st *state) loadAWS(ctx context.Context) error {
	var opts []func(*awsconfig.LoadOptions) error
	if st.s.region != "" {
		opts = append(opts, awsconfig.WithRegion(st.s.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("%w: loading the AWS configuration: %v", errUsage, err)
	}
	if cfg.Region == "" {
		return usageError("--provider awslambda needs a region: --region, SLIPWAY_REGION, AWS_REGION, the config file's region or a profile's")
	}
	st.awsCfg = cfg
	return nil
}

func (st *state) openAWS(ctx context.Context) error {
	if st.awsCfg.Region == "" {
		if err := st.loadAWS(ctx); err != nil {
			return err
		}
	}
	lambda := awslambda.New(st.awsCfg, awslambda.Options{Now: st.clock.Now, Sleep: st.clock.Sleep})
	st.p = lambda
	st.metrics = provider.WithRetryMetrics(lambda, provider.RetryPolicy{Sleep: st.clock.Sleep})
	return nil
}

func (st *state) close(stderr io.Writer) {
	for i := len(st.closers) - 1; i >= 0; i-- {
		if err := st.closers[i](); err != nil {
			fmt.Fprintf(stderr, "slipway: close: %v\n", err)
		}
	}
	st.closers = nil
}

// workflow returns a workflow over the step's provider and state, with
// stages, the strategy and retention from the settings; progress events
// are printed to out, one line each.
func (st *state) workflow(out io.Writer, stages release.Stages, onEvent func(release.Event)) (*release.Workflow, error) {
	s := st.s
	opts := release.Options{
		Runner: canary.RunnerOptions{
			Provider: st.p, Metrics: st.metrics, Store: st.store, Clock: st.clock,
			Retry: provider.RetryPolicy{Sleep: st.clock.Sleep},
		},
		Journal: st.journal, Stages: stages, Actor: s.actor, URL: s.runURL, Retention: s.retention,
		OnEvent: func(e release.Event) {
			if onEvent != nil {
				onEvent(e)
			}
			st.printer(out).event(e)
		},
	}
	if len(s.strategy.Steps) > 0 {
		opts.Strategy = s.strategy
	}
	if s.cmd == "resume" || s.cmd == "abort" {
		opts.Runner.Checks = s.checks()
	}
	s.applyConfig(&opts)
	spec, err := s.cfg.alarmsCheck(st.p)
	if err != nil {
		return nil, err
	}
	if s.cmd == "drill" {
		opts.Runner.Checks = s.drillChecks(spec)
	} else if spec != nil {
		addCheck(&opts, s.strategy, *spec)
	}
	var ns notify.Multi
	if s.webhook != "" {
		ns = append(ns, &notify.Webhook{URL: s.webhook})
	}
	if s.slackWebhook != "" {
		ns = append(ns, &notify.Slack{WebhookURL: s.slackWebhook})
	}
	fileNs, err := s.cfg.notifiers(s.getenv)
	if err != nil {
		return nil, err
	}
	ns = append(ns, fileNs...)
	if len(ns) > 0 {
		opts.Notifier = ns
	}
	w, err := release.New(opts)
	if errors.Is(err, provider.ErrInvalid) || errors.Is(err, provider.ErrUnsupported) {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return w, err
}

// printer returns the step's printer of events to out.
func (st *state) printer(out io.Writer) *printer {
	if st.pr == nil {
		st.pr = newPrinter(out, st.clock)
		st.pr.phase = func(id, alias string) string {
			if id == "" || st.store == nil {
				return ""
			}
			ro, _, err := st.store.Load(context.Background(), id+"."+alias)
			if err != nil {
				return ""
			}
			return ro.Phase.String()
		}
	}
	return st.pr
}

// openGCP builds the Cloud Run functions adapter with Application Default
// Credentials; the production alias is the service's traffic split and
// every other alias a traffic tag.
func (st *state) openGCP(ctx context.Context) error {
	s := st.s
	if s.project == "" {
		return usageError("--provider gcprun needs a project: --project, SLIPWAY_PROJECT, GOOGLE_CLOUD_PROJECT or the config file's project")
	}
	if s.region == "" {
		return usageError("--provider gcprun needs a location: --region, SLIPWAY_REGION or the config file's region (e.g. us-central1)")
	}
	p, err := gcprun.New(ctx, gcprun.Options{Project: s.project, Location: s.region, Route: s.production, Now: st.clock.Now, Sleep: st.clock.Sleep})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st.p = p
	st.metrics = provider.WithRetryMetrics(p, provider.RetryPolicy{Sleep: st.clock.Sleep})
	st.closers = append(st.closers, p.Close)
	return nil
}

// openAzure builds the Azure Functions adapter with DefaultAzureCredential
// (environment, workload identity, managed identity, Azure CLI). Versions
// are published from --package-url: the adapter has no package store here.
func (st *state) openAzure() error {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return fmt.Errorf("%w: azure credentials: %v", errUsage, err)
	}
	az, err := azurefunc.New(st.s.subscription, st.s.resourceGroup, cred, azurefunc.Options{Now: st.clock.Now, Sleep: st.clock.Sleep}, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	st.p = az
	st.metrics = provider.WithRetryMetrics(az, provider.RetryPolicy{Sleep: st.clock.Sleep})
	return nil
}

// addCheck adds a check to the release's strategy (def when it has none
// of its own) and, for resume and abort, to the checks found by name.
func addCheck(opts *release.Options, def canary.Strategy, spec canary.CheckSpec) {
	if len(opts.Strategy.Steps) == 0 {
		opts.Strategy = def
	}
	opts.Strategy.Analysis.Checks = append(slices.Clone(opts.Strategy.Analysis.Checks), spec)
	if opts.Runner.Checks != nil {
		opts.Runner.Checks[spec.Name] = spec.Check
	}
}
