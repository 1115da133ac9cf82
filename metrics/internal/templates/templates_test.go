package templates_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/metrics/internal/templates"
	"github.com/slipway-dev/slipway/provider"
)

func TestMeasures(t *testing.T) {
	q := templates.Queries{Invocations: "inv", Errors: "err", P99: "p99", ColdStarts: "cold"}
	ms := q.Measures(time.Millisecond)
	var names []string
	var p provider.Point
	for _, m := range ms {
		names = append(names, m.Name)
		m.Set(&p, 2.4)
		m.Set(&p, 1.2)
	}
	if diff := cmp.Diff([]string{"invocations", "errors", "p99", "coldStarts"}, names); diff != "" {
		t.Errorf("measures (-want +got):\n%s", diff)
	}
	// Counts rounded and summed; latency in the unit, largest kept.
	want := provider.Point{Invocations: 3, Errors: 3, P99: 2400 * time.Microsecond, ColdStarts: 3}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("point (-want +got):\n%s", diff)
	}
	var s provider.Point
	templates.Queries{Invocations: "i", Errors: "e", P50: "x"}.Measures(0)[2].Set(&s, 0.5)
	if s.P50 != 500*time.Millisecond {
		t.Errorf("unit 0: P50 = %v, want 500ms (seconds)", s.P50)
	}
}

func TestChecks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		q     templates.Queries
		check func(templates.Queries) error
		field string // "" for no error
	}{
		{"required ok", templates.Queries{Invocations: "i", Errors: "e"}, func(q templates.Queries) error { return q.CheckRequired("c") }, ""},
		{"no invocations", templates.Queries{Errors: "e"}, func(q templates.Queries) error { return q.CheckRequired("c") }, "queries.invocations"},
		{"no errors", templates.Queries{Invocations: "i"}, func(q templates.Queries) error { return q.CheckRequired("c") }, "queries.errors"},
		{"p99 alone", templates.Queries{P99: "x"}, func(q templates.Queries) error { return q.CheckLatencies("c") }, ""},
		{"p50 without p90", templates.Queries{P50: "x", P99: "x"}, func(q templates.Queries) error { return q.CheckLatencies("c") }, "queries.p90"},
		{"p90 without p99", templates.Queries{P90: "x"}, func(q templates.Queries) error { return q.CheckLatencies("c") }, "queries.p99"},
		{"known placeholders", templates.Queries{Invocations: "{{function}} {{version}} {{alias}} {{period}}"}, func(q templates.Queries) error { return q.CheckPlaceholders("c") }, ""},
		{"unknown placeholder", templates.Queries{Invocations: "i", Throttles: "{{fn}}"}, func(q templates.Queries) error { return q.CheckPlaceholders("c") }, "queries.throttles"},
	} {
		err := tt.check(tt.q)
		var ie *provider.InvalidError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: %v, want nil", tt.name, err)
		case tt.field != "" && (!errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field):
			t.Errorf("%s: %v, want ErrInvalid about %s", tt.name, err, tt.field)
		}
	}
}
