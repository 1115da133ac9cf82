// Command quickstart is slipway's main job on the in-memory provider, with
// no credentials and no network: it releases two versions of a function
// called "checkout" through the whole workflow and prints what happens.
//
//   - v1.1.0 ("feat: one-click checkout") is healthy: it is published,
//     staged and tested, then production traffic shifts to it by the chosen
//     strategy while its error rate and p99 latency are compared with
//     v1.0.0's every minute by the default, sequential judgement
//     (canary.DefaultAnalysis: a 5% false-rollback rate over the whole
//     rollout); it is promoted, and retention prunes old versions.
//   - v1.2.0 ("feat: new payment provider") fails 15% of its invocations:
//     the first analysis window catches it and production goes back to
//     v1.1.0 by itself.
//
// It ends with the state of the function: versions, aliases, the audit
// journal and what retention deleted. Time is virtual by default, so the
// canaries' minutes take no wall time; -real-time waits for real.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -strategy Linear10PercentEvery1Minute
//	go run ./examples/quickstart -real-time -strategy Canary10Percent5Minutes
//	go run ./examples/quickstart -summary release.md   # Markdown summaries, as a CI job would publish them
//	go run ./examples/quickstart -provider gcprun     # the Cloud Run functions adapter on its in-process emulator
//	go run ./examples/quickstart -provider azurefunc  # the Azure Functions adapter on its in-process emulator (azure.go)
//	PAGERDUTY_ROUTING_KEY=… go run ./examples/quickstart -pagerduty https://events.pagerduty.com/v2/enqueue
//
// With -provider gcprun the same job runs through provider/gcprun and the
// Google Cloud client libraries against provider/gcprun/runtest (gRPC on a
// loopback port): "production" is the Cloud Run service's traffic split,
// "staging" a traffic tag, versions are revisions, metrics come from the
// emulated Cloud Monitoring.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/retention"
	"github.com/slipway-dev/slipway/semver"
)

const function = "checkout"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(2)
	}
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// config is what the flags choose.
type config struct {
	provider string // "memory" (default), "gcprun" or "azurefunc"
	strategy string
	realTime bool
	summary  string // path of the Markdown summaries; "" writes none
	// pagerDuty is the Events API v2 URL to page on rollbacks (the routing
	// key from PAGERDUTY_ROUTING_KEY); "" pages nobody.
	pagerDuty string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.provider, "provider", "memory", "the platform: memory (the in-memory provider), gcprun (Cloud Run functions on its in-process emulator) or azurefunc (Azure Functions on its in-process emulator)")
	fs.StringVar(&c.strategy, "strategy", "Canary10Percent5Minutes",
		"how production traffic shifts: one of "+strings.Join(canary.Presets(), ", "))
	fs.BoolVar(&c.realTime, "real-time", false, "wait in real time (a canary takes its minutes) instead of virtual time")
	fs.StringVar(&c.summary, "summary", "", "write each release's Markdown summary to this file")
	fs.StringVar(&c.pagerDuty, "pagerduty", "", "page through this PagerDuty Events API v2 URL on a rollback (routing key from $PAGERDUTY_ROUTING_KEY)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if _, err := canary.Preset(c.strategy); err != nil {
		return config{}, err
	}
	if c.provider != "memory" && c.provider != "gcprun" && c.provider != "azurefunc" {
		return config{}, provider.Invalid("quickstart flags", "provider", fmt.Sprintf("%q is not memory, gcprun or azurefunc", c.provider))
	}
	return c, nil
}

// outcome is what the run leaves behind, for the test.
type outcome struct {
	results    []release.Result
	production provider.Route
	versions   []provider.Version
	journal    []journal.Entry
}

// clock is the time source: a virtual clock runs the releases as its
// participants; the real one runs them directly. Clock is the clock
// itself, unwrapped, for the workflow: the canary runner times a rollback
// after a cancellation on a *canary.VirtualClock's own timers.
type clock struct {
	canary.Clock
	run func(func())
}

// run performs the quickstart and prints it to out.
func run(ctx context.Context, cfg config, out io.Writer) (outcome, error) {
	vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	clk := clock{Clock: vc, run: func(f func()) { vc.Run(f) }}
	if cfg.realTime {
		clk = clock{Clock: canary.RealClock(), run: func(f func()) { f() }}
	}
	pf, err := newPlatform(ctx, cfg.provider, clk.Clock)
	if err != nil {
		return outcome{}, err
	}
	defer pf.close()

	// The faults the simulated platform gives each version's code, by
	// semantic version: set as each version is published.
	faults := map[string]memory.Behavior{
		"1.2.0": {ErrorRate: 0.15, Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 300 * time.Millisecond}},
	}
	healthy := memory.Behavior{ErrorRate: 0.002, Latency: memory.Latency{Median: 30 * time.Millisecond, P99: 120 * time.Millisecond}}

	// The default judgement (canary.DefaultAnalysis): the sequential
	// check compares the candidate's error rate and p99 latency with the
	// stable version's over the whole rollout, at a 5% false-rollback rate
	// for the rollout as a whole.
	strategy, err := canary.JudgedPreset(cfg.strategy)
	if err != nil {
		return outcome{}, err
	}
	if len(strategy.Steps) > 0 && strategy.Steps[0].Weight == provider.AllTraffic {
		// All at once: there is no stable share left to compare with, so
		// nothing stops v1.2.0 reaching everyone. That is what a canary is
		// for.
		fmt.Fprintln(out, "note: all at once has no canary: nothing compares a candidate with the stable version before everyone gets it")
	}

	var notifier notify.Notifier = notify.NotifierFunc(func(_ context.Context, n notify.Notification) error {
		fmt.Fprintf(out, "         notify   %s\n", n.Text())
		return nil
	})
	if cfg.pagerDuty != "" {
		key, err := notify.SecretFromEnv("PAGERDUTY_ROUTING_KEY")
		if err != nil {
			return outcome{}, err
		}
		notifier = notify.Multi{notifier, &notify.PagerDuty{RoutingKey: key, URL: cfg.pagerDuty}}
	}

	jr := &journal.MemoryJournal{}
	var md strings.Builder
	w, err := release.New(release.Options{
		Runner:  canary.RunnerOptions{Provider: pf.p, Metrics: pf.m, Clock: clk.Clock},
		Journal: jr, Actor: "quickstart",
		Strategy:  strategy,
		Retention: &retention.Policy{KeepLast: 2},
		Notifier:  notifier,
		OnEvent: func(e release.Event) {
			if e.Kind == release.EventPublished {
				b, bad := faults[e.Semver]
				if !bad {
					b = healthy
				}
				pf.behave(e.Candidate, b)
			}
			fmt.Fprintln(out, e.String())
		},
	})
	if err != nil {
		return outcome{}, err
	}

	// History: four older versions, v1.0.0 in production and staging.
	fmt.Fprintf(out, "== setting the scene: %s has v0.9.0 … v1.0.0, v1.0.0 in production\n", function)
	for _, v := range []string{"0.9.0", "0.9.1", "0.9.2"} {
		sv := semver.MustParse(v)
		if _, err := release.Publish(ctx, pf.p, function, release.PublishRequest{Artifact: pf.code(v), Config: pf.config, Semver: &sv}); err != nil {
			return outcome{}, err
		}
	}
	first := semver.MustParse("1.0.0")
	var res release.Result
	clk.run(func() {
		all := canary.AllAtOnce()
		res, err = w.Release(ctx, release.Request{Function: function, Publish: release.PublishRequest{Artifact: pf.code("1.0.0"), Config: pf.config, Semver: &first}, Strategy: &all})
	})
	if err != nil {
		return outcome{}, fmt.Errorf("setting the scene: %w", err)
	}
	if err := pf.afterScene(); err != nil {
		return outcome{}, err
	}
	o := outcome{results: []release.Result{res}}
	for i, step := range []struct{ name, commit, sha string }{
		{"healthy", "feat: one-click checkout", "1.1.0"},
		{"faulty", "feat: new payment provider", "1.2.0"},
	} {
		fmt.Fprintf(out, "\n== release %d of 2: %q (%s)\n", i+1, step.commit, step.name)
		clk.run(func() {
			res, err = w.Release(ctx, release.Request{
				Function: function,
				Publish:  release.PublishRequest{Artifact: pf.code(step.sha), Config: pf.config, Commits: []string{step.commit}, Commit: fmt.Sprintf("c0ffee%d", i+1)},
				Reason:   step.commit,
				Test:     smokeTest(pf.p, clk),
			})
		})
		o.results = append(o.results, res)
		switch {
		case err == nil:
			fmt.Fprintf(out, "== %s: v%s promoted\n", res.Release, res.Semver)
		case errors.Is(err, canary.ErrRolledBack):
			fmt.Fprintf(out, "== %s: v%s rolled back: %s\n", res.Release, res.Semver, res.Reason)
		default:
			return o, err
		}
		md.WriteString(res.Summary.Markdown())
		md.WriteString("\n")
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
	}

	if o.production, err = pf.p.Route(ctx, function, "production"); err != nil {
		return o, err
	}
	for v, err := range pf.p.Versions(ctx, function) {
		if err != nil {
			return o, err
		}
		o.versions = append(o.versions, v)
	}
	for e, err := range jr.Entries(ctx, journal.Filter{Function: function}) {
		if err != nil {
			return o, err
		}
		o.journal = append(o.journal, e)
	}
	routes, err := pf.p.Routes(ctx, function)
	if err != nil {
		return o, err
	}
	printState(out, o, routes)
	if cfg.summary != "" {
		if err := os.WriteFile(cfg.summary, []byte(md.String()), 0o644); err != nil {
			return o, err
		}
		fmt.Fprintf(out, "\nMarkdown summaries written to %s\n", cfg.summary)
	}
	return o, nil
}

// smokeTest is the integration test run against staging: a few requests
// to the staged version must succeed. On the simulated platform it reads
// the staged version's behaviour from its metrics after a minute.
func smokeTest(p provider.Provider, clk clock) release.TestFunc {
	return func(ctx context.Context, t release.Target) error {
		r, err := p.Route(ctx, t.Function, t.Alias)
		if err != nil {
			return err
		}
		if r.Share(t.Version) != provider.AllTraffic {
			return fmt.Errorf("staging sends %d bp to %s, not all", r.Share(t.Version), t.Version)
		}
		return clk.Sleep(ctx, time.Second) // the requests take a moment
	}
}

// platform is where the quickstart runs: a provider, its metrics, and the
// simulation's knobs.
type platform struct {
	p      provider.Provider
	m      provider.Metrics
	config provider.Config
	code   func(v string) provider.Artifact
	// behave sets how a version's code behaves from now on.
	behave func(version string, b memory.Behavior)
	// afterScene runs once the function exists (the emulated Cloud Run
	// service takes its load then).
	afterScene func() error
	close      func()
}

func newPlatform(ctx context.Context, name string, clk canary.Clock) (*platform, error) {
	if name == "gcprun" {
		return newGCPPlatform(ctx, clk)
	}
	if name == "azurefunc" {
		return newAzurePlatform(ctx, clk)
	}
	mem, err := memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 42})
	if err != nil {
		return nil, err
	}
	// Production gets 40 requests a second, staging a trickle. The stable
	// code fails 0.2% of its invocations.
	mem.SetLoad(function, "production", 40)
	mem.SetLoad(function, "staging", 1)
	return &platform{
		p: mem, m: mem, config: config0(), code: code,
		behave:     func(v string, b memory.Behavior) { mem.SetBehavior(function, v, b) },
		afterScene: func() error { return nil },
		close:      func() {},
	}, nil
}

// newGCPPlatform starts the Cloud Run functions emulator and points the
// gcprun adapter at it by client options only. Production (the service's
// split) gets 40 requests a second once the function exists; metrics are
// a minute late.
func newGCPPlatform(ctx context.Context, clk canary.Clock) (*platform, error) {
	srv := runtest.NewServer(runtest.Options{Now: clk.Now, MetricsDelay: time.Minute})
	p, err := gcprun.New(ctx, gcprun.Options{
		Project: srv.Project(), Location: srv.Location(), Route: "production",
		Now: clk.Now, Sleep: clk.Sleep, MetricsDelay: time.Minute,
	}, srv.ClientOptions()...)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &platform{
		p: p, m: p, code: zipCode,
		config: provider.Config{Runtime: "go125", Handler: "Checkout", MemoryMB: 256, Timeout: 10 * time.Second,
			Environment: map[string]string{"PAYMENTS_URL": "https://payments.internal"}},
		behave: func(v string, b memory.Behavior) {
			_ = srv.SetBehavior(function, v, runtest.Behavior{ErrorRate: b.ErrorRate, P50: b.Latency.Median, P90: b.Latency.Median, P99: b.Latency.P99})
		},
		afterScene: func() error { return srv.SetLoad(function, 40) },
		close: func() {
			_ = p.Close()
			srv.Close()
		},
	}, nil
}

// zipCode is a version's source as the zip archive Cloud Functions builds.
func zipCode(v string) provider.Artifact {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "checkout.go", Method: zip.Store})
	if err == nil {
		_, err = fmt.Fprintf(w, "package checkout // %s\n", v)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err) // writing to a bytes.Buffer cannot fail
	}
	return provider.Artifact{Zip: buf.Bytes()}
}

func code(v string) provider.Artifact {
	return provider.Artifact{Zip: []byte("package checkout // " + v)}
}

func config0() provider.Config {
	return provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 256, Timeout: 10 * time.Second,
		Environment: map[string]string{"PAYMENTS_URL": "https://payments.internal"}}
}

// printState prints the function as the run left it.
func printState(out io.Writer, o outcome, routes []provider.Route) {
	fmt.Fprintf(out, "\n== %s now\n\nversions:\n", function)
	for _, v := range o.versions {
		var serves []string
		for _, r := range routes {
			if s := r.Share(v.ID); s > 0 {
				serves = append(serves, r.Alias+" "+provider.Percent(s))
			}
		}
		fmt.Fprintf(out, "  %-3s v%-7s %s %s\n", v.ID, v.Labels[provider.LabelSemver], v.Created.UTC().Format("15:04:05"), strings.Join(serves, ", "))
	}
	fmt.Fprintln(out, "\naliases:")
	for _, r := range routes {
		fmt.Fprintf(out, "  %-11s %s\n", r.Alias, r.Traffic())
	}
	fmt.Fprintln(out, "\njournal:")
	for _, e := range o.journal {
		after := ""
		if e.After != nil {
			after = e.After.Traffic()
		}
		what := ""
		if e.Candidate != "" {
			what = e.Candidate + " v" + e.Semver
		}
		fmt.Fprintf(out, "  %s %-8s %-10s %-9s %-13s %-11s %s\n", e.Time.UTC().Format("15:04:05"), e.Kind, e.Alias, what, after, e.Outcome, e.Reason)
	}
	fmt.Fprintln(out, "\nretention:")
	pruned := false
	for _, r := range o.results {
		for _, p := range r.Summary.Pruned {
			pruned = true
			fmt.Fprintf(out, "  deleted version %s (v%s) after %s: %s\n", p.Version, p.Semver, r.Release, p.Reason)
		}
	}
	if !pruned {
		fmt.Fprintln(out, "  nothing deleted")
	}
}
