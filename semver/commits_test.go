package semver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/semver"
)

func TestLevelFromCommits(t *testing.T) {
	tests := []struct {
		name string
		msgs []string
		want semver.Level // 0: no release
	}{
		{"feat", []string{"feat: add canary presets"}, semver.Minor},
		{"feat with scope", []string{"feat(canary): add presets"}, semver.Minor},
		{"fix", []string{"fix: retry throttled calls"}, semver.Patch},
		{"perf", []string{"perf(retention): batch deletes"}, semver.Patch},
		{"bang", []string{"feat!: drop Go 1.22"}, semver.Major},
		{"bang with scope", []string{"feat(api)!: rename Route"}, semver.Major},
		{"bang on chore", []string{"chore!: drop Node 18 support"}, semver.Major},
		{"footer", []string{"fix: x\n\nBREAKING CHANGE: Route.Weights is now basis points"}, semver.Major},
		{"hyphen footer", []string{"feat: x\n\nbody\n\nBREAKING-CHANGE: gone"}, semver.Major},
		{"crlf footer", []string{"refactor: x\r\n\r\nBREAKING CHANGE: y\r\n"}, semver.Major},
		{"footer without conventional header", []string{"Update deps\n\nBREAKING CHANGE: needs Go 1.26"}, semver.Major},
		{"lower-case footer is not one", []string{"fix: x\n\nbreaking change: y"}, semver.Patch},
		{"footer words in header only", []string{"docs: explain BREAKING CHANGE: footers"}, 0},
		{"upper-case type", []string{"Feat: x"}, semver.Minor},
		{"FIX", []string{"FIX: x"}, semver.Patch},
		{"largest wins", []string{"fix: a", "docs: b", "feat: c", "chore: d"}, semver.Minor},
		{"largest wins major", []string{"fix: a", "feat(x)!: c"}, semver.Major},
		{"chores only", []string{"chore: bump deps", "docs: typo", "ci: cache", "test: more", "refactor: split", "style: fmt", "build: go 1.26", "revert: feat: x"}, 0},
		{"none", nil, 0},
		{"not conventional", []string{"Add feature", "feat add thing", "feat:no space", "feat(): empty scope", "feat(a)(b): two scopes", "feat: ", ": x", "(api): x"}, 0},
		{"leading blank lines", []string{"\n\nfeat: x"}, semver.Minor},
		{"merge commit", []string{"Merge pull request #12 from a/b\n\nfeat: x"}, 0},
	}
	for _, tt := range tests {
		got, ok := semver.LevelFromCommits(tt.msgs)
		if got != tt.want || ok != (tt.want != 0) {
			t.Errorf("%s: LevelFromCommits(%q) = %v, %v; want %v, %v", tt.name, tt.msgs, got, ok, tt.want, tt.want != 0)
		}
	}
}

func TestNextFromCommits(t *testing.T) {
	tests := []struct {
		from string
		msgs []string
		want string
	}{
		{"1.4.2", []string{"fix: a"}, "1.4.3"},
		{"1.4.2", []string{"feat: a", "fix: b"}, "1.5.0"},
		{"1.4.2", []string{"feat!: a"}, "2.0.0"},
		{"1.4.2+sha.1", []string{"fix: a"}, "1.4.3"},
		// The 0.y.z rule: a breaking change bumps the minor version.
		{"0.4.2", []string{"feat!: a"}, "0.5.0"},
		{"0.4.2", []string{"fix: a\n\nBREAKING CHANGE: b"}, "0.5.0"},
		{"0.4.2", []string{"feat: a"}, "0.5.0"},
		{"0.4.2", []string{"fix: a"}, "0.4.3"},
		{"0.0.1", []string{"feat!: a"}, "0.1.0"},
		// Prereleases go to their release, as Bump does.
		{"1.5.0-rc.2", []string{"feat: a"}, "1.5.0"},
		{"1.5.0-rc.2", []string{"fix: a"}, "1.5.0"},
		{"2.0.0-rc.1", []string{"feat!: a"}, "2.0.0"},
	}
	for _, tt := range tests {
		got, err := semver.MustParse(tt.from).NextFromCommits(tt.msgs)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s.NextFromCommits(%q) = %v, %v; want %s", tt.from, tt.msgs, got, err, tt.want)
		}
	}

	_, err := semver.MustParse("1.4.2").NextFromCommits([]string{"chore: deps", "docs: typo"})
	if !errors.Is(err, semver.ErrNoRelease) || !strings.Contains(err.Error(), "none of 2 commit messages") {
		t.Errorf("chores only: error = %v, want ErrNoRelease", err)
	}
	_, err = semver.MustParse("18446744073709551615.0.0").NextFromCommits([]string{"feat!: a"})
	if !errors.Is(err, semver.ErrOverflow) {
		t.Errorf("overflow: error = %v, want ErrOverflow", err)
	}
}
