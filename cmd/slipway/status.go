package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/journal"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/provider"
)

// unfinishedCanary is a canary status reports as unfinished: a killed
// job's, or one a live process is driving.
type unfinishedCanary struct {
	release string       // the release ID
	state   canary.State // as last saved
	why     string
	route   *provider.Route
	actor   string // who started it, from the journal
}

// unfinishedCanaries returns the function's unfinished production
// canaries (by findUnfinished's rule, for every saved rollout) and the
// leases of its canary drivers.
func (st *state) unfinishedCanaries(ctx context.Context) ([]unfinishedCanary, []blobstore.LeaseInfo, error) {
	s := st.s
	var cur *provider.Route
	r, err := st.p.Route(ctx, s.function, s.production)
	switch {
	case err == nil:
		cur = &r
	case !errors.Is(err, provider.ErrNotFound):
		return nil, nil, err
	}
	outcomes, lastRoute, err := st.journalOutcomes(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids, err := st.productionRollouts(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []unfinishedCanary
	for _, id := range ids {
		ro, err := st.loadRollout(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if ro.Function != s.function {
			continue
		}
		why, ok := unfinishedWhy(ro, cur, outcomes[id], lastRoute == id)
		if !ok {
			continue
		}
		u := unfinishedCanary{release: id, state: ro, why: why, route: cur}
		for e, err := range st.journal.Entries(ctx, journal.Filter{Function: s.function, Alias: s.production}) {
			if err != nil {
				return nil, nil, err
			}
			if e.Release == id {
				u.actor = e.Actor
				break
			}
		}
		out = append(out, u)
	}
	var leases []blobstore.LeaseInfo
	if l, ok, err := st.store.Lease(ctx, s.leaseKey()); err != nil {
		return nil, nil, err
	} else if ok {
		leases = append(leases, l)
	}
	return out, leases, nil
}

// printUnfinished prints the unfinished canaries, who drives them and
// what to run.
func (st *state) printUnfinished(out io.Writer, us []unfinishedCanary, leases []blobstore.LeaseInfo) {
	s := st.s
	fmt.Fprintln(out, "\nunfinished canaries:")
	if len(us) == 0 {
		fmt.Fprintln(out, "  none")
	}
	for _, u := range us {
		ro := u.state
		who := u.actor
		if who == "" {
			who = "?"
		}
		traffic := "-"
		if u.route != nil {
			traffic = trafficOf(*u.route)
		}
		fmt.Fprintf(out, "  %s: %s of %s on %s, stable %s\n", u.release, versionText(ro.Candidate, ""), s.function, ro.Alias, ro.Stable)
		fmt.Fprintf(out, "    started %s by %s; phase %s, step %d of %d; traffic %s\n",
			ro.Started.UTC().Format("2006-01-02 15:04:05"), who, ro.Phase, ro.Step+1, len(ro.Plan.Steps), traffic)
		var vs []string
		for _, c := range ro.Checks {
			v := fmt.Sprintf("%s %s (%d pass, %d fail)", c.Name, c.Last, c.Passes, c.Failures)
			if c.LastReason != "" {
				v += ": " + c.LastReason
			}
			vs = append(vs, v)
		}
		if len(vs) > 0 {
			fmt.Fprintf(out, "    last verdicts: %s\n", strings.Join(vs, "; "))
		}
		for _, c := range ro.Checks {
			if m := relativeRE.FindStringSubmatch(c.LastReason); m != nil {
				cand, _ := strconv.ParseFloat(m[2], 64)
				stab, _ := strconv.ParseFloat(m[3], 64)
				top := niceMax(max(cand, stab))
				fmt.Fprintf(out, "    %-10s candidate %s %6.2f%%\n    %-10s stable    %s %6.2f%%\n", c.Name, bar(cand, top), cand, "", bar(stab, top), stab)
			}
		}
		fmt.Fprintf(out, "    why: %s\n", u.why)
		driven := false
		for _, l := range leases {
			if l.Held() {
				driven = true
			}
		}
		if driven {
			fmt.Fprintf(out, "    a live process drives it (lease below): wait, or run: slipway abort --function %s --reason \"…\"\n", s.function)
		} else {
			fmt.Fprintf(out, "    run: slipway resume --function %s   (continues it)\n     or: slipway abort --function %s --reason \"…\"   (rolls it back)\n", s.function, s.function)
		}
	}
	fmt.Fprintln(out, "\ncanary driver lease:")
	if len(leases) == 0 {
		fmt.Fprintln(out, "  none")
	}
	for _, l := range leases {
		state := "held"
		switch {
		case l.Released:
			state = "released"
		case l.Dead:
			state = "STALE: its process is gone (crashed writer)"
		case l.Stale:
			state = fmt.Sprintf("STALE: not renewed for %s (crashed writer?)", time.Since(l.Renewed).Round(time.Second))
		}
		fmt.Fprintf(out, "  %s #%d: %s, by %s (pid %d on %s, %s %s) since %s, renewed %s\n", l.Key, l.Number, state, l.Who, l.PID, l.Host, l.Command, l.Release,
			l.Since.UTC().Format("2006-01-02 15:04:05"), l.Renewed.UTC().Format("2006-01-02 15:04:05"))
	}
}

// trafficOf is traffic, kept apart for status.
func trafficOf(r provider.Route) string { return r.Traffic() }

// unfinishedMarkdown is the job summary's section on unfinished canaries.
func unfinishedMarkdown(s *settings, us []unfinishedCanary) string {
	if len(us) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("### ⚠️ Unfinished canaries\n\n| release | candidate | stable | phase | step | traffic |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, u := range us {
		tr := "-"
		if u.route != nil {
			tr = u.route.Traffic()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d of %d | %s |\n", u.release, u.state.Candidate, u.state.Stable, u.state.Phase, u.state.Step+1, len(u.state.Plan.Steps), tr)
	}
	fmt.Fprintf(&b, "\n`slipway resume --function %s` continues it; `slipway abort --function %s` rolls it back.\n\n", s.function, s.function)
	return b.String()
}

// watchStatus keeps printing the status until ctx ends: on a terminal it
// redraws the screen every interval; otherwise it prints the lines that
// changed since the last look, each once.
func (st *state) watchStatus(ctx context.Context, out io.Writer) error {
	tty := isTerminal(out)
	var prev []string
	for {
		var buf bytes.Buffer
		// A fresh view of the shared state each time: another process
		// writes it.
		if err := st.refresh(ctx); err != nil {
			return err
		}
		err := st.statusOnce(ctx, &buf, false)
		if err != nil && !errors.Is(err, errUnfinished) {
			return err
		}
		lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
		if tty {
			fmt.Fprintf(out, "\x1b[H\x1b[2J%s  (every %s; ctrl-c to stop)\n%s\n", time.Now().UTC().Format("15:04:05"), watchEvery, buf.String())
		} else {
			for _, l := range lines {
				if strings.TrimSpace(l) != "" && !slices.Contains(prev, l) {
					fmt.Fprintf(out, "%s %s\n", time.Now().UTC().Format("15:04:05"), strings.TrimSpace(l))
				}
			}
		}
		prev = lines
		t := time.NewTimer(watchEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// watchEvery is how often status --watch looks.
const watchEvery = 2 * time.Second

// refresh reopens what another process may have changed: the memory
// provider's state file and the journal.
func (st *state) refresh(ctx context.Context) error {
	if st.mem != nil && st.memPath != "" {
		if err := openMemory(ctx, st, st.memPath); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// bar draws v of top as a bar of 20 cells.
func bar(v, top float64) string {
	const width = 20
	n := 0
	if top > 0 {
		n = int(v/top*width + 0.5)
	}
	n = min(max(n, 0), width)
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}
