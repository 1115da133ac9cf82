package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/release"
)

// emulated is the program's world in a test: the Cloud Run functions
// emulator (metrics a minute late), a virtual clock, and what the program
// printed and logged.
type emulated struct {
	srv *runtest.Server
	vc  *canary.VirtualClock
	out strings.Builder // the events run prints
	log bytes.Buffer    // its log
	// faulty is the error rate given to the revision of each semantic
	// version when it is published; other revisions fail 0.2%.
	faulty map[string]float64
}

func newEmulated(t *testing.T) *emulated {
	t.Helper()
	vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	e := &emulated{vc: vc, srv: runtest.NewServer(runtest.Options{Now: vc.Now, MetricsDelay: time.Minute}), faulty: map[string]float64{}}
	t.Cleanup(e.srv.Close)
	// Nothing may come from the machine's own Google configuration.
	t.Setenv("GOOGLE_CLOUD_PROJECT", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "none.json"))
	return e
}

// run parses args as the command line does and runs the program on the
// emulator as the virtual clock's participant.
func (e *emulated) run(t *testing.T, args ...string) error {
	t.Helper()
	fs := flag.NewFlagSet("gcprun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	d := deps{
		out: &e.out, log: slog.New(slog.NewTextHandler(&e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		clientOptions: e.srv.ClientOptions(), clock: e.vc,
		onEvent: func(ev release.Event) {
			if ev.Kind != release.EventPublished {
				return
			}
			rate, bad := e.faulty[ev.Semver]
			if !bad {
				rate = 0.002
			}
			b := runtest.Behavior{ErrorRate: rate, P50: 30 * time.Millisecond, P90: 60 * time.Millisecond, P99: 120 * time.Millisecond}
			if err := e.srv.SetBehavior("checkout", ev.Candidate, b); err != nil {
				t.Error(err)
			}
		},
	}
	e.vc.Run(func() { err = run(t.Context(), f, d) })
	return err
}

// production reads the service's traffic split through an adapter of the
// test's own.
func (e *emulated) production(t *testing.T) provider.Route {
	t.Helper()
	return e.route(t, gcprun.DefaultRoute)
}

// route reads a route of checkout through an adapter of the test's own.
func (e *emulated) route(t *testing.T, name string) provider.Route {
	t.Helper()
	p, err := gcprun.New(t.Context(), gcprun.Options{Project: e.srv.Project(), Location: e.srv.Location()}, e.srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := p.Route(t.Context(), "checkout", name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// source writes a source archive of version v and returns its path.
func source(t *testing.T, v string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("checkout.go")
	if err == nil {
		_, err = io.WriteString(w, "package checkout // "+v+"\n")
	}
	if err == nil {
		err = zw.Close()
	}
	path := filepath.Join(t.TempDir(), "checkout-"+v+".zip")
	if err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// args are the command line of a release of version v.
func args(t *testing.T, v string, extra ...string) []string {
	return append([]string{"-project", "slipway-test", "-location", "us-central1", "-function", "checkout",
		"-zip", source(t, v), "-entry-point", "Checkout", "-semver", v, "-commit", "c0ffee"}, extra...)
}

// scene releases v1.0.0 (creating the function) and then sends its
// service 40 requests a second. It returns production's split.
func (e *emulated) scene(t *testing.T) provider.Route {
	t.Helper()
	if err := e.run(t, args(t, "1.0.0", "-strategy", "AllAtOnce")...); err != nil {
		t.Fatalf("release 1.0.0: %v\n%s", err, e.out.String())
	}
	if err := e.srv.SetLoad("checkout", 40); err != nil {
		t.Fatal(err)
	}
	prod := e.production(t)
	if len(prod.Weights) != 1 {
		t.Fatalf("production after the first release: %v, want one revision", prod.Weights)
	}
	e.out.Reset()
	e.srv.ResetRequests()
	return prod
}

// TestFlagsRefusedBeforeAnyCall: a release without a required flag, with
// a bad value or an unreadable archive fails before the program calls
// any Google API; a malformed flag is a parse error.
func TestFlagsRefusedBeforeAnyCall(t *testing.T) {
	e := newEmulated(t)
	zip := source(t, "1.0.0")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no project", []string{"-function", "checkout", "-zip", zip, "-semver", "1.0.0"}, "required"},
		{"no function", []string{"-project", "p", "-zip", zip, "-semver", "1.0.0"}, "required"},
		{"no zip", []string{"-project", "p", "-function", "checkout", "-semver", "1.0.0"}, "required"},
		{"no semver", []string{"-project", "p", "-function", "checkout", "-zip", zip}, "required"},
		{"bad semver", []string{"-project", "p", "-function", "checkout", "-zip", zip, "-semver", "one"}, "one"},
		{"unknown strategy", []string{"-project", "p", "-function", "checkout", "-zip", zip, "-semver", "1.0.0", "-strategy", "Slowly"}, "Slowly"},
		{"missing archive", []string{"-project", "p", "-function", "checkout", "-zip", zip + ".gone", "-semver", "1.0.0"}, "no such file"},
		{"malformed flag", []string{"-project", "p", "-memory", "lots"}, "invalid value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := e.run(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want an error mentioning %q", err, tt.want)
			}
			if reqs := e.srv.Requests(); len(reqs) != 0 {
				t.Errorf("%d API calls before the refusal: %v", len(reqs), reqs)
			}
		})
	}
}

// TestHealthyReleasePromoted: v1.1.0 fails as rarely as v1.0.0; it is
// tagged staging, takes 10% of the split for five minutes of judged
// windows, and ends with the whole split. The project comes from
// $GOOGLE_CLOUD_PROJECT, as documented.
func TestHealthyReleasePromoted(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	t.Setenv("GOOGLE_CLOUD_PROJECT", e.srv.Project())
	start := e.vc.Now()
	a := args(t, "1.1.0")[2:] // without -project
	if err := e.run(t, a...); err != nil {
		t.Fatalf("release 1.1.0: %v\n%s", err, e.out.String())
	}
	t.Logf("promoted after %s of virtual time, %d API calls", e.vc.Now().Sub(start), len(e.srv.Requests()))
	prod := e.production(t)
	if prod.Share(stable.Primary()) != 0 || len(prod.Weights) != 1 {
		t.Fatalf("production after the release: %v, want all on the new revision (stable was %s)", prod.Weights, stable.Primary())
	}
	if staging := e.route(t, "staging"); !staging.SameTraffic(provider.To("staging", prod.Primary())) {
		t.Errorf("the staging tag is on %v, want the new revision %s", staging.Weights, prod.Primary())
	}
	out := e.out.String()
	for _, want := range []string{"published: " + prod.Primary() + " (v1.1.0)", "weight set: 10% to " + prod.Primary(), "verdict at 10%", "promoted: " + prod.Primary()} {
		if !strings.Contains(out, want) {
			t.Errorf("the events lack %q:\n%s", want, out)
		}
	}
	if !strings.Contains(e.log.String(), "msg=promoted") {
		t.Errorf("the log does not say promoted:\n%s", e.log.String())
	}
}

// TestFaultyReleaseRolledBack: v1.1.0's revision fails 15% of its
// requests; the first judged window at 10% fails the error-rate check and
// the split goes back to v1.0.0's revision, the program failing with the
// reason.
func TestFaultyReleaseRolledBack(t *testing.T) {
	e := newEmulated(t)
	stable := e.scene(t)
	e.faulty["1.1.0"] = 0.15
	start := e.vc.Now()
	err := e.run(t, args(t, "1.1.0")...)
	if err == nil || !strings.Contains(err.Error(), "rolled back 1.1.0") {
		t.Fatalf("release 1.1.0: %v, want rolled back\n%s", err, e.out.String())
	}
	t.Logf("rolled back after %s of virtual time: %v", e.vc.Now().Sub(start), err)
	if prod := e.production(t); !prod.SameTraffic(stable) {
		t.Fatalf("production after the rollback: %v, want %v again", prod.Weights, stable.Weights)
	}
	out := e.out.String()
	for _, want := range []string{"weight set: 10% to", "error rate fail", "rolled back: back on " + stable.Primary()} {
		if !strings.Contains(out, want) {
			t.Errorf("the events lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "canary   live        weight set: 100%") {
		t.Errorf("the faulty revision got all of production:\n%s", out)
	}
}
