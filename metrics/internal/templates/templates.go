// Package templates is what the template-driven metric sources (datadog,
// prometheus) share: the measures of a provider.Point that a set of query
// templates fills, and the checks of those templates. Each source keeps
// its own query language: how a template is expanded and sent.
package templates

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Queries are the templates of each measure of a provider.Point, with
// the fields (and order) of the sources' own Queries types, which convert
// to it.
type Queries struct {
	Invocations string
	Errors      string
	Throttles   string
	P50         string
	P90         string
	P99         string
	ColdStarts  string
}

// Measure is one template and where its value goes.
type Measure struct {
	// Name is the template's configuration key ("invocations", "p99", …).
	Name     string
	Template string
	// Set adds a value to a point: counts are rounded and summed,
	// latencies converted and the largest kept.
	Set func(p *provider.Point, v float64)
}

// Measures returns the measures whose template is set, in the order of
// Queries' fields. Latency values are in unit (0 means one second).
func (q Queries) Measures(unit time.Duration) []Measure {
	if unit == 0 {
		unit = time.Second
	}
	lat := func(v float64) time.Duration { return time.Duration(math.Round(v * float64(unit))) }
	count := func(v float64) int64 { return int64(math.Round(v)) }
	all := []Measure{
		{"invocations", q.Invocations, func(p *provider.Point, v float64) { p.Invocations += count(v) }},
		{"errors", q.Errors, func(p *provider.Point, v float64) { p.Errors += count(v) }},
		{"throttles", q.Throttles, func(p *provider.Point, v float64) { p.Throttles += count(v) }},
		{"p50", q.P50, func(p *provider.Point, v float64) { p.P50 = max(p.P50, lat(v)) }},
		{"p90", q.P90, func(p *provider.Point, v float64) { p.P90 = max(p.P90, lat(v)) }},
		{"p99", q.P99, func(p *provider.Point, v float64) { p.P99 = max(p.P99, lat(v)) }},
		{"coldStarts", q.ColdStarts, func(p *provider.Point, v float64) { p.ColdStarts += count(v) }},
	}
	out := all[:0]
	for _, m := range all {
		if m.Template != "" {
			out = append(out, m)
		}
	}
	return out
}

// CheckRequired fails with provider.ErrInvalid (about what) when the
// Invocations or the Errors template is empty.
func (q Queries) CheckRequired(what string) error {
	if q.Invocations == "" {
		return provider.Invalid(what, "queries.invocations", "is empty")
	}
	if q.Errors == "" {
		return provider.Invalid(what, "queries.errors", "is empty")
	}
	return nil
}

// CheckLatencies fails with provider.ErrInvalid unless the latency
// templates are given from the top (P99 alone, P90 and P99, or all
// three), so a point's P50 ≤ P90 ≤ P99 holds.
func (q Queries) CheckLatencies(what string) error {
	if q.P50 != "" && q.P90 == "" {
		return provider.Invalid(what, "queries.p90", "is empty while queries.p50 is set (give latencies from the top: p99, p90, p50)")
	}
	if q.P90 != "" && q.P99 == "" {
		return provider.Invalid(what, "queries.p99", "is empty while queries.p90 is set (give latencies from the top: p99, p90, p50)")
	}
	return nil
}

var placeholderRe = regexp.MustCompile(`\{\{[^}]*\}\}`)

var knownPlaceholders = map[string]bool{"{{function}}": true, "{{version}}": true, "{{alias}}": true, "{{period}}": true}

// CheckPlaceholders fails with provider.ErrInvalid when a template holds a
// {{…}} other than {{function}}, {{version}}, {{alias}} and {{period}}.
func (q Queries) CheckPlaceholders(what string) error {
	for _, m := range q.Measures(0) {
		for _, ph := range placeholderRe.FindAllString(m.Template, -1) {
			if !knownPlaceholders[ph] {
				return provider.Invalid(what, "queries."+m.Name, fmt.Sprintf("has unknown placeholder %s (known: {{function}}, {{version}}, {{alias}}, {{period}})", ph))
			}
		}
	}
	return nil
}
