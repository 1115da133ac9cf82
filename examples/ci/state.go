package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"
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
// provider and the journal.
type state struct {
	s *settings
	// clock is canary.RealClock() or a *canary.VirtualClock, passed as is
	// (not wrapped) so that the runner recognises a virtual clock.
	clock   canary.Clock
	p       provider.Provider
	metrics provider.Metrics
	mem     *memory.Provider // nil for a cloud provider
	journal journal.Journal
	store   canary.Store // nil for status
	closers []func() error
}

// writes reports whether the subcommand may change state. Status does
// not; resume and abort have nothing to continue without a state
// directory, so they do not create one (finding nothing writes nothing).
func (s *settings) writes() bool {
	switch s.cmd {
	case "status":
		return false
	case "resume", "abort":
		_, err := os.Stat(s.stateDir)
		return err == nil
	}
	return true
}

// open builds the clock, the provider, the journal and the rollout store.
// A cloud provider's configuration is loaded before the state directory is
// created, so a missing region fails without writing anything.
func open(ctx context.Context, s *settings, stderr io.Writer) (*state, error) {
	last, err := lastJournalTime(s.journalPath())
	if err != nil {
		return nil, err
	}
	st := &state{s: s}
	now := time.Now()
	switch {
	case !s.realTime:
		// One second after the journal's last entry: times only move
		// forward from step to step, and the release IDs the workflow
		// derives from the time (to the second) differ.
		start := now
		if !last.IsZero() {
			start = latest(now, last.Add(time.Second))
		}
		st.clock = canary.NewVirtualClock(start)
	case last.After(now):
		return nil, usageError("-real-time: the journal's last entry (%s) is ahead of the wall clock (%s): earlier steps ran in virtual time; use virtual time or another -state-dir",
			last.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	default:
		st.clock = canary.RealClock()
	}

	switch s.providerKey {
	case "aws":
		if err := st.openAWS(ctx); err != nil {
			return nil, err
		}
	case "gcprun":
		if err := st.openGCP(ctx); err != nil {
			return nil, err
		}
	case "azure":
		if err := st.openAzure(); err != nil {
			return nil, err
		}
	}
	if s.writes() {
		if err := os.MkdirAll(s.storeDir(), 0o755); err != nil {
			return nil, err
		}
	}
	if s.providerKey == "memory" {
		if err := st.openMemory(); err != nil {
			return nil, err
		}
	}
	if err := st.openJournal(stderr); err != nil {
		st.close(stderr)
		return nil, err
	}
	if s.writes() {
		fs, err := canary.OpenFileStore(s.storeDir())
		if err != nil {
			st.close(stderr)
			return nil, err
		}
		st.store = fs
		st.closers = append(st.closers, fs.Close)
	}
	return st, nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lastJournalTime returns the time of the journal file's newest entry, the
// zero time when there is no file.
func lastJournalTime(path string) (time.Time, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("journal: %w", err)
	}
	defer j.Close()
	var last time.Time
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			return time.Time{}, fmt.Errorf("journal: %w", err)
		}
		last = latest(last, e.Time)
	}
	return last, nil
}

func (st *state) openMemory() error {
	s := st.s
	// A Provider writes its Path only when something changes: status, which
	// changes nothing, leaves the file (and a missing directory) alone.
	opts := memory.Options{Now: st.clock.Now, Sleep: st.clock.Sleep, Seed: s.seed, Path: s.statePath()}
	mem, err := memory.New(opts)
	if err != nil {
		return fmt.Errorf("memory provider: %w", err)
	}
	st.mem, st.p, st.metrics = mem, mem, mem
	if s.writes() && (s.cmd == "publish" || s.cmd == "release" || s.cmd == "promote") {
		mem.SetLoad(s.function, s.production, s.load)
		mem.SetLoad(s.function, s.staging, s.load/10)
		if err := mem.Sync(); err != nil {
			return fmt.Errorf("memory provider: %w", err)
		}
	}
	return nil
}

func (st *state) openAWS(ctx context.Context) error {
	var opts []func(*awsconfig.LoadOptions) error
	if st.s.region != "" {
		opts = append(opts, awsconfig.WithRegion(st.s.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("%w: loading the AWS configuration: %v", errUsage, err)
	}
	if cfg.Region == "" {
		return usageError("-provider aws needs a region: -region, SLIPWAY_REGION, AWS_REGION or a profile's region")
	}
	lambda := awslambda.New(cfg, awslambda.Options{Now: st.clock.Now, Sleep: st.clock.Sleep})
	st.p = lambda
	st.metrics = provider.WithRetryMetrics(lambda, provider.RetryPolicy{Sleep: st.clock.Sleep})
	return nil
}

// openAzure builds the Azure Functions adapter with DefaultAzureCredential
// (environment, workload identity, managed identity, Azure CLI). Versions
// are published from -package-url: the adapter has no package store here.
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

// openGCP builds the Cloud Run functions adapter with Application Default
// Credentials; the production alias is the service's traffic split and
// every other alias a traffic tag.
func (st *state) openGCP(ctx context.Context) error {
	s := st.s
	if s.project == "" {
		return usageError("-provider gcprun needs a project: -project, SLIPWAY_PROJECT or GOOGLE_CLOUD_PROJECT")
	}
	if s.region == "" {
		return usageError("-provider gcprun needs a location: -region or SLIPWAY_REGION (e.g. us-central1)")
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

func (st *state) openJournal(stderr io.Writer) error {
	s := st.s
	if !s.writes() {
		if _, err := os.Stat(s.journalPath()); errors.Is(err, fs.ErrNotExist) {
			st.journal = &journal.MemoryJournal{}
			return nil
		}
	}
	j, err := journal.OpenFileJournal(s.journalPath())
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if t := j.Recovered(); t != nil {
		fmt.Fprintf(stderr, "slipway-ci: journal %s: dropped a torn last line at offset %d (an entry cut short by a crash, never acknowledged)\n", j.Path(), t.Offset)
	}
	st.journal = j
	st.closers = append(st.closers, j.Close)
	return nil
}

func (st *state) close(stderr io.Writer) {
	for i := len(st.closers) - 1; i >= 0; i-- {
		if err := st.closers[i](); err != nil {
			fmt.Fprintf(stderr, "slipway-ci: close: %v\n", err)
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
			fmt.Fprintln(out, e.String())
		},
	}
	if len(s.strategy.Steps) > 0 {
		opts.Strategy = s.strategy
	}
	if s.cmd == "resume" || s.cmd == "abort" {
		opts.Runner.Checks = s.checks()
	}
	var ns notify.Multi
	if s.webhook != "" {
		ns = append(ns, &notify.Webhook{URL: s.webhook})
	}
	if s.slackWebhook != "" {
		ns = append(ns, &notify.Slack{WebhookURL: s.slackWebhook})
	}
	if len(ns) > 0 {
		opts.Notifier = ns
	}
	w, err := release.New(opts)
	if errors.Is(err, provider.ErrInvalid) || errors.Is(err, provider.ErrUnsupported) {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return w, err
}
