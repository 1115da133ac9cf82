package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/release"
)

// printer prints the workflow's events, one line each, without repeating
// a reason already printed (a check's failure is the verdict's detail,
// then the rollback's reason, then the release's: it is printed once and
// referred to after), and remembers where the rollout is for the progress
// lines of a long bake.
type printer struct {
	mu      sync.Mutex
	out     io.Writer
	seen    []string  // reasons printed: verdict details and event messages
	details []string  // verdict details printed
	printed time.Time // wall time of the last line
	last    release.Event
	w       int // the candidate's share of the last event that had one
	verdict []release.CheckVerdict
	clock   canary.Clock
	// phase, when set, reads the rollout's phase from the store, for the
	// progress lines.
	phase func(release, alias string) string
}

func newPrinter(out io.Writer, clock canary.Clock) *printer {
	return &printer{out: out, clock: clock, printed: time.Now()}
}

// dedupe replaces the reasons already printed in text with a reference.
func (p *printer) dedupe(text string) string { return dedupeWith(p.seen, text) }

// result is the release's last line with the verdict details already
// printed replaced by a reference.
func (p *printer) result(text string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return dedupeWith(p.details, text)
}

func dedupeWith(seen []string, text string) string {
	if slices.Contains(seen, text) {
		return "(reason above)"
	}
	seen = slices.Clone(seen)
	slices.SortFunc(seen, func(a, b string) int { return len(b) - len(a) })
	for _, s := range seen {
		text = strings.ReplaceAll(text, s, "(reason above)")
	}
	return text
}

func (p *printer) remember(texts ...string) {
	for _, t := range texts {
		if len(t) >= 40 {
			p.seen = append(p.seen, t)
		}
	}
}

// event prints e.
func (p *printer) event(e release.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var details []string
	for _, v := range e.Verdicts {
		details = append(details, v.Detail)
	}
	msg := e.Message
	if msg != "" {
		e.Message = p.dedupe(msg)
	}
	fmt.Fprintln(p.out, e.String())
	p.remember(details...)
	p.remember(msg)
	for _, d := range details {
		if len(d) >= 40 {
			p.details = append(p.details, d)
		}
	}
	p.printed = time.Now()
	p.last = e
	if e.Kind == release.EventWeightSet || e.Kind == release.EventVerdict {
		p.w = e.Weight
	}
	if len(e.Verdicts) > 0 {
		p.verdict = e.Verdicts
	}
}

// line prints a line of the command's own.
func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", args...)
	p.printed = time.Now()
}

// progress prints where the rollout is when nothing was printed for
// every: at least one line per analysis interval while a step bakes in
// real time. It returns when ctx ends.
func (p *printer) progress(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		if time.Since(p.printed) >= every && p.last.Kind != "" {
			e := p.last
			now := p.clock.Now()
			what := "baking"
			if p.phase != nil {
				if ph := p.phase(e.Release, e.Alias); ph != "" && ph != "Baking" {
					what = strings.ToLower(ph)
					if ph == "Paused" {
						what += " (the canary waits for an operator: slipway abort rolls it back)"
					}
				}
			}
			line := fmt.Sprintf("%s %-8s %-11s %s: %d%% to %s", now.UTC().Format("15:04:05"), e.Step, e.Alias, what, p.weight()/100, versionText(e.Candidate, e.Semver))
			if !e.Until.IsZero() && e.Until.After(now) {
				line += fmt.Sprintf(", next step at %s (in %s)", e.Until.UTC().Format("15:04:05"), e.Until.Sub(now).Round(time.Second))
			}
			if len(p.verdict) > 0 {
				var vs []string
				for _, v := range p.verdict {
					vs = append(vs, v.Check+" "+v.Verdict)
				}
				line += "; last verdicts: " + strings.Join(vs, ", ")
			}
			fmt.Fprintln(p.out, line)
			p.printed = time.Now()
		}
		p.mu.Unlock()
	}
}

// weight is the candidate's share of the last event that had one.
func (p *printer) weight() int { return p.w }
