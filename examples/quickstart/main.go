// Command quickstart shows the slipway release job on the in-memory
// provider. Until the release package lands it demonstrates the parts that
// are built: picking the next semantic version from commit messages.
package main

import (
	"fmt"
	"os"

	"github.com/slipway-dev/slipway/semver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	last := semver.MustParse("1.4.2")
	commits := []string{
		"fix(api): retry on 429",
		"feat: canary weights in basis points",
		"docs: explain the v rule",
	}
	lvl, ok := semver.LevelFromCommits(commits)
	if !ok {
		fmt.Println("no release needed")
		return nil
	}
	next, err := last.NextFromCommits(commits)
	if err != nil {
		return err
	}
	fmt.Printf("last released %s; commits call for a %s release: next is %s\n", last, lvl, next)
	return nil
}
