package memory

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// FuzzLoadState opens a provider on a state file holding any bytes (a file
// edited by hand, a disk that kept half a write). New either refuses it or
// returns a provider on which reading every function's versions and
// routes, observing its traffic, publishing, routing and deleting work or
// fail with an error — never a panic — and a state it accepted is written
// back in a form it accepts again.
func FuzzLoadState(f *testing.F) {
	dir := f.TempDir()
	c := newClock()
	opts := Options{Now: c.Now, Sleep: c.Sleep, Seed: 5, Path: filepath.Join(dir, "seed.json")}
	p, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	for _, code := range []string{"a", "b", "c"} {
		if _, err := p.Publish(ctx, "fn", zip(code)); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := p.SetRoute(ctx, "fn", provider.Split("prod", "1", "2", 2000)); err != nil {
		f.Fatal(err)
	}
	p.SetLoad("fn", "prod", 40)
	p.SetBehavior("fn", "2", Behavior{ErrorRate: 0.1, Latency: Latency{Median: 50 * time.Millisecond, P99: 200 * time.Millisecond}})
	c.Advance(3 * time.Minute)
	if err := p.Sync(); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(opts.Path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version": 1, "functions": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := newClock()
		p, err := New(Options{Now: c.Now, Sleep: c.Sleep, Seed: 5, Path: path})
		if err != nil {
			return
		}
		ctx := context.Background()
		p.mu.Lock()
		var fns []string
		for name := range p.st.Functions {
			fns = append(fns, name)
		}
		p.mu.Unlock()
		for _, fn := range fns {
			var ids []string
			for v, err := range p.Versions(ctx, fn) {
				if err != nil {
					break
				}
				ids = append(ids, v.ID)
			}
			routes, _ := p.Routes(ctx, fn)
			for _, r := range routes {
				_, _ = p.Observe(ctx, provider.Query{Function: fn, Alias: r.Alias, Versions: []string{r.Primary()},
					Start: c.Now().Add(-10 * time.Minute), End: c.Now(), Period: time.Minute})
			}
			if len(ids) > 0 {
				_, _ = p.SetRoute(ctx, fn, provider.To("fuzz", ids[0]))
				_ = p.DeleteVersion(ctx, fn, ids[0])
			}
			_, _ = p.Publish(ctx, fn, zip("fuzz"))
		}
		if err := p.Sync(); err != nil {
			t.Fatalf("Sync of an accepted state: %v", err)
		}
		if _, err := New(Options{Now: c.Now, Sleep: c.Sleep, Path: path}); err != nil {
			t.Fatalf("a state this package wrote is refused: %v", err)
		}
	})
}
