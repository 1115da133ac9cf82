package release_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

func TestNextVersion(t *testing.T) {
	maxNum := strconv.FormatUint(math.MaxUint64, 10)
	tests := []struct {
		last    string
		level   semver.Level
		commits []string
		want    string // "" = error
		err     error
	}{
		{last: "1.4.2", level: semver.Patch, want: "1.4.3"},
		{last: "1.4.2", level: semver.Minor, want: "1.5.0"},
		{last: "1.4.2", level: semver.Major, want: "2.0.0"},
		{last: "0.0.0", level: semver.Major, want: "1.0.0"},
		{last: "1.4.2", commits: []string{"fix: a", "feat: b"}, want: "1.5.0"},
		{last: "1.4.2", commits: []string{"feat!: drop v1 API"}, want: "2.0.0"},
		{last: "1.4.2", commits: []string{"chore: x", "fix(db): y\n\nBREAKING CHANGE: schema"}, want: "2.0.0"},
		{last: "0.4.2", commits: []string{"feat!: drop v1 API"}, want: "0.5.0"},
		{last: "0.4.2", commits: []string{"fix: a"}, want: "0.4.3"},
		{last: "0.0.0", commits: []string{"feat: first"}, want: "0.1.0"},
		// An explicit level wins over the commits, even when they call
		// for nothing.
		{last: "1.4.2", level: semver.Patch, commits: []string{"feat!: big"}, want: "1.4.3"},
		{last: "1.4.2", level: semver.Minor, commits: []string{"docs: readme"}, want: "1.5.0"},
		// Prerelease bases (only reachable with an explicit last).
		{last: "1.5.0-rc.2", level: semver.Minor, want: "1.5.0"},
		{last: "1.5.0-rc.2", commits: []string{"fix: a"}, want: "1.5.0"},
		{last: "1.5.1-rc.2", level: semver.Minor, want: "1.6.0"},
		// No release needed.
		{last: "1.4.2", commits: []string{"docs: readme", "chore: deps"}, err: semver.ErrNoRelease},
		{last: "1.4.2", commits: nil, err: semver.ErrNoRelease},
		{last: "1.4.2", commits: []string{"update things"}, err: semver.ErrNoRelease},
		// Bad level, overflow.
		{last: "1.4.2", level: 9, err: provider.ErrInvalid},
		{last: "1.2." + maxNum, level: semver.Patch, err: semver.ErrOverflow},
		{last: "1." + maxNum + ".0", level: semver.Minor, err: semver.ErrOverflow},
		{last: maxNum + ".0.0", level: semver.Major, err: semver.ErrOverflow},
		{last: maxNum + ".0.0-rc.1", level: semver.Major, want: maxNum + ".0.0"},
		{last: "1." + maxNum + ".0", commits: []string{"feat: x"}, err: semver.ErrOverflow},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%v/%q", tt.last, tt.level, tt.commits)
		t.Run(name, func(t *testing.T) {
			got, err := release.NextVersion(semver.MustParse(tt.last), tt.level, tt.commits)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("NextVersion = %v, %v; want an error wrapping %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("NextVersion = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestPublishRequestValidate(t *testing.T) {
	zip := provider.Artifact{Zip: []byte("code")}
	minor := semver.Minor
	bad := semver.Level(7)
	v := semver.MustParse("2.0.0")
	tests := []struct {
		name  string
		req   release.PublishRequest
		field string // "" = valid
	}{
		{"commits", release.PublishRequest{Artifact: zip, Commits: []string{"feat: x"}}, ""},
		{"level", release.PublishRequest{Artifact: zip, Level: &minor, Prerelease: "rc"}, ""},
		{"explicit", release.PublishRequest{Artifact: zip, Semver: &v, Commit: "abc"}, ""},
		{"no artifact", release.PublishRequest{Level: &minor}, "artifact"},
		{"negative memory", release.PublishRequest{Artifact: zip, Config: provider.Config{MemoryMB: -1}}, "config.memoryMB"},
		{"bad level", release.PublishRequest{Artifact: zip, Level: &bad}, "level"},
		{"bad prerelease", release.PublishRequest{Artifact: zip, Level: &minor, Prerelease: "rc..1"}, "prerelease"},
		{"prerelease with leading zero", release.PublishRequest{Artifact: zip, Level: &minor, Prerelease: "01"}, "prerelease"},
		{"semver and level", release.PublishRequest{Artifact: zip, Semver: &v, Level: &minor}, "level"},
		{"semver and commits", release.PublishRequest{Artifact: zip, Semver: &v, Commits: []string{"fix: x"}}, "commits"},
		{"semver and prerelease", release.PublishRequest{Artifact: zip, Semver: &v, Prerelease: "rc"}, "prerelease"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ie *provider.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field || !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("Validate = %v, want an InvalidError on %s", err, tt.field)
			}
		})
	}
}

func ExampleNextVersion() {
	last := semver.MustParse("1.4.2")
	for _, commits := range [][]string{
		{"fix: retry throttled calls"},
		{"fix: retry throttled calls", "feat(api): add Prune"},
		{"feat!: rename Deploy to Release"},
		{"docs: typo", "chore: bump deps"},
	} {
		next, err := release.NextVersion(last, 0, commits)
		if errors.Is(err, semver.ErrNoRelease) {
			fmt.Println("no release needed")
			continue
		}
		fmt.Println(next)
	}
	// An explicit level wins over the commits.
	next, _ := release.NextVersion(last, semver.Major, nil)
	fmt.Println(next)
	// Output:
	// 1.4.3
	// 1.5.0
	// 2.0.0
	// no release needed
	// 2.0.0
}
