package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// semverOf returns the semantic version of the version production sends
// all its traffic to.
func productionSemver(t *testing.T, o outcome) string {
	t.Helper()
	if len(o.production.Weights) != 1 {
		t.Fatalf("production splits its traffic: %+v", o.production)
	}
	for _, v := range o.versions {
		if v.ID == o.production.Primary() {
			return v.Labels[provider.LabelSemver]
		}
	}
	t.Fatalf("production's version %s is not among the versions", o.production.Primary())
	return ""
}

func TestQuickstart(t *testing.T) {
	for _, strategy := range []string{"Canary10Percent5Minutes", "Linear10PercentEvery1Minute", "Canary10Percent30Minutes"} {
		t.Run(strategy, func(t *testing.T) {
			var out strings.Builder
			o, err := run(context.Background(), config{strategy: strategy}, &out)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			if len(o.results) != 3 {
				t.Fatalf("%d releases, want 3 (the scene, the healthy one, the faulty one)", len(o.results))
			}
			healthy, faulty := o.results[1], o.results[2]
			if healthy.Semver != "1.1.0" || healthy.Outcome != release.OutcomePromoted {
				t.Errorf("healthy release: v%s %s", healthy.Semver, healthy.Outcome)
			}
			if faulty.Semver != "1.2.0" || faulty.Outcome != release.OutcomeRolledBack {
				t.Errorf("faulty release: v%s %s", faulty.Semver, faulty.Outcome)
			}
			if got := productionSemver(t, o); got != "1.1.0" {
				t.Errorf("production ends on v%s, want v1.1.0", got)
			}
			var pruned, kept100 bool
			for _, r := range o.results {
				pruned = pruned || len(r.Summary.Pruned) > 0
			}
			for _, v := range o.versions {
				kept100 = kept100 || v.Labels[provider.LabelSemver] == "1.0.0"
			}
			if !pruned || !kept100 {
				t.Errorf("retention: pruned something %v, kept v1.0.0 (the rollback point) %v", pruned, kept100)
			}
			var rollbacks int
			for _, e := range o.journal {
				if e.Kind == journal.EntryRollback {
					rollbacks++
				}
			}
			if rollbacks != 1 {
				t.Errorf("journal has %d rollbacks, want 1", rollbacks)
			}
			text := out.String()
			for _, want := range []string{"v1.1.0 promoted", "v1.2.0 rolled back", "verdict at", "sequential fail", "journal:", "retention:", "deleted version"} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

// All at once has nothing to compare the candidate with: the faulty
// version reaches everyone, which is what the canary strategies prevent.
func TestQuickstartAllAtOnce(t *testing.T) {
	o, err := run(context.Background(), config{strategy: "AllAtOnce"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := productionSemver(t, o); got != "1.2.0" {
		t.Errorf("production ends on v%s, want v1.2.0", got)
	}
}

func TestQuickstartSummaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.md")
	if _, err := run(context.Background(), config{strategy: "Canary10Percent5Minutes", summary: path}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"promoted", "rolled back", "1.1.0", "1.2.0", "| Time |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestQuickstartFlags(t *testing.T) {
	c, err := parseFlags([]string{"-strategy", "Linear10PercentEvery2Minutes", "-real-time"}, io.Discard)
	if err != nil || c.strategy != "Linear10PercentEvery2Minutes" || !c.realTime {
		t.Errorf("parseFlags: %+v, %v", c, err)
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.strategy != "Canary10Percent5Minutes" || c.realTime {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if _, err := parseFlags([]string{"-strategy", "Canary99"}, io.Discard); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("unknown strategy: %v", err)
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("unexpected argument accepted")
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// Interrupting the quickstart mid-canary (SIGINT) rolls production back.
func TestQuickstartInterruptRollsBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOn{w: io.Discard, text: "verdict at", cancel: cancel}
	o, err := run(ctx, config{strategy: "Canary10Percent5Minutes"}, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if len(o.results) != 2 || o.results[1].Outcome != release.OutcomeRolledBack {
		t.Fatalf("interrupted release: %+v", o.results)
	}
}

// cancelOn cancels when the output first contains text.
type cancelOn struct {
	w      io.Writer
	text   string
	cancel func()
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.text) {
		c.cancel()
	}
	return c.w.Write(p)
}

// TestQuickstartPagerDuty pages through an Events API v2 stand-in: the
// faulty release's rollback triggers one alert keyed by its release; the
// promotions trigger nothing (there is nothing open to resolve).
func TestQuickstartPagerDuty(t *testing.T) {
	var mu sync.Mutex
	var events []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed"}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("PAGERDUTY_ROUTING_KEY", "0123456789abcdef0123456789abcdef")
	var out strings.Builder
	o, err := run(context.Background(), config{strategy: "Canary10Percent5Minutes", pagerDuty: srv.URL + "/v2/enqueue"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	faulty := o.results[2]
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0]["event_action"] != "trigger" || events[0]["dedup_key"] != "slipway/checkout/production/"+faulty.Release ||
		events[0]["routing_key"] != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("events %v, want one trigger for %s", events, faulty.Release)
	}
	t.Setenv("PAGERDUTY_ROUTING_KEY", "")
	if _, err := run(context.Background(), config{strategy: "Canary10Percent5Minutes", pagerDuty: srv.URL}, io.Discard); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("without a routing key: %v, want ErrInvalid", err)
	}
}

// TestQuickstartGCPRun runs the job on the Cloud Run functions adapter and
// its in-process emulator: the same outcomes as on the memory provider,
// with revisions as versions, production as the service's traffic split
// and staging as a traffic tag.
func TestQuickstartGCPRun(t *testing.T) {
	o := runOn(t, "gcprun", "deleted version checkout-00001-")
	for _, v := range o.versions {
		if !strings.HasPrefix(v.ID, function+"-000") {
			t.Errorf("version %q is not a Cloud Run revision name", v.ID)
		}
	}
}

// runOn runs the job on provider p and checks the outcomes every provider
// gives: three releases, v1.1.0 promoted, v1.2.0 rolled back, production
// ending on v1.1.0, and the output saying so and deleted.
func runOn(t *testing.T, p, deleted string) outcome {
	t.Helper()
	var out strings.Builder
	o, err := run(context.Background(), config{provider: p, strategy: "Canary10Percent5Minutes"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(o.results) != 3 {
		t.Fatalf("%d releases, want 3", len(o.results))
	}
	if h := o.results[1]; h.Semver != "1.1.0" || h.Outcome != release.OutcomePromoted {
		t.Errorf("healthy release: v%s %s", h.Semver, h.Outcome)
	}
	if f := o.results[2]; f.Semver != "1.2.0" || f.Outcome != release.OutcomeRolledBack {
		t.Errorf("faulty release: v%s %s", f.Semver, f.Outcome)
	}
	if got := productionSemver(t, o); got != "1.1.0" {
		t.Errorf("production ends on v%s, want v1.1.0", got)
	}
	for _, want := range []string{"v1.1.0 promoted", "v1.2.0 rolled back", deleted} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	return o
}

func TestQuickstartProviderFlag(t *testing.T) {
	if c, err := parseFlags([]string{"-provider", "gcprun"}, io.Discard); err != nil || c.provider != "gcprun" {
		t.Errorf("-provider gcprun: %+v, %v", c, err)
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.provider != "memory" {
		t.Errorf("default provider: %+v, %v", c, err)
	}
	if c, err := parseFlags([]string{"-provider", "azurefunc"}, io.Discard); err != nil || c.provider != "azurefunc" {
		t.Errorf("-provider azurefunc: %+v, %v", c, err)
	}
	if _, err := parseFlags([]string{"-provider", "azure"}, io.Discard); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("unknown provider: %v", err)
	}
}

// TestQuickstartAzureFunctions runs the job on the Azure Functions adapter
// and its emulator: the same outcomes, with the canary as a ramp-up rule to
// the ramp-up slot and promotion as a slot swap.
func TestQuickstartAzureFunctions(t *testing.T) {
	runOn(t, "azurefunc", "deleted version")
}
