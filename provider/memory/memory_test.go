package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// newClock returns the tests' virtual clock.
func newClock() *providertest.Clock {
	return providertest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

func newTest(t testing.TB, opts Options) (*Provider, *providertest.Clock) {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = c.Sleep
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func w(version string, bp int) provider.Weight {
	return provider.Weight{Version: version, BasisPoints: bp}
}

func zip(s string) provider.PublishInput {
	return provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(s)}}
}

func mustPublish(t testing.TB, p *Provider, fn, code string) provider.Version {
	t.Helper()
	v, err := p.Publish(context.Background(), fn, zip(code))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustSetRoute(t testing.TB, p *Provider, fn string, r provider.Route) provider.Route {
	t.Helper()
	got, err := p.SetRoute(context.Background(), fn, r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPublishIDsAndIdempotence(t *testing.T) {
	ctx := context.Background()
	p, c := newTest(t, Options{})
	in := zip("code-a")
	in.Config = provider.Config{Runtime: "provided.al2023", Environment: map[string]string{}}
	in.Labels = map[string]string{provider.LabelSemver: "1.0.0"}
	v1, err := p.Publish(ctx, "fn", in)
	if err != nil {
		t.Fatal(err)
	}
	if v1.ID != "1" || !v1.Created.Equal(c.Now()) || len(v1.CodeSHA256) != 64 {
		t.Fatalf("first version = %+v", v1)
	}
	c.Advance(time.Minute)
	again := in
	again.Config.Environment = nil // Equal treats nil and empty alike
	again.Labels = map[string]string{provider.LabelSemver: "9.9.9"}
	v1b, err := p.Publish(ctx, "fn", again)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v1, v1b); diff != "" {
		t.Errorf("republish returned a different version (-want +got):\n%s", diff)
	}
	other := in
	other.Config.MemoryMB = 256
	v2, err := p.Publish(ctx, "fn", other)
	if err != nil {
		t.Fatal(err)
	}
	if v2.ID != "2" {
		t.Errorf("new config: ID %q, want 2", v2.ID)
	}
	if v := mustPublish(t, p, "other", "x"); v.ID != "1" {
		t.Errorf("second function's first ID %q, want 1", v.ID)
	}
	// Returned versions are copies: changing them changes nothing stored.
	v1.Labels[provider.LabelSemver] = "mutated"
	got, err := p.Version(ctx, "fn", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels[provider.LabelSemver] != "1.0.0" {
		t.Errorf("stored version was mutated through a returned copy: %v", got.Labels)
	}
}

func TestPublishHashes(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	in := provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("x"), SHA256: digest}}
	if _, err := p.Publish(ctx, "fn", in); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("zip with a wrong sha256: err = %v, want ErrInvalid", err)
	}
	img := provider.PublishInput{Artifact: provider.Artifact{Image: "repo/app:1", SHA256: digest}}
	v, err := p.Publish(ctx, "fn", img)
	if err != nil {
		t.Fatal(err)
	}
	if v.CodeSHA256 != digest {
		t.Errorf("image CodeSHA256 = %s, want the given digest", v.CodeSHA256)
	}
	uri := provider.PublishInput{Artifact: provider.Artifact{URI: "s3://b/k.zip"}}
	u1, _ := p.Publish(ctx, "fn", uri)
	u2, _ := p.Publish(ctx, "fn", uri)
	if u1.ID != "2" || u2.ID != "2" {
		t.Errorf("URI publishes got IDs %q, %q, want 2, 2", u1.ID, u2.ID)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	prod := mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	before := snapshot(t, p)

	tests := []struct {
		name  string
		call  func() error
		field string // named in the message
	}{
		{"publish empty function", func() error { _, err := p.Publish(ctx, "", zip("a")); return err }, "function"},
		{"publish no artifact", func() error { _, err := p.Publish(ctx, "fn", provider.PublishInput{}); return err }, "artifact"},
		{"publish empty zip", func() error {
			_, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte{}}})
			return err
		}, "artifact.zip"},
		{"publish two artifacts", func() error {
			_, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{URI: "s3://b/k", Image: "r/i:1"}})
			return err
		}, "artifact"},
		{"publish bad sha", func() error {
			_, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{URI: "s3://b/k", SHA256: "XYZ"}})
			return err
		}, "artifact.sha256"},
		{"publish negative memory", func() error {
			in := zip("c")
			in.Config.MemoryMB = -1
			_, err := p.Publish(ctx, "fn", in)
			return err
		}, "config.memoryMB"},
		{"publish negative timeout", func() error {
			in := zip("c")
			in.Config.Timeout = -time.Second
			_, err := p.Publish(ctx, "fn", in)
			return err
		}, "config.timeout"},
		{"publish empty env name", func() error {
			in := zip("c")
			in.Config.Environment = map[string]string{"": "x"}
			_, err := p.Publish(ctx, "fn", in)
			return err
		}, "config.environment"},
		{"version empty function", func() error { _, err := p.Version(ctx, "", "1"); return err }, "function"},
		{"version empty id", func() error { _, err := p.Version(ctx, "fn", ""); return err }, "version"},
		{"route empty alias", func() error { _, err := p.Route(ctx, "fn", ""); return err }, "alias"},
		{"route empty function", func() error { _, err := p.Route(ctx, "", "prod"); return err }, "function"},
		{"routes empty function", func() error { _, err := p.Routes(ctx, ""); return err }, "function"},
		{"delete empty function", func() error { return p.DeleteVersion(ctx, "", "1") }, "function"},
		{"delete empty id", func() error { return p.DeleteVersion(ctx, "fn", "") }, "version"},
		{"set route empty function", func() error { _, err := p.SetRoute(ctx, "", provider.To("prod", "1")); return err }, "function"},
		{"set route empty alias", func() error { _, err := p.SetRoute(ctx, "fn", provider.To("", "1")); return err }, "alias"},
		{"set route no weights", func() error { _, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x"}); return err }, "weights"},
		{"set route negative weight", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("1", 10001), w("2", -1)}})
			return err
		}, "weights[0].basisPoints"},
		{"set route over 10000", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("1", 10001)}})
			return err
		}, "weights[0].basisPoints"},
		{"set route bad sum", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("1", 5000), w("2", 4000)}})
			return err
		}, "weights"},
		{"set route duplicate", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("1", 5000), w("1", 5000)}})
			return err
		}, "weights[1].version"},
		{"set route empty version", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("", 10000)}})
			return err
		}, "weights[0].version"},
		{"set route zero primary", func() error {
			_, err := p.SetRoute(ctx, "fn", provider.Route{Alias: "x", Weights: []provider.Weight{w("1", 0), w("2", 10000)}})
			return err
		}, "weights[0].basisPoints"},
		{"set route unknown version", func() error { _, err := p.SetRoute(ctx, "fn", provider.Split("x", "1", "7", 100)); return err }, "weights[1].version"},
		{"set route non-canonical version", func() error { _, err := p.SetRoute(ctx, "fn", provider.To("x", "01")); return err }, "weights[0].version"},
		{"set route unknown version on update", func() error {
			r := provider.To("prod", "3")
			r.Revision = prod.Revision
			_, err := p.SetRoute(ctx, "fn", r)
			return err
		}, "weights[0].version"},
		{"observe empty function", func() error { _, err := p.Observe(ctx, provider.Query{}); return err }, "function"},
		{"observe no versions", func() error {
			_, err := p.Observe(ctx, provider.Query{Function: "fn", Period: time.Minute})
			return err
		}, "versions"},
		{"observe unaligned", func() error {
			s := time.Unix(30, 0)
			_, err := p.Observe(ctx, provider.Query{Function: "fn", Versions: []string{"1"}, Start: s, End: s.Add(time.Minute), Period: time.Minute})
			return err
		}, "start"},
		{"observe period not a multiple of resolution", func() error {
			s := time.Unix(0, 0)
			_, err := p.Observe(ctx, provider.Query{Function: "fn", Versions: []string{"1"}, Start: s, End: s.Add(time.Hour), Period: 90 * time.Second})
			return err
		}, "period"},
		{"observe too many periods", func() error {
			s := time.Unix(0, 0)
			_, err := p.Observe(ctx, provider.Query{Function: "fn", Versions: []string{"1"}, Start: s, End: s.Add(24 * 365 * time.Hour), Period: time.Minute})
			return err
		}, "end"},
		{"usage empty function", func() error { _, err := p.Usage(ctx, ""); return err }, "function"},
		{"event sources empty function", func() error { _, err := p.EventSources(ctx, ""); return err }, "function"},
		{"permissions empty function", func() error { _, err := p.Permissions(ctx, "", ""); return err }, "function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var ie *provider.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Errorf("err = %v, want the field %q named", err, tt.field)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Errorf("err = %v is not a *provider.Error", err)
			}
			if diff := cmp.Diff(before, snapshot(t, p)); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
	iterErr := func(seq func(func(provider.Version, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	if err := iterErr(p.Versions(ctx, "")); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Versions(\"\") err = %v, want ErrInvalid", err)
	}
}

// snapshot is everything a caller can read of fn.
func snapshot(t *testing.T, p *Provider) any {
	t.Helper()
	ctx := context.Background()
	var vs []provider.Version
	for v, err := range p.Versions(ctx, "fn") {
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	rs, err := p.Routes(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	return struct {
		V []provider.Version
		R []provider.Route
	}{vs, rs}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	tests := []struct {
		name string
		call func() error
	}{
		{"version of unknown function", func() error { _, err := p.Version(ctx, "nope", "1"); return err }},
		{"unknown version", func() error { _, err := p.Version(ctx, "fn", "9"); return err }},
		{"route of unknown function", func() error { _, err := p.Route(ctx, "nope", "prod"); return err }},
		{"unknown route", func() error { _, err := p.Route(ctx, "fn", "prod"); return err }},
		{"routes of unknown function", func() error { _, err := p.Routes(ctx, "nope"); return err }},
		{"set route on unknown function", func() error { _, err := p.SetRoute(ctx, "nope", provider.To("prod", "1")); return err }},
		{"update of missing route", func() error {
			r := provider.To("prod", "1")
			r.Revision = "12"
			_, err := p.SetRoute(ctx, "fn", r)
			return err
		}},
		{"delete unknown version", func() error { return p.DeleteVersion(ctx, "fn", "9") }},
		{"delete on unknown function", func() error { return p.DeleteVersion(ctx, "nope", "1") }},
		{"observe unknown function", func() error { _, err := p.Observe(ctx, query("nope", "", 0, 1, "1")); return err }},
		{"observe unknown alias", func() error { _, err := p.Observe(ctx, query("fn", "prod", 0, 1, "1")); return err }},
		{"observe unknown version", func() error { _, err := p.Observe(ctx, query("fn", "", 0, 1, "2")); return err }},
		{"usage of unknown function", func() error { _, err := p.Usage(ctx, "nope"); return err }},
		{"event sources of unknown function", func() error { _, err := p.EventSources(ctx, "nope"); return err }},
		{"permissions of unknown qualifier", func() error { _, err := p.Permissions(ctx, "fn", "prod"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Function == "" || pe.Op == "" {
				t.Errorf("err = %v, want a *provider.Error naming the operation and function", err)
			}
		})
	}
	for _, err := range p.Versions(ctx, "nope") {
		if !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("Versions of unknown function: err = %v, want ErrNotFound", err)
		}
	}
}

// query asks for one-minute periods [from, to) in minutes after the test
// clock's start.
func query(fn, alias string, from, to int, versions ...string) provider.Query {
	s := newClock().Now()
	return provider.Query{Function: fn, Alias: alias, Versions: versions,
		Start: s.Add(time.Duration(from) * time.Minute), End: s.Add(time.Duration(to) * time.Minute), Period: time.Minute}
}

func TestCancelledContext(t *testing.T) {
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Publish":       func() error { _, err := p.Publish(ctx, "fn", zip("b")); return err },
		"Version":       func() error { _, err := p.Version(ctx, "fn", "1"); return err },
		"Route":         func() error { _, err := p.Route(ctx, "fn", "prod"); return err },
		"Routes":        func() error { _, err := p.Routes(ctx, "fn"); return err },
		"SetRoute":      func() error { _, err := p.SetRoute(ctx, "fn", provider.To("dev", "1")); return err },
		"DeleteVersion": func() error { return p.DeleteVersion(ctx, "fn", "1") },
		"Observe":       func() error { _, err := p.Observe(ctx, query("fn", "", 0, 1, "1")); return err },
		"Usage":         func() error { _, err := p.Usage(ctx, "fn"); return err },
		"EventSources":  func() error { _, err := p.EventSources(ctx, "fn"); return err },
		"Permissions":   func() error { _, err := p.Permissions(ctx, "fn", ""); return err },
		"Versions": func() error {
			for _, err := range p.Versions(ctx, "fn") {
				return err
			}
			return nil
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
	if _, err := p.Route(context.Background(), "fn", "dev"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("SetRoute with a cancelled context created the route: %v", err)
	}
	if _, err := p.Version(context.Background(), "fn", "2"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Publish with a cancelled context published: %v", err)
	}
}

func TestSetRouteCAS(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	r1 := mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	if r1.Revision == "" {
		t.Fatal("created route has no revision")
	}
	if _, err := p.SetRoute(ctx, "fn", provider.To("prod", "2")); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("create of existing route: err = %v, want ErrConflict", err)
	}
	next := provider.Split("prod", "1", "2", 1000)
	next.Revision = r1.Revision
	r2 := mustSetRoute(t, p, "fn", next)
	if r2.Revision == r1.Revision || r2.Revision == "" {
		t.Errorf("revision did not change: %q → %q", r1.Revision, r2.Revision)
	}
	stale := provider.To("prod", "2")
	stale.Revision = r1.Revision
	if _, err := p.SetRoute(ctx, "fn", stale); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("stale revision: err = %v, want ErrConflict", err)
	}
	got, err := p.Route(ctx, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r2, got); diff != "" {
		t.Errorf("route after stale write (-want +got):\n%s", diff)
	}
	// A write that changes nothing still issues a new revision.
	same := got
	r3 := mustSetRoute(t, p, "fn", same)
	if r3.Revision == r2.Revision {
		t.Error("an identical write kept the revision")
	}
	rs, err := p.Routes(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]provider.Route{r3}, rs); diff != "" {
		t.Errorf("Routes (-want +got):\n%s", diff)
	}
}

func TestSetRouteCapabilities(t *testing.T) {
	ctx := context.Background()
	caps := provider.Capabilities{MaxRouteVersions: 0, Granularity: 100, DeleteVersions: false, SplitRoutes: []string{"main"}}
	p, _ := newTest(t, Options{Capabilities: &caps})
	for i := range 3 {
		mustPublish(t, p, "fn", strconv.Itoa(i))
	}
	three := provider.Route{Alias: "main", Weights: []provider.Weight{w("1", 5000), w("2", 3000), w("3", 2000)}}
	mustSetRoute(t, p, "fn", three)
	for _, r := range []provider.Route{
		provider.Split("tag", "1", "2", 1000), // tag may not split
		provider.Split("x", "1", "2", 150),    // not whole percents
	} {
		if _, err := p.SetRoute(ctx, "fn", r); !errors.Is(err, provider.ErrUnsupported) {
			t.Errorf("SetRoute(%+v): err = %v, want ErrUnsupported", r, err)
		}
	}
	mustSetRoute(t, p, "fn", provider.To("tag", "2"))
	if err := p.DeleteVersion(ctx, "fn", "1"); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("DeleteVersion without the capability: err = %v, want ErrUnsupported", err)
	}
	if diff := cmp.Diff(caps, p.Capabilities()); diff != "" {
		t.Errorf("Capabilities (-want +got):\n%s", diff)
	}

	none, _ := newTest(t, Options{Capabilities: &provider.Capabilities{SplitRoutes: []string{}}})
	mustPublish(t, none, "fn", "a")
	mustPublish(t, none, "fn", "b")
	if _, err := none.SetRoute(ctx, "fn", provider.Split("main", "1", "2", 10)); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("split with an empty SplitRoutes: err = %v, want ErrUnsupported", err)
	}
	if got := none.Capabilities().SplitRoutes; got == nil || len(got) != 0 {
		t.Errorf("Capabilities().SplitRoutes = %#v, want empty and non-nil", got)
	}

	lambda, _ := newTest(t, Options{})
	for i := range 3 {
		mustPublish(t, lambda, "fn", strconv.Itoa(i))
	}
	if _, err := lambda.SetRoute(ctx, "fn", three); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("three versions on Lambda's capabilities: err = %v, want ErrUnsupported", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{Resolution: -1},
		{PageSize: -1},
		{Capabilities: &provider.Capabilities{MaxRouteVersions: -1}},
		{Capabilities: &provider.Capabilities{Granularity: 300}},
		{Capabilities: &provider.Capabilities{SplitRoutes: []string{""}}},
	} {
		if _, err := New(o); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("New(%+v): err = %v, want ErrInvalid", o, err)
		}
	}
}

func TestDeleteVersion(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	for i := range 5 {
		mustPublish(t, p, "fn", fmt.Sprint(i))
	}
	mustSetRoute(t, p, "fn", provider.Split("prod", "1", "2", 500))
	mustSetRoute(t, p, "fn", provider.Route{Alias: "zero", Weights: []provider.Weight{w("4", 10000), w("3", 0)}})
	p.SetUsage("fn", []provider.Usage{{Version: "4", Reason: "provisioned concurrency"}})
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		if err := p.DeleteVersion(ctx, "fn", id); !errors.Is(err, provider.ErrInUse) {
			t.Errorf("delete %s: err = %v, want ErrInUse", id, err)
		}
	}
	mustPublish(t, p, "fn", "new")
	if err := p.DeleteVersion(ctx, "fn", "5"); err != nil {
		t.Fatalf("delete 5 once no longer newest: %v", err)
	}
	if _, err := p.Version(ctx, "fn", "5"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("deleted version still readable: %v", err)
	}
	if err := p.DeleteVersion(ctx, "fn", "5"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	if _, err := p.SetRoute(ctx, "fn", provider.To("dev", "5")); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("route to a deleted version: err = %v, want ErrInvalid", err)
	}
	// IDs are never reused.
	if v := mustPublish(t, p, "fn", "newer"); v.ID != "7" {
		t.Errorf("ID after deletion = %q, want 7", v.ID)
	}
	p.SetUsage("fn", nil)
	if err := p.DeleteVersion(ctx, "fn", "4"); !errors.Is(err, provider.ErrInUse) {
		t.Errorf("delete of version 4 still routed by zero: err = %v, want ErrInUse", err)
	}
}

func TestConcurrentSetRouteOneWinner(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	base := mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	const n = 16
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := provider.Split("prod", "1", "2", (i+1)*100)
			r.Revision = base.Revision
			_, results[i] = p.SetRoute(ctx, "fn", r)
		})
	}
	wg.Wait()
	winners := 0
	for i, err := range results {
		switch {
		case err == nil:
			winners++
			got, _ := p.Route(ctx, "fn", "prod")
			if got.Share("2") != (i+1)*100 {
				t.Errorf("winner %d wrote %d bp, route has %d", i, (i+1)*100, got.Share("2"))
			}
		case !errors.Is(err, provider.ErrConflict):
			t.Errorf("loser %d: err = %v, want ErrConflict", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d writers won, want exactly 1", winners)
	}
}

func TestVersionsPaging(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{PageSize: 7})
	for i := range 125 {
		mustPublish(t, p, "fn", fmt.Sprint(i))
	}
	var ids []string
	for v, err := range p.Versions(ctx, "fn") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if len(ids) != 125 || ids[0] != "1" || ids[124] != "125" {
		t.Fatalf("got %d versions %v…, want 1..125 in order", len(ids), ids[:min(3, len(ids))])
	}
	for i, id := range ids {
		if id != strconv.Itoa(i+1) {
			t.Fatalf("ids[%d] = %s", i, id)
		}
	}

	// Changes between pages behave as on a paged API: a version deleted
	// ahead of the cursor is not yielded, a version published meanwhile is.
	ids = ids[:0]
	for v, err := range p.Versions(ctx, "fn") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		if v.ID == "3" {
			if err := p.DeleteVersion(ctx, "fn", "100"); err != nil {
				t.Fatal(err)
			}
			mustPublish(t, p, "fn", "late")
		}
	}
	if len(ids) != 125 || ids[98] != "99" || ids[99] != "101" || ids[124] != "126" {
		t.Errorf("iteration with changes got %d versions, around 99: %v, last %s", len(ids), ids[97:101], ids[len(ids)-1])
	}

	// Breaking early stops the iteration.
	n := 0
	for range p.Versions(ctx, "fn") {
		n++
		if n == 10 {
			break
		}
	}
	if n != 10 {
		t.Errorf("early break: %d yields", n)
	}
}

func TestOptionalInterfaces(t *testing.T) {
	ctx := context.Background()
	p, _ := newTest(t, Options{})
	mustPublish(t, p, "fn", "a")
	mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	us := []provider.Usage{{Version: "1", Reason: "provisioned concurrency"}}
	es := []provider.EventSource{{ID: "m1", Source: "arn:aws:sqs:eu-west-1:1:q", Qualifier: "1", State: "Enabled"}}
	ps := []provider.Permission{{ID: "s1", Principal: "*", Action: "lambda:InvokeFunction", Public: true}}
	p.SetUsage("fn", us)
	p.SetEventSources("fn", es)
	p.SetPermissions("fn", "1", ps)
	gotU, err := p.Usage(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	gotE, err := p.EventSources(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	gotP, err := p.Permissions(ctx, "fn", "1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(us, gotU); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(es, gotE); diff != "" {
		t.Errorf("EventSources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ps, gotP); diff != "" {
		t.Errorf("Permissions (-want +got):\n%s", diff)
	}
	none, err := p.Permissions(ctx, "fn", "prod")
	if err != nil || len(none) != 0 {
		t.Errorf("Permissions of prod = %v, %v; want none", none, err)
	}
}

func TestSettersPanicOnBadInput(t *testing.T) {
	p, _ := newTest(t, Options{})
	for name, call := range map[string]func(){
		"SetLoad empty function":         func() { p.SetLoad("", "prod", 1) },
		"SetLoad empty alias":            func() { p.SetLoad("fn", "", 1) },
		"SetLoad negative":               func() { p.SetLoad("fn", "prod", -1) },
		"SetLoad NaN":                    func() { p.SetLoad("fn", "prod", math.NaN()) },
		"SetBehavior empty version":      func() { p.SetBehavior("fn", "", Behavior{}) },
		"SetBehavior invalid":            func() { p.SetBehavior("fn", "1", Behavior{ErrorRate: 2}) },
		"SetUsage empty function":        func() { p.SetUsage("", nil) },
		"SetEventSources empty function": func() { p.SetEventSources("", nil) },
		"SetPermissions empty function":  func() { p.SetPermissions("", "", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			call()
		}()
	}
}

// TestConcurrentMixedUse runs every kind of call at once, for the race
// detector, and checks the invariants afterwards.
func TestConcurrentMixedUse(t *testing.T) {
	ctx := context.Background()
	p, c := newTest(t, Options{Seed: 3, PageSize: 4, Path: t.TempDir() + "/state.json"})
	mustPublish(t, p, "fn", "seed")
	mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	p.Inject(Fault{Ops: []string{OpRoute}, Rate: 0.1, Err: provider.ErrUnavailable})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() { // writers: publish, then move prod with CAS
			for i := range 20 {
				v, err := p.Publish(ctx, "fn", zip(fmt.Sprintf("g%d-%d", g, i)))
				if err != nil {
					t.Error(err)
					return
				}
				cur, err := p.Route(ctx, "fn", "prod")
				if err != nil {
					continue // injected fault
				}
				next := provider.Split("prod", cur.Primary(), v.ID, 1000)
				if cur.Primary() == v.ID {
					next = provider.To("prod", v.ID)
				}
				next.Revision = cur.Revision
				// ErrInvalid: the deleter removed v (no longer newest) first.
				if _, err := p.SetRoute(ctx, "fn", next); err != nil && !errors.Is(err, provider.ErrConflict) && !errors.Is(err, provider.ErrInvalid) {
					t.Error(err)
				}
				c.Advance(time.Second)
			}
		})
	}
	wg.Go(func() { // reader: list, observe, set load
		for i := range 20 {
			for _, err := range p.Versions(ctx, "fn") {
				if err != nil {
					t.Error(err)
					break
				}
			}
			if _, err := p.Observe(ctx, query("fn", "", 0, 1, "1")); err != nil {
				t.Error(err)
			}
			p.SetLoad("fn", "prod", float64(i))
		}
	})
	wg.Go(func() { // deleter: remove versions no route uses
		for range 20 {
			for v, err := range p.Versions(ctx, "fn") {
				if err != nil {
					t.Error(err)
					break
				}
				if err := p.DeleteVersion(ctx, "fn", v.ID); err != nil && !errors.Is(err, provider.ErrInUse) && !errors.Is(err, provider.ErrNotFound) {
					t.Error(err)
				}
			}
		}
	})
	wg.Wait()
	p.ClearFaults()
	r, err := p.Route(ctx, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range r.Weights {
		if _, err := p.Version(ctx, "fn", w.Version); err != nil {
			t.Errorf("prod routes to version %s, which is gone: %v", w.Version, err)
		}
	}
	newest := 0
	for v, err := range p.Versions(ctx, "fn") {
		if err != nil {
			t.Fatal(err)
		}
		newest, _ = versionNumber(v.ID)
	}
	if newest != 81 {
		t.Errorf("newest version %d, want 81 (1 + 4×20 publishes)", newest)
	}
}
