package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"

	"github.com/spf13/cobra"
	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/internal/blobcas"
	"github.com/slipway-dev/slipway/release"
)

// summaryPrefix is where each run's summary is kept in the state bucket,
// for slipway report: "summaries/<release>.json", written once.
const summaryPrefix = "summaries/"

// saveSummary keeps the run's summary in the state bucket (create-if-
// absent: a release ID names one run).
func (st *state) saveSummary(sum release.Summary) error {
	if sum.Release == "" || st.bucket == nil {
		return nil
	}
	doc, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	err = blobcas.Create(context.Background(), st.bucket, nil, summaryPrefix+sum.Release+".json", doc)
	if errors.Is(err, blobcas.ErrExists) {
		return nil
	}
	return err
}

// loadSummary reads the summary of release id, or the newest summary of
// function when id is empty.
func loadSummary(ctx context.Context, b *blob.Bucket, function, id string) (release.Summary, error) {
	var sum release.Summary
	if id != "" {
		doc, err := b.ReadAll(ctx, summaryPrefix+id+".json")
		if err != nil {
			return sum, fmt.Errorf("no summary of release %s: %w", id, err)
		}
		return sum, json.Unmarshal(doc, &sum)
	}
	it := b.List(&blob.ListOptions{Prefix: summaryPrefix})
	found := false
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		doc, err := b.ReadAll(ctx, obj.Key)
		if err != nil {
			return sum, err
		}
		var s release.Summary
		if json.Unmarshal(doc, &s) != nil || (function != "" && s.Function != function) || s.Alias == "" {
			continue
		}
		if !found || s.Started.After(sum.Started) {
			sum, found = s, true
		}
	}
	if !found {
		return sum, fmt.Errorf("no release of %q has a summary in the state", function)
	}
	return sum, nil
}

// newReportCommand is "report": a self-contained HTML page of a release.
func newReportCommand(env func(string) string, stdout, stderr io.Writer, result *error) *cobra.Command {
	var stateURL, function, id, out string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "write a self-contained HTML page of a release (timeline, traffic steps, candidate vs stable per window, verdicts, journal)",
		Args:  cobra.NoArgs,
	}
	c := &cli{fs: cmd.Flags(), envs: map[string][]string{}}
	c.str(&stateURL, "state", ".slipway", "where the state lives (see slipway help promote)", "SLIPWAY_STATE", "SLIPWAY_STATE_DIR")
	c.str(&function, "function", "", "the function whose newest release to show", "SLIPWAY_FUNCTION")
	c.str(&id, "release", "", "the release to show (default: the function's newest)", "SLIPWAY_RELEASE")
	c.str(&out, "out", "slipway-report.html", "the HTML file to write", "SLIPWAY_REPORT")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		*result = func() error {
			if _, _, err := c.fallback(env, nil); err != nil {
				return err
			}
			ctx := cmd.Context()
			b, _, _, err := openBucket(ctx, stateURL, false)
			if err != nil {
				return err
			}
			defer b.Close()
			sum, err := loadSummary(ctx, b, function, id)
			if err != nil {
				return err
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := writeReport(f, sum); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "slipway: report of %s (%s) written to %s\n", sum.Release, sum.Outcome, out)
			return nil
		}()
		return nil
	}
	return cmd
}

// svgLine is one polyline of a chart.
type svgLine struct {
	Class  string
	Points string
	Dots   []svgDot
}

type svgDot struct {
	X, Y  float64
	Title string
}

// svgChart is a chart of one check: candidate against stable per window.
type svgChart struct {
	Title   string
	Width   int
	Height  int
	Lines   []svgLine
	XLabels []svgText
	YLabels []svgText
	Top     float64
}

type svgText struct {
	X, Y float64
	Text string
}

// chartsFor lays out the charts of a summary's windows.
func chartsFor(series []checkSeries) []svgChart {
	const w, h, left, right, top, bottom = 720, 260, 56, 16, 24, 40
	var out []svgChart
	for _, s := range series {
		n := len(s.points)
		if n == 0 {
			continue
		}
		maxV := 0.0
		for _, p := range s.points {
			maxV = max(maxV, p.candidate, p.stable)
		}
		maxV = niceMax(maxV)
		x := func(i int) float64 {
			if n == 1 {
				return left + float64(w-left-right)/2
			}
			return left + float64(i)*float64(w-left-right)/float64(n-1)
		}
		y := func(v float64) float64 { return top + (1-v/maxV)*float64(h-top-bottom) }
		ch := svgChart{Title: s.check + ": " + s.metric + " per window, candidate vs stable", Width: w, Height: h, Top: maxV}
		for _, which := range []string{"stable", "candidate"} { // the candidate drawn over the wider stable line
			l := svgLine{Class: which}
			var pts []string
			for i, p := range s.points {
				v := p.candidate
				if which == "stable" {
					v = p.stable
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
				l.Dots = append(l.Dots, svgDot{X: x(i), Y: y(v), Title: fmt.Sprintf("%s %s: %.2f%% at %s (step %d, %s to the candidate, %s)", which, s.metric, v, p.label, p.step, provider.Percent(p.weight), p.verdict)})
			}
			l.Points = strings.Join(pts, " ")
			ch.Lines = append(ch.Lines, l)
		}
		for i, p := range s.points {
			if n <= 12 || i%((n+11)/12) == 0 {
				ch.XLabels = append(ch.XLabels, svgText{X: x(i), Y: h - bottom + 16, Text: p.label})
			}
		}
		for k := 0; k <= 4; k++ {
			v := maxV * float64(k) / 4
			ch.YLabels = append(ch.YLabels, svgText{X: left - 6, Y: y(v) + 4, Text: fmt.Sprintf("%.3g%%", v)})
		}
		out = append(out, ch)
	}
	return out
}

// timelineStep is one traffic step of the release, from its journal.
type timelineStep struct {
	Time    string
	Kind    string
	Traffic string
	Share   int // the candidate's percent
	Reason  string
}

// writeReport renders the page: self-contained (inline CSS and SVG, no
// script, no network).
func writeReport(w io.Writer, sum release.Summary) error {
	var steps []timelineStep
	for _, e := range sum.Entries {
		ts := timelineStep{Time: e.Time.UTC().Format("15:04:05"), Kind: string(e.Kind), Reason: oneLine(e.Reason)}
		if e.Kind == journal.EntryDecision {
			ts.Kind += ": " + e.Outcome
		}
		if e.After != nil {
			ts.Traffic = e.After.Traffic()
			ts.Share = e.After.Share(sum.Candidate) / 100
		}
		steps = append(steps, ts)
	}
	verdicts := slices.Clone(sum.Verdicts)
	data := struct {
		S        release.Summary
		Started  string
		Finished string
		Duration string
		Steps    []timelineStep
		Charts   []svgChart
		Verdicts []release.CheckVerdict
	}{
		S: sum, Steps: steps, Charts: chartsFor(windowSeries(sum.Verdicts)), Verdicts: verdicts,
		Started: sum.Started.UTC().Format(time.RFC3339), Finished: sum.Finished.UTC().Format(time.RFC3339),
		Duration: sum.Finished.Sub(sum.Started).Round(time.Second).String(),
	}
	return reportTemplate.Execute(w, data)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": provider.Percent,
	"mul": func(a, b int) int { return a * b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>slipway: {{.S.Function}} {{.S.Release}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
.outcome{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;color:#fff;background:#57606a}
.outcome.promoted{background:#1a7f37}.outcome.rolled-back{background:#cf222e}.outcome.failed{background:#9a6700}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa}.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.inconclusive,.error{color:#9a6700;font-weight:600}
.bar{height:.8rem;background:#eaeef2;border-radius:.4rem;min-width:8rem;position:relative}.bar span{position:absolute;left:0;top:0;bottom:0;background:#0969da;border-radius:.4rem}
svg{max-width:100%;height:auto;background:#fff}svg .axis{stroke:#8c959f;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}
svg .candidate{fill:none;stroke:#cf222e;stroke-width:2.5}svg .stable{fill:none;stroke:#0969da;stroke-width:6}
svg circle.candidate{fill:#cf222e}svg circle.stable{fill:#0969da}svg text{font-size:11px;fill:#57606a}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:1rem;height:.25rem;vertical-align:middle;margin-right:.3rem}
.meta{color:#57606a}
</style></head>
<body>
<h1>{{.S.Function}}: {{if .S.Semver}}v{{.S.Semver}} {{end}}(version {{.S.Candidate}}) on {{.S.Alias}}</h1>
<p><span class="outcome {{if eq .S.Outcome "rolled back"}}rolled-back{{else}}{{.S.Outcome}}{{end}}" id="outcome">{{.S.Outcome}}</span>
<span class="meta">release {{.S.Release}} · by {{.S.Actor}} · {{.Started}} → {{.Finished}} ({{.Duration}}) · stable version {{.S.Stable}}</span></p>
{{if .S.Reason}}<p id="reason"><strong>Why:</strong> {{.S.Reason}}</p>{{end}}

<h2>Traffic steps</h2>
<table id="timeline"><thead><tr><th>time</th><th>entry</th><th>traffic</th><th>to the candidate</th><th>reason</th></tr></thead><tbody>
{{range .Steps}}<tr><td>{{.Time}}</td><td>{{.Kind}}</td><td>{{.Traffic}}</td><td>{{if .Traffic}}<div class="bar"><span style="width:{{.Share}}%"></span></div> {{.Share}}%{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>

<h2>Candidate vs stable, per window</h2>
{{if not .Charts}}<p>No window compared the candidate with the stable version.</p>{{end}}
{{range .Charts}}<figure>
<svg class="chart" role="img" aria-label="{{.Title}}" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" xmlns="http://www.w3.org/2000/svg">
<text x="56" y="14">{{.Title}}</text>
{{range .YLabels}}<line class="grid" x1="56" x2="704" y1="{{.Y}}" y2="{{.Y}}" transform="translate(0,-4)"></line><text x="{{.X}}" y="{{.Y}}" text-anchor="end">{{.Text}}</text>
{{end}}<line class="axis" x1="56" x2="56" y1="24" y2="220"></line><line class="axis" x1="56" x2="704" y1="220" y2="220"></line>
{{range .XLabels}}<text x="{{.X}}" y="{{.Y}}" text-anchor="middle">{{.Text}}</text>
{{end}}{{range .Lines}}<polyline class="{{.Class}}" points="{{.Points}}"></polyline>
{{$c := .Class}}{{range .Dots}}<circle class="{{$c}}" cx="{{.X}}" cy="{{.Y}}" r="{{if eq $c "stable"}}6{{else}}3.5{{end}}"><title>{{.Title}}</title></circle>
{{end}}{{end}}</svg>
<figcaption class="legend"><span><i style="background:#cf222e"></i>candidate</span><span><i style="background:#0969da"></i>stable</span></figcaption>
</figure>{{end}}

<h2>Verdicts</h2>
<table id="verdicts"><thead><tr><th>window end</th><th>step</th><th>traffic</th><th>check</th><th>verdict</th><th>measurement</th></tr></thead><tbody>
{{range .Verdicts}}<tr><td>{{.Time.UTC.Format "15:04:05"}}</td><td>{{.Step}}</td><td>{{pct .Weight}}</td><td>{{.Check}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Detail}}</td></tr>
{{end}}</tbody></table>

<h2>Journal entries</h2>
<table id="journal"><thead><tr><th>time</th><th>kind</th><th>alias</th><th>after</th><th>outcome</th><th>actor</th><th>reason</th></tr></thead><tbody>
{{range .S.Entries}}<tr><td>{{.Time.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.Kind}}</td><td>{{.Alias}}</td><td>{{if .After}}{{range .After.Weights}}{{.Version}}={{pct .BasisPoints}} {{end}}{{end}}</td><td>{{.Outcome}}</td><td>{{.Actor}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>
<p class="meta">Written by slipway report. Self-contained: no script, no network.</p>
</body></html>
`))
