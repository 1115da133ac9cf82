package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/release"
)

// drill runs a rollback fire drill (release.Workflow.Drill) on the drill
// alias, or finishes the drill a stopped process left: with --id, the
// drill of that ID; without, the function's unfinished drill if any.
func (st *state) drill(ctx context.Context, out io.Writer) error {
	s := st.s
	w, err := st.workflow(out, s.stages(), nil)
	if err != nil {
		return err
	}
	req := s.drillRequest()
	var res release.DrillResult
	runIn(st.clock, func() {
		if req.ID == "" {
			var id string
			if id, err = st.unfinishedDrill(ctx, w); err != nil {
				return
			}
			if id != "" {
				st.printer(out).line("slipway: drill %s: drill %s was left unfinished by a process that stopped: putting the alias back", s.function, id)
				res, err = w.ResumeDrill(ctx, s.function, id)
				return
			}
		}
		res, err = w.Drill(ctx, req)
	})
	return st.reportDrill(out, res, err)
}

// unfinishedDrill is the ID of the function's last drill that the journal
// shows started and not finished, "" when none.
func (st *state) unfinishedDrill(ctx context.Context, w *release.Workflow) (string, error) {
	open, err := w.UnfinishedDrills(ctx, st.s.function)
	if err != nil || len(open) == 0 {
		return "", err
	}
	return open[len(open)-1], nil
}

// reportDrill prints the drill's last line, appends its summary and
// outputs, and returns err.
func (st *state) reportDrill(out io.Writer, res release.DrillResult, err error) error {
	s := st.s
	if res.Outcome == "" {
		return err // refused before the drill began (the error says why)
	}
	outcome := res.Outcome
	res.TimeToRollback, res.TimeToRestore = res.TimeToRollback.Round(time.Millisecond), res.TimeToRestore.Round(time.Millisecond)
	var line string
	switch {
	case res.Resumed:
		line = fmt.Sprintf("slipway: drill %s: %s on %s: back on %s (drill %s), restored in %s", res.Function, outcome, res.Alias, res.From, res.ID, res.TimeToRestore)
	default:
		line = fmt.Sprintf("slipway: drill %s: %s on %s: rolled back from %s to %s in %s, restored in %s", res.Function, outcome, res.Alias,
			res.From, res.To, res.TimeToRollback, res.TimeToRestore)
	}
	if res.Detail != "" {
		line += " (" + oneLine(res.Detail) + ")"
	}
	if err != nil && !errors.Is(err, release.ErrDrillFailed) {
		line += ": " + oneLine(err.Error())
	}
	st.printer(out).line("%s", line)
	mark := "✅"
	if outcome != "passed" && !res.Resumed {
		mark = "❌"
	}
	var md strings.Builder
	fmt.Fprintf(&md, "## %s %s: rollback drill %s on %s\n\n| | |\n|---|---|\n", mark, res.Function, outcome, res.Alias)
	fmt.Fprintf(&md, "| Drill | %s |\n", res.ID)
	if !res.Resumed {
		fmt.Fprintf(&md, "| Rolled back | %s → %s in %s |\n", res.From, res.To, res.TimeToRollback)
	}
	fmt.Fprintf(&md, "| Restored | → %s in %s |\n", res.From, res.TimeToRestore)
	if res.Detail != "" {
		fmt.Fprintf(&md, "| Verification | %s |\n", strings.ReplaceAll(oneLine(res.Detail), "|", "\\|"))
	}
	md.WriteString("\n")
	outputs := fmt.Sprintf("outcome=%s\ndrill=%s\nalias=%s\nfrom=%s\nto=%s\ntime_to_rollback=%s\ntime_to_restore=%s\n",
		outcome, res.ID, res.Alias, res.From, res.To, seconds(res.TimeToRollback), seconds(res.TimeToRestore))
	if ferr := errors.Join(st.appendFile(s.summaryFile, md.String()), st.appendFile(s.outputFile, outputs)); ferr != nil {
		return errors.Join(err, ferr)
	}
	return shown(err)
}

// seconds is d in seconds, for a step output.
func seconds(d time.Duration) string { return fmt.Sprintf("%g", d.Seconds()) }
