package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway/release"
)

// windowPoint is one analysis window of a relative check: the candidate's
// and the stable version's value of its metric, in percent (rates).
type windowPoint struct {
	label     string // the window's end, 15:04:05
	step      int
	weight    int // basis points
	candidate float64
	stable    float64
	verdict   string
}

// checkSeries is one check's windows.
type checkSeries struct {
	check  string
	metric string
	points []windowPoint
}

// relativeRE reads a relative rate check's verdict detail, as canary.Relative
// writes it: "error rate 17.52% (55/314) against stable 0.00% (0/2643) × 1.5
// + 1.00% = 1.00%: exceeded".
var relativeRE = regexp.MustCompile(`^([a-z ]+?) ([0-9.]+)% \([0-9]+/[0-9]+\) against stable ([0-9.]+)% `)

// windowSeries returns, per check, candidate against stable per window,
// from the verdicts of the checks that compare the two (the relative rate
// checks); checks whose verdicts carry no such pair are left out.
func windowSeries(vs []release.CheckVerdict) []checkSeries {
	var out []checkSeries
	index := map[string]int{}
	for _, v := range vs {
		m := relativeRE.FindStringSubmatch(v.Detail)
		if m == nil {
			continue
		}
		c, err1 := strconv.ParseFloat(m[2], 64)
		s, err2 := strconv.ParseFloat(m[3], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		i, ok := index[v.Check]
		if !ok {
			i = len(out)
			index[v.Check] = i
			out = append(out, checkSeries{check: v.Check, metric: m[1]})
		}
		out[i].points = append(out[i].points, windowPoint{
			label: v.Time.UTC().Format("15:04:05"), step: v.Step, weight: v.Weight, candidate: c, stable: s, verdict: v.Verdict,
		})
	}
	return out
}

// niceMax is an axis maximum a little above m.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*p >= m*1.1 {
			return f * p
		}
	}
	return 10 * p
}

// mermaidCharts renders each series as a Mermaid xychart-beta block, which
// GitHub renders in a job summary: the first line is the candidate, the
// second the stable version.
func mermaidCharts(function string, series []checkSeries) string {
	var b strings.Builder
	for _, s := range series {
		if len(s.points) == 0 {
			continue
		}
		var labels, cand, stab []string
		top := 0.0
		for _, p := range s.points {
			labels = append(labels, strconv.Quote(p.label))
			cand = append(cand, strconv.FormatFloat(p.candidate, 'f', 2, 64))
			stab = append(stab, strconv.FormatFloat(p.stable, 'f', 2, 64))
			top = max(top, p.candidate, p.stable)
		}
		fmt.Fprintf(&b, "#### %s per window: candidate (first line) against stable (second line)\n\n", s.check)
		fmt.Fprintf(&b, "```mermaid\nxychart-beta\n  title \"%s: %s, candidate vs stable\"\n  x-axis [%s]\n  y-axis \"%s (%%)\" 0 --> %s\n  line [%s]\n  line [%s]\n```\n\n",
			function, s.metric, strings.Join(labels, ", "), s.metric, strconv.FormatFloat(niceMax(top), 'g', -1, 64), strings.Join(cand, ", "), strings.Join(stab, ", "))
	}
	return b.String()
}
