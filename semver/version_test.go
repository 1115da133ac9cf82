package semver_test

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/semver"
)

type parts struct {
	Major, Minor, Patch uint64
	Pre, Build          string
}

func partsOf(v semver.Version) parts {
	return parts{v.Major(), v.Minor(), v.Patch(), v.Prerelease(), v.Build()}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want parts
	}{
		{"0.0.0", parts{}},
		{"1.2.3", parts{Major: 1, Minor: 2, Patch: 3}},
		{"10.20.30", parts{Major: 10, Minor: 20, Patch: 30}},
		{"18446744073709551615.18446744073709551615.18446744073709551615", parts{Major: 1<<64 - 1, Minor: 1<<64 - 1, Patch: 1<<64 - 1}},
		{"1.0.0-alpha", parts{Major: 1, Pre: "alpha"}},
		{"1.0.0-alpha.1", parts{Major: 1, Pre: "alpha.1"}},
		{"1.0.0-0.3.7", parts{Major: 1, Pre: "0.3.7"}},
		{"1.0.0-x.7.z.92", parts{Major: 1, Pre: "x.7.z.92"}},
		{"1.0.0-x-y-z.--", parts{Major: 1, Pre: "x-y-z.--"}},
		{"1.0.0-0A.is.legal", parts{Major: 1, Pre: "0A.is.legal"}},
		{"1.0.0-99999999999999999999999999", parts{Major: 1, Pre: "99999999999999999999999999"}},
		{"1.0.0+20130313144700", parts{Major: 1, Build: "20130313144700"}},
		{"1.0.0-beta+exp.sha.5114f85", parts{Major: 1, Pre: "beta", Build: "exp.sha.5114f85"}},
		{"1.0.0+21AF26D3----117B344092BD", parts{Major: 1, Build: "21AF26D3----117B344092BD"}},
		{"1.0.0+001.0002", parts{Major: 1, Build: "001.0002"}}, // leading zeros are fine in build metadata
		{"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", parts{Major: 1, Minor: 2, Patch: 3, Pre: "---RC-SNAPSHOT.12.9.1--.12", Build: "788"}},
	}
	for _, tt := range tests {
		v, err := semver.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, partsOf(v)); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		if got := v.String(); got != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, got)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in, msg string
	}{
		{"", `semver: "": empty string`},
		{"1", `semver: "1": minor version is missing (want MAJOR.MINOR.PATCH)`},
		{"1.2", `semver: "1.2": patch version is missing (want MAJOR.MINOR.PATCH)`},
		{"1.2.", `semver: "1.2.": patch version is missing`},
		{"1..3", `semver: "1..3": unexpected '.' at offset 2 where the minor version should start`},
		{"01.2.3", `semver: "01.2.3": major version has a leading zero`},
		{"1.02.3", `semver: "1.02.3": minor version has a leading zero`},
		{"1.2.03", `semver: "1.2.03": patch version has a leading zero`},
		{"1.2.3-01", `semver: "1.2.3-01": prerelease identifier "01" has a leading zero`},
		{"1.2.3-rc.00", `semver: "1.2.3-rc.00": prerelease identifier "00" has a leading zero`},
		{"1.2.3-", `semver: "1.2.3-": prerelease is empty`},
		{"1.2.3+", `semver: "1.2.3+": build is empty`},
		{"1.2.3-+b", `semver: "1.2.3-+b": prerelease is empty`},
		{"1.2.3-a..b", `semver: "1.2.3-a..b": prerelease identifier 2 is empty (at offset 8)`},
		{"1.2.3-a.", `semver: "1.2.3-a.": prerelease identifier 2 is empty (at offset 8)`},
		{"1.2.3+a.", `semver: "1.2.3+a.": build identifier 2 is empty (at offset 8)`},
		{"1.2.3-a_b", `semver: "1.2.3-a_b": unexpected '_' at offset 7 in prerelease (want [0-9A-Za-z-] or ".")`},
		{"1.2.3+a+b", `semver: "1.2.3+a+b": unexpected '+' at offset 7 in build (want [0-9A-Za-z-] or ".")`},
		{"1.2.3-é", `semver: "1.2.3-é": unexpected 'é' at offset 6 in prerelease`},
		{"1.2.3.4", `semver: "1.2.3.4": unexpected '.' at offset 5 after patch version`},
		{" 1.2.3", `semver: " 1.2.3": unexpected ' ' at offset 0 where the major version should start`},
		{"1.2.3 ", `semver: "1.2.3 ": unexpected ' ' at offset 5 after patch version`},
		{"1.2.3\n", `semver: "1.2.3\n": unexpected '\n' at offset 5 after patch version`},
		{"v1.2.3", `semver: "v1.2.3": leading "v" is not allowed (ParseTolerant accepts it)`},
		{"V1.2.3", `semver: "V1.2.3": leading "V" is not allowed (ParseTolerant accepts it)`},
		{"v1.2", `semver: "v1.2": unexpected 'v' at offset 0 where the major version should start`},
		{"=1.2.3", `semver: "=1.2.3": unexpected '=' at offset 0`},
		{"-1.2.3", `semver: "-1.2.3": unexpected '-' at offset 0`},
		{"1.2.3beta", `semver: "1.2.3beta": unexpected 'b' at offset 5 after patch version`},
		{"18446744073709551616.0.0", `semver: "18446744073709551616.0.0": major version 18446744073709551616 overflows uint64`},
		{"0.99999999999999999999.0", `semver: "0.99999999999999999999.0": minor version 99999999999999999999 overflows uint64`},
		{"0.0.18446744073709551616", `semver: "0.0.18446744073709551616": patch version 18446744073709551616 overflows uint64`},
		{"x.y.z", `semver: "x.y.z": unexpected 'x' at offset 0`},
		{"1.x.0", `semver: "1.x.0": unexpected 'x' at offset 2 where the minor version should start`},
	}
	for _, tt := range tests {
		v, err := semver.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", tt.in, v)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.msg) {
			t.Errorf("Parse(%q) error:\n got %s\nwant %s…", tt.in, err, tt.msg)
		}
		if !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("Parse(%q): errors.Is(%v, ErrInvalid) = false", tt.in, err)
		}
		var pe *semver.ParseError
		if !errors.As(err, &pe) || pe.Input != tt.in {
			t.Errorf("Parse(%q): error %#v is not a *ParseError with Input %q", tt.in, err, tt.in)
		}
		if v != (semver.Version{}) {
			t.Errorf("Parse(%q) returned %v with its error, want the zero Version", tt.in, v)
		}
	}
}

func TestParseTolerant(t *testing.T) {
	for _, in := range []string{"v1.2.3", "V1.2.3", "1.2.3"} {
		v, err := semver.ParseTolerant(in)
		if err != nil || v != semver.New(1, 2, 3) || v.String() != "1.2.3" {
			t.Errorf("ParseTolerant(%q) = %v, %v; want 1.2.3", in, v, err)
		}
	}
	v, err := semver.ParseTolerant("v1.0.0-rc.1+sha.abc")
	if err != nil || v.String() != "1.0.0-rc.1+sha.abc" {
		t.Errorf("ParseTolerant(v1.0.0-rc.1+sha.abc) = %v, %v", v, err)
	}
	for _, tt := range []struct{ in, msg string }{
		{"v", `semver: "v": major version is missing`},
		{"vv1.2.3", `semver: "vv1.2.3": unexpected 'v' at offset 1 where the major version should start`},
		{" v1.2.3", `semver: " v1.2.3": unexpected ' ' at offset 0`},
		{"v1.2", `semver: "v1.2": patch version is missing`},
		{"v01.2.3", `semver: "v01.2.3": major version has a leading zero`},
		{"v1.2.3-a..b", `semver: "v1.2.3-a..b": prerelease identifier 2 is empty (at offset 9)`},
	} {
		_, err := semver.ParseTolerant(tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.msg) || !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("ParseTolerant(%q) error = %v, want %s…", tt.in, err, tt.msg)
		}
	}
}

func TestMustParse(t *testing.T) {
	if got := semver.MustParse("1.2.3-rc.1"); got.String() != "1.2.3-rc.1" {
		t.Errorf("MustParse = %v", got)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse(1.2) did not panic")
		}
	}()
	semver.MustParse("1.2")
}

func TestAccessors(t *testing.T) {
	v := semver.MustParse("1.2.3-rc.1+sha.5114f85.dirty")
	got := struct {
		Pre, Build []string
		IsPre      bool
		Core       string
	}{v.PrereleaseIdentifiers(), v.BuildIdentifiers(), v.IsPrerelease(), v.Core().String()}
	want := struct {
		Pre, Build []string
		IsPre      bool
		Core       string
	}{[]string{"rc", "1"}, []string{"sha", "5114f85", "dirty"}, true, "1.2.3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accessors mismatch (-want +got):\n%s", diff)
	}
	z := semver.Version{}
	if z.String() != "0.0.0" || z.PrereleaseIdentifiers() != nil || z.BuildIdentifiers() != nil || z.IsPrerelease() {
		t.Errorf("zero Version: %v %v %v", z, z.PrereleaseIdentifiers(), z.BuildIdentifiers())
	}
	if semver.New(4, 5, 6) != semver.MustParse("4.5.6") {
		t.Error("New(4, 5, 6) != MustParse(4.5.6)")
	}
}

func TestWithPrereleaseAndBuild(t *testing.T) {
	v := semver.MustParse("1.4.0+old")
	v, err := v.WithPrerelease("rc.1")
	if err != nil || v.String() != "1.4.0-rc.1+old" {
		t.Fatalf("WithPrerelease = %v, %v", v, err)
	}
	v, err = v.WithBuild("sha.5114f85")
	if err != nil || v.String() != "1.4.0-rc.1+sha.5114f85" {
		t.Fatalf("WithBuild = %v, %v", v, err)
	}
	v, _ = v.WithPrerelease("")
	v, _ = v.WithBuild("")
	if v != semver.New(1, 4, 0) {
		t.Errorf("after removing both: %v", v)
	}
	for _, bad := range []string{"rc.01", "a..b", "a_b", "."} {
		if _, err := v.WithPrerelease(bad); !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("WithPrerelease(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	for _, bad := range []string{"a+b", "a..b", "."} {
		if _, err := v.WithBuild(bad); !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("WithBuild(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	if v2, err := v.WithBuild("007"); err != nil || v2.Build() != "007" {
		t.Errorf("WithBuild(007) = %v, %v", v2, err)
	}
}

// specOrder is the precedence example of semver.org §11.4, lowest first,
// followed by the §11.2 examples.
var specOrder = []string{
	"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
	"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
	"2.0.0", "2.1.0", "2.1.1",
}

func TestCompareSpecOrder(t *testing.T) {
	for i, a := range specOrder {
		for j, b := range specOrder {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			va, vb := semver.MustParse(a), semver.MustParse(b)
			if got := semver.Compare(va, vb); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
			if got := va.Less(vb); got != (want < 0) {
				t.Errorf("%s.Less(%s) = %v", a, b, got)
			}
			if got := va.Equal(vb); got != (want == 0) {
				t.Errorf("%s.Equal(%s) = %v", a, b, got)
			}
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0+build", 0},
		{"1.0.0+a", "1.0.0+b", 0},
		{"1.0.0-rc.1+a", "1.0.0-rc.1+b", 0},
		{"1.0.0-1", "1.0.0-a", -1},    // numeric < alphanumeric
		{"1.0.0-2", "1.0.0-10", -1},   // numerically
		{"1.0.0-a2", "1.0.0-a10", 1},  // ASCII, not natural order
		{"1.0.0-B", "1.0.0-a", -1},    // ASCII: upper case first
		{"1.0.0-a-b", "1.0.0-a.b", 1}, // one identifier "a-b" against "a": same prefix, longer
		{"1.0.0-alpha", "1.0.0-alpha.0", -1},
		{"1.0.0-0", "1.0.0-00a", -1}, // "00a" is alphanumeric
		{"1.0.0-99999999999999999999999", "1.0.0-100000000000000000000000", -1},
		{"1.0.0-99999999999999999999999", "1.0.0-99999999999999999999998", 1},
		{"1.0.0-18446744073709551616", "1.0.0-18446744073709551615", 1},
		{"0.0.0-0", "0.0.0", -1},
		{"18446744073709551615.0.0", "18446744073709551614.99.99", 1},
		{"1.10.0", "1.9.0", 1},
		{"1.0.10", "1.0.9", 1},
	}
	for _, tt := range tests {
		a, b := semver.MustParse(tt.a), semver.MustParse(tt.b)
		if got := semver.Compare(a, b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := semver.Compare(b, a); got != -tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	if semver.MustParse("1.0.0+a") == semver.MustParse("1.0.0+b") {
		t.Error("== ignores build metadata, want it compared")
	}
}

func TestSortFunc(t *testing.T) {
	want := make([]semver.Version, len(specOrder))
	for i, s := range specOrder {
		want[i] = semver.MustParse(s)
	}
	got := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	slices.SortFunc(got, semver.Compare)
	if diff := cmp.Diff(specOrder, strs(got)); diff != "" {
		t.Errorf("sorted mismatch (-want +got):\n%s", diff)
	}
}

func strs(vs []semver.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func TestZeroAllocs(t *testing.T) {
	a, b := semver.MustParse("1.0.0-beta.11"), semver.MustParse("1.0.0-beta.2")
	var sink int
	if n := testing.AllocsPerRun(100, func() { sink += semver.Compare(a, b) }); n != 0 {
		t.Errorf("Compare allocates %v times, want 0", n)
	}
	var v semver.Version
	var err error
	if n := testing.AllocsPerRun(100, func() { v, err = semver.Parse("1.2.3") }); n != 0 {
		t.Errorf("Parse(1.2.3) allocates %v times, want 0", n)
	}
	if err != nil || v != semver.New(1, 2, 3) {
		t.Errorf("Parse(1.2.3) = %v, %v", v, err)
	}
	if n := testing.AllocsPerRun(100, func() { v, err = semver.Parse("1.2.3-rc.1+sha.5114f85") }); n != 0 {
		t.Errorf("Parse(1.2.3-rc.1+sha.5114f85) allocates %v times, want 0", n)
	}
	_ = sink
}

type config struct {
	Version semver.Version  `json:"version"`
	Min     *semver.Version `json:"min,omitempty"`
}

func TestJSON(t *testing.T) {
	min := semver.MustParse("1.0.0")
	in := config{Version: semver.MustParse("1.2.3-rc.1+sha.5114f85"), Min: &min}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"1.2.3-rc.1+sha.5114f85","min":"1.0.0"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	var out config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Version != in.Version || *out.Min != *in.Min {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
	err = json.Unmarshal([]byte(`{"version":"1.2"}`), &out)
	if !errors.Is(err, semver.ErrInvalid) {
		t.Errorf("json.Unmarshal(1.2) error = %v, want ErrInvalid", err)
	}
	err = json.Unmarshal([]byte(`{"version":"v1.2.3"}`), &out)
	if !errors.Is(err, semver.ErrInvalid) {
		t.Errorf("json.Unmarshal(v1.2.3) error = %v, want ErrInvalid (text decoding is strict)", err)
	}
}

func TestFlagTextVar(t *testing.T) {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	var v semver.Version
	fs.TextVar(&v, "version", semver.MustParse("0.1.0"), "version label")
	if v.String() != "0.1.0" {
		t.Errorf("default = %v", v)
	}
	if err := fs.Parse([]string{"-version", "2.0.0-rc.0"}); err != nil {
		t.Fatal(err)
	}
	if v.String() != "2.0.0-rc.0" {
		t.Errorf("after -version 2.0.0-rc.0: %v", v)
	}
	if err := fs.Parse([]string{"-version", "2.0"}); err == nil {
		t.Error("-version 2.0 accepted")
	}
}

func TestText(t *testing.T) {
	v := semver.MustParse("1.2.3-rc.1+b")
	b, err := v.AppendText([]byte("v"))
	if err != nil || string(b) != "v1.2.3-rc.1+b" {
		t.Errorf("AppendText = %q, %v", b, err)
	}
	var u semver.Version
	if err := u.UnmarshalText([]byte("bad")); !errors.Is(err, semver.ErrInvalid) {
		t.Errorf("UnmarshalText(bad) = %v", err)
	}
}

func TestSQL(t *testing.T) {
	var _ sql.Scanner = (*semver.Version)(nil)
	var _ driver.Valuer = semver.Version{}

	want := semver.MustParse("1.2.3-rc.1+sha.1")
	for _, src := range []any{"1.2.3-rc.1+sha.1", []byte("1.2.3-rc.1+sha.1")} {
		var v semver.Version
		if err := v.Scan(src); err != nil || v != want {
			t.Errorf("Scan(%#v) = %v, %v", src, v, err)
		}
	}
	// A driver may reuse its buffer after Scan: the Version must not alias it.
	buf := []byte("1.2.3-rc.1+sha.1")
	var v semver.Version
	if err := v.Scan(buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "9.9.9-xx.x+xxx.x")
	if v != want {
		t.Errorf("Version aliases the scanned []byte: %v", v)
	}
	for _, src := range []any{nil, 42, "1.2", []byte("x")} {
		var v semver.Version
		if err := v.Scan(src); !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("Scan(%#v) error = %v, want ErrInvalid", src, err)
		}
	}
	val, err := want.Value()
	if err != nil || val != "1.2.3-rc.1+sha.1" {
		t.Errorf("Value() = %#v, %v", val, err)
	}
	var n sql.Null[semver.Version]
	if err := n.Scan(nil); err != nil || n.Valid {
		t.Errorf("sql.Null[Version].Scan(nil) = %v, valid %v", err, n.Valid)
	}
}
