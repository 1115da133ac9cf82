package memory

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
)

func TestPersistenceRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	c := newClock()
	opts := Options{Now: c.Now, Sleep: c.Sleep, Seed: 5, Path: path, PageSize: 3}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	in := zip("a")
	in.Config = provider.Config{Runtime: "provided.al2023", MemoryMB: 128, Timeout: 3 * time.Second, Environment: map[string]string{"K": "v"}}
	in.Labels = map[string]string{provider.LabelSemver: "1.0.0"}
	if _, err := a.Publish(ctx, "fn", in); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"b", "c", "d"} {
		mustPublish(t, a, "fn", code)
	}
	if err := a.DeleteVersion(ctx, "fn", "3"); err != nil {
		t.Fatal(err)
	}
	r := mustSetRoute(t, a, "fn", provider.To("prod", "1"))
	a.SetLoad("fn", "prod", 40)
	a.SetBehavior("fn", "2", Behavior{ErrorRate: 0.1, Latency: Latency{Median: 50 * time.Millisecond, P99: 200 * time.Millisecond}})
	c.Advance(2 * time.Minute)
	next := provider.Split("prod", "1", "2", 2000)
	next.Revision = r.Revision
	mustSetRoute(t, a, "fn", next)
	a.SetUsage("fn", []provider.Usage{{Version: "1", Reason: "provisioned concurrency"}})
	a.SetEventSources("fn", []provider.EventSource{{ID: "e", Source: "arn:q", Qualifier: "prod"}})
	a.SetPermissions("fn", "prod", []provider.Permission{{ID: "p", Principal: "*", Action: "lambda:InvokeFunction", Public: true}})
	c.Advance(5 * time.Minute)

	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readAll(t, a), readAll(t, b)); diff != "" {
		t.Errorf("second provider sees different state (-first +second):\n%s", diff)
	}
	q := query("fn", "prod", 0, 7, "1", "2")
	if diff := cmp.Diff(observe(t, a, q), observe(t, b, q)); diff != "" {
		t.Errorf("observation differs after reload (-first +second):\n%s", diff)
	}
	// The reloaded provider goes on numbering versions and revisions.
	if v := mustPublish(t, b, "fn", "e"); v.ID != "5" {
		t.Errorf("next ID after reload = %s, want 5", v.ID)
	}
	cur, _ := b.Route(ctx, "fn", "prod")
	if cur.Revision == r.Revision {
		t.Fatal("test set-up: revision did not change")
	}
	stale := provider.To("prod", "2")
	stale.Revision = r.Revision
	if _, err := b.SetRoute(ctx, "fn", stale); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("stale token from before the restart: err = %v, want ErrConflict", err)
	}
	upd := provider.To("prod", "2")
	upd.Revision = cur.Revision
	got := mustSetRoute(t, b, "fn", upd)
	if got.Revision == cur.Revision || got.Revision == r.Revision {
		t.Errorf("revision after reload %q reuses an earlier one", got.Revision)
	}
	// Nothing but the state file is left in the directory.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file", len(entries))
	}
	var raw struct {
		Version int `json:"version"`
	}
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &raw); err != nil || raw.Version != stateVersion {
		t.Errorf("state file version = %d, %v; want %d", raw.Version, err, stateVersion)
	}
}

// readAll is everything the Provider interfaces report about "fn".
func readAll(t *testing.T, p *Provider) any {
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
	us, err := p.Usage(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	es, err := p.EventSources(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := p.Permissions(ctx, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"versions": vs, "routes": rs, "usage": us, "events": es, "perms": ps}
}

func TestPersistenceCorrupt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":       "{",
		"wrong version":  `{"version": 2, "functions": {}}`,
		"missing newest": `{"version": 1, "functions": {"fn": {"published": 2, "versions": [{"id": "1"}]}}}`,
		"route to nothing": `{"version": 1, "functions": {"fn": {"published": 1, "versions": [{"id": "1"}],
			"routes": {"prod": {"alias": "prod", "weights": [{"version": "9", "basisPoints": 10000}], "revision": "1"}}}}}`,
		"bad behavior": `{"version": 1, "functions": {"fn": {"behaviors": {"1": [{"at": "2026-01-01T00:00:00Z", "value": {"errorRate": 3}}]}}}}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Options{Path: path}); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
	if _, err := New(Options{Path: dir}); err == nil {
		t.Error("a directory as Path: New succeeded, want an error")
	}
	if _, err := New(Options{Path: filepath.Join(dir, "absent.json")}); err != nil {
		t.Errorf("absent file: %v, want an empty provider", err)
	}
}

func TestPersistenceWriteFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	p, c := newTest(t, Options{Path: path})
	mustPublish(t, p, "fn", "a")
	mustPublish(t, p, "fn", "b")
	mustPublish(t, p, "fn", "c")
	r := mustSetRoute(t, p, "fn", provider.To("prod", "1"))
	before := readAll(t, p)

	// Make the directory unwritable by replacing it with a file.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })

	if _, err := p.Publish(ctx, "fn", zip("d")); err == nil {
		t.Error("Publish succeeded without a writable state file")
	}
	upd := provider.Split("prod", "1", "2", 500)
	upd.Revision = r.Revision
	if _, err := p.SetRoute(ctx, "fn", upd); err == nil {
		t.Error("SetRoute succeeded without a writable state file")
	}
	if _, err := p.SetRoute(ctx, "fn", provider.To("dev", "2")); err == nil {
		t.Error("SetRoute (create) succeeded without a writable state file")
	}
	if err := p.DeleteVersion(ctx, "fn", "2"); err == nil || errors.Is(err, provider.ErrInUse) {
		t.Errorf("DeleteVersion without a writable state file: err = %v, want a write error", err)
	}
	if diff := cmp.Diff(before, readAll(t, p)); diff != "" {
		t.Errorf("failed writes changed the state (-before +after):\n%s", diff)
	}
	if err := p.Sync(); err == nil {
		t.Error("Sync succeeded without a writable state file")
	}
	// The traffic history was rolled back too: prod stayed at 100%
	// version 1, so version 2 gets no traffic.
	p.SetLoad("fn", "prod", 100)
	c.Advance(time.Minute)
	if n := total(t, observe(t, p, query("fn", "prod", 0, 1, "2")), "2").Invocations; n != 0 {
		t.Errorf("version 2 got %d invocations from a route change that failed", n)
	}
}
