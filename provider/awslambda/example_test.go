package awslambda_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// New against a real account: credentials, region and endpoint come from
// the standard AWS configuration chain. This example needs an account, so
// it is compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	lambda := awslambda.New(cfg, awslambda.Options{})
	p := provider.WithRetry(lambda, provider.RetryPolicy{})
	r, err := p.Route(ctx, "checkout", "live")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Weights)
}

// The adapter on the in-process emulator: publish two versions and send 5%
// of the alias's traffic to the second.
func Example() {
	srv := lambdatest.NewServer(lambdatest.Options{SettlePolls: -1})
	defer srv.Close()
	if err := srv.CreateFunction("checkout", lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::123456789012:role/checkout"}); err != nil {
		log.Fatal(err)
	}
	p := awslambda.NewFromClients(srv.LambdaClient(), srv.CloudWatchClient(), awslambda.Options{})
	ctx := context.Background()

	publish := func(code, semver string) provider.Version {
		v, err := p.Publish(ctx, "checkout", provider.PublishInput{
			Artifact: provider.Artifact{Zip: []byte(code)},
			Labels:   map[string]string{provider.LabelSemver: semver},
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("version %s is %s\n", v.ID, v.Labels[provider.LabelSemver])
		return v
	}
	stable, candidate := publish("v1", "1.0.0"), publish("v2", "1.1.0")

	r, err := p.SetRoute(ctx, "checkout", provider.To("live", stable.ID))
	if err != nil {
		log.Fatal(err)
	}
	step := provider.Split("live", stable.ID, candidate.ID, 500)
	step.Revision = r.Revision // compare-and-swap on the alias's RevisionId
	if r, err = p.SetRoute(ctx, "checkout", step); err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Alias, r.Weights)
	// Output:
	// version 1 is 1.0.0
	// version 2 is 1.1.0
	// live [{1 9500} {2 500}]
}

// Labels travel in the version's Description.
func ExampleEncodeDescription() {
	s, err := awslambda.EncodeDescription("checkout release", map[string]string{provider.LabelSemver: "1.4.0", provider.LabelCommit: "9fceb02"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)
	desc, labels := awslambda.DecodeDescription(s)
	fmt.Println(desc, labels[provider.LabelSemver])
	// Output:
	// slipway:{"d":"checkout release","l":{"slipway.dev/commit":"9fceb02","slipway.dev/semver":"1.4.0"}}
	// checkout release 1.4.0
}
