package provider_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

func TestQuery_CompleteThrough(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	q := provider.Query{Function: "f", Versions: []string{"1"}, Start: t0, End: t0.Add(10 * time.Minute), Period: time.Minute}
	for _, tt := range []struct {
		name  string
		now   time.Time
		delay time.Duration
		want  time.Time
	}{
		{"mid-window, aligned down", t0.Add(5*time.Minute + 30*time.Second), time.Minute, t0.Add(4 * time.Minute)},
		{"capped at End", t0.Add(time.Hour), 2 * time.Minute, t0.Add(10 * time.Minute)},
		{"not before Start", t0.Add(30 * time.Second), 2 * time.Minute, t0},
		{"on a boundary", t0.Add(7 * time.Minute), 0, t0.Add(7 * time.Minute)},
	} {
		if got := q.CompleteThrough(tt.now, tt.delay); !got.Equal(tt.want) {
			t.Errorf("%s: CompleteThrough(%v, %v) = %v, want %v", tt.name, tt.now, tt.delay, got, tt.want)
		}
	}
}

func TestQuery_EmptySeries(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	q := provider.Query{Function: "f", Versions: []string{"1", "2"}, Start: t0, End: t0.Add(10 * time.Minute), Period: 5 * time.Minute}
	got := q.EmptySeries(t0.Add(10*time.Minute), -1)
	pts := func() []provider.Point {
		return []provider.Point{{Start: t0, ColdStarts: -1}, {Start: t0.Add(5 * time.Minute), ColdStarts: -1}}
	}
	want := []provider.Series{{Version: "1", Points: pts()}, {Version: "2", Points: pts()}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EmptySeries (-want +got):\n%s", diff)
	}
	got[0].Points[0].Invocations = 1
	if got[1].Points[0].Invocations != 0 {
		t.Error("EmptySeries: the series share their points")
	}
	if got := q.EmptySeries(t0, 0); len(got) != 2 || len(got[0].Points) != 0 || got[0].Points == nil {
		t.Errorf("EmptySeries through Start = %#v, want two series with no points", got)
	}
}

func TestQuery_Chunks(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	q := provider.Query{Function: "f", Alias: "live", Versions: []string{"1"}, Start: t0, End: t0.Add(10 * time.Minute), Period: time.Minute}
	at := func(lo, hi int) provider.Query {
		c := q
		c.Start, c.End = t0.Add(time.Duration(lo)*time.Minute), t0.Add(time.Duration(hi)*time.Minute)
		return c
	}
	for _, tt := range []struct {
		name    string
		through time.Time
		max     int
		want    []provider.Query
	}{
		{"split in fours", t0.Add(10 * time.Minute), 4, []provider.Query{at(0, 4), at(4, 8), at(8, 10)}},
		{"even split", t0.Add(8 * time.Minute), 4, []provider.Query{at(0, 4), at(4, 8)}},
		{"one chunk", t0.Add(3 * time.Minute), 100, []provider.Query{at(0, 3)}},
		{"no limit", t0.Add(10 * time.Minute), 0, []provider.Query{at(0, 10)}},
		{"nothing complete", t0, 4, nil},
	} {
		if diff := cmp.Diff(tt.want, q.Chunks(tt.through, tt.max)); diff != "" {
			t.Errorf("%s: Chunks (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestClearIdle(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	series := []provider.Series{{Version: "1", Points: []provider.Point{
		{Start: t0, Invocations: 0, P50: 1, P90: 2, P99: 3, ColdStarts: 2},
		{Start: t0.Add(time.Minute), Invocations: 0, P99: 3, ColdStarts: -1},
		{Start: t0.Add(2 * time.Minute), Invocations: 5, P50: 1, P90: 2, P99: 3, ColdStarts: 1},
	}}}
	provider.ClearIdle(series)
	want := []provider.Series{{Version: "1", Points: []provider.Point{
		{Start: t0},
		{Start: t0.Add(time.Minute), ColdStarts: -1},
		{Start: t0.Add(2 * time.Minute), Invocations: 5, P50: 1, P90: 2, P99: 3, ColdStarts: 1},
	}}}
	if diff := cmp.Diff(want, series); diff != "" {
		t.Errorf("ClearIdle (-want +got):\n%s", diff)
	}
}
