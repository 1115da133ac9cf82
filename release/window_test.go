package release_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func hm(h, m int) release.TimeOfDay { return release.TimeOfDay{Hour: h, Minute: m} }

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// checkCase is one row of a Policy.Check table: at At, the policy allows
// (Until zero and Freeze empty means allowed) or blocks until Until.
type checkCase struct {
	name    string
	at      time.Time
	allowed bool
	until   time.Time // when blocked: BlockedError.Until
	freeze  string    // when blocked by a freeze: its name
}

func runCheckTable(t *testing.T, p release.DeployPolicy, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.at)
			if tt.allowed {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.at.Format(time.RFC3339), err)
				}
				return
			}
			var be *release.BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("Check(%s) = %v, want a *BlockedError", tt.at.Format(time.RFC3339), err)
			}
			if !errors.Is(err, release.ErrBlocked) {
				t.Errorf("errors.Is(%v, ErrBlocked) = false", err)
			}
			if !be.Until.Equal(tt.until) {
				t.Errorf("Check(%s).Until = %s, want %s", tt.at.Format(time.RFC3339),
					be.Until.UTC().Format(time.RFC3339), tt.until.UTC().Format(time.RFC3339))
			}
			if be.Freeze != tt.freeze {
				t.Errorf("Check(%s).Freeze = %q, want %q", tt.at.Format(time.RFC3339), be.Freeze, tt.freeze)
			}
			// Until is itself allowed, and is the first allowed instant at
			// minute resolution.
			if !be.Until.IsZero() {
				if err := p.Check(be.Until); err != nil {
					t.Errorf("Check(Until=%s) = %v, want allowed", be.Until.Format(time.RFC3339), err)
				}
				if prev := be.Until.Add(-time.Minute); !prev.Before(tt.at) && p.Check(prev) == nil {
					t.Errorf("Check(%s) = nil: a minute before Until is already allowed", prev.Format(time.RFC3339))
				}
			}
		})
	}
}

// 2026-03-02 is a Monday.
func utc(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, time.UTC) }

func TestPolicyZeroAllowsEverything(t *testing.T) {
	var p release.DeployPolicy
	for _, at := range []time.Time{utc(1, 3, 0), utc(7, 23, 59), time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)} {
		if err := p.Check(at); err != nil {
			t.Errorf("zero Policy.Check(%s) = %v, want nil", at, err)
		}
	}
}

func TestPolicyOfficeHours(t *testing.T) {
	p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0)}}}
	runCheckTable(t, p, []checkCase{
		{name: "monday opening", at: utc(2, 9, 0), allowed: true},
		{name: "monday last minute", at: utc(2, 16, 59), allowed: true},
		{name: "monday before opening", at: utc(2, 8, 59), until: utc(2, 9, 0)},
		{name: "monday closing is outside", at: utc(2, 17, 0), until: utc(3, 9, 0)},
		{name: "friday evening waits for monday", at: utc(6, 18, 0), until: utc(9, 9, 0)},
		{name: "saturday", at: utc(7, 12, 0), until: utc(9, 9, 0)},
		{name: "sunday just before midnight", at: utc(8, 23, 59), until: utc(9, 9, 0)},
	})
}

// A window never spans midnight: an overnight window is two windows, and
// together they are one uninterrupted opening across midnight.
func TestPolicyAcrossMidnight(t *testing.T) {
	p := release.DeployPolicy{Windows: []release.DeployWindow{
		{Days: []time.Weekday{time.Monday}, Start: hm(22, 0), End: hm(24, 0)},
		{Days: []time.Weekday{time.Tuesday}, Start: hm(0, 0), End: hm(6, 0)},
	}}
	runCheckTable(t, p, []checkCase{
		{name: "monday evening before", at: utc(2, 21, 30), until: utc(2, 22, 0)},
		{name: "monday 22:00", at: utc(2, 22, 0), allowed: true},
		{name: "monday 23:59", at: utc(2, 23, 59), allowed: true},
		{name: "tuesday midnight", at: utc(3, 0, 0), allowed: true},
		{name: "tuesday 05:59", at: utc(3, 5, 59), allowed: true},
		{name: "tuesday 06:00 waits a week", at: utc(3, 6, 0), until: utc(9, 22, 0)},
		{name: "sunday night", at: utc(8, 23, 30), until: utc(9, 22, 0)},
	})

	// Written as one window, it is refused with the field named.
	bad := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Monday}, Start: hm(22, 0), End: hm(6, 0)}}}
	err := bad.Validate()
	var ie *provider.InvalidError
	if !errors.As(err, &ie) || ie.Field != "windows[0].end" || !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("Validate(overnight window) = %v, want an InvalidError on windows[0].end", err)
	}
	if cerr := bad.Check(utc(2, 23, 0)); cerr == nil || errors.Is(cerr, release.ErrBlocked) {
		t.Errorf("Check with an invalid policy = %v, want the validation error (not a block, not allowed)", cerr)
	}
}

func TestPolicyTimeZones(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	akl := mustZone(t, "Pacific/Auckland")
	t.Run("new york office hours", func(t *testing.T) {
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0), TimeZone: "America/New_York"}}}
		runCheckTable(t, p, []checkCase{
			// March 2 2026: EST, UTC-5.
			{name: "08:30 local is 13:30 UTC", at: utc(2, 13, 30), until: utc(2, 14, 0)},
			{name: "09:00 local", at: time.Date(2026, 3, 2, 9, 0, 0, 0, ny), allowed: true},
			{name: "16:59 local is 21:59 UTC", at: utc(2, 21, 59), allowed: true},
			{name: "17:00 local", at: utc(2, 22, 0), until: utc(3, 14, 0)},
			// Friday 23:00 local is already Saturday in UTC.
			{name: "friday night local", at: time.Date(2026, 3, 6, 23, 0, 0, 0, ny), until: time.Date(2026, 3, 9, 9, 0, 0, 0, ny)},
		})
	})
	t.Run("auckland monday is sunday in utc", func(t *testing.T) {
		// March 2026 in Auckland is NZDT, UTC+13: Monday 09:00 local is
		// Sunday 20:00 UTC.
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Monday}, Start: hm(9, 0), End: hm(12, 0), TimeZone: "Pacific/Auckland"}}}
		runCheckTable(t, p, []checkCase{
			{name: "sunday 20:30 UTC", at: utc(1, 20, 30), allowed: true},
			{name: "monday 09:00 UTC is monday 22:00 local", at: utc(2, 9, 0), until: time.Date(2026, 3, 9, 9, 0, 0, 0, akl)},
			{name: "sunday 19:59 UTC", at: utc(1, 19, 59), until: utc(1, 20, 0)},
		})
	})
	t.Run("unknown zone", func(t *testing.T) {
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0), TimeZone: "Mars/Olympus_Mons"}}}
		var ie *provider.InvalidError
		if err := p.Validate(); !errors.As(err, &ie) || ie.Field != "windows[0].timeZone" {
			t.Fatalf("Validate = %v, want an InvalidError on windows[0].timeZone", err)
		}
	})
}

func TestPolicyDaylightSaving(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	ny := mustZone(t, "America/New_York")
	t.Run("office hours follow the clocks", func(t *testing.T) {
		// Berlin springs forward on Sunday 2026-03-29 (02:00 CET → 03:00
		// CEST): 09:00 local is 08:00 UTC the week before, 07:00 UTC after.
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0), TimeZone: "Europe/Berlin"}}}
		runCheckTable(t, p, []checkCase{
			{name: "winter 07:30 UTC is 08:30 CET", at: utc(27, 7, 30), until: utc(27, 8, 0)},
			{name: "winter 08:00 UTC is 09:00 CET", at: utc(27, 8, 0), allowed: true},
			{name: "saturday after friday close waits past the change", at: utc(28, 10, 0), until: utc(30, 7, 0)},
			{name: "summer 07:00 UTC is 09:00 CEST", at: utc(30, 7, 0), allowed: true},
			{name: "summer 15:00 UTC is 17:00 CEST", at: utc(30, 15, 0), until: utc(31, 7, 0)},
		})
	})
	t.Run("berlin spring-forward gap", func(t *testing.T) {
		// 02:30 does not exist on 2026-03-29 in Berlin: the window opens
		// when the gap ends, at 03:00 CEST = 01:00 UTC.
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Sunday}, Start: hm(2, 30), End: hm(4, 0), TimeZone: "Europe/Berlin"}}}
		runCheckTable(t, p, []checkCase{
			{name: "01:30 CET", at: utc(29, 0, 30), until: utc(29, 1, 0)},
			{name: "03:00 CEST", at: utc(29, 1, 0), allowed: true},
			{name: "03:59 CEST", at: utc(29, 1, 59), allowed: true},
			{name: "04:00 CEST", at: utc(29, 2, 0), until: time.Date(2026, 4, 5, 2, 30, 0, 0, berlin)},
		})
	})
	t.Run("new york spring-forward gap", func(t *testing.T) {
		// New York springs forward on 2026-03-08 at 02:00 EST → 03:00 EDT
		// (07:00 UTC). time.Date resolves the missing wall time in the
		// other direction from Berlin's; the opening is the same rule.
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Sunday}, Start: hm(2, 30), End: hm(5, 0), TimeZone: "America/New_York"}}}
		runCheckTable(t, p, []checkCase{
			{name: "01:30 EST", at: utc(8, 6, 30), until: utc(8, 7, 0)},
			{name: "03:00 EDT", at: utc(8, 7, 0), allowed: true},
			{name: "week before, 02:30 EST exists", at: utc(1, 7, 0), until: utc(1, 7, 30)},
			{name: "after close", at: utc(8, 9, 0), until: time.Date(2026, 3, 15, 2, 30, 0, 0, ny)},
		})
	})
	t.Run("lord howe half-hour shifts", func(t *testing.T) {
		// Lord Howe Island moves its clocks by 30 minutes: on 2026-04-05
		// 02:00 LHDT (+11) falls back to 01:30 LHST (+10:30), so 01:30–02:00
		// happens twice; on 2026-10-04 02:00 LHST jumps to 02:30 LHDT.
		p := release.DeployPolicy{Windows: []release.DeployWindow{
			{Days: []time.Weekday{time.Sunday}, Start: hm(1, 30), End: hm(2, 0), TimeZone: "Australia/Lord_Howe"},
		}}
		at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, time.UTC) }
		runCheckTable(t, p, []checkCase{
			{name: "before the first 01:30", at: at(4, 4, 14, 0), until: at(4, 4, 14, 30)},
			{name: "first 01:30 (LHDT)", at: at(4, 4, 14, 30), allowed: true},
			{name: "second 01:30 (LHST)", at: at(4, 4, 15, 0), allowed: true},
			{name: "02:00 LHST", at: at(4, 4, 15, 30), until: at(4, 11, 15, 0)},
		})
		gap := release.DeployPolicy{Windows: []release.DeployWindow{
			{Days: []time.Weekday{time.Sunday}, Start: hm(2, 10), End: hm(3, 0), TimeZone: "Australia/Lord_Howe"},
		}}
		runCheckTable(t, gap, []checkCase{
			{name: "01:30 LHST before the jump", at: at(10, 3, 15, 0), until: at(10, 3, 15, 30)},
			{name: "02:30 LHDT", at: at(10, 3, 15, 30), allowed: true},
		})
	})
	t.Run("a window entirely in the gap never opens that day", func(t *testing.T) {
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Sunday}, Start: hm(2, 0), End: hm(2, 30), TimeZone: "Europe/Berlin"}}}
		runCheckTable(t, p, []checkCase{
			{name: "saturday before", at: utc(28, 12, 0), until: time.Date(2026, 4, 5, 2, 0, 0, 0, berlin)},
		})
	})
	t.Run("berlin fall-back repeats the hour", func(t *testing.T) {
		// On 2026-10-25 Berlin falls back at 03:00 CEST → 02:00 CET: the
		// window 02:00–03:00 lasts two hours of real time, 00:00–02:00 UTC.
		p := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Sunday}, Start: hm(2, 0), End: hm(3, 0), TimeZone: "Europe/Berlin"}}}
		oct := func(day, h, m int) time.Time { return time.Date(2026, 10, day, h, m, 0, 0, time.UTC) }
		runCheckTable(t, p, []checkCase{
			{name: "01:59 CEST", at: oct(24, 23, 59), until: oct(25, 0, 0)},
			{name: "02:00 CEST", at: oct(25, 0, 0), allowed: true},
			{name: "02:59 CEST", at: oct(25, 0, 59), allowed: true},
			{name: "02:00 CET, the repeat", at: oct(25, 1, 0), allowed: true},
			{name: "02:59 CET", at: oct(25, 1, 59), allowed: true},
			{name: "03:00 CET", at: oct(25, 2, 0), until: time.Date(2026, 11, 1, 2, 0, 0, 0, berlin)},
		})
	})
}

func TestPolicyFreezes(t *testing.T) {
	// Windows Mon–Fri 09:00–17:00 UTC, a year-end freeze and two freezes
	// back to back in March. 2026-12-18 is a Friday, 2027-01-04 a Monday.
	p := release.DeployPolicy{
		Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0)}},
		Freezes: []release.Freeze{
			{Name: "year-end", Reason: "holidays", Start: time.Date(2026, 12, 18, 12, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)},
			{Name: "launch", Start: utc(10, 0, 0), End: utc(11, 0, 0)},
			{Name: "launch-2", Start: utc(11, 0, 0), End: utc(11, 10, 0)},
			{Name: "inner", Start: utc(10, 10, 0), End: utc(10, 11, 0)},
		},
	}
	runCheckTable(t, p, []checkCase{
		{name: "before the freeze", at: time.Date(2026, 12, 18, 11, 59, 0, 0, time.UTC), allowed: true},
		{name: "freeze start", at: time.Date(2026, 12, 18, 12, 0, 0, 0, time.UTC), freeze: "year-end",
			until: time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)},
		{name: "freeze over a weekend", at: time.Date(2026, 12, 26, 12, 0, 0, 0, time.UTC), freeze: "year-end",
			until: time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)},
		{name: "freeze end is allowed", at: time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC), allowed: true},
		{name: "freezes chain", at: utc(10, 9, 0), freeze: "launch", until: utc(11, 10, 0)},
		{name: "overlapping freezes report the one ending last", at: utc(10, 10, 30), freeze: "launch", until: utc(11, 10, 0)},
		{name: "second freeze", at: utc(11, 9, 30), freeze: "launch-2", until: utc(11, 10, 0)},
		{name: "freeze outside windows still reported as freeze", at: utc(10, 20, 0), freeze: "launch", until: utc(11, 10, 0)},
	})

	err := p.Check(time.Date(2026, 12, 24, 10, 0, 0, 0, time.UTC))
	want := `release: blocked: freeze "year-end" (holidays) until 2027-01-04T12:00:00Z`
	if err == nil || err.Error() != want {
		t.Errorf("Check during year-end = %v, want %q", err, want)
	}

	t.Run("freeze without windows", func(t *testing.T) {
		p := release.DeployPolicy{Freezes: []release.Freeze{{Name: "f", Start: utc(2, 0, 0), End: utc(3, 0, 0)}}}
		runCheckTable(t, p, []checkCase{
			{name: "inside", at: utc(2, 12, 0), freeze: "f", until: utc(3, 0, 0)},
			{name: "after", at: utc(3, 0, 0), allowed: true},
		})
	})
	t.Run("invalid freezes", func(t *testing.T) {
		for _, tt := range []struct {
			f     release.Freeze
			field string
		}{
			{release.Freeze{Start: utc(2, 0, 0), End: utc(3, 0, 0)}, "freezes[0].name"},
			{release.Freeze{Name: "f", End: utc(3, 0, 0)}, "freezes[0].start"},
			{release.Freeze{Name: "f", Start: utc(3, 0, 0), End: utc(3, 0, 0)}, "freezes[0].end"},
		} {
			var ie *provider.InvalidError
			err := release.DeployPolicy{Freezes: []release.Freeze{tt.f}}.Validate()
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Errorf("Validate(%+v) = %v, want an InvalidError on %s", tt.f, err, tt.field)
			}
		}
	})
}

// A policy that never opens within a year reports a zero Until.
func TestPolicyNoOpening(t *testing.T) {
	p := release.DeployPolicy{
		Windows: []release.DeployWindow{{Days: []time.Weekday{time.Monday}, Start: hm(9, 0), End: hm(10, 0)}},
		Freezes: []release.Freeze{{Name: "forever", Start: utc(1, 0, 0), End: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	runCheckTable(t, p, []checkCase{{name: "frozen for years", at: utc(2, 9, 30), freeze: "forever"}})
}

func TestPolicyValidateWindows(t *testing.T) {
	tests := []struct {
		name  string
		w     release.DeployWindow
		field string
	}{
		{"no days", release.DeployWindow{Start: hm(9, 0), End: hm(17, 0)}, "windows[0].days"},
		{"day twice", release.DeployWindow{Days: []time.Weekday{time.Monday, time.Monday}, Start: hm(9, 0), End: hm(17, 0)}, "windows[0].days"},
		{"not a weekday", release.DeployWindow{Days: []time.Weekday{7}, Start: hm(9, 0), End: hm(17, 0)}, "windows[0].days"},
		{"start 24:00", release.DeployWindow{Days: weekdays, Start: hm(24, 0), End: hm(24, 0)}, "windows[0].start"},
		{"minute 60", release.DeployWindow{Days: weekdays, Start: hm(9, 60), End: hm(17, 0)}, "windows[0].start"},
		{"end 24:30", release.DeployWindow{Days: weekdays, Start: hm(9, 0), End: hm(24, 30)}, "windows[0].end"},
		{"empty", release.DeployWindow{Days: weekdays, Start: hm(9, 0), End: hm(9, 0)}, "windows[0].end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ie *provider.InvalidError
			err := release.DeployPolicy{Windows: []release.DeployWindow{tt.w}}.Validate()
			if !errors.As(err, &ie) || ie.Field != tt.field || !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("Validate = %v, want an InvalidError on %s", err, tt.field)
			}
		})
	}
	whole := release.DeployPolicy{Windows: []release.DeployWindow{{Days: []time.Weekday{time.Sunday}, Start: hm(0, 0), End: hm(24, 0)}}}
	if err := whole.Validate(); err != nil {
		t.Errorf("Validate(00:00–24:00) = %v", err)
	}
}

func TestPolicyJSON(t *testing.T) {
	in := `{"windows":[{"days":["mon","Tuesday","FRI"],"start":"09:30","end":"24:00","timeZone":"Europe/Berlin"}],` +
		`"freezes":[{"name":"year-end","reason":"holidays","start":"2026-12-18T12:00:00Z","end":"2027-01-04T12:00:00Z"}]}`
	var p release.DeployPolicy
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	want := release.DeployPolicy{
		Windows: []release.DeployWindow{{Days: []time.Weekday{time.Monday, time.Tuesday, time.Friday}, Start: hm(9, 30), End: hm(24, 0), TimeZone: "Europe/Berlin"}},
		Freezes: []release.Freeze{{Name: "year-end", Reason: "holidays",
			Start: time.Date(2026, 12, 18, 12, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)}},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("Unmarshal (-want +got):\n%s", diff)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	wantOut := `{"windows":[{"days":["Monday","Tuesday","Friday"],"start":"09:30","end":"24:00","timeZone":"Europe/Berlin"}],` +
		`"freezes":[{"name":"year-end","reason":"holidays","start":"2026-12-18T12:00:00Z","end":"2027-01-04T12:00:00Z"}]}`
	if string(out) != wantOut {
		t.Errorf("Marshal = %s\nwant      %s", out, wantOut)
	}
	for _, bad := range []string{
		`{"windows":[{"days":["Mo"],"start":"09:00","end":"17:00"}]}`,
		`{"windows":[{"days":["Mon"],"start":"9:00","end":"17:00"}]}`,
		`{"windows":[{"days":["Mon"],"start":"09:00","end":"25:00"}]}`,
		`{"windows":[{"days":["Mon"],"start":"0a:00","end":"17:00"}]}`,
	} {
		var p release.DeployPolicy
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", bad)
		}
	}
	if _, err := json.Marshal(release.DeployWindow{Days: []time.Weekday{9}}); err == nil {
		t.Error("Marshal(window with day 9) = nil error, want one")
	}
}

// A rollback is never blocked: CheckShift lets every move that does not
// increase the candidate's share through, during a freeze, outside every
// window, and even with a policy that does not validate, while increases
// are checked.
func TestPolicyRollbackBypassesWindows(t *testing.T) {
	frozen := release.DeployPolicy{
		Windows: []release.DeployWindow{{Days: weekdays, Start: hm(9, 0), End: hm(17, 0)}},
		Freezes: []release.Freeze{{Name: "incident", Start: utc(2, 0, 0), End: utc(3, 0, 0)}},
	}
	invalid := release.DeployPolicy{Windows: []release.DeployWindow{{Start: hm(9, 0), End: hm(17, 0)}}}
	tests := []struct {
		name     string
		p        release.DeployPolicy
		at       time.Time
		from, to int
		blocked  bool // else allowed
		invalid  bool
	}{
		{name: "rollback during a freeze", p: frozen, at: utc(2, 12, 0), from: 2500, to: 0},
		{name: "rollback outside windows", p: frozen, at: utc(7, 12, 0), from: provider.AllTraffic, to: 0},
		{name: "decrease during a freeze", p: frozen, at: utc(2, 12, 0), from: 5000, to: 1000},
		{name: "hold during a freeze", p: frozen, at: utc(2, 12, 0), from: 1000, to: 1000},
		{name: "rollback with an invalid policy", p: invalid, at: utc(2, 12, 0), from: 1000, to: 0},
		{name: "increase during a freeze", p: frozen, at: utc(2, 12, 0), from: 1000, to: 2000, blocked: true},
		{name: "increase outside windows", p: frozen, at: utc(7, 12, 0), from: 0, to: 1000, blocked: true},
		{name: "increase inside a window", p: frozen, at: utc(4, 12, 0), from: 1000, to: provider.AllTraffic},
		{name: "increase with an invalid policy", p: invalid, at: utc(4, 12, 0), from: 0, to: 1000, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.CheckShift(tt.at, tt.from, tt.to)
			switch {
			case tt.blocked:
				if !errors.Is(err, release.ErrBlocked) {
					t.Errorf("CheckShift(%d → %d) = %v, want ErrBlocked", tt.from, tt.to, err)
				}
			case tt.invalid:
				if !errors.Is(err, provider.ErrInvalid) {
					t.Errorf("CheckShift(%d → %d) = %v, want ErrInvalid", tt.from, tt.to, err)
				}
			default:
				if err != nil {
					t.Errorf("CheckShift(%d → %d) = %v, want nil", tt.from, tt.to, err)
				}
			}
		})
	}
}

func ExampleDeployPolicy_Check() {
	p := release.DeployPolicy{
		Windows: []release.DeployWindow{{
			Days:     []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday},
			Start:    release.TimeOfDay{Hour: 9},
			End:      release.TimeOfDay{Hour: 16},
			TimeZone: "Europe/Berlin",
		}},
		Freezes: []release.Freeze{{
			Name:   "year-end",
			Reason: "holidays",
			Start:  time.Date(2026, 12, 18, 0, 0, 0, 0, time.UTC),
			End:    time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC),
		}},
	}
	for _, at := range []time.Time{
		time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),   // Tuesday 11:00 in Berlin
		time.Date(2026, 3, 5, 15, 30, 0, 0, time.UTC),  // Thursday 16:30 in Berlin
		time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC), // a Monday in the freeze
	} {
		fmt.Println(at.Format("Mon 15:04Z"), p.Check(at))
	}
	// A rollback is never blocked; the next canary step is.
	during := time.Date(2026, 12, 21, 10, 0, 0, 0, time.UTC)
	fmt.Println(p.CheckShift(during, 2500, 0))
	fmt.Println(errors.Is(p.CheckShift(during, 2500, 5000), release.ErrBlocked))
	// Output:
	// Tue 10:00Z <nil>
	// Thu 15:30Z release: blocked: outside every deploy window until 2026-03-09T09:00:00+01:00
	// Mon 10:00Z release: blocked: freeze "year-end" (holidays) until 2027-01-04T09:00:00+01:00
	// <nil>
	// true
}
