// Command azurefunc releases a run-from-package zip to an existing Azure
// Functions app with slipway's Azure adapter: it records an immutable
// version (the package URL and SHA-256 plus the configuration, labelled with
// a semantic version and a commit), deploys it to the ramp-up slot, sends
// production traffic to it through a ramp-up rule step by step while
// comparing its Azure Monitor error rate (Http5xx / Requests) with the
// production slot's, and promotes it by slot swap or clears the rule.
//
// It runs against a real subscription with azidentity's
// DefaultAzureCredential (environment, workload identity, managed identity,
// Azure CLI, Azure Developer CLI); it never prints credentials. The package
// must already be uploaded where the app can read it (a blob URL with a
// read SAS, or one the app's managed identity may read), as
// WEBSITE_RUN_FROM_PACKAGE takes it.
//
//	go run ./examples/azurefunc -subscription $AZURE_SUBSCRIPTION_ID -resource-group rg-checkout \
//	    -app checkout -package-url "https://acct.blob.core.windows.net/pkgs/checkout-1.4.0.zip?sv=…" \
//	    -sha256 $(sha256sum checkout.zip | cut -d' ' -f1) -semver 1.4.0 -commit $(git rev-parse --short HEAD)
//
// The production slot must already run a version released by slipway (the
// first one: -first, which deploys it to production directly). With
// -dry-run it records the version and prints the plan without touching
// traffic. Interrupting it (SIGINT, SIGTERM) clears the ramp-up rule.
//
// Its tests run it, flags and all, against provider/azurefunc/azuretest
// (the App Service and Azure Monitor ARM calls over HTTPS in process) in
// virtual time: missing flags or an unknown strategy fail before any token
// is asked for or any call made; without -first an app slipway never
// released to is refused with nothing written; -first deploys to
// production; -dry-run changes no slot, setting or rule; a healthy package
// is promoted by slot swap with no ramp-up rule left (with -strategy
// AllAtOnce, without reading metrics); a package failing 15% of its
// requests is rolled back on its first judged window, its rule cleared and
// production untouched; the bearer token never reaches the log. Nothing
// is tested against a real subscription.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/examples/internal/cli"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
)

type flags struct {
	subscription, resourceGroup, app string
	packageURL, sha256, strategy     string
	semver, commit, description      string
	maxErrorRate                     float64
	first, dryRun, verbose           bool
}

func main() {
	f, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		os.Exit(2) // the flag package printed the error and the usage
	}
	cli.Main(f.verbose, func(ctx context.Context, log *slog.Logger) error { return run(ctx, f, deps{log: log}) })
}

// parseFlags defines the program's flags on fs and parses args with them.
func parseFlags(fs *flag.FlagSet, args []string) (flags, error) {
	var f flags
	fs.StringVar(&f.subscription, "subscription", os.Getenv("AZURE_SUBSCRIPTION_ID"), "subscription ID (default $AZURE_SUBSCRIPTION_ID)")
	fs.StringVar(&f.resourceGroup, "resource-group", "", "resource group of the function app (required)")
	fs.StringVar(&f.app, "app", "", "function app name (required)")
	fs.StringVar(&f.packageURL, "package-url", "", "https URL of the .zip package the app can read (required)")
	fs.StringVar(&f.sha256, "sha256", "", "hex SHA-256 of the package, recorded with the version")
	fs.StringVar(&f.strategy, "strategy", "Canary10Percent5Minutes", "rollout preset: "+strings.Join(canary.Presets(), ", "))
	fs.StringVar(&f.semver, "semver", "", "semantic version recorded on the version")
	fs.StringVar(&f.commit, "commit", "", "commit recorded on the version")
	fs.StringVar(&f.description, "description", "", "version description")
	fs.Float64Var(&f.maxErrorRate, "max-error-rate", 0.01, "fail when the candidate's error rate exceeds the stable one's by more than this")
	fs.BoolVar(&f.first, "first", false, "deploy straight to production (the app's first release through slipway)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "record the version and print the plan, leave traffic alone")
	fs.BoolVar(&f.verbose, "v", false, "log API steps")
	err := fs.Parse(args)
	return f, err
}

// deps is what run takes besides the flags. main passes its logger only:
// the credential is then azidentity's DefaultAzureCredential, the clients
// call Azure's public cloud, and time is the wall clock. The tests point
// the clients at provider/azurefunc/azuretest and run in virtual time.
type deps struct {
	log *slog.Logger
	// credential authenticates the clients; nil means
	// azidentity.NewDefaultAzureCredential.
	credential azcore.TokenCredential
	// clientOptions are the Azure clients' options (azurefunc.New); nil
	// leaves them to their defaults.
	clientOptions *arm.ClientOptions
	// clock is the time of the rollout, the swap's polls and the retries;
	// nil is the wall clock.
	clock canary.Clock
}

func run(ctx context.Context, f flags, d deps) error {
	log := d.log
	if f.subscription == "" || f.resourceGroup == "" || f.app == "" || f.packageURL == "" {
		return errors.New("-subscription, -resource-group, -app and -package-url are required")
	}
	strategy, err := canary.Preset(f.strategy)
	if err != nil {
		return err
	}
	clk := d.clock
	if clk == nil {
		clk = canary.RealClock()
	}
	cred := d.credential
	if cred == nil {
		if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
			return fmt.Errorf("azure credentials: %w", err)
		}
	}
	az, err := azurefunc.New(f.subscription, f.resourceGroup, cred, azurefunc.Options{Logger: log, Now: clk.Now, Sleep: clk.Sleep}, d.clientOptions)
	if err != nil {
		return err
	}
	retry := provider.RetryPolicy{Logger: log, Sleep: clk.Sleep}
	p := provider.WithRetry(az, retry)
	metrics := provider.WithRetryMetrics(az, retry)
	const production = azurefunc.DefaultProductionAlias

	labels := cli.Labels(f.semver, f.commit)
	in := provider.PublishInput{Artifact: provider.Artifact{URI: f.packageURL, SHA256: f.sha256}, Description: f.description, Labels: labels}
	stable, err := p.Route(ctx, f.app, production)
	switch {
	case err == nil:
		// The configuration stays as the stable version has it.
		base, err := p.Version(ctx, f.app, stable.Primary())
		if err != nil {
			return err
		}
		in.Config = base.Config
	case errors.Is(err, provider.ErrNotFound) && f.first:
	default:
		return fmt.Errorf("production must run a version released by slipway (or pass -first): %w", err)
	}
	v, err := p.Publish(ctx, f.app, in)
	if err != nil {
		return err
	}
	log.Info("recorded", "app", f.app, "version", v.ID, "sha256", v.CodeSHA256, "semver", v.Labels[provider.LabelSemver])
	if f.first && stable.Primary() == "" {
		if f.dryRun {
			log.Info("plan: deploy to production", "version", v.ID)
			return nil
		}
		_, err := p.SetRoute(ctx, f.app, provider.To(production, v.ID))
		return err
	}
	if v.ID == stable.Primary() {
		log.Info("production already runs this package and configuration; nothing to release")
		return nil
	}
	if err := cli.Plan(log, p.Capabilities(), production, stable.Primary(), v.ID, strategy.Steps); err != nil {
		return err
	}
	if f.dryRun {
		return nil
	}

	check := canary.Relative{Metric: canary.ErrorRate, Factor: 1, Slack: f.maxErrorRate}
	if len(strategy.Steps) > 0 && strategy.Steps[0].Weight < provider.AllTraffic {
		// All at once has no stable share to compare with, nor a bake to
		// judge in.
		strategy.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: check}}
	}
	runner, err := canary.NewRunner(canary.RunnerOptions{
		Provider: p, Metrics: metrics, Logger: log, Clock: clk,
		Checks:     map[string]canary.Check{"error rate": check},
		MetricsLag: azurefunc.DefaultMetricsDelay,
	})
	if err != nil {
		return err
	}
	id := fmt.Sprintf("%s-%s-%d", f.app, v.ID, clk.Now().Unix())
	st, err := runner.Start(ctx, canary.Rollout{ID: id, Function: f.app, Alias: production, Candidate: v.ID, Strategy: strategy})
	if err != nil {
		return fmt.Errorf("rollout %s ended %s: %w", id, st.Phase, err)
	}
	log.Info("promoted by slot swap", "app", f.app, "version", v.ID, "phase", st.Phase)
	return nil
}
