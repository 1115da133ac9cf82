package integration_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

type gcpWorld struct {
	services bool // functions are Cloud Run services deploying images
	clk      *canary.VirtualClock
	srv      *runtest.Server
	p        *gcprun.Provider
	w        *release.Workflow
}

// gcpEmulated is the Cloud Run emulator on a virtual clock at 09:00
// (operations finishing after two polls, metrics a minute late, revision
// URLs served in process) and the adapter pointed at it by client options
// only, with the route "production" and a two-minute metrics delay.
func gcpEmulated(t *testing.T, services bool) (*canary.VirtualClock, *runtest.Server, *gcprun.Provider) {
	t.Helper()
	clk := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	srv := runtest.NewServer(runtest.Options{Now: clk.Now, Polls: 2, MetricsDelay: time.Minute})
	t.Cleanup(srv.Close)
	p, err := gcprun.New(context.Background(), gcprun.Options{
		Project: srv.Project(), Location: srv.Location(), Route: "production", Services: services,
		Now: clk.Now, Sleep: clk.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
		InvokeClient: &http.Client{Transport: srv.InvokeTransport()},
	}, srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return clk, srv, p
}

// newWorld is the emulator (operations finishing after two polls, metrics
// a minute late), the adapter pointed at it by client options only, and a
// release workflow with stages staging (a traffic tag) and production (the
// service's split), Canary10Percent5Minutes with one-minute windows and an
// error-rate check relative to the stable revision.
func newGCPWorld(t *testing.T, services bool) *gcpWorld {
	t.Helper()
	clk, srv, p := gcpEmulated(t, services)
	s, err := canary.Preset("Canary10Percent5Minutes")
	if err != nil {
		t.Fatal(err)
	}
	s.Interval = time.Minute
	s.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}}}
	wd := &gcpWorld{services: services, clk: clk, srv: srv, p: p}
	wd.w, err = release.New(release.Options{
		Runner:   canary.RunnerOptions{Provider: p, Metrics: p, Clock: clk, MetricsLag: 2 * time.Minute},
		Actor:    "test",
		Stages:   release.Stages{Staging: "staging", Production: "production"},
		Strategy: s,
		OnEvent: func(e release.Event) {
			if e.Kind != release.EventPublished {
				return
			}
			b := runtest.Behavior{ErrorRate: 0.002, P50: 30 * time.Millisecond, P90: 60 * time.Millisecond, P99: 120 * time.Millisecond}
			if e.Semver == "1.2.0" {
				b.ErrorRate = 0.15
			}
			if err := srv.SetBehavior(fn, e.Candidate, b); err != nil {
				t.Error(err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func (wd *gcpWorld) release(t *testing.T, sv string, s *canary.Strategy) (release.Result, error) {
	t.Helper()
	v := semver.MustParse(sv)
	var (
		res release.Result
		err error
	)
	wd.clk.Run(func() {
		res, err = wd.w.Release(context.Background(), release.Request{
			Function: fn, Strategy: s,
			Publish: release.PublishRequest{Artifact: wd.artifact(sv), Config: gcpConfig(), Semver: &v},
		})
	})
	return res, err
}

// artifact is the code of version sv: a source zip for Cloud Functions,
// an image by digest for a Cloud Run service.
func (wd *gcpWorld) artifact(sv string) provider.Artifact {
	if !wd.services {
		return gcpZip("checkout " + sv)
	}
	d := fmt.Sprintf("%064x", sha256.Sum256([]byte(sv)))
	return provider.Artifact{Image: "us-docker.pkg.dev/p/app/checkout@sha256:" + d, SHA256: d}
}

func gcpConfig() provider.Config {
	return provider.Config{Runtime: "go125", Handler: "Checkout", MemoryMB: 256, Timeout: 30 * time.Second,
		Environment: map[string]string{"PAYMENTS_URL": "https://payments.internal"}}
}

// TestReleaseCanaryEndToEnd releases v1.0.0 all at once (creating the
// function), then v1.1.0 (healthy: promoted after the 5-minute bake) and
// v1.2.0 (15% errors: rolled back on its first judged window) through
// release.Workflow, the adapter, the Google Cloud clients and the emulator.
func TestReleaseCanaryEndToEnd(t *testing.T) {
	testReleaseCanary(t, false)
}

// TestReleaseCanaryEndToEndServices is the same with Options.Services: a
// Cloud Run service managed directly, releases of container images.
func TestReleaseCanaryEndToEndServices(t *testing.T) {
	testReleaseCanary(t, true)
}

func testReleaseCanary(t *testing.T, services bool) {
	wd := newGCPWorld(t, services)
	all := canary.AllAtOnce()
	if _, err := wd.release(t, "1.0.0", &all); err != nil {
		t.Fatalf("release 1.0.0: %v", err)
	}
	if err := wd.srv.SetLoad(fn, 40); err != nil {
		t.Fatal(err)
	}
	v1, err := wd.p.Route(t.Context(), fn, "production")
	if err != nil {
		t.Fatal(err)
	}

	wd.srv.ResetRequests()
	res, err := wd.release(t, "1.1.0", nil)
	if err != nil || res.Outcome != release.OutcomePromoted {
		t.Fatalf("release 1.1.0: %s, %v; want promoted", res.Outcome, err)
	}
	healthy := wd.srv.Requests()
	prod, err := wd.p.Route(t.Context(), fn, "production")
	if err != nil {
		t.Fatal(err)
	}
	if !prod.SameTraffic(provider.To("production", res.Candidate)) {
		t.Fatalf("production after promoting %s: %v", res.Candidate, prod.Weights)
	}
	if !services {
		stepCalls(t, healthy)
	}

	res, err = wd.release(t, "1.2.0", nil)
	if !errors.Is(err, canary.ErrRolledBack) || res.Outcome != release.OutcomeRolledBack {
		t.Fatalf("release 1.2.0: %s, %v; want rolled back", res.Outcome, err)
	}
	after, err := wd.p.Route(t.Context(), fn, "production")
	if err != nil {
		t.Fatal(err)
	}
	if !after.SameTraffic(prod) {
		t.Errorf("production after the rollback: %v, want %v (v1.1.0) again", after.Weights, prod.Weights)
	}
	if after.Primary() == v1.Primary() {
		t.Errorf("production is back on v1.0.0's revision %s, want v1.1.0's", v1.Primary())
	}
	staging, err := wd.p.Route(t.Context(), fn, "staging")
	if err != nil || staging.Primary() != res.Candidate {
		t.Errorf("staging = %v, %v; want the tag on the rolled-back candidate %s", staging.Weights, err, res.Candidate)
	}
}

// stepCalls asserts the request sequence of the first canary step (the
// candidate at 10%) and logs the calls of each phase of the healthy
// release. A step is: read the service, write the split with its etag,
// poll the operation until done (two polls with Options.Polls 2), then
// one analysis window after another: the runner reads the route back
// (GetService) and the metrics (two ListTimeSeries: counts, latencies).
func stepCalls(t *testing.T, reqs []runtest.Request) {
	t.Helper()
	var seq []string
	for _, r := range reqs {
		seq = append(seq, r.Method)
	}
	t.Logf("healthy release, %d calls: %s", len(seq), strings.Join(seq, " "))
	// The first UpdateService that moves production traffic is the 10%
	// step; it follows the publish (lease, deploy, record) and staging.
	at := -1
	for i := range seq {
		if seq[i] == "UpdateService" && i+3 < len(seq) && seq[i+1] == "GetOperation" && seq[i+2] == "GetOperation" &&
			strings.Count(strings.Join(seq[:i], " "), "UpdateService") == 3 {
			at = i
			break
		}
	}
	if at < 1 {
		t.Fatalf("no 10%% step (fourth UpdateService) in %v", seq)
	}
	want := []string{"GetService", "UpdateService", "GetOperation", "GetOperation"}
	if got := seq[at-1 : at+3]; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the 10%% step's writes = %v, want %v", got, want)
	}
	// The window after the write, up to the next route write.
	next := at + 3
	for next < len(seq) && seq[next] != "UpdateService" {
		next++
	}
	window := seq[at+3 : next-1] // the last GetService belongs to the next write
	counts := map[string]int{}
	for _, m := range window {
		counts[m]++
	}
	t.Logf("API calls of the 10%% step: write %v, then during the 5-minute bake %v (%d calls)", want, counts, len(window))
	if counts["ListTimeSeries"] == 0 || counts["ListTimeSeries"]%2 != 0 {
		t.Errorf("ListTimeSeries calls in the bake: %d, want pairs (counts, latencies) per window", counts["ListTimeSeries"])
	}
	if extra := len(window) - counts["ListTimeSeries"] - counts["GetService"] - counts["GetFunction"]; extra != 0 {
		t.Errorf("the bake made %d calls other than GetService and ListTimeSeries: %v", extra, window)
	}
}

// TestFinerThanAPercentRefused: a strategy with a 0.5% step cannot run on
// Cloud Run (whole percents); the workflow refuses it before any call.
func TestFinerThanAPercentRefused(t *testing.T) {
	wd := newGCPWorld(t, false)
	s := canary.Strategy{Steps: []canary.Step{{Weight: 50, Bake: time.Minute}, {Weight: provider.AllTraffic}}, Interval: time.Minute}
	_, err := wd.release(t, "1.0.0", &s)
	if !errors.Is(err, provider.ErrUnsupported) {
		t.Fatalf("release with a 0.5%% step: %v, want ErrUnsupported", err)
	}
	if reqs := wd.srv.Requests(); len(reqs) != 0 {
		t.Errorf("%d API calls before the refusal, want none: %v", len(reqs), reqs)
	}
	if err := wd.p.Capabilities().CheckWeight(50); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("CheckWeight(50) = %v, want ErrUnsupported", err)
	}
}

func gcpZip(contents string) provider.Artifact {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "main.go", Method: zip.Store})
	if err == nil {
		_, err = fmt.Fprintf(w, "package checkout // %s\n", contents)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err)
	}
	return provider.Artifact{Zip: buf.Bytes()}
}
