// Command gcprun releases a zip of source code to a Cloud Run function
// (Cloud Functions 2nd gen) with slipway's gcprun adapter and release
// workflow: it builds and deploys a new revision (labelled with a semantic
// version and a commit), tags it "staging" for tests, shifts the service's
// traffic split to it by a CodeDeploy-style strategy while comparing the
// candidate's Cloud Monitoring error rate with the stable revision's, and
// promotes it or puts every request back on the stable revision.
//
// It runs against a real project with the standard Google auth chain
// (Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS,
// gcloud auth application-default login, the metadata server, workload
// identity); it never prints credentials. The caller needs
// roles/cloudfunctions.developer, roles/run.developer and
// roles/monitoring.viewer (and roles/iam.serviceAccountUser on the
// runtime service account).
//
//	go run ./examples/gcprun -project my-project -location us-central1 \
//	    -function checkout -zip build/checkout.zip -runtime go125 -entry-point Checkout \
//	    -strategy Canary10Percent5Minutes -semver 1.4.0 -commit $(git rev-parse --short HEAD)
//
// The function is created on its first release (-strategy AllAtOnce
// releases it without a canary). Interrupting a release (SIGINT, SIGTERM)
// rolls the split back to the stable revision. The journal lives in memory
// for the run; a CI job would keep it in a file or a bucket.
//
// Its tests run it, flags and all, against provider/gcprun/runtest (the
// Cloud Functions, Cloud Run, Operations and Cloud Monitoring APIs over
// gRPC on a loopback port) in virtual time: missing or bad flags fail
// before any API call, a first release creates the function, a healthy
// release goes through the staging tag and a 10% canary to the whole
// split, and one whose revision fails 15% of its requests is rolled back
// to the stable revision on its first judged window. Nothing is tested
// against a real project.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"google.golang.org/api/option"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/examples/internal/cli"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

type flags struct {
	project, location, function, zip string
	runtime, entryPoint, serviceAcct string
	route, staging, strategy         string
	semver, commit                   string
	memoryMB, timeoutSec             int
	maxErrorRate                     float64
	verbose                          bool
}

func main() {
	f, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		os.Exit(2) // the flag package printed the error and the usage
	}
	cli.Main(f.verbose, func(ctx context.Context, log *slog.Logger) error {
		return run(ctx, f, deps{out: os.Stdout, log: log})
	})
}

// parseFlags defines the program's flags on fs and parses args with them.
func parseFlags(fs *flag.FlagSet, args []string) (flags, error) {
	var f flags
	fs.StringVar(&f.project, "project", os.Getenv("GOOGLE_CLOUD_PROJECT"), "project ID (default $GOOGLE_CLOUD_PROJECT)")
	fs.StringVar(&f.location, "location", "us-central1", "region of the function")
	fs.StringVar(&f.function, "function", "", "function ID (required)")
	fs.StringVar(&f.zip, "zip", "", "path of the source archive (.zip, required)")
	fs.StringVar(&f.runtime, "runtime", "go125", "Cloud Functions runtime, e.g. go125, nodejs22, python313")
	fs.StringVar(&f.entryPoint, "entry-point", "", "function entry point")
	fs.StringVar(&f.serviceAcct, "service-account", "", "runtime service account e-mail (empty: the default)")
	fs.IntVar(&f.memoryMB, "memory", 256, "memory in MiB")
	fs.IntVar(&f.timeoutSec, "timeout", 60, "request timeout in seconds")
	fs.StringVar(&f.route, "route", gcprun.DefaultRoute, "name of the service's traffic split as a slipway route")
	fs.StringVar(&f.staging, "staging", "staging", "traffic tag the candidate is tested on before production (empty: none)")
	fs.StringVar(&f.strategy, "strategy", "Canary10Percent5Minutes", "rollout preset: "+strings.Join(canary.Presets(), ", "))
	fs.StringVar(&f.semver, "semver", "", "semantic version of this release (required)")
	fs.StringVar(&f.commit, "commit", "", "commit recorded on the revision")
	fs.Float64Var(&f.maxErrorRate, "max-error-rate", 0.01, "fail when the candidate's error rate exceeds the stable one's by more than this")
	fs.BoolVar(&f.verbose, "v", false, "log API steps")
	err := fs.Parse(args)
	return f, err
}

// deps is what run takes besides the flags. main passes standard output
// and its logger only: the Google clients then find Application Default
// Credentials and Google's endpoints, and time is the wall clock. The
// tests point the clients at provider/gcprun/runtest and run in virtual
// time.
type deps struct {
	out io.Writer // the release's events, one a line
	log *slog.Logger
	// clientOptions are passed to the Google Cloud clients (gcprun.New);
	// nil leaves them to their defaults.
	clientOptions []option.ClientOption
	// clock is the time of the rollout, the adapter's polls and the
	// retries; nil is the wall clock.
	clock canary.Clock
	// onEvent, when set, sees each event after it is printed.
	onEvent func(release.Event)
}

func run(ctx context.Context, f flags, d deps) error {
	log := d.log
	if f.project == "" || f.function == "" || f.zip == "" || f.semver == "" {
		return errors.New("-project, -function, -zip and -semver are required")
	}
	sv, err := semver.Parse(f.semver)
	if err != nil {
		return err
	}
	strategy, err := canary.Preset(f.strategy)
	if err != nil {
		return err
	}
	if len(strategy.Steps) > 0 && strategy.Steps[0].Weight < provider.AllTraffic {
		// All at once has no stable share to compare with, nor a bake to
		// judge in.
		strategy.Analysis.Checks = []canary.CheckSpec{{
			Name:  "error rate",
			Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1, Slack: f.maxErrorRate},
		}}
	}
	src, err := os.ReadFile(f.zip)
	if err != nil {
		return err
	}
	opts := gcprun.Options{Project: f.project, Location: f.location, Route: f.route, Logger: log}
	retry := provider.RetryPolicy{Logger: log}
	if d.clock != nil {
		opts.Now, opts.Sleep, retry.Sleep = d.clock.Now, d.clock.Sleep, d.clock.Sleep
	}
	// Application Default Credentials and Google's endpoints unless
	// d.clientOptions says otherwise.
	p, err := gcprun.New(ctx, opts, d.clientOptions...)
	if err != nil {
		return err
	}
	defer p.Close()

	w, err := release.New(release.Options{
		Runner: canary.RunnerOptions{
			Provider: p, Metrics: provider.WithRetryMetrics(p, retry),
			Retry: retry, Clock: d.clock,
		},
		Actor:    "examples/gcprun",
		Stages:   release.Stages{Staging: f.staging, Production: f.route},
		Strategy: strategy,
		Logger:   log,
		OnEvent: func(e release.Event) {
			fmt.Fprintln(d.out, e.String())
			if d.onEvent != nil {
				d.onEvent(e)
			}
		},
	})
	if err != nil {
		return err
	}
	res, err := w.Release(ctx, release.Request{
		Function: f.function,
		Reason:   "release " + sv.String(),
		Publish: release.PublishRequest{
			Artifact: provider.Artifact{Zip: src},
			Config: provider.Config{
				Runtime: f.runtime, Handler: f.entryPoint, MemoryMB: f.memoryMB,
				Timeout: time.Duration(f.timeoutSec) * time.Second, Role: f.serviceAcct,
			},
			Semver: &sv,
			Commit: f.commit,
		},
	})
	switch {
	case err == nil:
		log.Info("promoted", "function", f.function, "revision", res.Candidate, "semver", res.Semver)
		return nil
	case errors.Is(err, canary.ErrRolledBack):
		return fmt.Errorf("rolled back %s (revision %s): %s", res.Semver, res.Candidate, res.Reason)
	default:
		return err
	}
}
