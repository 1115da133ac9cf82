package release_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
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

func zipArtifact(code string) provider.Artifact { return provider.Artifact{Zip: []byte(code)} }

func TestPublishSequence(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	minor, major := semver.Minor, semver.Major
	steps := []struct {
		name     string
		req      release.PublishRequest
		want     string // semver
		id       string // version ID
		last     string
		existing bool
		err      error
	}{
		{name: "first release from commits", req: release.PublishRequest{Artifact: zipArtifact("a"), Commits: []string{"feat: hello"}, Commit: "aaa111"},
			want: "0.1.0", id: "1", last: "0.0.0"},
		{name: "explicit major", req: release.PublishRequest{Artifact: zipArtifact("b"), Level: &major},
			want: "1.0.0", id: "2", last: "0.1.0"},
		{name: "retried step is idempotent", req: release.PublishRequest{Artifact: zipArtifact("b"), Level: &major},
			want: "1.0.0", id: "2", last: "1.0.0", existing: true},
		{name: "same artifact with other commits is still that version", req: release.PublishRequest{Artifact: zipArtifact("a"), Commits: []string{"feat!: x"}},
			want: "0.1.0", id: "1", last: "1.0.0", existing: true},
		{name: "same artifact when no release is needed", req: release.PublishRequest{Artifact: zipArtifact("b"), Commits: []string{"docs: x"}},
			want: "1.0.0", id: "2", last: "1.0.0", existing: true},
		{name: "no release needed", req: release.PublishRequest{Artifact: zipArtifact("c"), Commits: []string{"docs: x", "chore: y"}},
			err: semver.ErrNoRelease},
		{name: "same code, new config is a new version", req: release.PublishRequest{Artifact: zipArtifact("b"), Config: provider.Config{MemoryMB: 256}, Commits: []string{"fix: memory"}},
			want: "1.0.1", id: "3", last: "1.0.0"},
		{name: "first prerelease", req: release.PublishRequest{Artifact: zipArtifact("d"), Level: &minor, Prerelease: "rc"},
			want: "1.1.0-rc.0", id: "4", last: "1.0.1"},
		{name: "next prerelease", req: release.PublishRequest{Artifact: zipArtifact("e"), Commits: []string{"feat: y"}, Prerelease: "rc"},
			want: "1.1.0-rc.1", id: "5", last: "1.0.1"},
		{name: "another identifier starts at 0", req: release.PublishRequest{Artifact: zipArtifact("f"), Level: &minor, Prerelease: "beta"},
			want: "1.1.0-beta.0", id: "6", last: "1.0.1"},
		{name: "release after its prereleases", req: release.PublishRequest{Artifact: zipArtifact("g"), Level: &minor},
			want: "1.1.0", id: "7", last: "1.0.1"},
		{name: "explicit version on an older line", req: release.PublishRequest{Artifact: zipArtifact("h"), Semver: ptr(semver.MustParse("1.0.2"))},
			want: "1.0.2", id: "8", last: "1.1.0"},
		{name: "explicit version that exists", req: release.PublishRequest{Artifact: zipArtifact("i"), Semver: ptr(semver.MustParse("1.1.0+other.build"))},
			err: provider.ErrConflict},
		{name: "prerelease of an existing release line", req: release.PublishRequest{Artifact: zipArtifact("j"), Semver: ptr(semver.MustParse("1.1.0-rc.1"))},
			err: provider.ErrConflict},
	}
	for _, st := range steps {
		got, err := release.Publish(ctx, p, "fn", st.req)
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: Publish = %+v, %v; want an error wrapping %v", st.name, got, err, st.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Publish: %v", st.name, err)
		}
		if got.Semver.String() != st.want || got.Version.ID != st.id || got.Last.String() != st.last || got.Existing != st.existing {
			t.Fatalf("%s: Publish = semver %s, id %s, last %s, existing %v; want %s, %s, %s, %v",
				st.name, got.Semver, got.Version.ID, got.Last, got.Existing, st.want, st.id, st.last, st.existing)
		}
		if l := got.Version.Labels[provider.LabelSemver]; l != st.want {
			t.Fatalf("%s: version %s label %s = %q, want %q", st.name, got.Version.ID, provider.LabelSemver, l, st.want)
		}
	}

	v1, err := p.Version(ctx, "fn", "1")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Labels[provider.LabelCommit] != "aaa111" || v1.Description != "v0.1.0" {
		t.Errorf("version 1 labels %v, description %q; want commit aaa111 recorded", v1.Labels, v1.Description)
	}
	var ve *release.VersionExistsError
	_, err = release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("i"), Semver: ptr(semver.MustParse("1.0.0"))})
	if !errors.As(err, &ve) || *ve != (release.VersionExistsError{Function: "fn", Semver: "1.0.0", Version: "2"}) {
		t.Errorf("Publish(existing 1.0.0) = %v, want VersionExistsError naming version 2", err)
	}

	last, lv, ok, err := release.LastReleased(ctx, p, "fn")
	if err != nil || !ok || last.String() != "1.1.0" || lv.ID != "7" {
		t.Errorf("LastReleased = %s, %s, %v, %v; want 1.1.0 on version 7", last, lv.ID, ok, err)
	}
	rs, err := release.Releases(ctx, p, "fn")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rs {
		order = append(order, r.Semver.String()+"@"+r.Version.ID)
	}
	wantOrder := []string{"0.1.0@1", "1.0.0@2", "1.0.1@3", "1.0.2@8", "1.1.0-beta.0@6", "1.1.0-rc.0@4", "1.1.0-rc.1@5", "1.1.0@7"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("Releases (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLastReleased(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	if _, _, ok, err := release.LastReleased(ctx, p, "fn"); !errors.Is(err, provider.ErrNotFound) || ok {
		t.Errorf("LastReleased(no function) = %v, %v; want ErrNotFound", ok, err)
	}
	publish := func(code string, labels map[string]string) {
		t.Helper()
		if _, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: zipArtifact(code), Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	publish("hand", nil)
	if sv, _, ok, err := release.LastReleased(ctx, p, "fn"); err != nil || ok {
		t.Errorf("LastReleased(only unlabelled versions) = %s, %v, %v; want none", sv, ok, err)
	}
	publish("a", map[string]string{provider.LabelSemver: "v1.2.0"})               // tag-style label: counts
	publish("b", map[string]string{provider.LabelSemver: "1.10.0-rc.1"})          // prerelease: not a release
	publish("c", map[string]string{provider.LabelSemver: "not a version"})        // ignored
	publish("d", map[string]string{provider.LabelSemver: "1.9.0+sha.5114f85"})    // highest release
	publish("e", map[string]string{provider.LabelSemver: "1.9.0+sha.aaaaaaa"})    // same precedence, newer
	publish("f", map[string]string{"other": "1.99.0", provider.LabelCommit: "x"}) // no semver label
	sv, v, ok, err := release.LastReleased(ctx, p, "fn")
	if err != nil || !ok || sv.String() != "1.9.0+sha.aaaaaaa" || v.ID != "6" {
		t.Errorf("LastReleased = %s (version %s), %v, %v; want 1.9.0+sha.aaaaaaa on version 6", sv, v.ID, ok, err)
	}
	// The next minor follows 1.9.0, not the 1.10.0 prerelease's line.
	minor := semver.Minor
	got, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("g"), Level: &minor})
	if err != nil || got.Semver.String() != "1.10.0" || got.Last.String() != "1.9.0+sha.aaaaaaa" {
		t.Errorf("Publish(minor) = %s after %s, %v; want 1.10.0 after 1.9.0+sha.aaaaaaa", got.Semver, got.Last, err)
	}
}

// An artifact whose hash slipway cannot compute (an image without SHA256)
// relies on the provider's idempotency; a version it already had is
// reported as existing, and one without a semver label is refused.
func TestPublishProviderIdempotency(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	img := provider.Artifact{Image: "registry.example/fn:stable"}
	major := semver.Major
	first, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: img, Level: &major})
	if err != nil || first.Existing || first.Semver.String() != "1.0.0" {
		t.Fatalf("Publish = %+v, %v", first, err)
	}
	again, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: img, Commits: []string{"feat: x"}})
	if err != nil || !again.Existing || again.Semver.String() != "1.0.0" || again.Version.ID != first.Version.ID {
		t.Fatalf("Publish(same image) = %+v, %v; want the existing 1.0.0", again, err)
	}

	hand := provider.Artifact{Image: "registry.example/fn:hand"}
	if _, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: hand}); err != nil {
		t.Fatal(err)
	}
	_, err = release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: hand, Level: &major})
	want := "release: fn: the artifact is already version 2, which carries no semantic version (published outside slipway): conflict"
	if !errors.Is(err, provider.ErrConflict) || err.Error() != want {
		t.Fatalf("Publish(unlabelled existing image) = %v, want %q", err, want)
	}
	if rs, _ := release.Releases(ctx, p, "fn"); len(rs) != 1 {
		t.Errorf("Releases = %d versions after the refusal, want 1 (nothing new labelled)", len(rs))
	}
}

func TestPublishErrors(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	major := semver.Major
	if _, err := release.Publish(ctx, p, "", release.PublishRequest{Artifact: zipArtifact("a"), Level: &major}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Publish(no function) = %v, want ErrInvalid", err)
	}
	if _, err := release.Publish(ctx, p, "fn", release.PublishRequest{Level: &major}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Publish(no artifact) = %v, want ErrInvalid", err)
	}
	p.Inject(memory.Fault{Ops: []string{memory.OpPublish}, Err: provider.ErrUnavailable, Count: 1})
	if _, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("a"), Level: &major}); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("Publish(platform failure) = %v, want ErrUnavailable", err)
	}
	p.Inject(memory.Fault{Ops: []string{memory.OpVersions}, Err: provider.ErrThrottled, Count: 1})
	if _, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("a"), Level: &major}); !errors.Is(err, provider.ErrThrottled) {
		t.Errorf("Publish(throttled listing) = %v, want ErrThrottled", err)
	}
	if v, err := release.Publish(ctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("a"), Level: &major}); err != nil || v.Semver.String() != "1.0.0" {
		t.Errorf("Publish after the faults = %+v, %v; want 1.0.0", v, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := release.Publish(cctx, p, "fn", release.PublishRequest{Artifact: zipArtifact("b"), Level: &major}); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish(cancelled) = %v, want context.Canceled", err)
	}
}

func ExamplePublish() {
	ctx := context.Background()
	p, _ := memory.New(memory.Options{}) // the in-memory provider
	minor := semver.Minor
	for _, req := range []release.PublishRequest{
		{Artifact: provider.Artifact{Zip: []byte("v1 code")}, Level: &minor, Commit: "5114f85"},
		{Artifact: provider.Artifact{Zip: []byte("v2 code")}, Commits: []string{"fix: retry on throttling"}, Commit: "9e8d7c6"},
		{Artifact: provider.Artifact{Zip: []byte("v2 code")}, Commits: []string{"fix: retry on throttling"}, Commit: "9e8d7c6"}, // a retried CI step
		{Artifact: provider.Artifact{Zip: []byte("v3 code")}, Commits: []string{"docs: readme"}},
	} {
		pub, err := release.Publish(ctx, p, "orders", req)
		switch {
		case errors.Is(err, semver.ErrNoRelease):
			fmt.Println("no release needed")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Printf("version %s is %s (after %s, existing %v)\n", pub.Version.ID, pub.Semver, pub.Last, pub.Existing)
		}
	}
	// Output:
	// version 1 is 0.1.0 (after 0.0.0, existing false)
	// version 2 is 0.1.1 (after 0.1.0, existing false)
	// version 2 is 0.1.1 (after 0.1.1, existing true)
	// no release needed
}
