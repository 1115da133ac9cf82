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
// The function is created on its first release. Interrupting a release
// (SIGINT, SIGTERM) rolls the split back to the stable revision. The
// journal lives in memory for the run; a CI job would keep it in a file or
// a bucket. This program is compile-checked in CI; it has no test against
// a real project.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

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
	var f flags
	flag.StringVar(&f.project, "project", os.Getenv("GOOGLE_CLOUD_PROJECT"), "project ID (default $GOOGLE_CLOUD_PROJECT)")
	flag.StringVar(&f.location, "location", "us-central1", "region of the function")
	flag.StringVar(&f.function, "function", "", "function ID (required)")
	flag.StringVar(&f.zip, "zip", "", "path of the source archive (.zip, required)")
	flag.StringVar(&f.runtime, "runtime", "go125", "Cloud Functions runtime, e.g. go125, nodejs22, python313")
	flag.StringVar(&f.entryPoint, "entry-point", "", "function entry point")
	flag.StringVar(&f.serviceAcct, "service-account", "", "runtime service account e-mail (empty: the default)")
	flag.IntVar(&f.memoryMB, "memory", 256, "memory in MiB")
	flag.IntVar(&f.timeoutSec, "timeout", 60, "request timeout in seconds")
	flag.StringVar(&f.route, "route", gcprun.DefaultRoute, "name of the service's traffic split as a slipway route")
	flag.StringVar(&f.staging, "staging", "staging", "traffic tag the candidate is tested on before production (empty: none)")
	flag.StringVar(&f.strategy, "strategy", "Canary10Percent5Minutes", "rollout preset: "+strings.Join(canary.Presets(), ", "))
	flag.StringVar(&f.semver, "semver", "", "semantic version of this release (required)")
	flag.StringVar(&f.commit, "commit", "", "commit recorded on the revision")
	flag.Float64Var(&f.maxErrorRate, "max-error-rate", 0.01, "fail when the candidate's error rate exceeds the stable one's by more than this")
	flag.BoolVar(&f.verbose, "v", false, "log API steps")
	flag.Parse()
	cli.Main(f.verbose, func(ctx context.Context, log *slog.Logger) error { return run(ctx, f, log) })
}

func run(ctx context.Context, f flags, log *slog.Logger) error {
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
	strategy.Analysis.Checks = []canary.CheckSpec{{
		Name:  "error rate",
		Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1, Slack: f.maxErrorRate},
	}}
	src, err := os.ReadFile(f.zip)
	if err != nil {
		return err
	}
	// Application Default Credentials; no endpoint override.
	p, err := gcprun.New(ctx, gcprun.Options{Project: f.project, Location: f.location, Route: f.route, Logger: log})
	if err != nil {
		return err
	}
	defer p.Close()

	w, err := release.New(release.Options{
		Runner: canary.RunnerOptions{
			Provider: p, Metrics: provider.WithRetryMetrics(p, provider.RetryPolicy{Logger: log}),
			Retry: provider.RetryPolicy{Logger: log},
		},
		Actor:    "examples/gcprun",
		Stages:   release.Stages{Staging: f.staging, Production: f.route},
		Strategy: strategy,
		Logger:   log,
		OnEvent:  func(e release.Event) { fmt.Println(e.String()) },
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
