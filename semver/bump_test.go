package semver_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/semver"
)

func TestBump(t *testing.T) {
	tests := []struct {
		in    string
		level semver.Level
		want  string
	}{
		{"1.2.3", semver.Major, "2.0.0"},
		{"1.2.3", semver.Minor, "1.3.0"},
		{"1.2.3", semver.Patch, "1.2.4"},
		{"1.2.3+sha.1", semver.Patch, "1.2.4"}, // build metadata dropped
		// A prerelease goes to its own release.
		{"1.2.0-rc.1", semver.Minor, "1.2.0"},
		{"1.0.0-1", semver.Major, "1.0.0"},
		{"1.2.3-4", semver.Patch, "1.2.3"},
		{"2.0.0-rc.1+b", semver.Major, "2.0.0"},
		// … unless it is not a prerelease of that level's release.
		{"1.2.3-rc.1", semver.Minor, "1.3.0"},
		{"1.2.3-rc.1", semver.Major, "2.0.0"},
		{"1.2.0-rc.1", semver.Major, "2.0.0"},
		{"0.0.0", semver.Major, "1.0.0"},
		{"18446744073709551614.0.0", semver.Major, "18446744073709551615.0.0"},
		{"1.18446744073709551615.18446744073709551615", semver.Major, "2.0.0"},
	}
	for _, tt := range tests {
		if got := semver.MustParse(tt.in).Bump(tt.level); got.String() != tt.want {
			t.Errorf("%s.Bump(%v) = %s, want %s", tt.in, tt.level, got, tt.want)
		}
	}
}

// TestReleaseTrain walks the sequence of the design document:
// 1.2.3 → 1.3.0-rc.0 → 1.3.0-rc.1 → 1.3.0.
func TestReleaseTrain(t *testing.T) {
	v := semver.MustParse("1.2.3")
	var got []string
	v, err := v.BumpPre(semver.Minor, "rc")
	got = append(got, v.String())
	if err == nil {
		v, err = v.BumpPrerelease("rc")
		got = append(got, v.String())
	}
	got = append(got, v.Bump(semver.Minor).String())
	if want := "1.3.0-rc.0 1.3.0-rc.1 1.3.0"; err != nil || strings.Join(got, " ") != want {
		t.Errorf("release train = %v, %v; want %s", got, err, want)
	}
}

func TestBumpPanics(t *testing.T) {
	for _, tt := range []struct {
		v     string
		level semver.Level
		msg   string
	}{
		{"1.2.3", 0, "not a Level"},
		{"1.2.3", 9, "not a Level"},
		{"18446744073709551615.0.0", semver.Major, "overflows uint64"},
		{"1.18446744073709551615.0", semver.Minor, "overflows uint64"},
		{"1.2.18446744073709551615", semver.Patch, "overflows uint64"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(toString(r), tt.msg) {
					t.Errorf("%s.Bump(%v) panic = %v, want one containing %q", tt.v, tt.level, r, tt.msg)
				}
			}()
			semver.MustParse(tt.v).Bump(tt.level)
		}()
	}
}

func toString(r any) string {
	switch r := r.(type) {
	case error:
		return r.Error()
	case string:
		return r
	}
	return ""
}

func TestBumpPre(t *testing.T) {
	tests := []struct {
		in    string
		level semver.Level
		o     semver.PreOptions
		want  string
	}{
		{"1.2.3", semver.Major, semver.PreOptions{ID: "rc"}, "2.0.0-rc.0"},
		{"1.2.3", semver.Minor, semver.PreOptions{ID: "rc"}, "1.3.0-rc.0"},
		{"1.2.3", semver.Patch, semver.PreOptions{ID: "rc"}, "1.2.4-rc.0"},
		{"1.2.3", semver.Patch, semver.PreOptions{}, "1.2.4-0"},
		{"1.2.0-1", semver.Patch, semver.PreOptions{}, "1.2.1-0"},
		{"1.2.3-rc.1+b", semver.Minor, semver.PreOptions{ID: "rc"}, "1.3.0-rc.0"},
		{"1.2.3", semver.Major, semver.PreOptions{ID: "dev", Base: semver.BaseOne}, "2.0.0-dev.1"},
		{"1.2.3", semver.Major, semver.PreOptions{ID: "dev", Base: semver.BaseNone}, "2.0.0-dev"},
		{"1.2.3", semver.Major, semver.PreOptions{ID: "alpha.beta"}, "2.0.0-alpha.beta.0"},
	}
	for _, tt := range tests {
		got, err := semver.MustParse(tt.in).BumpPreWith(tt.level, tt.o)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s.BumpPreWith(%v, %+v) = %v, %v; want %s", tt.in, tt.level, tt.o, got, err, tt.want)
		}
		if tt.o.Base == semver.BaseZero {
			got, err := semver.MustParse(tt.in).BumpPre(tt.level, tt.o.ID)
			if err != nil || got.String() != tt.want {
				t.Errorf("%s.BumpPre(%v, %q) = %v, %v; want %s", tt.in, tt.level, tt.o.ID, got, err, tt.want)
			}
		}
	}
}

func TestBumpPrerelease(t *testing.T) {
	tests := []struct {
		in   string
		o    semver.PreOptions
		want string
	}{
		{"1.2.3", semver.PreOptions{ID: "rc"}, "1.2.4-rc.0"},
		{"1.2.3", semver.PreOptions{}, "1.2.4-0"},
		{"1.2.3-rc.0", semver.PreOptions{ID: "rc"}, "1.2.3-rc.1"},
		{"1.2.3-rc.1", semver.PreOptions{}, "1.2.3-rc.2"},
		{"1.2.3-rc.9", semver.PreOptions{ID: "rc"}, "1.2.3-rc.10"},
		{"1.2.3-alpha.0", semver.PreOptions{ID: "dev"}, "1.2.3-dev.0"}, // another identifier restarts
		{"1.2.3-alpha.0.beta", semver.PreOptions{}, "1.2.3-alpha.1.beta"},
		{"1.2.3-alpha", semver.PreOptions{}, "1.2.3-alpha.0"},
		{"1.2.3-alpha", semver.PreOptions{ID: "alpha"}, "1.2.3-alpha.0"},
		{"1.2.3-rc", semver.PreOptions{ID: "rc", Base: semver.BaseOne}, "1.2.3-rc.1"},
		{"1.2.3", semver.PreOptions{ID: "rc", Base: semver.BaseOne}, "1.2.4-rc.1"},
		{"1.2.3", semver.PreOptions{ID: "rc", Base: semver.BaseNone}, "1.2.4-rc"},
		{"1.2.3-rc.1", semver.PreOptions{ID: "rc", Base: semver.BaseNone}, "1.2.3-rc.2"},
		// Numeric identifiers of any length go up.
		{"1.2.3-rc.99999999999999999999", semver.PreOptions{ID: "rc"}, "1.2.3-rc.100000000000000000000"},
		{"1.2.3-18446744073709551615", semver.PreOptions{}, "1.2.3-18446744073709551616"},
		{"1.2.3-rc.1+sha.1", semver.PreOptions{ID: "rc"}, "1.2.3-rc.2"},
	}
	for _, tt := range tests {
		got, err := semver.MustParse(tt.in).BumpPrereleaseWith(tt.o)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s.BumpPrereleaseWith(%+v) = %v, %v; want %s", tt.in, tt.o, got, err, tt.want)
		}
		if tt.o.Base == semver.BaseZero {
			got, err := semver.MustParse(tt.in).BumpPrerelease(tt.o.ID)
			if err != nil || got.String() != tt.want {
				t.Errorf("%s.BumpPrerelease(%q) = %v, %v; want %s", tt.in, tt.o.ID, got, err, tt.want)
			}
		}
	}
}

func TestBumpPreErrors(t *testing.T) {
	v := semver.MustParse("1.2.3")
	tests := []struct {
		name string
		err  error
		is   error
		msg  string
	}{
		{"bad id", second(v.BumpPrerelease("rc_1")), semver.ErrInvalid, `semver: "rc_1": unexpected '_'`},
		{"leading zero", second(v.BumpPre(semver.Minor, "rc.01")), semver.ErrInvalid, `prerelease identifier "01" has a leading zero`},
		{"plus", second(v.BumpPrerelease("rc+1")), semver.ErrInvalid, `unexpected '+'`},
		{"empty with BaseNone", second(v.BumpPrereleaseWith(semver.PreOptions{Base: semver.BaseNone})), semver.ErrInvalid, "identifier is empty"},
		{"exists", second(semver.MustParse("1.2.3-dev").BumpPrereleaseWith(semver.PreOptions{ID: "dev", Base: semver.BaseNone})), semver.ErrInvalid, `"dev" already exists`},
		{"bad base", second(v.BumpPrereleaseWith(semver.PreOptions{Base: 7})), semver.ErrInvalid, "base 7"},
		{"bad level", second(v.BumpPre(0, "rc")), semver.ErrInvalid, "not a level"},
		{"overflow major", second(semver.MustParse("18446744073709551615.0.0").BumpPre(semver.Major, "rc")), semver.ErrOverflow, "major version"},
		{"overflow patch", second(semver.MustParse("0.0.18446744073709551615").BumpPrerelease("rc")), semver.ErrOverflow, "patch version"},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.is) || !strings.Contains(tt.err.Error(), tt.msg) {
			t.Errorf("%s: error = %v, want %v containing %q", tt.name, tt.err, tt.is, tt.msg)
		}
	}
}

func second(_ semver.Version, err error) error { return err }

func TestLevel(t *testing.T) {
	if !(semver.Patch < semver.Minor && semver.Minor < semver.Major) {
		t.Error("levels are not ordered Patch < Minor < Major")
	}
	for _, l := range []semver.Level{semver.Major, semver.Minor, semver.Patch} {
		p, err := semver.ParseLevel(l.String())
		if err != nil || p != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), p, err)
		}
	}
	if got := semver.Level(0).String(); got != "Level(0)" {
		t.Errorf("Level(0).String() = %q", got)
	}
	for _, s := range []string{"", "Major", "pre", "minor "} {
		if _, err := semver.ParseLevel(s); !errors.Is(err, semver.ErrInvalid) {
			t.Errorf("ParseLevel(%q) error = %v, want ErrInvalid", s, err)
		}
	}
	var cfg struct {
		Level semver.Level `json:"level"`
	}
	if err := json.Unmarshal([]byte(`{"level":"minor"}`), &cfg); err != nil || cfg.Level != semver.Minor {
		t.Errorf("json.Unmarshal(minor) = %v, %v", cfg.Level, err)
	}
	if b, err := json.Marshal(cfg); err != nil || string(b) != `{"level":"minor"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
	cfg.Level = 0
	if _, err := json.Marshal(cfg); !errors.Is(err, semver.ErrInvalid) {
		t.Errorf("json.Marshal(Level(0)) error = %v, want ErrInvalid", err)
	}
}
