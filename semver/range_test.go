package semver_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/semver"
)

// TestRangeDesugar pins the canonical form of each piece of the grammar,
// including node-semver's rules for ^ and ~ on 0.x.
func TestRangeDesugar(t *testing.T) {
	tests := []struct{ in, want string }{
		// caret
		{"^1.2.3", ">=1.2.3 <2.0.0-0"},
		{"^0.2.3", ">=0.2.3 <0.3.0-0"},
		{"^0.0.3", ">=0.0.3 <0.0.4-0"},
		{"^0.0.3-rc.1", ">=0.0.3-rc.1 <0.0.4-0"},
		{"^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"},
		{"^1.2", ">=1.2.0 <2.0.0-0"},
		{"^1.2.x", ">=1.2.0 <2.0.0-0"},
		{"^0.2", ">=0.2.0 <0.3.0-0"},
		{"^0.0", "<0.1.0-0"},
		{"^0.0.x", "<0.1.0-0"},
		{"^0.x", "<1.0.0-0"},
		{"^0", "<1.0.0-0"},
		{"^1", ">=1.0.0 <2.0.0-0"},
		{"^*", "*"},
		{"^0.0.0", "<0.0.1-0"},
		// tilde
		{"~1.2.3", ">=1.2.3 <1.3.0-0"},
		{"~>1.2.3", ">=1.2.3 <1.3.0-0"},
		{"~1.2", ">=1.2.0 <1.3.0-0"},
		{"~1", ">=1.0.0 <2.0.0-0"},
		{"~0.2.3", ">=0.2.3 <0.3.0-0"},
		{"~0.0.3", ">=0.0.3 <0.1.0-0"},
		{"~1.2.3-rc.1", ">=1.2.3-rc.1 <1.3.0-0"},
		{"~x", "*"},
		// x-ranges and partials
		{"*", "*"},
		{"x", "*"},
		{"X", "*"},
		{"", "*"},
		{"   ", "*"},
		{"1.x", ">=1.0.0 <2.0.0-0"},
		{"1.X.*", ">=1.0.0 <2.0.0-0"},
		{"1.2.x", ">=1.2.0 <1.3.0-0"},
		{"1.2", ">=1.2.0 <1.3.0-0"},
		{"1", ">=1.0.0 <2.0.0-0"},
		{"=1.2", ">=1.2.0 <1.3.0-0"},
		{"1.2.x-rc.1", ">=1.2.0 <1.3.0-0"}, // a prerelease on a wildcard is dropped
		{">1.2", ">=1.3.0"},
		{">1", ">=2.0.0"},
		{">=1.2", ">=1.2.0"},
		{"<1.2", "<1.2.0-0"},
		{"<=1.2", "<1.3.0-0"},
		{"<=1", "<2.0.0-0"},
		{">*", "<0.0.0-0"},
		{"<x", "<0.0.0-0"},
		{">=*", "*"},
		{"<=*", "*"},
		// comparators
		{"1.2.3", "1.2.3"},
		{"=1.2.3", "1.2.3"},
		{"= 1.2.3", "1.2.3"},
		{">= 1.2.3", ">=1.2.3"},
		{">=\t1.2.3", ">=1.2.3"},
		{"<1.2.3-rc.1", "<1.2.3-rc.1"},
		{">=0.0.0", "*"},
		{">=0.0.0-0", ">=0.0.0-0"},
		{"1.2.3+build.5", "1.2.3"},
		{"^1.2.3+build", ">=1.2.3 <2.0.0-0"},
		{"1.x+build", ">=1.0.0 <2.0.0-0"},
		// hyphen ranges
		{"1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"},
		{"1.2 - 2.3.4", ">=1.2.0 <=2.3.4"},
		{"1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"},
		{"1.2.3 - 2", ">=1.2.3 <3.0.0-0"},
		{"1.2.3-rc.1 - 2.0.0-rc.2", ">=1.2.3-rc.1 <=2.0.0-rc.2"},
		{"* - 2", "<3.0.0-0"},
		{"1 - *", ">=1.0.0"},
		{"x - x", "*"},
		{"0.0.0 - 1.0.0", "<=1.0.0"},
		{"  1.2.3   -   2.3.4  ", ">=1.2.3 <=2.3.4"},
		// intersections and unions
		{">=1.2.3 <2.0.0", ">=1.2.3 <2.0.0"},
		{"^1.2 ^1", ">=1.2.0 <2.0.0-0 >=1.0.0"}, // duplicates go, the first stays
		{"1.2.3 1.2.3", "1.2.3"},
		{"* >=1.0.0", ">=1.0.0"},
		{"^1.2.3 || ^2", ">=1.2.3 <2.0.0-0||>=2.0.0 <3.0.0-0"},
		{"1.2.3||1.2.3", "1.2.3||1.2.3"},
		{"||", "*"},
		{"1.2.3 ||", "*"},
		{"1.2.3 || *", "*"},
		{"<0.0.0-0 || 1.2.3", "1.2.3"},
		{"<x || >x", "<0.0.0-0"},
		{"<x 1.2.3", "<0.0.0-0"},
		{"~ 1.2.3", ">=1.2.3 <1.3.0-0"},
		{"~> 1.2.3", ">=1.2.3 <1.3.0-0"},
		{"^ 1.2.3", ">=1.2.3 <2.0.0-0"},
		// numbers to the limit
		{"^18446744073709551614.0.0", ">=18446744073709551614.0.0 <18446744073709551615.0.0-0"},
		{"18446744073709551615.0.0", "18446744073709551615.0.0"},
		{">=18446744073709551615.x", ">=18446744073709551615.0.0"},
		{"<18446744073709551615", "<18446744073709551615.0.0-0"},
	}
	for _, tt := range tests {
		r, err := semver.ParseRange(tt.in)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if got := r.String(); got != tt.want {
			t.Errorf("ParseRange(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := semver.ParseRange(r.String())
		if err != nil || !again.Equal(r) {
			t.Errorf("ParseRange(%q) = %v, %v; want %v back", r.String(), again, err, r)
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"1.x.3", `semver: "1.x.3": version "1.x.3": patch version 3 follows a wildcard`},
		{"x.1", `version "x.1": minor version 1 follows a wildcard`},
		{"^1.*.2", `patch version 2 follows a wildcard`},
		{">=01.2.3", `version "01.2.3": major version has a leading zero`},
		{"1.2.3-01", `prerelease identifier "01" has a leading zero`},
		{"v1.2.3", `version "v1.2.3": unexpected 'v' at offset 0`},
		{"^v1", `version "v1": unexpected 'v'`},
		{"1.2-rc.1", `version "1.2-rc.1": a prerelease needs MAJOR.MINOR.PATCH`},
		{"1.2.3.4", `version "1.2.3.4": too many parts`},
		{"1..2", `version "1..2": minor version is missing`},
		{"1.2.", `version "1.2.": patch version is missing`},
		{">=", `operator ">=" has no version after it`},
		{">= ", `operator ">=" has no version after it`},
		{"1.2.3 >=", `operator ">=" has no version after it`},
		{"~", `operator "~" has no version after it`},
		{">=>=1.2.3", `unexpected '>'`},
		{"1.2.3 - ", `hyphen "-" is not between two versions`},
		{"1.2.3 - 2 - 3", `hyphen "-" is not between two versions`},
		{"- 1.2.3", `hyphen "-" is not between two versions`},
		{">=1.2.3 - 2", `unexpected '>'`},
		{"1.2.3 | 2.0.0", `unexpected '|'`},
		{"1.2.3+", `build is empty`},
		{"1.2.3+a..b", `build identifier 2 is empty`},
		{"1.2.3beta", `unexpected 'b'`},
		{"hello", `unexpected 'h'`},
		{"18446744073709551616", `major version 18446744073709551616 overflows uint64`},
		{"\u00a01.2.3", `unexpected '\u00a0'`},
	}
	for _, tt := range tests {
		r, err := semver.ParseRange(tt.in)
		if err == nil {
			t.Errorf("ParseRange(%q) = %v, want error", tt.in, r)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseRange(%q) error:\n got %s\nwant …%s…", tt.in, err, tt.msg)
		}
		var pe *semver.ParseError
		if !errors.Is(err, semver.ErrInvalid) || !errors.As(err, &pe) || pe.Input != tt.in {
			t.Errorf("ParseRange(%q) error %#v: want a *ParseError for the whole input wrapping ErrInvalid", tt.in, err)
		}
	}
}

func TestParseRangeOverflow(t *testing.T) {
	for _, in := range []string{
		"^18446744073709551615.0.0",
		"~18446744073709551615",
		"~1.18446744073709551615.0",
		"^0.0.18446744073709551615",
		"18446744073709551615.x",
		">18446744073709551615",
		"<=1.18446744073709551615",
		"1 - 18446744073709551615",
	} {
		_, err := semver.ParseRange(in)
		if !errors.Is(err, semver.ErrInvalid) || !strings.Contains(err.Error(), "overflow uint64") {
			t.Errorf("ParseRange(%q) error = %v, want ErrInvalid naming the overflow", in, err)
		}
	}
}

func TestRangeContains(t *testing.T) {
	tests := []struct {
		rng string
		in  []string
		out []string
	}{
		{"^1.2.3", []string{"1.2.3", "1.9.9", "1.2.3+build"}, []string{"1.2.2", "2.0.0", "2.0.0-0", "1.3.0-rc.1", "1.2.3-rc.1"}},
		{"^0.2.3", []string{"0.2.3", "0.2.99"}, []string{"0.3.0", "0.2.2", "1.0.0"}},
		{"^0.0.3", []string{"0.0.3"}, []string{"0.0.4", "0.0.2"}},
		// The prerelease rule.
		{">=1.2.3-rc.1", []string{"1.2.3-rc.1", "1.2.3-rc.2", "1.2.3", "5.0.0"}, []string{"1.2.3-alpha", "1.2.4-rc.1", "5.0.0-rc.1"}},
		{">=1.2.3-rc.1 <2.0.0", []string{"1.2.3-rc.2"}, []string{"1.5.0-beta", "2.0.0-rc.1"}},
		{"*", []string{"0.0.0", "1.2.3"}, []string{"1.2.3-rc.1", "0.0.0-0"}},
		{"", []string{"1.2.3"}, []string{"1.2.3-rc.1"}},
		{">=0.0.0-0", []string{"0.0.0-0", "0.0.0-alpha", "0.0.0"}, []string{"0.0.1-alpha"}},
		{"1.2.3-rc.1 || >=2.0.0-beta.2 <3", []string{"1.2.3-rc.1", "2.0.0-beta.3", "2.5.0"}, []string{"1.2.3-rc.2", "2.5.0-beta.3", "1.2.3"}},
		{"<0.0.0-0", nil, []string{"0.0.0-0", "0.0.0", "1.0.0"}},
		{"<1.0.0", []string{"0.9.9"}, []string{"1.0.0-rc.1", "1.0.0"}},
		{"<1.0.0-rc.2", []string{"1.0.0-rc.1", "0.9.9"}, []string{"1.0.0-rc.2", "0.9.9-rc.1"}},
		// Prerelease identifiers longer than uint64.
		{">=1.0.0-99999999999999999999 <=1.0.0-100000000000000000000", []string{"1.0.0-99999999999999999999", "1.0.0-100000000000000000000"}, []string{"1.0.0-99999999999999999998", "1.0.0-100000000000000000001"}},
	}
	for _, tt := range tests {
		r := semver.MustParseRange(tt.rng)
		for _, s := range tt.in {
			if !r.Contains(semver.MustParse(s)) {
				t.Errorf("%q [%s] does not contain %s", tt.rng, r, s)
			}
		}
		for _, s := range tt.out {
			if r.Contains(semver.MustParse(s)) {
				t.Errorf("%q [%s] contains %s", tt.rng, r, s)
			}
		}
	}
}

func TestZeroRange(t *testing.T) {
	var zero semver.Range
	star := semver.MustParseRange("*")
	if zero.String() != "*" || !zero.Equal(star) || !star.Equal(zero) {
		t.Errorf("zero Range = %q, want *", zero.String())
	}
	for _, s := range []string{"0.0.0", "1.2.3", "18446744073709551615.0.0", "1.2.3-rc.1", "0.0.0-0"} {
		v := semver.MustParse(s)
		if zero.Contains(v) != star.Contains(v) {
			t.Errorf("zero Range contains %s: %v, but * does: %v", s, zero.Contains(v), star.Contains(v))
		}
	}
}

func TestRangeText(t *testing.T) {
	type policy struct {
		Track semver.Range `json:"track"`
	}
	var p policy
	if err := json.Unmarshal([]byte(`{"track":"^1.2 || 2.x"}`), &p); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"track":"\u003e=1.2.0 \u003c2.0.0-0||\u003e=2.0.0 \u003c3.0.0-0"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var back policy
	if err := json.Unmarshal(b, &back); err != nil || !back.Track.Equal(p.Track) {
		t.Errorf("round trip = %v, %v", back.Track, err)
	}
	if err := json.Unmarshal([]byte(`{"track":"1.x.2"}`), &p); !errors.Is(err, semver.ErrInvalid) {
		t.Errorf("json.Unmarshal(1.x.2) error = %v, want ErrInvalid", err)
	}
	if diff := cmp.Diff(semver.MustParseRange("^1.2.3"), semver.MustParseRange(">=1.2.3 <2.0.0-0")); diff != "" {
		t.Errorf("cmp.Diff of equal ranges (-want +got):\n%s", diff)
	}
}

func TestSatisfying(t *testing.T) {
	vs := []semver.Version{
		semver.MustParse("1.2.3"),
		semver.MustParse("1.4.0+b1"),
		semver.MustParse("1.4.0+b2"),
		semver.MustParse("2.0.0-rc.1"),
		semver.MustParse("1.0.0"),
		semver.MustParse("1.0.0+b2"),
		semver.MustParse("2.1.0"),
	}
	tests := []struct {
		rng      string
		max, min string // "" for none
	}{
		{"^1", "1.4.0+b1", "1.0.0"}, // among equal precedence, the first wins
		{"*", "2.1.0", "1.0.0"},
		{">=2.0.0-rc.1", "2.1.0", "2.0.0-rc.1"},
		{"^3", "", ""},
		{"<0.0.0-0", "", ""},
	}
	for _, tt := range tests {
		r := semver.MustParseRange(tt.rng)
		for _, f := range []struct {
			name string
			fn   func([]semver.Version, semver.Range) (semver.Version, bool)
			want string
		}{{"MaxSatisfying", semver.MaxSatisfying, tt.max}, {"MinSatisfying", semver.MinSatisfying, tt.min}} {
			got, ok := f.fn(vs, r)
			if tt.rng == "^1" && f.name == "MinSatisfying" && got != vs[4] {
				t.Errorf("MinSatisfying(^1) = %v, want the first 1.0.0 (no build)", got)
			}
			switch {
			case f.want == "" && ok:
				t.Errorf("%s(%q) = %v, want none", f.name, tt.rng, got)
			case f.want != "" && (!ok || got.String() != f.want):
				t.Errorf("%s(%q) = %v, %v; want %s", f.name, tt.rng, got, ok, f.want)
			}
		}
	}
	if _, ok := semver.MaxSatisfying(nil, semver.Range{}); ok {
		t.Error("MaxSatisfying(nil) found a version")
	}
}

func TestRangeContainsAllocs(t *testing.T) {
	r := semver.MustParseRange("^1.2.3 || >=2.0.0-rc.1 <3")
	v := semver.MustParse("2.0.0-rc.2")
	var sink bool
	if n := testing.AllocsPerRun(100, func() { sink = r.Contains(v) }); n != 0 {
		t.Errorf("Contains allocates %v times, want 0", n)
	}
	if !sink {
		t.Error("Contains = false")
	}
}
