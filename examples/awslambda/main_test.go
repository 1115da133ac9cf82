package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// emulated points the standard AWS configuration chain at an in-process
// Lambda and CloudWatch emulator with a function "checkout" whose alias
// "live" serves version 1.
func emulated(t *testing.T) *lambdatest.Server {
	t.Helper()
	srv := lambdatest.NewServer(lambdatest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.CreateFunction("checkout", lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap"}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_LAMBDA": srv.URL(), "AWS_ENDPOINT_URL_CLOUDWATCH": srv.URL(), "AWS_REGION": srv.Region(),
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := awslambda.New(cfg, awslambda.Options{})
	v, err := p.Publish(ctx, "checkout", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("PK v1")},
		Config: provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128}, Labels: map[string]string{provider.LabelSemver: "1.3.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetRoute(ctx, "checkout", provider.To("live", v.ID)); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	return srv
}

// TestDryRunChangesNothing: -dry-run reads the alias and the versions and
// writes nothing — no code update, no publication, no alias change (the
// example once published a version in its dry run).
func TestDryRunChangesNothing(t *testing.T) {
	srv := emulated(t)
	zip := filepath.Join(t.TempDir(), "checkout.zip")
	if err := os.WriteFile(zip, []byte("PK v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	state := filepath.Join(t.TempDir(), "state")
	err := run(context.Background(), flags{function: "checkout", alias: "live", zip: zip, strategy: "Canary10Percent5Minutes",
		level: "minor", state: state, errorSlack: 0.01, latencyFactor: 1.5, dryRun: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range srv.Ops() {
		if !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			t.Errorf("the dry run called %s", op)
		}
	}
	if len(srv.Ops()) == 0 {
		t.Error("the dry run read nothing")
	}
	for _, want := range []string{"dry run: nothing is published", "alias live serves 1=100.00%", "last release: v1.3.0 (version 1)", "labelled v1.4.0", "step 1: 10.00% to the candidate, bake 5m0s", "by 2 check(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("the dry run created the state directory")
	}
}
