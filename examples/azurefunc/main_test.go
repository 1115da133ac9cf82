package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

const app = "checkout"

// token is the bearer token of the test's credential: the program must
// never print it.
const token = "eyJ0eXAiOiJKV1Qi.secret-bearer-token"

// credential hands out token and counts how often it was asked.
type credential struct{ calls atomic.Int64 }

func (c *credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	return azcore.AccessToken{Token: token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// emulated is the program's world in a test: the App Service and Azure
// Monitor emulator (metrics two minutes late, swaps finishing after two
// polls) with the function app "checkout", a virtual clock, and the
// program's log at debug level (-v).
type emulated struct {
	srv  *azuretest.Server
	vc   *canary.VirtualClock
	cred credential
	log  bytes.Buffer
}

func newEmulated(t *testing.T) *emulated {
	t.Helper()
	vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	srv := azuretest.NewServer(azuretest.Options{Now: vc.Now, MetricsDelay: 2 * time.Minute, SwapPolls: 2, SwapRetryAfter: 1})
	t.Cleanup(srv.Close)
	if err := srv.CreateSite(app, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
		t.Fatal(err)
	}
	// Nothing may come from the machine's own Azure configuration.
	t.Setenv("AZURE_SUBSCRIPTION_ID", "")
	return &emulated{srv: srv, vc: vc}
}

// run parses args as the command line does and runs the program on the
// emulator as the virtual clock's participant.
func (e *emulated) run(t *testing.T, args ...string) error {
	t.Helper()
	fs := flag.NewFlagSet("azurefunc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	d := deps{
		log:        slog.New(slog.NewTextHandler(&e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		credential: &e.cred, clientOptions: e.srv.ClientOptions(), clock: e.vc,
	}
	e.vc.Run(func() { err = run(t.Context(), f, d) })
	if strings.Contains(e.log.String(), token) {
		t.Errorf("the program logged the bearer token:\n%s", e.log.String())
	}
	return err
}

// pkg stores the run-from-package zip of version v where the app can read
// it and returns its URL and hex SHA-256.
func (e *emulated) pkg(t *testing.T, v string) (url, sum string) {
	t.Helper()
	data := []byte("PK checkout " + v)
	url, err := e.srv.Packages().Put(t.Context(), "checkout-"+v+".zip", data)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return url, hex.EncodeToString(s[:])
}

// args are the command line of a release of version v.
func (e *emulated) args(t *testing.T, v string, extra ...string) []string {
	url, sum := e.pkg(t, v)
	return append([]string{"-subscription", azuretest.Subscription, "-resource-group", azuretest.ResourceGroup, "-app", app,
		"-package-url", url, "-sha256", sum, "-semver", v, "-commit", "c0ffee"}, extra...)
}

// production reads the production route through an adapter of the test's
// own.
func (e *emulated) production(t *testing.T) provider.Route {
	t.Helper()
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, e.srv.Credential(), azurefunc.Options{}, e.srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Route(t.Context(), app, azurefunc.DefaultProductionAlias)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *emulated) rules(t *testing.T) string {
	t.Helper()
	r, err := e.srv.RampUpRules(app)
	if err != nil {
		t.Fatal(err)
	}
	return string(r)
}

// scene releases v1.0.0 with -first (straight to production) and then
// sends production 40 requests a second. It returns production's route.
func (e *emulated) scene(t *testing.T) provider.Route {
	t.Helper()
	if err := e.run(t, e.args(t, "1.0.0", "-first")...); err != nil {
		t.Fatalf("release 1.0.0: %v\n%s", err, e.log.String())
	}
	if err := e.srv.SetLoad(app, 40); err != nil {
		t.Fatal(err)
	}
	prod := e.production(t)
	if len(prod.Weights) != 1 {
		t.Fatalf("production after the first release: %v, want one version", prod.Weights)
	}
	e.log.Reset()
	e.srv.ResetOps()
	return prod
}

// writes are the calls among ops that change anything but deployment
// records (where Publish records a version).
func writes(ops []string) []string {
	var w []string
	for _, op := range ops {
		if strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") || op == "Metrics_List" || strings.HasPrefix(op, "CreateDeployment") {
			continue
		}
		w = append(w, op)
	}
	return w
}

// TestFlagsRefusedBeforeAnyCall: a release without a required flag or
// with an unknown strategy fails before the program asks for a token or
// calls Azure; a malformed flag is a parse error.
func TestFlagsRefusedBeforeAnyCall(t *testing.T) {
	e := newEmulated(t)
	url, _ := e.pkg(t, "1.0.0")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no subscription", []string{"-resource-group", "rg", "-app", app, "-package-url", url}, "required"},
		{"no resource group", []string{"-subscription", "s", "-app", app, "-package-url", url}, "required"},
		{"no app", []string{"-subscription", "s", "-resource-group", "rg", "-package-url", url}, "required"},
		{"no package", []string{"-subscription", "s", "-resource-group", "rg", "-app", app}, "required"},
		{"unknown strategy", []string{"-subscription", "s", "-resource-group", "rg", "-app", app, "-package-url", url, "-strategy", "Slowly"}, "Slowly"},
		{"malformed flag", []string{"-subscription", "s", "-max-error-rate", "low"}, "invalid value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := e.run(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want an error mentioning %q", err, tt.want)
			}
			if ops := e.srv.Ops(); len(ops) != 0 {
				t.Errorf("%d API calls before the refusal: %v", len(ops), ops)
			}
			if n := e.cred.calls.Load(); n != 0 {
				t.Errorf("asked for a token %d times before the refusal", n)
			}
		})
	}
}

// TestFirstReleaseNeedsFirst: on an app no slipway release ever ran in,
// a release without -first reads production, refuses, and writes nothing
// — not even a version record.
func TestFirstReleaseNeedsFirst(t *testing.T) {
	e := newEmulated(t)
	err := e.run(t, e.args(t, "1.0.0")...)
	if !errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "-first") {
		t.Fatalf("run = %v, want ErrNotFound and a hint at -first", err)
	}
	ops := e.srv.Ops()
	if len(ops) == 0 {
		t.Error("refused without reading production")
	}
	for _, op := range ops {
		if !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			t.Errorf("the refused release called %s", op)
		}
	}
}

// TestDryRunLeavesTrafficAlone: -dry-run records the version and logs
// the plan (one line a step) but changes no slot, setting, rule or route.
func TestDryRunLeavesTrafficAlone(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	if err := e.run(t, e.args(t, "1.1.0", "-dry-run")...); err != nil {
		t.Fatalf("dry run: %v\n%s", err, e.log.String())
	}
	if w := writes(e.srv.Ops()); len(w) != 0 {
		t.Errorf("the dry run wrote %v", w)
	}
	if prod := e.production(t); !prod.SameTraffic(stable) {
		t.Errorf("production after the dry run: %v, want %v", prod.Weights, stable.Weights)
	}
	log := e.log.String()
	if n := strings.Count(log, "msg=plan"); n != 2 {
		t.Errorf("logged %d plan lines, want 2 (10%% for 5m, then 100%%):\n%s", n, log)
	}
	if !strings.Contains(log, "msg=recorded") || !strings.Contains(log, "semver=1.1.0") {
		t.Errorf("the dry run did not log the recorded version:\n%s", log)
	}
}

// TestHealthyReleasePromoted: v1.1.0 fails no more than v1.0.0; it runs
// in the ramp-up slot with 10% of production for five minutes of judged
// windows and is promoted by slot swap: production runs it and no rule is
// left. The subscription comes from $AZURE_SUBSCRIPTION_ID, as
// documented.
func TestHealthyReleasePromoted(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	t.Setenv("AZURE_SUBSCRIPTION_ID", azuretest.Subscription)
	start := e.vc.Now()
	if err := e.run(t, e.args(t, "1.1.0")[2:]...); err != nil { // without -subscription
		t.Fatalf("release 1.1.0: %v\n%s", err, e.log.String())
	}
	t.Logf("promoted after %s of virtual time, %d API calls", e.vc.Now().Sub(start), len(e.srv.Ops()))
	prod := e.production(t)
	if prod.Share(stable.Primary()) != 0 || len(prod.Weights) != 1 {
		t.Fatalf("production after the release: %v, want all on the new version (stable was %s)", prod.Weights, stable.Primary())
	}
	if r := e.rules(t); r != "[]" {
		t.Errorf("ramp-up rules after the promotion: %s, want none", r)
	}
	ops := strings.Join(e.srv.Ops(), " ")
	if !strings.Contains(ops, "SwapSlot") || !strings.Contains(ops, "Metrics_List") {
		t.Errorf("the release did not judge metrics and swap: %s", ops)
	}
	if log := e.log.String(); !strings.Contains(log, "msg=\"promoted by slot swap\"") || !strings.Contains(log, "version="+prod.Primary()) {
		t.Errorf("the log does not say promoted:\n%s", log)
	}
}

// TestFaultyReleaseRolledBack: v1.1.0's package answers 15% of requests
// with a 5xx; the first judged window at 10% fails the error-rate check,
// the ramp-up rule is cleared and production never stops running v1.0.0.
func TestFaultyReleaseRolledBack(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	a := e.args(t, "1.1.0")
	sum := a[9] // -sha256's value
	if err := e.srv.SetBehavior(app, sum, azuretest.Behavior{ErrorRate: 0.15, ResponseTime: 80 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := e.vc.Now()
	err := e.run(t, a...)
	if !errors.Is(err, canary.ErrRolledBack) {
		t.Fatalf("release 1.1.0: %v, want ErrRolledBack\n%s", err, e.log.String())
	}
	t.Logf("rolled back after %s of virtual time: %v", e.vc.Now().Sub(start), err)
	if log := e.log.String(); !strings.Contains(log, `check \"error rate\" failed`) {
		t.Errorf("the log does not say the error-rate check failed:\n%s", log)
	}
	if prod := e.production(t); !prod.SameTraffic(stable) {
		t.Errorf("production after the rollback: %v, want %v", prod.Weights, stable.Weights)
	}
	if r := e.rules(t); r != "[]" {
		t.Errorf("ramp-up rules after the rollback: %s, want none", r)
	}
	for _, op := range e.srv.Ops() {
		if strings.HasPrefix(op, "Swap") {
			t.Errorf("the faulty version was swapped in (%s)", op)
		}
	}
}

// TestAllAtOnce: -strategy AllAtOnce, one of the documented presets, has
// no canary share to judge: the package is swapped in without reading
// metrics.
func TestAllAtOnce(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	if err := e.run(t, e.args(t, "1.1.0", "-strategy", "AllAtOnce")...); err != nil {
		t.Fatalf("release 1.1.0: %v\n%s", err, e.log.String())
	}
	if prod := e.production(t); prod.Share(stable.Primary()) != 0 || len(prod.Weights) != 1 {
		t.Fatalf("production after the release: %v, want all on the new version", prod.Weights)
	}
	for _, op := range e.srv.Ops() {
		if op == "Metrics_List" {
			t.Errorf("an all-at-once release read metrics")
		}
	}
}
