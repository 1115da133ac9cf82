// Command awslambda releases a zip package to an existing AWS Lambda
// function with slipway's release workflow, from Go: it publishes an
// immutable version labelled with the next semantic version, shifts the
// alias's traffic to it by a CodeDeploy-style strategy while CloudWatch's
// error rate and p99 latency of the candidate are compared with the stable
// version's every minute, and promotes it or puts every request back on the
// stable version. Every route change is journaled (a file journal), and the
// canary's state is saved, so `slipway resume` (cmd/slipway, with --state
// pointing at -state) finishes a release this program was killed in.
//
// It is a thin use of release.Workflow; the slipway command does the same
// with a config file, shared state in object storage and more.
//
// It runs against a real account with the standard AWS configuration chain
// (environment, shared config and credentials files, SSO, web identity,
// instance roles); AWS_REGION or the profile picks the region and
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_CLOUDWATCH may point it
// elsewhere (an emulator). It never prints credentials.
//
//	go run ./examples/awslambda -function checkout -alias live \
//	    -zip build/checkout.zip -strategy Canary10Percent5Minutes -level minor
//
// The alias must exist (pointing at the stable version). -dry-run changes
// nothing anywhere: it reads the alias and the versions, says whether the
// package is already published or which version number it would get, and
// checks the strategy against Lambda's limits. Interrupting a release
// (SIGINT, SIGTERM) rolls the alias back to the stable version.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

type flags struct {
	function, alias, zip, strategy string
	level, semver, commit, state   string
	errorSlack, latencyFactor      float64
	dryRun                         bool
}

func main() {
	var f flags
	flag.StringVar(&f.function, "function", "", "Lambda function name (required)")
	flag.StringVar(&f.alias, "alias", "live", "alias to shift")
	flag.StringVar(&f.zip, "zip", "", "path of the deployment package (.zip, required)")
	flag.StringVar(&f.strategy, "strategy", "Canary10Percent5Minutes", "rollout preset: "+strings.Join(canary.Presets(), ", "))
	flag.StringVar(&f.level, "level", "patch", "semantic version bump: major, minor or patch")
	flag.StringVar(&f.semver, "semver", "", "publish exactly this semantic version (instead of -level)")
	flag.StringVar(&f.commit, "commit", "", "commit recorded on the Lambda version")
	flag.StringVar(&f.state, "state", ".slipway", "directory of the journal (journal.jsonl) and the canary states (rollouts/)")
	flag.Float64Var(&f.errorSlack, "error-slack", 0.01, "fail when the candidate's error rate exceeds the stable one's × 1.5 plus this")
	flag.Float64Var(&f.latencyFactor, "latency-factor", 1.5, "fail when the candidate's p99 exceeds the stable one's times this")
	flag.BoolVar(&f.dryRun, "dry-run", false, "change nothing: print what would be published and the plan")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, f, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "awslambda:", err)
		if errors.Is(err, canary.ErrRolledBack) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags, out io.Writer) error {
	if f.function == "" || f.zip == "" {
		return errors.New("-function and -zip are required")
	}
	strategy, err := canary.Preset(f.strategy)
	if err != nil {
		return err
	}
	if len(strategy.Steps) > 0 && strategy.Steps[0].Weight < provider.AllTraffic {
		strategy.Analysis.Checks = []canary.CheckSpec{
			{Name: "error rate", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: f.errorSlack}},
			{Name: "p99 latency", Check: canary.Relative{Metric: canary.LatencyP99, Factor: f.latencyFactor, Slack: 0.05}},
		}
	}
	pkg, err := os.ReadFile(f.zip)
	if err != nil {
		return err
	}
	req := release.PublishRequest{Artifact: provider.Artifact{Zip: pkg}, Commit: f.commit}
	if f.semver != "" {
		v, err := semver.ParseTolerant(f.semver)
		if err != nil {
			return err
		}
		req.Semver = &v
	} else {
		l, err := semver.ParseLevel(f.level)
		if err != nil {
			return err
		}
		req.Level = &l
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	lambda := awslambda.New(cfg, awslambda.Options{})
	retry := provider.RetryPolicy{}
	p := provider.WithRetry(lambda, retry)
	metrics := provider.WithRetryMetrics(lambda, retry)

	stable, err := p.Route(ctx, f.function, f.alias)
	if err != nil {
		return fmt.Errorf("the alias must exist and point at the stable version: %w", err)
	}
	base, err := p.Version(ctx, f.function, stable.Primary())
	if err != nil {
		return err
	}
	// The configuration stays as the stable version has it.
	req.Config = base.Config
	if f.dryRun {
		return dryRun(ctx, p, f, req, strategy, stable, out)
	}

	if err := os.MkdirAll(filepath.Join(f.state, "rollouts"), 0o755); err != nil {
		return err
	}
	jr, err := journal.OpenFileJournal(filepath.Join(f.state, "journal.jsonl"))
	if err != nil {
		return err
	}
	defer jr.Close()
	store, err := canary.OpenFileStore(filepath.Join(f.state, "rollouts"))
	if err != nil {
		return err
	}
	defer store.Close()
	w, err := release.New(release.Options{
		Runner:   canary.RunnerOptions{Provider: p, Metrics: metrics, Store: store},
		Journal:  jr,
		Stages:   release.Stages{Production: f.alias}, // no staging: straight to the alias
		Strategy: strategy, Actor: os.Getenv("USER"),
		OnEvent: func(e release.Event) { fmt.Fprintln(out, e.String()) },
	})
	if err != nil {
		return err
	}
	res, err := w.Release(ctx, release.Request{Function: f.function, Publish: req})
	fmt.Fprintf(out, "%s %s on %s (stable %s): %s\n", res.Outcome, res.Candidate, f.alias, res.Stable, res.Reason)
	return err
}

// dryRun prints what a release would do and calls nothing that writes.
func dryRun(ctx context.Context, p provider.Provider, f flags, req release.PublishRequest, st canary.Strategy, stable provider.Route, out io.Writer) error {
	sum := sha256.Sum256(req.Artifact.Zip)
	code := hex.EncodeToString(sum[:])
	last, lastV, found, err := release.LastReleased(ctx, p, f.function)
	if err != nil {
		return err
	}
	existing := ""
	for v, err := range p.Versions(ctx, f.function) {
		if err != nil {
			return err
		}
		if v.CodeSHA256 == code {
			existing = v.ID // the newest with this code wins
		}
	}
	next := semver.Version{}
	switch {
	case req.Semver != nil:
		next = *req.Semver
	case found:
		next = last.Bump(*req.Level)
	default:
		if next, err = semver.Parse("0.1.0"); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "dry run: nothing is published, routed or journaled\n")
	fmt.Fprintf(out, "alias %s serves %s\n", f.alias, routeText(stable))
	if found {
		fmt.Fprintf(out, "last release: v%s (version %s)\n", last, lastV.ID)
	}
	if existing != "" {
		fmt.Fprintf(out, "the package is already version %s: publishing it again returns that version\n", existing)
	} else {
		fmt.Fprintf(out, "would publish %s (sha256 %s…) as the next version, labelled v%s\n", f.zip, code[:12], next)
	}
	if err := st.Validate(p.Capabilities()); err != nil {
		return fmt.Errorf("the strategy does not fit Lambda: %w", err)
	}
	var total, most time.Duration
	plan := st.Plan()
	for i, s := range plan.Steps {
		fmt.Fprintf(out, "step %d: %.2f%% to the candidate, bake %s\n", i+1, float64(s.Weight)/100, s.Bake)
		total += s.Bake
		if len(st.Analysis.Checks) > 0 {
			most += plan.MaxBake(i)
		} else {
			most += s.Bake
		}
	}
	fmt.Fprintf(out, "judged every %s by %d check(s); about %s if every window passes (at most %s: a step judges whole windows)\n",
		plan.Interval, len(st.Analysis.Checks), total, most)
	return nil
}

func routeText(r provider.Route) string {
	var parts []string
	for _, w := range r.Weights {
		parts = append(parts, fmt.Sprintf("%s=%.2f%%", w.Version, float64(w.BasisPoints)/100))
	}
	return strings.Join(parts, " ")
}
