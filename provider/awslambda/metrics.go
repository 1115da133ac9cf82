package awslambda

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipway-dev/slipway/provider"
)

// Resolution is one minute: Lambda publishes standard-resolution metrics.
func (p *Provider) Resolution() time.Duration { return time.Minute }

// maxQueries is GetMetricData's limit on MetricDataQueries per call.
const maxQueries = 500

// metric is one statistic Observe reads per series.
type metric struct {
	id, name, stat string
}

var metricsRead = []metric{
	{"inv", "Invocations", "Sum"},
	{"err", "Errors", "Sum"},
	{"thr", "Throttles", "Sum"},
	{"p50", "Duration", "p50"},
	{"p90", "Duration", "p90"},
	{"p99", "Duration", "p99"},
}

// Observe reads CloudWatch GetMetricData (namespace AWS/Lambda) for each
// version of q: Invocations, Errors and Throttles (Sum) and Duration
// percentiles p50, p90 and p99, with Period q.Period, ascending.
//
// Dimensions: with q.Alias set, {FunctionName, Resource=fn:alias,
// ExecutedVersion=N} — the part of the alias's traffic version N served,
// the only series that separates the versions behind a weighted alias.
// With q.Alias empty, a version's traffic by every route is the sum of its
// direct invocations {FunctionName, Resource=fn:N} and of its
// ExecutedVersion series behind each alias the function has now
// (ListAliases; aliases deleted since are not counted); percentiles are
// then the largest of the series', as they cannot be added.
//
// Completeness: Lambda's datapoints arrive minutes after the minute they
// describe, and CloudWatch does not say when a period is final, so Through
// is now − MetricsDelay aligned down to the period, capped at q.End;
// periods ending after it are not requested. Periods CloudWatch has no
// datapoint for (Invocations is not emitted when zero) are zero points.
//
// Cold starts are not in the AWS/Lambda namespace: they appear only as
// "Init Duration" in the REPORT lines of the function's CloudWatch Logs,
// which would need Logs Insights queries. Observe does not run those:
// ColdStarts is -1 (unknown) and InitDuration zero on every point.
//
// Unknown names: CloudWatch answers a query on a function or alias that
// does not exist with no datapoints, so Observe returns zero points rather
// than ErrNotFound (checking would cost a Lambda call per observation;
// with q.Alias empty, ListAliases does report a missing function).
//
// API calls: one GetMetricData per 500 queries (6 per version and series)
// plus one per NextToken page; with q.Alias empty, one ListAliases first.
func (p *Provider) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	const op = "observe"
	if err := q.Validate(p.Resolution()); err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}
	if p.cw == nil {
		return provider.Observation{}, fail(op, q.Function, fmt.Errorf("%w: the provider has no CloudWatch client", provider.ErrUnsupported))
	}
	through := q.CompleteThrough(p.now(), p.metricsDelay())
	obs := provider.Observation{Query: q, Through: through}
	n := int(through.Sub(q.Start) / q.Period)

	// groups[i] are the dimension sets whose series add up to version i.
	groups := make([][][]cwtypes.Dimension, len(q.Versions))
	fnDim := cwtypes.Dimension{Name: aws.String("FunctionName"), Value: aws.String(q.Function)}
	resource := func(r string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: aws.String("Resource"), Value: aws.String(q.Function + ":" + r)}
	}
	executed := func(v string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: aws.String("ExecutedVersion"), Value: aws.String(v)}
	}
	if q.Alias != "" {
		for i, v := range q.Versions {
			groups[i] = [][]cwtypes.Dimension{{fnDim, resource(q.Alias), executed(v)}}
		}
	} else if n > 0 {
		aliases, err := p.aliases(ctx, q.Function)
		if err != nil {
			return provider.Observation{}, fail(op, q.Function, err)
		}
		for i, v := range q.Versions {
			groups[i] = [][]cwtypes.Dimension{{fnDim, resource(v)}}
			for _, a := range aliases {
				groups[i] = append(groups[i], []cwtypes.Dimension{fnDim, resource(aws.ToString(a.Name)), executed(v)})
			}
		}
	}

	var queries []cwtypes.MetricDataQuery
	for i := range q.Versions {
		for g, dims := range groups[i] {
			for _, m := range metricsRead {
				queries = append(queries, cwtypes.MetricDataQuery{
					Id: aws.String(queryID(i, g, m.id)),
					MetricStat: &cwtypes.MetricStat{
						Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String(m.name), Dimensions: dims},
						Period: aws.Int32(int32(q.Period / time.Second)),
						Stat:   aws.String(m.stat),
					},
					ReturnData: aws.Bool(true),
				})
			}
		}
	}
	values := map[string]map[int64]float64{} // query id → period start (Unix s) → value
	if n > 0 {
		for start := 0; start < len(queries); start += maxQueries {
			chunk := queries[start:min(start+maxQueries, len(queries))]
			if err := p.getMetricData(ctx, chunk, q.Start, through, values); err != nil {
				return provider.Observation{}, fail(op, q.Function, err)
			}
		}
	}

	for i, v := range q.Versions {
		s := provider.Series{Version: v, Points: make([]provider.Point, n)}
		for k := range n {
			t := q.Start.Add(time.Duration(k) * q.Period)
			pt := provider.Point{Start: t, ColdStarts: -1}
			for g := range groups[i] {
				val := func(id string) float64 { return values[queryID(i, g, id)][t.Unix()] }
				pt.Invocations += int64(math.Round(val("inv")))
				pt.Errors += int64(math.Round(val("err")))
				pt.Throttles += int64(math.Round(val("thr")))
				pt.P50 = max(pt.P50, millis(val("p50")))
				pt.P90 = max(pt.P90, millis(val("p90")))
				pt.P99 = max(pt.P99, millis(val("p99")))
			}
			s.Points[k] = pt
		}
		obs.Series = append(obs.Series, s)
	}
	return obs, nil
}

// queryID names query m of dimension group g of version i; GetMetricData
// IDs start with a lowercase letter.
func queryID(i, g int, m string) string { return fmt.Sprintf("v%d_g%d_%s", i, g, m) }

func millis(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// getMetricData runs one batch of queries over [start, end), following
// NextToken, and adds the datapoints to values.
func (p *Provider) getMetricData(ctx context.Context, queries []cwtypes.MetricDataQuery, start, end time.Time, values map[string]map[int64]float64) error {
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         aws.Time(start),
		EndTime:           aws.Time(end),
		ScanBy:            cwtypes.ScanByTimestampAscending,
	}
	for {
		out, err := p.cw.GetMetricData(ctx, in)
		if err != nil {
			return fmt.Errorf("get metric data: %w", translate(err, conflictIsConflict))
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			switch r.StatusCode {
			case cwtypes.StatusCodeInternalError:
				return fmt.Errorf("%w: get metric data: query %s: status %s", provider.ErrUnavailable, id, r.StatusCode)
			case cwtypes.StatusCodeForbidden:
				return fmt.Errorf("awslambda: get metric data: query %s: status %s (no permission to read the metric)", id, r.StatusCode)
			}
			if len(r.Timestamps) != len(r.Values) {
				return fmt.Errorf("%w: get metric data: query %s: %d timestamps for %d values", provider.ErrUnavailable, id, len(r.Timestamps), len(r.Values))
			}
			m := values[id]
			if m == nil {
				m = map[int64]float64{}
				values[id] = m
			}
			for k, t := range r.Timestamps {
				m[t.Unix()] = r.Values[k]
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}
