package release

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// Summary is the record of one release run, for people: what was
// released, where traffic was before and after, every journal entry of the
// run, the checks' verdicts, what retention pruned, and any drift or safety
// findings. Markdown renders it for a CI job summary ($GITHUB_STEP_SUMMARY
// on GitHub Actions, which renders GitHub-flavoured Markdown).
//
// It is plain data filled by the workflow (or by a CI program from the
// journal); every field is optional, and empty sections are left out.
type Summary struct {
	Function string `json:"function"`
	Alias    string `json:"alias,omitempty"`
	Release  string `json:"release,omitempty"`
	// Outcome is the result: "promoted", "rolled back", "failed", or any
	// other short text.
	Outcome string `json:"outcome,omitempty"`
	// Reason says why, in a sentence (the failed check, the error).
	Reason string `json:"reason,omitempty"`
	// Candidate and Stable are version IDs; Semver is the candidate's.
	Candidate string    `json:"candidate,omitempty"`
	Stable    string    `json:"stable,omitempty"`
	Semver    string    `json:"semver,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	// RoutesBefore and RoutesAfter are the function's routes when the run
	// began and when it ended.
	RoutesBefore []provider.Route `json:"routesBefore,omitempty"`
	RoutesAfter  []provider.Route `json:"routesAfter,omitempty"`
	// Entries are the journal entries of the run, oldest first.
	Entries []journal.Entry `json:"entries,omitempty"`
	// Verdicts are the checks' judgements, in the order they were made.
	Verdicts []CheckVerdict `json:"verdicts,omitempty"`
	// Versions are the function's versions after the run; the table shows
	// their semantic versions and commits (from their labels) and which
	// routes of RoutesAfter send them traffic.
	Versions []provider.Version `json:"versions,omitempty"`
	// Pruned lists what retention deleted (or would delete, in a dry run)
	// after the release.
	Pruned []Pruned `json:"pruned,omitempty"`
	// Drift and Safety are reported when set.
	Drift  []Drift       `json:"drift,omitempty"`
	Safety *ConfigReport `json:"safety,omitempty"`
	// Bump, Replay, Synthetic, LockDown, Remap and Revert report the
	// steps of the same names (steps.go); each is left out when it did not
	// run.
	Bump      string           `json:"bump,omitempty"`
	Replay    *ReplayReport    `json:"replay,omitempty"`
	Synthetic []SyntheticTally `json:"synthetic,omitempty"`
	LockDown  *LockDownReport  `json:"lockDown,omitempty"`
	Remap     *RemapReport     `json:"remap,omitempty"`
	Revert    *RevertResult    `json:"revert,omitempty"`
}

// CheckVerdict is one check's judgement of one analysis window.
type CheckVerdict struct {
	Time time.Time `json:"time"`
	// Step is the 1-based step of the strategy; Weight the candidate's
	// share during the window, in basis points.
	Step   int    `json:"step"`
	Weight int    `json:"weight"`
	Check  string `json:"check"`
	// Verdict is "pass", "fail", "inconclusive" or "error".
	Verdict string `json:"verdict"`
	// Detail is the measurement, such as "error rate 0.4% ≤ 1% (n=5123)".
	Detail string `json:"detail,omitempty"`
}

// Pruned is a version retention deleted.
type Pruned struct {
	Version string `json:"version"`
	Semver  string `json:"semver,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// DryRun is true when the version was only planned for deletion.
	DryRun bool `json:"dryRun,omitempty"`
	// Err is why the deletion failed, if it did.
	Err string `json:"err,omitempty"`
}

// Markdown returns s rendered as GitHub-flavoured Markdown.
func (s Summary) Markdown() string {
	var b bytes.Buffer
	s.render(&b)
	return b.String()
}

// WriteMarkdown writes s rendered as Markdown to w; append it to the file
// named by $GITHUB_STEP_SUMMARY to show it on the job's page.
func (s Summary) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	s.render(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func (s Summary) render(b *bytes.Buffer) {
	s.header(b)
	s.steps(b)
	s.aliases(b)
	s.timeline(b)
	s.verdicts(b)
	s.versions(b)
	s.pruned(b)
	s.drift(b)
	s.safety(b)
}

func outcomeMark(outcome string) string {
	switch outcome {
	case "promoted":
		return "✅"
	case "rolled back":
		return "⏪"
	case "failed":
		return "❌"
	}
	return "ℹ️"
}

func (s Summary) header(b *bytes.Buffer) {
	title := md(s.Function)
	if s.Alias != "" {
		title += " `" + code(s.Alias) + "`"
	}
	outcome := s.Outcome
	if outcome == "" {
		outcome = "release"
	}
	title += ": " + md(outcome)
	if w := versionText(s.Candidate, s.Semver); w != "" {
		title += " " + w
	}
	fmt.Fprintf(b, "## %s %s\n\n", outcomeMark(s.Outcome), title)
	if s.Reason != "" {
		fmt.Fprintf(b, "> %s\n\n", md(s.Reason))
	}
	var rows [][2]string
	if s.Release != "" {
		rows = append(rows, [2]string{"Release", "`" + code(s.Release) + "`"})
	}
	if s.Candidate != "" {
		rows = append(rows, [2]string{"Candidate", versionText(s.Candidate, s.Semver)})
	}
	if s.Stable != "" {
		rows = append(rows, [2]string{"Stable", versionText(s.Stable, s.semverOf(s.Stable))})
	}
	if s.Actor != "" {
		rows = append(rows, [2]string{"Actor", md(s.Actor)})
	}
	if !s.Started.IsZero() {
		rows = append(rows, [2]string{"Started", s.Started.UTC().Format("2006-01-02 15:04:05 MST")})
	}
	if !s.Finished.IsZero() {
		f := s.Finished.UTC().Format("2006-01-02 15:04:05 MST")
		if !s.Started.IsZero() {
			f += " (" + s.Finished.Sub(s.Started).String() + ")"
		}
		rows = append(rows, [2]string{"Finished", f})
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
	}
	b.WriteString("\n")
}

// versionText is "1.1.0 (version 7)", "version 7" or "".
func versionText(id, sv string) string {
	switch {
	case id == "":
		return ""
	case sv != "":
		return "**" + md(sv) + "** (version " + md(id) + ")"
	}
	return "version " + md(id)
}

// semverOf returns the semantic version of version id from s.Versions.
func (s Summary) semverOf(id string) string {
	for _, v := range s.Versions {
		if v.ID == id {
			return v.Labels[provider.LabelSemver]
		}
	}
	return ""
}

func (s Summary) aliases(b *bytes.Buffer) {
	if len(s.RoutesBefore) == 0 && len(s.RoutesAfter) == 0 {
		return
	}
	var names []string
	for _, r := range append(slices.Clone(s.RoutesBefore), s.RoutesAfter...) {
		if !slices.Contains(names, r.Alias) {
			names = append(names, r.Alias)
		}
	}
	slices.Sort(names)
	b.WriteString("### Aliases\n\n| Alias | Before | After |\n|---|---|---|\n")
	changed := false
	for _, n := range names {
		before, after := findRoute(s.RoutesBefore, n), findRoute(s.RoutesAfter, n)
		mark := ""
		if (before == nil) != (after == nil) || before != nil && after != nil && !before.SameTraffic(*after) {
			mark, changed = " ✱", true
		}
		fmt.Fprintf(b, "| `%s`%s | %s | %s |\n", code(n), mark, traffic(before), traffic(after))
	}
	if changed {
		b.WriteString("\n✱ traffic changed\n")
	}
	b.WriteString("\n")
}

func findRoute(rs []provider.Route, alias string) *provider.Route {
	for i := range rs {
		if rs[i].Alias == alias {
			return &rs[i]
		}
	}
	return nil
}

// traffic renders a route's weights: "6: 90% · 7: 10%", "—" for none.
func traffic(r *provider.Route) string {
	if r == nil || len(r.Weights) == 0 {
		return "—"
	}
	parts := make([]string, 0, len(r.Weights))
	for _, w := range r.Weights {
		parts = append(parts, md(w.Version)+": "+provider.Percent(w.BasisPoints))
	}
	return strings.Join(parts, " · ")
}

// clock renders t as a time of day when it falls on the day the run
// started, else with its date.
func (s Summary) clock(t time.Time) string {
	t = t.UTC()
	sy, sm, sd := s.Started.UTC().Date()
	if y, m, d := t.Date(); !s.Started.IsZero() && y == sy && m == sm && d == sd {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

func (s Summary) timeline(b *bytes.Buffer) {
	if len(s.Entries) == 0 {
		return
	}
	b.WriteString("### Timeline\n\n| Time | Entry | Alias | Traffic after | Outcome | Actor | Reason |\n|---|---|---|---|---|---|---|\n")
	for _, e := range s.Entries {
		var after string
		if e.After != nil {
			after = traffic(e.After)
		}
		alias := ""
		if e.Alias != "" {
			alias = "`" + code(e.Alias) + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			s.clock(e.Time), md(string(e.Kind)), alias, after, md(e.Outcome), md(e.Actor), md(e.Reason))
	}
	b.WriteString("\n")
}

func verdictMark(v string) string {
	switch v {
	case "pass":
		return "✅ pass"
	case "fail":
		return "❌ fail"
	case "inconclusive":
		return "❔ inconclusive"
	case "error":
		return "⚠️ error"
	}
	return md(v)
}

func (s Summary) verdicts(b *bytes.Buffer) {
	if len(s.Verdicts) == 0 {
		return
	}
	b.WriteString("### Checks\n\n| Time | Step | Canary | Check | Verdict | Detail |\n|---|---:|---:|---|---|---|\n")
	for _, v := range s.Verdicts {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n",
			s.clock(v.Time), v.Step, provider.Percent(v.Weight), md(v.Check), verdictMark(v.Verdict), md(v.Detail))
	}
	b.WriteString("\n")
}

func (s Summary) versions(b *bytes.Buffer) {
	if len(s.Versions) == 0 {
		return
	}
	b.WriteString("### Versions\n\n| Version | Semver | Commit | Created | Routed by |\n|---|---|---|---|---|\n")
	for _, v := range s.Versions {
		var routed []string
		for _, r := range s.RoutesAfter {
			if sh := r.Share(v.ID); sh > 0 {
				routed = append(routed, "`"+code(r.Alias)+"` "+provider.Percent(sh))
			}
		}
		commit := v.Labels[provider.LabelCommit]
		if commit != "" {
			commit = "`" + code(commit) + "`"
		}
		created := ""
		if !v.Created.IsZero() {
			created = v.Created.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", md(v.ID), md(v.Labels[provider.LabelSemver]), commit, created, strings.Join(routed, ", "))
	}
	b.WriteString("\n")
}

func (s Summary) pruned(b *bytes.Buffer) {
	if len(s.Pruned) == 0 {
		return
	}
	b.WriteString("### Pruned by retention\n\n| Version | Semver | Reason | Result |\n|---|---|---|---|\n")
	for _, p := range s.Pruned {
		result := "deleted"
		switch {
		case p.Err != "":
			result = "⚠️ not deleted: " + md(p.Err)
		case p.DryRun:
			result = "would be deleted (dry run)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", md(p.Version), md(p.Semver), md(p.Reason), result)
	}
	b.WriteString("\n")
}

func (s Summary) drift(b *bytes.Buffer) {
	if len(s.Drift) == 0 {
		return
	}
	b.WriteString("### Out-of-band changes\n\n")
	for _, d := range s.Drift {
		b.WriteString("- " + md(d.String()) + "\n")
	}
	b.WriteString("\n")
}

func (s Summary) safety(b *bytes.Buffer) {
	r := s.Safety
	if r == nil {
		return
	}
	fmt.Fprintf(b, "### Drift and safety: `%s` → `%s`\n\n", code(r.A), code(r.B))
	if len(r.Differences) > 0 {
		b.WriteString("| Field | " + md(r.A) + " | " + md(r.B) + " |\n|---|---|---|\n")
		for _, d := range r.Differences {
			field := d.Field
			if d.Name != "" {
				field += " `" + code(d.Name) + "`"
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", field, md(d.A), md(d.B))
		}
		b.WriteString("\n")
	}
	for _, f := range r.Findings {
		b.WriteString("- ⚠️ " + md(f.String()) + "\n")
	}
	for _, c := range r.Checks {
		mark := map[SafetyStatus]string{SafetyPassed: "✅", SafetyFound: "⚠️", SafetyNotChecked: "➖"}[c.Status]
		line := "- " + mark + " " + md(c.Name) + ": " + string(c.Status)
		if c.Detail != "" {
			line += " (" + md(c.Detail) + ")"
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
}

// md escapes text for a Markdown table cell or line: HTML's specials
// (GitHub would otherwise read "<bot>" as a tag), the table's pipe, the
// emphasis and link characters, and newlines.
func md(s string) string {
	return strings.NewReplacer(
		"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|",
		"*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]",
		"\r\n", "<br>", "\n", "<br>",
	).Replace(s)
}

// code makes s safe inside a `code span` in a table: a backtick cannot
// appear in it and a pipe must still be escaped.
func code(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s)
}
