package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/journal/blobjournal"
)

// newJournalCommand is "journal verify" and "journal repair".
func newJournalCommand(env func(string) string, stdout, stderr io.Writer, result *error) *cobra.Command {
	root := &cobra.Command{Use: "journal", Short: "check or repair the journal at --state"}
	for _, sub := range []struct{ name, short string }{
		{"verify", "read every journal entry and report the ones that are damaged and the numbers missing (exit 1 when one is damaged)"},
		{"repair", "move damaged journal entries aside (to journal-damaged/, nothing is deleted) so the journal reads again"},
	} {
		var stateURL string
		cmd := &cobra.Command{Use: sub.name, Short: sub.short, Args: cobra.NoArgs}
		c := &cli{fs: cmd.Flags(), envs: map[string][]string{}}
		c.str(&stateURL, "state", ".slipway", "where the journal lives (see slipway help promote)", "SLIPWAY_STATE", "SLIPWAY_STATE_DIR")
		cmd.RunE = func(cmd *cobra.Command, _ []string) error {
			*result = func() error {
				if _, _, err := c.fallback(env, nil); err != nil {
					return err
				}
				ctx := cmd.Context()
				b, _, guard, err := openBucket(ctx, stateURL, sub.name == "repair")
				if err != nil {
					return err
				}
				defer b.Close()
				j, err := blobjournal.Open(ctx, b, blobjournal.Options{Guard: blobjournal.Guard(guard)})
				if err != nil {
					return err
				}
				if sub.name == "repair" {
					moved, err := j.Repair(ctx)
					for _, k := range moved {
						fmt.Fprintf(stdout, "moved %s to %s\n", k, j.DamagedPrefix())
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(stdout, "slipway: journal repair: %d damaged entries moved aside\n", len(moved))
				}
				r, err := j.Verify(ctx)
				if err != nil {
					return err
				}
				for _, p := range r.Problems {
					fmt.Fprintf(stdout, "damaged: %s: %s\n", p.Key, p.Err)
				}
				gaps := ""
				if len(r.Gaps) > 0 {
					gaps = fmt.Sprintf(", numbers missing: %s", strings.Trim(fmt.Sprint(r.Gaps), "[]"))
				}
				fmt.Fprintf(stdout, "slipway: journal: %d entries, last number %d, %d damaged%s\n", r.Entries, r.Last, len(r.Problems), gaps)
				if !r.OK() {
					return shown(fmt.Errorf("journal: %d damaged entries: run slipway journal repair", len(r.Problems)))
				}
				return nil
			}()
			return nil
		}
		root.AddCommand(cmd)
	}
	return root
}
