package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/fleet"
)

func loadPlan(t *testing.T) fleet.Plan {
	t.Helper()
	f, err := os.Open("fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := fleet.LoadPlan(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunPlanFile: the plan file's 54 functions all end on version 2, in
// the four waves of 2, 16, 10 and 26 targets, the last after Sydney's
// window opened (Tue 09:00 local, Mon 22:00 UTC).
func TestRunPlanFile(t *testing.T) {
	p := loadPlan(t)
	var out strings.Builder
	o, err := run(context.Background(), p, "", &out)
	if err != nil {
		t.Fatal(err)
	}
	if o.state.Phase != fleet.PhaseSucceeded {
		t.Fatalf("phase %s: %s", o.state.Phase, o.state.Reason)
	}
	var sizes []int
	for _, w := range o.state.Waves {
		sizes = append(sizes, len(w))
	}
	if want := []int{2, 16, 10, 26}; !equal(sizes, want) {
		t.Errorf("wave sizes %v, want %v", sizes, want)
	}
	for id, r := range o.routes {
		if len(r.Weights) != 1 || r.Primary() != "2" {
			t.Errorf("%s: route %v", id, r.Weights)
		}
	}
	for i, ts := range o.state.Targets {
		if p.Targets[i].Region == "ap-southeast-2" && ts.Started.Hour() < 22 {
			t.Errorf("%s started %s, before its window", ts.ID, ts.Started)
		}
	}
	if !strings.Contains(out.String(), "ap-southeast-2 until Mon 22:00 UTC (Tue 09:00 AEDT local)") {
		t.Errorf("output does not report Sydney's window:\n%s", out.String())
	}
}

// TestRunFaulty: a faulty worker in wave 3 sends its API back with it and
// stops the release; the first two waves stay released, wave 4 is never
// touched.
func TestRunFaulty(t *testing.T) {
	p := loadPlan(t)
	o, err := run(context.Background(), p, "aws-us/us-east-1/cart-worker", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.state.Phase != fleet.PhaseFailed {
		t.Fatalf("phase %s", o.state.Phase)
	}
	for i, tg := range p.Targets {
		r := o.routes[tg.ID()]
		ts := o.state.Targets[i]
		switch {
		case tg.Group == "cart@us-east-1" && r.Primary() != "1":
			t.Errorf("%s of the failed group on %v", tg.ID(), r.Weights)
		case ts.Wave < 2 && r.Primary() != "2":
			t.Errorf("%s of wave %d on %v", tg.ID(), ts.Wave+1, r.Weights)
		case ts.Wave == 3 && (r.Primary() != "1" || ts.Phase != fleet.TargetSkipped):
			t.Errorf("%s of wave 4 is %s on %v", tg.ID(), ts.Phase, r.Weights)
		}
		if len(r.Weights) != 1 {
			t.Errorf("%s left split", tg.ID())
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
