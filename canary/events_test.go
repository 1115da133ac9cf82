package canary

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunnerProgressEventsAndLog(t *testing.T) {
	h := newHarness(t, 47)
	var buf bytes.Buffer
	o := h.options()
	o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
		Strategy: analysed(Canary(1000, 3*time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		At       time.Duration
		From, To string
		Step     int
		Weight   int
		Checks   int
	}
	var got []row
	for _, e := range h.events {
		if e.RolloutID != "r1" || e.Function != "fn" || e.Alias != "prod" || e.Stable != "1" || e.Candidate != "2" {
			t.Fatalf("event without the rollout's identity: %+v", e)
		}
		got = append(got, row{e.Time.Sub(runEpoch), e.From.String(), e.Phase.String(), e.Step, e.Weight, len(e.Results)})
	}
	// Weight is the share confirmed by the provider when the event is
	// reported: a shift reports the old weight, the bake that follows the
	// new one. Windows carry the checks' results.
	want := []row{
		{0, "Pending", "Shifting", 0, 0, 0},
		{0, "Shifting", "Baking", 0, 1000, 0},
		{time.Minute, "Baking", "Baking", 0, 1000, 1},
		{2 * time.Minute, "Baking", "Baking", 0, 1000, 1},
		{3 * time.Minute, "Baking", "Baking", 0, 1000, 1},
		{3 * time.Minute, "Baking", "Shifting", 1, 1000, 0},
		{3 * time.Minute, "Shifting", "Succeeded", 1, 10000, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("progress events (-want +got):\n%s", diff)
	}
	if len(st.History) != 4 {
		t.Fatalf("%d transitions in the history, want 4", len(st.History))
	}
	log := buf.String()
	for _, s := range []string{`msg="canary: Pending → Shifting"`, `msg="canary: window analysed"`, "rollout.check.errors=", "rollout.phase=Succeeded", "rollout.weight=10000"} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
	if n := strings.Count(log, "\n"); n != len(want) {
		t.Errorf("%d log records, want %d", n, len(want))
	}
}

func TestRunnerRollbackLogsAtWarn(t *testing.T) {
	h := newHarness(t, 47)
	var buf bytes.Buffer
	o := h.options()
	o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.mem.SetBehavior("fn", "2", badBehavior())
	if _, err := h.runner(o).Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2",
		Strategy: analysed(Canary(1000, 3*time.Minute))}); err == nil {
		t.Fatal("a bad release succeeded")
	}
	log := buf.String()
	for _, s := range []string{"level=WARN", "→ RollingBack", "→ RolledBack"} {
		if !strings.Contains(log, s) {
			t.Errorf("warn log lacks %q:\n%s", s, log)
		}
	}
}
