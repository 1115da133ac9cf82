package release

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// DeployPolicy restricts when a release may start or move more traffic: only
// inside one of its weekly Windows (when there are any) and never during one
// of its Freezes. It is modelled on Google Cloud Deploy's deploy policies
// (weekly windows of days and times of day in a time zone, and one-time
// windows), and is plain data: it serialises to JSON and compares under
// cmp.Diff.
//
// The zero DeployPolicy allows everything.
//
// # Who checks, and when
//
// The release workflow calls Check before a release starts and before each
// traffic increase, with the time from its clock. A rollback is never
// blocked: the workflow does not consult the policy before moving traffic
// back to the stable version, because keeping a failing version in front of
// users during a freeze is worse than the change. Any error from Check that
// is not a *BlockedError (an invalid policy) must be treated as a refusal
// too: a policy that cannot be read allows nothing.
//
// # Wall-clock time and daylight saving
//
// Windows are in wall-clock time of their zone: "Mon–Fri 09:00–17:00
// Europe/Berlin" follows Berlin's clocks through daylight-saving changes.
// An instant is inside a window when its local weekday is one of Days and
// its local time of day is in [Start, End). On the day clocks spring
// forward, local times in the gap do not exist, so a window starting in the
// gap opens at the first instant after it (02:30 on a night that jumps from
// 02:00 to 03:00 opens at 03:00); on the day clocks fall back, a window
// covering the repeated hour lasts an hour longer in real time. Freezes
// are absolute instants and ignore zones.
type DeployPolicy struct {
	// Windows are the weekly windows in which releases are allowed. None
	// means always allowed (subject to Freezes).
	Windows []DeployWindow `json:"windows,omitempty"`
	// Freezes are periods in which nothing is released, whatever the
	// windows say.
	Freezes []Freeze `json:"freezes,omitempty"`
}

// DeployWindow is a weekly window: the days listed, from Start to End of day, in
// a time zone. A window never spans midnight; write an overnight window as
// two windows (Mon 22:00–24:00 and Tue 00:00–06:00).
type DeployWindow struct {
	// Days are the local weekdays on which the window opens. In JSON they
	// are names: "Monday", or "Mon".
	Days []time.Weekday `json:"days"`
	// Start and End are local times of day; the window is [Start, End).
	// End may be 24:00, the end of the day.
	Start TimeOfDay `json:"start"`
	End   TimeOfDay `json:"end"`
	// TimeZone is an IANA zone name ("Europe/Berlin"); "" is UTC.
	TimeZone string `json:"timeZone,omitempty"`
}

// Freeze forbids releases in [Start, End), for a stated reason.
type Freeze struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// TimeOfDay is a wall-clock time, "15:04" in text and JSON; 24:00 is the end
// of the day.
type TimeOfDay struct {
	Hour   int `json:"hour"`
	Minute int `json:"minute"`
}

func (c TimeOfDay) minutes() int { return c.Hour*60 + c.Minute }

func (c TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// MarshalText writes "15:04".
func (c TimeOfDay) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "15:04" (two-digit hour and minute, 00:00 to 24:00).
func (c *TimeOfDay) UnmarshalText(b []byte) error {
	s := string(b)
	var h, m int
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return fmt.Errorf("release: time of day %q is not HH:MM", s)
	}
	fmt.Sscanf(s, "%d:%d", &h, &m)
	t := TimeOfDay{Hour: h, Minute: m}
	if err := t.check(true); err != nil {
		return err
	}
	*c = t
	return nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (c TimeOfDay) check(end bool) error {
	if c.Hour < 0 || c.Hour > 24 || c.Minute < 0 || c.Minute > 59 || c.Hour == 24 && (c.Minute != 0 || !end) {
		return fmt.Errorf("release: time of day %s is out of range (00:00..%s)", c, map[bool]string{true: "24:00", false: "23:59"}[end])
	}
	return nil
}

type windowJSON struct {
	Days     []string  `json:"days"`
	Start    TimeOfDay `json:"start"`
	End      TimeOfDay `json:"end"`
	TimeZone string    `json:"timeZone,omitempty"`
}

// MarshalJSON writes Days as weekday names.
func (w DeployWindow) MarshalJSON() ([]byte, error) {
	days := make([]string, len(w.Days))
	for i, d := range w.Days {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("release: window day %d is not a weekday", int(d))
		}
		days[i] = d.String()
	}
	return json.Marshal(windowJSON{Days: days, Start: w.Start, End: w.End, TimeZone: w.TimeZone})
}

// UnmarshalJSON reads Days as weekday names, full ("Monday") or
// abbreviated ("Mon"), in any case.
func (w *DeployWindow) UnmarshalJSON(b []byte) error {
	var raw windowJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	days := make([]time.Weekday, len(raw.Days))
	for i, s := range raw.Days {
		d, ok := parseWeekday(s)
		if !ok {
			return fmt.Errorf("release: %q is not a weekday", s)
		}
		days[i] = d
	}
	*w = DeployWindow{Days: days, Start: raw.Start, End: raw.End, TimeZone: raw.TimeZone}
	return nil
}

func parseWeekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := d.String()
		if strings.EqualFold(s, name) || strings.EqualFold(s, name[:3]) {
			return d, true
		}
	}
	return 0, false
}

// Validate checks the policy: every window names at least one weekday, each
// once, has Start before End within 00:00..24:00 and a loadable TimeZone;
// every freeze has a Name and an End after its Start. Errors wrap
// provider.ErrInvalid and name the field.
func (p DeployPolicy) Validate() error {
	_, err := p.locations()
	return err
}

// locations validates p and loads the windows' zones.
func (p DeployPolicy) locations() ([]*time.Location, error) {
	locs := make([]*time.Location, len(p.Windows))
	for i, w := range p.Windows {
		field := fmt.Sprintf("windows[%d]", i)
		if len(w.Days) == 0 {
			return nil, provider.Invalid("deploy policy", field+".days", "is empty")
		}
		var seen [7]bool
		for _, d := range w.Days {
			if d < time.Sunday || d > time.Saturday {
				return nil, provider.Invalid("deploy policy", field+".days", fmt.Sprintf("has %d, not a weekday", int(d)))
			}
			if seen[d] {
				return nil, provider.Invalid("deploy policy", field+".days", fmt.Sprintf("lists %s twice", d))
			}
			seen[d] = true
		}
		if err := w.Start.check(false); err != nil {
			return nil, provider.Invalid("deploy policy", field+".start", err.Error())
		}
		if err := w.End.check(true); err != nil {
			return nil, provider.Invalid("deploy policy", field+".end", err.Error())
		}
		if w.End.minutes() <= w.Start.minutes() {
			return nil, provider.Invalid("deploy policy", field+".end", fmt.Sprintf("%s is not after start %s (split an overnight window in two)", w.End, w.Start))
		}
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			return nil, provider.Invalid("deploy policy", field+".timeZone", err.Error())
		}
		locs[i] = loc
	}
	for i, f := range p.Freezes {
		field := fmt.Sprintf("freezes[%d]", i)
		switch {
		case f.Name == "":
			return nil, provider.Invalid("deploy policy", field+".name", "is empty")
		case f.Start.IsZero():
			return nil, provider.Invalid("deploy policy", field+".start", "is zero")
		case !f.End.After(f.Start):
			return nil, provider.Invalid("deploy policy", field+".end", "is not after start")
		}
	}
	return locs, nil
}

// horizon bounds the search for the next opening.
const horizon = 366 * 24 * time.Hour

// Check reports whether the policy allows a release (or a traffic increase)
// at t. It returns nil when allowed; a *BlockedError (matching ErrBlocked)
// that says why and when the policy next allows a release; or, for an
// invalid policy, the Validate error. A freeze is reported before being
// outside the windows.
//
// BlockedError.Until is the first instant at or after t that is inside a
// window (when there are windows) and outside every freeze, looking up to a
// year ahead; it is the zero time when there is none.
func (p DeployPolicy) Check(t time.Time) error {
	locs, err := p.locations()
	if err != nil {
		return err
	}
	if f, ok := p.frozen(t); ok {
		reason := fmt.Sprintf("freeze %q", f.Name)
		if f.Reason != "" {
			reason += " (" + f.Reason + ")"
		}
		return &BlockedError{Reason: reason, Freeze: f.Name, Until: p.next(t, locs)}
	}
	if !p.inWindow(t, locs) {
		return &BlockedError{Reason: "outside every deploy window", Until: p.next(t, locs)}
	}
	return nil
}

// CheckShift is the check the workflow makes before it moves traffic: from
// is the share (basis points) the candidate has now and to the share it
// would have after the move. A move that does not increase the candidate's
// share (a hold, a decrease, a rollback to the stable version) is never
// blocked and returns nil without reading the policy, even an invalid one;
// an increase returns Check(t). So a rollback during a freeze, or outside
// every window, goes ahead:
//
//	p.CheckShift(now, 2500, 0)    // rollback: nil
//	p.CheckShift(now, 2500, 5000) // next canary step: p.Check(now)
func (p DeployPolicy) CheckShift(t time.Time, from, to int) error {
	if to <= from {
		return nil
	}
	return p.Check(t)
}

// frozen returns the freeze containing t that ends last.
func (p DeployPolicy) frozen(t time.Time) (Freeze, bool) {
	var out Freeze
	found := false
	for _, f := range p.Freezes {
		if !t.Before(f.Start) && t.Before(f.End) && (!found || f.End.After(out.End)) {
			out, found = f, true
		}
	}
	return out, found
}

func (p DeployPolicy) inWindow(t time.Time, locs []*time.Location) bool {
	if len(p.Windows) == 0 {
		return true
	}
	for i, w := range p.Windows {
		if w.contains(t, locs[i]) {
			return true
		}
	}
	return false
}

func (w DeployWindow) contains(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	mins := lt.Hour()*60 + lt.Minute()
	for _, d := range w.Days {
		if d == lt.Weekday() {
			return w.Start.minutes() <= mins && mins < w.End.minutes()
		}
	}
	return false
}

// next returns the first instant at or after t allowed by p, or zero.
func (p DeployPolicy) next(t time.Time, locs []*time.Location) time.Time {
	u := t
	for u.Sub(t) <= horizon {
		if f, ok := p.frozen(u); ok {
			u = f.End
			continue
		}
		if p.inWindow(u, locs) {
			return u
		}
		n, ok := p.nextOpening(u, locs)
		if !ok {
			return time.Time{}
		}
		u = n
	}
	return time.Time{}
}

// nextOpening returns the earliest window opening after u.
func (p DeployPolicy) nextOpening(u time.Time, locs []*time.Location) (time.Time, bool) {
	var best time.Time
	for i, w := range p.Windows {
		if s, ok := w.nextOpening(u, locs[i]); ok && (best.IsZero() || s.Before(best)) {
			best = s
		}
	}
	return best, !best.IsZero()
}

// nextOpening returns the first instant after u at which w opens: on each of
// the next fifteen local days that is one of w.Days, the first instant whose
// local time of day is at least w.Start. Two weeks, not one, because an
// opening that falls in a spring-forward gap (a window lying wholly inside
// the missing hour) does not happen that week.
func (w DeployWindow) nextOpening(u time.Time, loc *time.Location) (time.Time, bool) {
	lu := u.In(loc)
	y, m, d := lu.Date()
	for i := range 15 {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc) // noon: never in a transition
		if !w.on(day.Weekday()) {
			continue
		}
		s := w.openingOn(day, loc)
		if s.After(u) && w.contains(s, loc) {
			return s, true
		}
	}
	return time.Time{}, false
}

func (w DeployWindow) on(d time.Weekday) bool {
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// openingOn returns the first instant of day's date whose local time of day
// is at least w.Start. When w.Start falls in a spring-forward gap, that is
// the instant the gap ends.
func (w DeployWindow) openingOn(day time.Time, loc *time.Location) time.Time {
	y, m, d := day.Date()
	s := time.Date(y, m, d, w.Start.Hour, w.Start.Minute, 0, 0, loc)
	sy, sm, sd := s.Date()
	if sy == y && sm == m && sd == d && s.Hour() == w.Start.Hour && s.Minute() == w.Start.Minute {
		return earliest(s)
	}
	// The wall time does not exist. time.Date moved it by the size of the
	// gap, to before or after it depending on the zone; the opening is the
	// transition at the end of the gap, which bounds s's zone period.
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	got := time.Date(sy, sm, sd, s.Hour(), s.Minute(), 0, 0, time.UTC)
	start, end := s.ZoneBounds()
	edge := start
	if got.Before(date.Add(time.Duration(w.Start.minutes()) * time.Minute)) {
		edge = end
	}
	if edge.IsZero() {
		return s
	}
	return edge.In(loc)
}

// earliest returns the first instant showing the same wall-clock time as s.
// On the day clocks fall back, the wall times of the repeated hour occur
// twice and time.Date may return either; the opening is the first.
func earliest(s time.Time) time.Time {
	start, _ := s.ZoneBounds()
	if start.IsZero() {
		return s
	}
	_, cur := s.Zone()
	_, prev := start.Add(-time.Nanosecond).Zone()
	if prev <= cur {
		return s
	}
	e := s.Add(-time.Duration(prev-cur) * time.Second)
	if !e.Before(start) {
		return s
	}
	le, ls := e.In(s.Location()), s
	if le.Hour() != ls.Hour() || le.Minute() != ls.Minute() || le.Day() != ls.Day() {
		return s
	}
	return e
}
