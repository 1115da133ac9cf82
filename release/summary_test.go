package release_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is intended:\n%s", path, diff)
	}
}

func route(alias, rev string, ws ...provider.Weight) provider.Route {
	return provider.Route{Alias: alias, Weights: ws, Revision: rev}
}

func w(v string, bp int) provider.Weight { return provider.Weight{Version: v, BasisPoints: bp} }

func rptr(r provider.Route) *provider.Route { return &r }

// rolledBackSummary is the summary of a faulty release (1.2.0, version 8)
// that a canary caught and rolled back, after which retention pruned.
func rolledBackSummary() release.Summary {
	at := func(min, sec int) time.Time {
		return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
	}
	prodBefore := route("production", "r10", w("7", 10000))
	step1 := route("production", "r11", w("7", 9000), w("8", 1000))
	back := route("production", "r12", w("7", 10000))
	entries := []journal.Entry{
		{Time: at(0, 0), Release: "r-42", Kind: journal.EntryPublish, Function: "orders", Actor: "ci <bot>", Reason: "feat: faster checkout | fix: totals", Candidate: "8", Semver: "1.2.0"},
		{Time: at(0, 5), Release: "r-42", Kind: journal.EntryRoute, Function: "orders", Alias: "staging", Actor: "ci <bot>", Reason: "integration tests passed",
			Before: rptr(route("staging", "s3", w("7", 10000))), After: rptr(route("staging", "s4", w("8", 10000))), Candidate: "8", Stable: "7", Semver: "1.2.0"},
		{Time: at(1, 0), Release: "r-42", Kind: journal.EntryRoute, Function: "orders", Alias: "production", Actor: "ci <bot>", Reason: "step 1: 10%",
			Before: &prodBefore, After: &step1, Candidate: "8", Stable: "7", Semver: "1.2.0"},
		{Time: at(6, 0), Release: "r-42", Kind: journal.EntryRollback, Function: "orders", Alias: "production", Actor: "ci <bot>",
			Reason: "check error-rate failed", Before: &step1, After: &back, Candidate: "8", Stable: "7", Semver: "1.2.0", Outcome: "rolled back"},
	}
	created := func(day int) time.Time { return time.Date(2026, 2, day, 9, 30, 0, 0, time.UTC) }
	ver := func(id, sv, commit string, day int) provider.Version {
		return provider.Version{ID: id, Created: created(day), Labels: map[string]string{provider.LabelSemver: sv, provider.LabelCommit: commit}}
	}
	safety := release.CompareConfig(
		provider.Config{Runtime: "provided.al2023", Role: "arn:aws:iam::1:role/orders", Environment: map[string]string{"DB_PASSWORD": "arn:aws:ssm:eu-west-1:1:parameter/db"}},
		provider.Config{Runtime: "provided.al2023", Role: "arn:aws:iam::1:role/orders", Environment: map[string]string{"DB_PASSWORD": "hunter2", "FEATURE_X": "on"}},
	)
	return release.Summary{
		Function: "orders", Alias: "production", Release: "r-42", Outcome: "rolled back",
		Reason:    "check error-rate failed at step 1 (10%): 4.1% > 1%",
		Candidate: "8", Stable: "7", Semver: "1.2.0", Actor: "ci <bot>",
		Started: t0, Finished: at(6, 2),
		RoutesBefore: []provider.Route{prodBefore, route("staging", "s3", w("7", 10000))},
		RoutesAfter:  []provider.Route{back, route("staging", "s4", w("8", 10000)), route("dev", "d1", w("8", 10000))},
		Entries:      entries,
		Verdicts: []release.CheckVerdict{
			{Time: at(3, 0), Step: 1, Weight: 1000, Check: "error-rate", Verdict: "pass", Detail: "0.2% ≤ 1% (n=612)"},
			{Time: at(3, 0), Step: 1, Weight: 1000, Check: "p99-latency", Verdict: "inconclusive", Detail: "n=12 < 50 samples"},
			{Time: at(6, 0), Step: 1, Weight: 1000, Check: "error-rate", Verdict: "fail", Detail: "4.1% > 1% (n=598)"},
			{Time: at(6, 0), Step: 1, Weight: 1000, Check: "p99-latency", Verdict: "error", Detail: "metrics: throttled"},
		},
		Versions: []provider.Version{ver("5", "1.0.0", "0a1b2c3", 10), ver("7", "1.1.0", "5114f85", 20), ver("8", "1.2.0", "9e8d7c6", 28)},
		Pruned: []release.Pruned{
			{Version: "4", Semver: "0.9.0", Reason: "beyond keep-last 3"},
			{Version: "3", Semver: "0.8.1", Reason: "beyond keep-last 3", Err: "in use: event source"},
			{Version: "2", Semver: "0.8.0", Reason: "older than 30 days", DryRun: true},
		},
		Drift:  []release.Drift{{Function: "orders", Alias: "dev", Kind: release.DriftUnknown, After: rptr(route("dev", "d1", w("8", 10000)))}},
		Safety: &safety,
	}
}

func TestSummaryMarkdownGolden(t *testing.T) {
	s := rolledBackSummary()
	got := s.Markdown()
	golden(t, "summary-rolled-back.md", got)
	var buf bytes.Buffer
	if err := s.WriteMarkdown(&buf); err != nil || buf.String() != got {
		t.Errorf("WriteMarkdown wrote %d bytes, %v; want the same as Markdown", buf.Len(), err)
	}
	if strings.Contains(got, "hunter2") {
		t.Error("the summary shows a secret")
	}
}

func TestSummaryMarkdownPromoted(t *testing.T) {
	// A minimal promotion: sections without data are left out.
	s := release.Summary{
		Function: "orders", Alias: "production", Outcome: "promoted", Candidate: "7", Semver: "1.1.0",
		RoutesBefore: []provider.Route{route("production", "a", w("6", 10000))},
		RoutesAfter:  []provider.Route{route("production", "b", w("7", 10000))},
	}
	golden(t, "summary-promoted.md", s.Markdown())

	empty := release.Summary{Function: "f"}.Markdown()
	if want := "## ℹ️ f: release\n\n"; empty != want {
		t.Errorf("empty summary = %q, want %q", empty, want)
	}
}

func TestSummaryEscapes(t *testing.T) {
	s := release.Summary{Function: "f", Entries: []journal.Entry{{
		Time: t0, Kind: journal.EntryDecision, Function: "f",
		Reason: "a|b <script>x</script> *bold* [link](http://x)\nsecond line",
	}}}
	got := s.Markdown()
	want := `a\|b &lt;script&gt;x&lt;/script&gt; \*bold\* \[link\](http://x)<br>second line`
	if !strings.Contains(got, want) {
		t.Errorf("Markdown =\n%s\nwant it to contain\n%s", got, want)
	}
}
