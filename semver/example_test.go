package semver_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/slipway-dev/slipway/semver"
)

func ExampleParse() {
	v, err := semver.Parse("1.4.0-rc.2+sha.5114f85")
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Major(), v.Minor(), v.Patch(), v.Prerelease(), v.Build())

	_, err = semver.Parse("1.2.03")
	fmt.Println(err)
	fmt.Println(errors.Is(err, semver.ErrInvalid))

	_, err = semver.Parse("v1.2.3")
	fmt.Println(err)
	// Output:
	// 1 4 0 rc.2 sha.5114f85
	// semver: "1.2.03": patch version has a leading zero
	// true
	// semver: "v1.2.3": leading "v" is not allowed (ParseTolerant accepts it)
}

func ExampleParseTolerant() {
	v, err := semver.ParseTolerant("v2.1.0")
	fmt.Println(v, err)
	// Output: 2.1.0 <nil>
}

func ExampleCompare() {
	vs := []semver.Version{
		semver.MustParse("1.0.0"),
		semver.MustParse("1.0.0-rc.1"),
		semver.MustParse("1.0.0-beta.11"),
		semver.MustParse("1.0.0-beta.2"),
		semver.MustParse("1.0.0-alpha.beta"),
		semver.MustParse("1.0.0-alpha"),
	}
	slices.SortFunc(vs, semver.Compare)
	fmt.Println(vs)
	// Build metadata does not count for precedence.
	fmt.Println(semver.MustParse("1.0.0+a").Equal(semver.MustParse("1.0.0+b")))
	// Output:
	// [1.0.0-alpha 1.0.0-alpha.beta 1.0.0-beta.2 1.0.0-beta.11 1.0.0-rc.1 1.0.0]
	// true
}

func ExampleVersion_Bump() {
	v := semver.MustParse("1.2.3")
	fmt.Println(v.Bump(semver.Major), v.Bump(semver.Minor), v.Bump(semver.Patch))

	// A prerelease is bumped to the release it precedes.
	rc := semver.MustParse("1.3.0-rc.1")
	fmt.Println(rc.Bump(semver.Minor))
	// Output:
	// 2.0.0 1.3.0 1.2.4
	// 1.3.0
}

func ExampleVersion_BumpPre() {
	v := semver.MustParse("1.2.3")
	rc0, _ := v.BumpPre(semver.Minor, "rc")
	rc1, _ := rc0.BumpPrerelease("rc")
	beta, _ := rc1.BumpPrerelease("beta")
	dev1, _ := v.BumpPreWith(semver.Major, semver.PreOptions{ID: "dev", Base: semver.BaseOne})
	fmt.Println(rc0, rc1, rc1.Bump(semver.Minor))
	fmt.Println(beta, dev1)
	// Output:
	// 1.3.0-rc.0 1.3.0-rc.1 1.3.0
	// 1.3.0-beta.0 2.0.0-dev.1
}

func ExampleVersion_NextFromCommits() {
	commits := []string{
		"fix(retention): keep versions routed by weight",
		"feat(canary): add Linear10PercentEvery1Minute",
		"docs: explain analysis intervals",
	}
	next, err := semver.MustParse("1.4.2").NextFromCommits(commits)
	fmt.Println(next, err)

	// While the major version is 0, a breaking change bumps the minor version.
	next, _ = semver.MustParse("0.9.1").NextFromCommits([]string{"feat(provider)!: rename SetRoute"})
	fmt.Println(next)

	_, err = semver.MustParse("1.4.2").NextFromCommits([]string{"chore: bump deps"})
	fmt.Println(errors.Is(err, semver.ErrNoRelease))
	// Output:
	// 1.5.0 <nil>
	// 0.10.0
	// true
}

func ExampleLevelFromCommits() {
	level, ok := semver.LevelFromCommits([]string{
		"fix: handle throttling",
		"refactor: split runner\n\nBREAKING CHANGE: Runner.Run takes a Store",
	})
	fmt.Println(level, ok)
	// Output: major true
}

func ExampleParseRange() {
	for _, s := range []string{"^1.2.3", "^0.2.3", "^0.0.3", "~1.2", "1.2 - 2", ">= 1.0.0 <1.4 || 2.x"} {
		r, err := semver.ParseRange(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-20q %s\n", s, r)
	}
	// Output:
	// "^1.2.3"             >=1.2.3 <2.0.0-0
	// "^0.2.3"             >=0.2.3 <0.3.0-0
	// "^0.0.3"             >=0.0.3 <0.0.4-0
	// "~1.2"               >=1.2.0 <1.3.0-0
	// "1.2 - 2"            >=1.2.0 <3.0.0-0
	// ">= 1.0.0 <1.4 || 2.x" >=1.0.0 <1.4.0-0||>=2.0.0 <3.0.0-0
}

func ExampleRange_Contains() {
	r := semver.MustParseRange("^1.2.3")
	for _, s := range []string{"1.2.3", "1.9.0", "2.0.0", "1.5.0-beta.1"} {
		fmt.Println(s, r.Contains(semver.MustParse(s)))
	}
	// A prerelease matches only a range that names a prerelease of the same
	// MAJOR.MINOR.PATCH.
	pre := semver.MustParseRange(">=1.5.0-rc.1 <2.0.0")
	fmt.Println(pre.Contains(semver.MustParse("1.5.0-rc.2")), pre.Contains(semver.MustParse("1.6.0-rc.1")))
	// Output:
	// 1.2.3 true
	// 1.9.0 true
	// 2.0.0 false
	// 1.5.0-beta.1 false
	// true false
}

func ExampleMaxSatisfying() {
	published := []semver.Version{
		semver.MustParse("1.3.0"),
		semver.MustParse("1.4.1+sha.5114f85"),
		semver.MustParse("2.0.0-rc.1"),
		semver.MustParse("1.4.0"),
	}
	v, ok := semver.MaxSatisfying(published, semver.MustParseRange("1.x"))
	fmt.Println(v, ok)
	_, ok = semver.MaxSatisfying(published, semver.MustParseRange("^3"))
	fmt.Println(ok)
	// Output:
	// 1.4.1+sha.5114f85 true
	// false
}

func ExampleVersion_WithBuild() {
	v, err := semver.MustParse("1.4.0").WithBuild("sha.5114f85")
	fmt.Println(v, err)
	// Output: 1.4.0+sha.5114f85 <nil>
}
