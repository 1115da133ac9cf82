package release_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

// newMemory returns a memory provider on a fixed clock.
func newMemory(t *testing.T) *memory.Provider {
	t.Helper()
	p, err := memory.New(memory.Options{Now: func() time.Time { return t0 }, Seed: 1})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	return p
}

// publishN publishes n versions of fn with distinct code and returns their
// IDs.
func publishN(t *testing.T, p provider.Provider, fn string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		v, err := p.Publish(context.Background(), fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte{byte('a' + i)}}})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// journaledSet sets a route through the provider and journals it, as the
// workflow does.
func journaledSet(t *testing.T, p provider.Provider, j journal.Journal, fn string, r provider.Route, kind journal.EntryKind) provider.Route {
	t.Helper()
	ctx := context.Background()
	var before *provider.Route
	if cur, err := p.Route(ctx, fn, r.Alias); err == nil {
		before = &cur
		r.Revision = cur.Revision
	}
	after, err := p.SetRoute(ctx, fn, r)
	if err != nil {
		t.Fatalf("SetRoute(%+v): %v", r, err)
	}
	if err := j.Append(ctx, journal.Entry{Time: t0, Kind: kind, Function: fn, Alias: r.Alias, Actor: "ci", Before: before, After: &after}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return after
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	j := &journal.MemoryJournal{}
	ids := publishN(t, p, "fn", 3)

	// production: journaled twice, then changed out of band; staging:
	// journaled and untouched; dev: created by hand.
	journaledSet(t, p, j, "fn", provider.To("production", ids[0]), journal.EntryPromote)
	prod := journaledSet(t, p, j, "fn", provider.Split("production", ids[0], ids[1], 1000), journal.EntryRoute)
	journaledSet(t, p, j, "fn", provider.To("staging", ids[1]), journal.EntryPromote)

	if got, err := release.Verify(ctx, p, j, "fn"); err != nil || len(got) != 0 {
		t.Fatalf("Verify before any out-of-band change = %v, %v; want no drift", got, err)
	}

	manual := prod
	manual.Weights = []provider.Weight{{Version: ids[2], BasisPoints: provider.AllTraffic}}
	manual, err := p.SetRoute(ctx, "fn", manual)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := p.SetRoute(ctx, "fn", provider.To("dev", ids[2]))
	if err != nil {
		t.Fatal(err)
	}
	// A journal that recorded a route the provider does not have (it was
	// deleted, or the journal belongs to another account).
	gone := provider.To("canary", ids[0])
	gone.Revision = "r-old"
	if err := j.Append(ctx, journal.Entry{Time: t0, Kind: journal.EntryRoute, Function: "fn", Alias: "canary", After: &gone}); err != nil {
		t.Fatal(err)
	}
	// Another function's entries are not this one's.
	other := provider.To("dev", "9")
	if err := j.Append(ctx, journal.Entry{Time: t0, Kind: journal.EntryRoute, Function: "other", Alias: "dev", After: &other}); err != nil {
		t.Fatal(err)
	}

	got, err := release.Verify(ctx, p, j, "fn")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	lastProd, err := journal.LastRoute(ctx, j, "fn", "production")
	if err != nil {
		t.Fatal(err)
	}
	lastCanary, _ := journal.LastRoute(ctx, j, "fn", "canary")
	want := []release.Drift{
		{Function: "fn", Alias: "canary", Kind: release.DriftMissing, Before: &gone, Last: &lastCanary},
		{Function: "fn", Alias: "dev", Kind: release.DriftUnknown, After: &dev},
		{Function: "fn", Alias: "production", Kind: release.DriftOutOfBand, Before: &prod, After: &manual, Last: &lastProd},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Verify (-want +got):\n%s", diff)
	}
	if prod.Revision == manual.Revision {
		t.Fatalf("the provider kept revision %q across an out-of-band change", prod.Revision)
	}

	wantText := []string{
		`fn alias "canary" was deleted out of band: journal has 1=100% (rev r-old) from 2026-03-02T10:00:00Z, now absent`,
		`fn alias "dev" is not in the journal: now 3=100% (rev ` + dev.Revision + `)`,
		`fn alias "production" changed out of band: journal has 1=90% 2=10% (rev ` + prod.Revision +
			`) from 2026-03-02T10:00:00Z by ci, now 3=100% (rev ` + manual.Revision + `)`,
	}
	for i, d := range got {
		if d.String() != wantText[i] {
			t.Errorf("Drift[%d].String() =\n%s\nwant\n%s", i, d, wantText[i])
		}
	}
}

// Same weights written out of band still get a new token, and are reported.
func TestVerifySameTrafficNewToken(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	j := &journal.MemoryJournal{}
	ids := publishN(t, p, "fn", 1)
	prod := journaledSet(t, p, j, "fn", provider.To("production", ids[0]), journal.EntryPromote)
	again, err := p.SetRoute(ctx, "fn", prod)
	if err != nil {
		t.Fatal(err)
	}
	got, err := release.Verify(ctx, p, j, "fn")
	if err != nil || len(got) != 1 || got[0].Kind != release.DriftOutOfBand || got[0].After.Revision != again.Revision {
		t.Fatalf("Verify = %+v, %v; want one out-of-band drift to revision %s", got, err, again.Revision)
	}
}

// A rollback recorded in the journal is the journal's latest word: the
// route it left is not drift.
func TestVerifyAfterRollback(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	j := &journal.MemoryJournal{}
	ids := publishN(t, p, "fn", 2)
	journaledSet(t, p, j, "fn", provider.To("production", ids[0]), journal.EntryPromote)
	journaledSet(t, p, j, "fn", provider.Split("production", ids[0], ids[1], 500), journal.EntryRoute)
	journaledSet(t, p, j, "fn", provider.To("production", ids[0]), journal.EntryRollback)
	if err := j.Append(ctx, journal.Entry{Time: t0, Kind: journal.EntryDecision, Function: "fn", Alias: "production", Outcome: "rolled back"}); err != nil {
		t.Fatal(err)
	}
	if got, err := release.Verify(ctx, p, j, "fn"); err != nil || len(got) != 0 {
		t.Fatalf("Verify = %v, %v; want no drift", got, err)
	}
}

func TestVerifyErrors(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	j := &journal.MemoryJournal{}
	if _, err := release.Verify(ctx, p, j, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Verify(unknown function) = %v, want ErrNotFound", err)
	}
	if _, err := release.Verify(ctx, p, j, ""); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Verify(\"\") = %v, want ErrInvalid", err)
	}
	publishN(t, p, "fn", 1)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := j.Append(ctx, journal.Entry{Time: t0, Kind: journal.EntryPublish, Function: "fn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := release.Verify(cctx, p, j, "fn"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled) = %v, want context.Canceled", err)
	}
}

func TestDriftStringPercents(t *testing.T) {
	for _, tt := range []struct {
		bp   int
		want string
	}{{125, "1=98.75% 2=1.25%"}, {1050, "1=89.5% 2=10.5%"}, {5, "1=99.95% 2=0.05%"}, {5000, "1=50% 2=50%"}} {
		r := provider.Split("a", "1", "2", tt.bp)
		d := release.Drift{Function: "f", Alias: "a", Kind: release.DriftUnknown, After: &r}
		if got, want := d.String(), `f alias "a" is not in the journal: now `+tt.want; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func ExampleVerify() {
	ctx := context.Background()
	p, _ := memory.New(memory.Options{})
	j := &journal.MemoryJournal{}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	v1, _ := p.Publish(ctx, "orders", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v1")}})
	v2, _ := p.Publish(ctx, "orders", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v2")}})

	// The workflow sets production and journals the change.
	prod, _ := p.SetRoute(ctx, "orders", provider.To("production", v1.ID))
	_ = j.Append(ctx, journal.Entry{Time: now, Kind: journal.EntryPromote, Function: "orders", Alias: "production", Actor: "ci", After: &prod})

	// Someone moves production in the console.
	manual := provider.To("production", v2.ID)
	manual.Revision = prod.Revision
	_, _ = p.SetRoute(ctx, "orders", manual)

	drifts, _ := release.Verify(ctx, p, j, "orders")
	for _, d := range drifts {
		fmt.Println(d.Kind, d.Alias, d.Before.Primary(), "→", d.After.Primary())
	}
	// Output:
	// out of band production 1 → 2
}
