package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

func newE2EWorkflow(t *testing.T, pl *platform, j journal.Journal, edit func(*release.Options)) *release.Workflow {
	t.Helper()
	opts := release.Options{Runner: canary.RunnerOptions{Provider: pl.p, Metrics: pl.m, Clock: pl.clock}, Journal: j, Actor: "ci"}
	if edit != nil {
		edit(&opts)
	}
	w, err := release.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func decisions(t *testing.T, j journal.Journal, outcome string) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == journal.EntryDecision && e.Outcome == outcome {
			out = append(out, e)
		}
	}
	return out
}

// Proof: lock-down removes a public grant only from unrouted versions —
// dry run first (journaled, nothing removed), then for real.
func TestLockDown_RemovesPublicGrantsOnlyFromUnroutedVersions(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			ctx := context.Background()
			vs := pl.publish(t, 4) // 1, 2 unrouted; 3 staging; 4 production
			pl.route(t, provider.To("production", vs[3]))
			pl.route(t, provider.To("staging", vs[2]))
			pl.grant(t, vs[0], "public", "*")
			pl.grant(t, vs[0], "partner", "210987654321")
			pl.grant(t, vs[0], "own", "123456789012")
			pl.grant(t, vs[1], "s3", "s3.amazonaws.com")
			pl.grant(t, vs[2], "public", "*") // routed: kept
			pl.grant(t, vs[3], "public", "*") // routed: kept
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, nil)
			opts := release.LockDownOptions{DryRun: true, OwnAccounts: []string{"123456789012"}}

			dry, err := w.LockDown(ctx, e2eFn, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := []release.Grant{
				{Version: vs[0], Statement: "public", Principal: "*", Why: "public"},
				{Version: vs[0], Statement: "partner", Why: "cross-account 210987654321"},
			}
			ignorePrincipal := func(gs []release.Grant) []release.Grant {
				out := make([]release.Grant, len(gs))
				for i, g := range gs {
					if g.Principal != "*" {
						g.Principal = ""
					}
					out[i] = g
				}
				return out
			}
			if diff := cmp.Diff(want, ignorePrincipal(dry.Grants)); diff != "" {
				t.Fatalf("dry run (-want +got):\n%s", diff)
			}
			if got := pl.permissions(t, vs[0]); len(got) != 3 {
				t.Fatalf("a dry run removed grants: %v", got)
			}
			if es := decisions(t, j, "lock-down planned (dry run)"); len(es) != 1 || !strings.Contains(es[0].Reason, "would remove 2 of 2 grants") {
				t.Fatalf("dry run journal: %+v", es)
			}

			opts.DryRun = false
			rep, err := w.LockDown(ctx, e2eFn, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range rep.Grants {
				if !g.Removed {
					t.Errorf("grant not removed: %+v", g)
				}
			}
			if diff := cmp.Diff([]string{"own"}, pl.permissions(t, vs[0])); diff != "" {
				t.Errorf("version %s grants after (-want +got):\n%s", vs[0], diff)
			}
			for _, v := range vs[1:] {
				if len(pl.permissions(t, v)) != 1 {
					t.Errorf("version %s lost a grant: %v", v, pl.permissions(t, v))
				}
			}
			es := decisions(t, j, "lock-down")
			if len(es) != 2 || es[0].Candidate != vs[0] || !strings.Contains(es[0].Reason, `removed public invoke grant "public"`) {
				t.Errorf("journal: %+v", es)
			}
			// Nothing left: a second run journals that.
			again, err := w.LockDown(ctx, e2eFn, opts)
			if err != nil || len(again.Grants) != 0 {
				t.Errorf("second lock-down: %+v %v", again, err)
			}
		})
	}
}

// Proof: a remap moves a pinned mapping to the alias — dry run first.
func TestRemap_MovesPinnedMappingToAlias(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			ctx := context.Background()
			vs := pl.publish(t, 2)
			pl.route(t, provider.To("production", vs[1]))
			pinned := pl.mapping(t, vs[0], "arn:aws:sqs:us-east-1:123456789012:orders")
			pl.mapping(t, "production", "arn:aws:sqs:us-east-1:123456789012:refunds")
			pl.mapping(t, "", "arn:aws:sqs:us-east-1:123456789012:audit")
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, nil)

			dry, err := w.Remap(ctx, e2eFn, release.RemapOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			want := []release.Remapped{{ID: pinned, Source: "arn:aws:sqs:us-east-1:123456789012:orders", From: vs[0], To: "production"}}
			if diff := cmp.Diff(want, dry.Mappings); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
			qualifierOf := func() string {
				es, err := pl.p.(provider.EventSourceLister).EventSources(ctx, e2eFn)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					if e.ID == pinned {
						return e.Qualifier
					}
				}
				return "missing"
			}
			if q := qualifierOf(); q != vs[0] {
				t.Fatalf("a dry run moved the mapping to %q", q)
			}
			rep, err := w.Remap(ctx, e2eFn, release.RemapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Mappings) != 1 || !rep.Mappings[0].Done {
				t.Errorf("remap: %+v", rep)
			}
			if q := qualifierOf(); q != "production" {
				t.Errorf("mapping now invokes %q, want production", q)
			}
			if es := decisions(t, j, "remap"); len(es) != 1 || es[0].Alias != "production" || !strings.Contains(es[0].Reason, "from version "+vs[0]) {
				t.Errorf("journal: %+v", es)
			}
			if es := decisions(t, j, "remap planned (dry run)"); len(es) != 1 {
				t.Errorf("dry run not journaled: %+v", es)
			}
			if _, err := w.Remap(ctx, e2eFn, release.RemapOptions{Alias: "nope"}); !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("remap to a missing alias: %v", err)
			}
		})
	}
}

// A version routed between the plan and the removal keeps its grants.
func TestLockDown_VersionRoutedSincePlanKeepsGrants(t *testing.T) {
	pl := memoryPlatform(t)
	mem := pl.p.(*memory.Provider)
	vs := pl.publish(t, 2)
	pl.route(t, provider.To("production", vs[1]))
	pl.grant(t, vs[0], "public", "*")
	calls := 0
	mem.Inject(memory.Fault{Ops: []string{memory.OpRoutes}, Before: func(string) error {
		if calls++; calls == 2 { // the re-read before removing
			_, err := mem.SetRoute(context.Background(), e2eFn, provider.To("staging", vs[0]))
			return err
		}
		return nil
	}})
	w := newE2EWorkflow(t, pl, &journal.MemoryJournal{}, nil)
	rep, err := w.LockDown(context.Background(), e2eFn, release.LockDownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Grants) != 1 || rep.Grants[0].Removed || !strings.Contains(rep.Grants[0].Err, "a route sends it traffic now") {
		t.Errorf("report %+v", rep)
	}
	if got := pl.permissions(t, vs[0]); len(got) != 1 {
		t.Errorf("grants %v", got)
	}
}
