package gcprun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/iterator"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slipway-dev/slipway/provider"
)

// Metric types read by Observe (Google Cloud metrics list, "run"; resource
// type cloud_run_revision).
const (
	MetricRequestCount     = "run.googleapis.com/request_count"
	MetricRequestLatencies = "run.googleapis.com/request_latencies"
)

// Resolution is one minute: Cloud Run samples its request metrics every
// 60 s, and an alignment period must be at least 60 s (MONPB
// Aggregation.alignment_period).
func (p *Provider) Resolution() time.Duration { return time.Minute }

// Observe reads the requests of each version (revision) of q.Function from
// Cloud Monitoring with two ListTimeSeries queries over [q.Start, Through),
// both filtered to the function's service and the revisions asked for and
// aligned per q.Period (ALIGN_DELTA), each paged to the end:
//
//   - request_count, summed (REDUCE_SUM) by resource.labels.revision_name,
//     metric.labels.response_code_class and metric.labels.response_code:
//     Invocations are requests other than 429s, Errors the "5xx" class,
//     Throttles the 429s (no instance available).
//   - request_latencies, summed by revision_name (distributions merge),
//     from which P50, P90 and P99 are read by linear interpolation inside
//     the bucket that holds the percentile.
//
// Through is End, or the start of the period in which now − MetricsDelay
// falls, whichever is earlier. Periods without points are zero. q.Alias is
// not a dimension of these metrics (a revision's requests are counted
// whichever route or tag reached it). ColdStarts is -1: request metrics
// do not tell cold starts apart.
func (p *Provider) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	const op = "observe"
	if err := q.Validate(p.Resolution()); err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}
	if err := checkFunction(ctx, op, q.Function); err != nil {
		return provider.Observation{}, err
	}
	if p.c.Metrics == nil {
		return provider.Observation{}, fail(op, q.Function, fmt.Errorf("%w: no Cloud Monitoring client", provider.ErrUnsupported))
	}
	for i, v := range q.Versions {
		if !isTag(v) {
			return provider.Observation{}, fail(op, q.Function, provider.Invalid("metrics query", fmt.Sprintf("versions[%d]", i), fmt.Sprintf("%q is not a revision name", v)))
		}
	}
	svcName, err := p.serviceOf(ctx, q.Function)
	if err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}
	through := q.CompleteThrough(p.now(), p.metricsDelay())
	obs := provider.Observation{Query: q, Through: through}
	n := int(through.Sub(q.Start) / q.Period)
	obs.Series = q.EmptySeries(through, -1)
	index := map[string]int{}
	for i, v := range q.Versions {
		index[v] = i
	}
	if n == 0 {
		return obs, nil
	}
	point := func(rev string, end time.Time) *provider.Point {
		i, ok := index[rev]
		if !ok {
			return nil
		}
		k := int(end.Sub(q.Start)/q.Period) - 1
		if k < 0 || k >= n || !q.Start.Add(time.Duration(k+1)*q.Period).Equal(end) {
			return nil
		}
		return &obs.Series[i].Points[k]
	}

	base := fmt.Sprintf(`resource.type = "cloud_run_revision" AND resource.labels.service_name = %q AND resource.labels.revision_name = one_of(%s)`,
		shortName(svcName), quoteAll(q.Versions))
	counts := &monitoringpb.ListTimeSeriesRequest{
		Name:     "projects/" + p.opts.Project,
		Filter:   fmt.Sprintf(`metric.type = %q AND `, MetricRequestCount) + base,
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(q.Start), EndTime: timestamppb.New(through)},
		Aggregation: &monitoringpb.Aggregation{
			AlignmentPeriod:    durationpb.New(q.Period),
			PerSeriesAligner:   monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM,
			GroupByFields:      []string{"resource.labels.revision_name", "metric.labels.response_code_class", "metric.labels.response_code"},
		},
		View: monitoringpb.ListTimeSeriesRequest_FULL,
	}
	err = p.series(ctx, counts, func(ts *monitoringpb.TimeSeries) {
		rev := ts.GetResource().GetLabels()["revision_name"]
		class := ts.GetMetric().GetLabels()["response_code_class"]
		code := ts.GetMetric().GetLabels()["response_code"]
		for _, pt := range ts.Points {
			dst := point(rev, pt.GetInterval().GetEndTime().AsTime())
			if dst == nil {
				continue
			}
			c := pt.GetValue().GetInt64Value()
			switch {
			case code == "429":
				dst.Throttles += c
				continue
			case class == "5xx":
				dst.Errors += c
			}
			dst.Invocations += c
		}
	})
	if err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}

	lat := &monitoringpb.ListTimeSeriesRequest{
		Name:     counts.Name,
		Filter:   fmt.Sprintf(`metric.type = %q AND `, MetricRequestLatencies) + base,
		Interval: counts.Interval,
		Aggregation: &monitoringpb.Aggregation{
			AlignmentPeriod:    durationpb.New(q.Period),
			PerSeriesAligner:   monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM,
			GroupByFields:      []string{"resource.labels.revision_name"},
		},
		View: monitoringpb.ListTimeSeriesRequest_FULL,
	}
	err = p.series(ctx, lat, func(ts *monitoringpb.TimeSeries) {
		rev := ts.GetResource().GetLabels()["revision_name"]
		for _, pt := range ts.Points {
			dst := point(rev, pt.GetInterval().GetEndTime().AsTime())
			d := pt.GetValue().GetDistributionValue()
			if dst == nil || d == nil || d.Count == 0 {
				continue
			}
			dst.P50 = Percentile(d, 0.50)
			dst.P90 = Percentile(d, 0.90)
			dst.P99 = Percentile(d, 0.99)
		}
	})
	if err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}
	return obs, nil
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// series calls f for every time series of req, paging to the end.
func (p *Provider) series(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest, f func(*monitoringpb.TimeSeries)) error {
	it := p.c.Metrics.ListTimeSeries(ctx, req)
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list time series: %w", translate(ctx, err, conflictIsConflict))
		}
		f(ts)
	}
}

// Percentile estimates the q-quantile (0 < q < 1) of a distribution of
// milliseconds: the bucket holding the ⌈q·count⌉-th value, interpolated
// linearly between its bounds (the underflow bucket is taken to start at
// 0, the overflow bucket to end at its lower bound). It reads linear,
// exponential and explicit bucket options (google.api.Distribution).
func Percentile(d *distribution.Distribution, q float64) time.Duration {
	if d.GetCount() <= 0 {
		return 0
	}
	rank := math.Ceil(q * float64(d.Count))
	var cum float64
	for i, c := range d.BucketCounts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo, hi := bucketBounds(d.BucketOptions, i, len(d.BucketCounts))
			if math.IsInf(hi, 1) {
				hi = lo
			}
			v := lo + (hi-lo)*(rank-cum)/float64(c)
			return time.Duration(v * float64(time.Millisecond))
		}
		cum += float64(c)
	}
	return time.Duration(d.Mean * float64(time.Millisecond))
}

// bucketBounds returns [lower, upper) of bucket i (0 = underflow).
func bucketBounds(o *distribution.Distribution_BucketOptions, i, n int) (float64, float64) {
	switch b := o.GetOptions().(type) {
	case *distribution.Distribution_BucketOptions_LinearBuckets:
		l := b.LinearBuckets
		if i == 0 {
			return math.Min(0, l.Offset), l.Offset
		}
		if i > int(l.NumFiniteBuckets) {
			return l.Offset + l.Width*float64(l.NumFiniteBuckets), math.Inf(1)
		}
		return l.Offset + l.Width*float64(i-1), l.Offset + l.Width*float64(i)
	case *distribution.Distribution_BucketOptions_ExponentialBuckets:
		e := b.ExponentialBuckets
		if i == 0 {
			return 0, e.Scale
		}
		if i > int(e.NumFiniteBuckets) {
			return e.Scale * math.Pow(e.GrowthFactor, float64(e.NumFiniteBuckets)), math.Inf(1)
		}
		return e.Scale * math.Pow(e.GrowthFactor, float64(i-1)), e.Scale * math.Pow(e.GrowthFactor, float64(i))
	case *distribution.Distribution_BucketOptions_ExplicitBuckets:
		bs := b.ExplicitBuckets.Bounds
		switch {
		case len(bs) == 0:
			return 0, math.Inf(1)
		case i == 0:
			return 0, bs[0]
		case i >= len(bs):
			return bs[len(bs)-1], math.Inf(1)
		}
		return bs[i-1], bs[i]
	}
	return 0, 0
}
