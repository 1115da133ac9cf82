// Command awslambda releases a zip package to an existing AWS Lambda
// function with slipway's Lambda adapter: it publishes an immutable version
// (labelled with a semantic version and a commit), shifts the alias's
// traffic to it by a CodeDeploy-style strategy while comparing the
// candidate's CloudWatch error rate and p99 latency with the stable
// version's, and promotes it or puts every request back on the stable
// version.
//
// It runs against a real account with the standard AWS configuration
// chain (environment, shared config and credentials files, SSO, web
// identity, instance roles); AWS_REGION or the profile picks the region and
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_CLOUDWATCH may point it
// elsewhere. It never prints credentials.
//
//	go run ./examples/awslambda -function checkout -alias live \
//	    -zip build/checkout.zip -strategy Canary10Percent5Minutes \
//	    -semver 1.4.0 -commit $(git rev-parse --short HEAD)
//
// The alias must exist (pointing at the stable version). With -dry-run it
// publishes and prints the plan without touching the alias. Interrupting it
// (SIGINT, SIGTERM) rolls the alias back to the stable version.
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

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/examples/internal/cli"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
)

type flags struct {
	function, alias, zip, strategy string
	semver, commit, description    string
	maxErrorRate                   float64
	latencyFactor                  float64
	dryRun, verbose                bool
}

func main() {
	var f flags
	flag.StringVar(&f.function, "function", "", "Lambda function name or ARN (required)")
	flag.StringVar(&f.alias, "alias", "live", "alias to shift")
	flag.StringVar(&f.zip, "zip", "", "path of the deployment package (.zip, required)")
	flag.StringVar(&f.strategy, "strategy", "Canary10Percent5Minutes", "rollout preset: "+strings.Join(canary.Presets(), ", "))
	flag.StringVar(&f.semver, "semver", "", "semantic version recorded on the Lambda version")
	flag.StringVar(&f.commit, "commit", "", "commit recorded on the Lambda version")
	flag.StringVar(&f.description, "description", "", "version description")
	flag.Float64Var(&f.maxErrorRate, "max-error-rate", 0.01, "fail when the candidate's error rate exceeds the stable one's by more than this")
	flag.Float64Var(&f.latencyFactor, "latency-factor", 1.5, "fail when the candidate's p99 exceeds the stable one's times this")
	flag.BoolVar(&f.dryRun, "dry-run", false, "publish and print the plan, leave the alias alone")
	flag.BoolVar(&f.verbose, "v", false, "log API steps")
	flag.Parse()
	cli.Main(f.verbose, func(ctx context.Context, log *slog.Logger) error { return run(ctx, f, log) })
}

func run(ctx context.Context, f flags, log *slog.Logger) error {
	if f.function == "" || f.zip == "" {
		return errors.New("-function and -zip are required")
	}
	strategy, err := canary.Preset(f.strategy)
	if err != nil {
		return err
	}
	pkg, err := os.ReadFile(f.zip)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	lambda := awslambda.New(cfg, awslambda.Options{Logger: log})
	retry := provider.RetryPolicy{Logger: log}
	p := provider.WithRetry(lambda, retry)
	metrics := provider.WithRetryMetrics(lambda, retry)

	stable, err := p.Route(ctx, f.function, f.alias)
	if err != nil {
		return fmt.Errorf("the alias must exist and point at the stable version: %w", err)
	}
	labels := cli.Labels(f.semver, f.commit)
	// The configuration stays as the stable version has it.
	base, err := p.Version(ctx, f.function, stable.Primary())
	if err != nil {
		return err
	}
	v, err := p.Publish(ctx, f.function, provider.PublishInput{
		Artifact:    provider.Artifact{Zip: pkg},
		Config:      base.Config,
		Description: f.description,
		Labels:      labels,
	})
	if err != nil {
		return err
	}
	log.Info("published", "function", f.function, "version", v.ID, "sha256", v.CodeSHA256, "semver", v.Labels[provider.LabelSemver])
	if v.ID == stable.Primary() {
		log.Info("the alias already serves this code and configuration; nothing to release", "alias", f.alias)
		return nil
	}
	if err := cli.Plan(log, p.Capabilities(), f.alias, stable.Primary(), v.ID, strategy.Steps); err != nil {
		return err
	}
	if f.dryRun {
		return nil
	}

	route := stable
	rollback := func(why error) error {
		back := provider.To(f.alias, stable.Primary())
		back.Revision = route.Revision
		// Roll back even when ctx was cancelled: that is what a SIGTERM asks.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := p.SetRoute(rctx, f.function, back); err != nil {
			return errors.Join(why, fmt.Errorf("rollback failed: %w", err))
		}
		log.Warn("rolled back", "alias", f.alias, "version", stable.Primary())
		return why
	}
	for _, s := range strategy.Steps {
		want := provider.Split(f.alias, stable.Primary(), v.ID, s.Weight)
		want.Revision = route.Revision
		if route, err = p.SetRoute(ctx, f.function, want); err != nil {
			if errors.Is(err, provider.ErrConflict) {
				return fmt.Errorf("the alias was changed by someone else; leaving it alone: %w", err)
			}
			return rollback(err)
		}
		log.Info("shifted", "alias", f.alias, "candidate", v.ID, "weight", provider.Percent(s.Weight))
		if s.Bake == 0 {
			continue
		}
		start := provider.AlignDown(time.Now(), time.Minute).Add(time.Minute)
		end := provider.AlignDown(time.Now().Add(s.Bake), time.Minute)
		if err := sleep(ctx, time.Until(end)+awslambda.DefaultMetricsDelay); err != nil {
			return rollback(err)
		}
		if !end.After(start) {
			continue
		}
		if err := judge(ctx, metrics, f, stable.Primary(), v.ID, start, end); err != nil {
			return rollback(err)
		}
	}
	log.Info("promoted", "alias", f.alias, "version", v.ID)
	return nil
}

// judge compares the candidate with the stable version over [start, end).
func judge(ctx context.Context, m provider.Metrics, f flags, stable, candidate string, start, end time.Time) error {
	obs, err := m.Observe(ctx, provider.Query{Function: f.function, Alias: f.alias, Versions: []string{stable, candidate}, Start: start, End: end, Period: time.Minute})
	if err != nil {
		return err
	}
	s, _ := obs.Of(stable)
	c, _ := obs.Of(candidate)
	st, ct := s.Total(), c.Total()
	cr, ok := ct.ErrorRate()
	if !ok {
		return fmt.Errorf("the candidate received no traffic between %s and %s: not judged, not promoted", start.Format(time.TimeOnly), end.Format(time.TimeOnly))
	}
	sr, _ := st.ErrorRate()
	if cr > sr+f.maxErrorRate {
		return fmt.Errorf("candidate error rate %.2f%% against stable %.2f%%", 100*cr, 100*sr)
	}
	if st.P99 > 0 && float64(ct.P99) > float64(st.P99)*f.latencyFactor {
		return fmt.Errorf("candidate p99 %s against stable %s", ct.P99, st.P99)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
