package runtest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Metric types and the monitored resource the emulator serves (Google
// Cloud metrics list, "run"): request_count is a DELTA INT64 with metric
// labels response_code and response_code_class; request_latencies a DELTA
// DISTRIBUTION in milliseconds with the same labels; both on resource
// cloud_run_revision (labels project_id, service_name, revision_name,
// configuration_name, location).
const (
	RequestCount     = "run.googleapis.com/request_count"
	RequestLatencies = "run.googleapis.com/request_latencies"
	ResourceType     = "cloud_run_revision"
)

// latencyBuckets are the bucket options of the emulator's latency
// distributions: exponential, 1 ms scale, growth 1.1, 200 finite buckets
// (the real service's bucket layout is not documented; clients read it
// from each distribution, as they must).
var latencyBuckets = &distribution.Distribution_BucketOptions{
	Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
		ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: 200, GrowthFactor: 1.1, Scale: 1},
	},
}

// filter is a parsed ListTimeSeries filter: a conjunction of
// `key = "value"` and `key = one_of("a", "b", …)` terms (the subset of the
// Monitoring filter language the emulator understands; anything else is
// INVALID_ARGUMENT).
type filter map[string][]string

var (
	termEq    = regexp.MustCompile(`^([a-z_.]+)\s*=\s*"([^"]*)"$`)
	termOneOf = regexp.MustCompile(`^([a-z_.]+)\s*=\s*one_of\((.*)\)$`)
	quoted    = regexp.MustCompile(`"([^"]*)"`)
)

// canonicalKey accepts both resource.label.x and resource.labels.x.
func canonicalKey(k string) string {
	k = strings.Replace(k, "resource.label.", "resource.labels.", 1)
	return strings.Replace(k, "metric.label.", "metric.labels.", 1)
}

var filterKeys = []string{
	"metric.type", "resource.type", "resource.labels.project_id", "resource.labels.service_name",
	"resource.labels.revision_name", "resource.labels.location", "resource.labels.configuration_name",
	"metric.labels.response_code_class", "metric.labels.response_code",
}

func parseFilter(s string) (filter, error) {
	f := filter{}
	for _, term := range strings.Split(s, " AND ") {
		term = strings.TrimSpace(term)
		if m := termEq.FindStringSubmatch(term); m != nil {
			f[canonicalKey(m[1])] = []string{m[2]}
		} else if m := termOneOf.FindStringSubmatch(term); m != nil {
			var vals []string
			for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
				vals = append(vals, q[1])
			}
			if len(vals) == 0 {
				return nil, fmt.Errorf("one_of() without values in %q", term)
			}
			f[canonicalKey(m[1])] = vals
		} else {
			return nil, fmt.Errorf("cannot parse filter term %q", term)
		}
	}
	for k := range f {
		if !slices.Contains(filterKeys, k) {
			return nil, fmt.Errorf("unknown filter field %q", k)
		}
	}
	if len(f["metric.type"]) != 1 {
		return nil, fmt.Errorf("the filter must name exactly one metric.type")
	}
	return f, nil
}

func (f filter) match(k, v string) bool {
	vals, ok := f[k]
	return !ok || slices.Contains(vals, v)
}

// series is one time series before output.
type series struct {
	metricLabels, resourceLabels map[string]string
	points                       []*monitoringpb.Point // newest first
}

type metricServer struct {
	monitoringpb.UnimplementedMetricServiceServer
	s *Server
}

// ListTimeSeries answers request_count and request_latencies queries with
// an aggregation: alignment_period at least 60 s (MONPB
// Aggregation.alignment_period); aligner ALIGN_DELTA (both metrics),
// ALIGN_SUM or ALIGN_RATE (request_count) or ALIGN_PERCENTILE_{05,50,95,99}
// (request_latencies); reducer REDUCE_NONE or REDUCE_SUM with group_by_fields
// among the filterable labels. Alignment periods end at interval.end_time and
// step back while they start at or after interval.start_time; a period is
// visible once it ended MetricsDelay ago; periods without requests are
// omitted; points come newest first (MONPB TimeSeries.points: "in reverse
// time order"). Pages hold at most min(page_size, MaxPointsPerPage) points
// and whole series.
func (x metricServer) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	s := x.s
	if req.GetName() != "projects/"+s.opts.Project {
		return nil, status.Errorf(codes.NotFound, "project %q not found (the emulator serves projects/%s)", req.GetName(), s.opts.Project)
	}
	f, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "filter: %v", err)
	}
	mtype := f["metric.type"][0]
	if mtype != RequestCount && mtype != RequestLatencies {
		return nil, status.Errorf(codes.InvalidArgument, "metric.type %q is not served by the emulator", mtype)
	}
	if !f.match("resource.type", ResourceType) {
		return &monitoringpb.ListTimeSeriesResponse{}, nil
	}
	iv := req.GetInterval()
	if iv.GetEndTime() == nil {
		return nil, status.Error(codes.InvalidArgument, "interval.end_time is required")
	}
	end := iv.EndTime.AsTime()
	start := end
	if iv.StartTime != nil {
		start = iv.StartTime.AsTime()
	}
	if start.After(end) {
		return nil, status.Error(codes.InvalidArgument, "interval.start_time is after interval.end_time")
	}
	agg := req.GetAggregation()
	if agg == nil || agg.PerSeriesAligner == monitoringpb.Aggregation_ALIGN_NONE {
		return nil, status.Error(codes.InvalidArgument, "the emulator needs an aggregation with a per_series_aligner")
	}
	if agg.AlignmentPeriod == nil {
		return nil, status.Error(codes.InvalidArgument, "aggregation.alignment_period is required with a per_series_aligner")
	}
	period := agg.AlignmentPeriod.AsDuration()
	if period < time.Minute {
		return nil, status.Errorf(codes.InvalidArgument, "aggregation.alignment_period %s: the value must be at least 60 seconds", period)
	}
	pct, err := alignerFor(mtype, agg.PerSeriesAligner)
	if err != nil {
		return nil, err
	}
	switch agg.CrossSeriesReducer {
	case monitoringpb.Aggregation_REDUCE_NONE:
		if len(agg.GroupByFields) > 0 {
			return nil, status.Error(codes.InvalidArgument, "group_by_fields need a cross_series_reducer")
		}
	case monitoringpb.Aggregation_REDUCE_SUM:
		if pct > 0 {
			return nil, status.Error(codes.InvalidArgument, "REDUCE_SUM cannot reduce percentiles (DOUBLE gauges of a distribution)")
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "cross_series_reducer %s is not supported by the emulator", agg.CrossSeriesReducer)
	}
	groupBy := make([]string, len(agg.GroupByFields))
	for i, g := range agg.GroupByFields {
		groupBy[i] = canonicalKey(g)
		if !slices.Contains(filterKeys[2:], groupBy[i]) {
			return nil, status.Errorf(codes.InvalidArgument, "group_by_fields: unknown field %q", g)
		}
	}

	s.mu.Lock()
	raw := s.rawSeries(f, mtype, pct, agg.PerSeriesAligner, start, end, period)
	s.mu.Unlock()
	out := raw
	if agg.CrossSeriesReducer == monitoringpb.Aggregation_REDUCE_SUM {
		out = reduce(raw, groupBy, mtype)
	}
	slices.SortFunc(out, func(a, b series) int { return strings.Compare(seriesKey(a), seriesKey(b)) })

	first := 0
	fp := fingerprint(req)
	if tok := req.GetPageToken(); tok != "" {
		n, ok := decodeToken(tok, fp)
		if !ok || n > len(out) {
			return nil, status.Errorf(codes.InvalidArgument, "page_token %q does not belong to this query", tok)
		}
		first = n
	}
	limit := 100000
	if s.opts.MaxPointsPerPage > 0 {
		limit = s.opts.MaxPointsPerPage
	}
	if req.PageSize > 0 && int(req.PageSize) < limit {
		limit = int(req.PageSize)
	}
	resp := &monitoringpb.ListTimeSeriesResponse{Unit: unitOf(mtype)}
	n, i := 0, first
	for ; i < len(out); i++ {
		if i > first && n+len(out[i].points) > limit {
			break
		}
		n += len(out[i].points)
		resp.TimeSeries = append(resp.TimeSeries, out[i].proto(mtype, pct, agg.PerSeriesAligner))
	}
	if i < len(out) {
		resp.NextPageToken = encodeToken(i, fp)
	}
	return resp, nil
}

func fingerprint(req *monitoringpb.ListTimeSeriesRequest) string {
	c := proto.Clone(req).(*monitoringpb.ListTimeSeriesRequest)
	c.PageToken, c.PageSize = "", 0
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	h := uint64(14695981039346656037)
	for _, x := range b {
		h = (h ^ uint64(x)) * 1099511628211
	}
	return strconv.FormatUint(h, 36)
}

func unitOf(mtype string) string {
	if mtype == RequestLatencies {
		return "ms"
	}
	return "1"
}

// alignerFor checks the aligner suits the metric and returns the
// percentile it asks for (0 for none).
func alignerFor(mtype string, a monitoringpb.Aggregation_Aligner) (float64, error) {
	switch {
	case a == monitoringpb.Aggregation_ALIGN_DELTA:
		return 0, nil
	case mtype == RequestCount && (a == monitoringpb.Aggregation_ALIGN_SUM || a == monitoringpb.Aggregation_ALIGN_RATE):
		return 0, nil
	case mtype == RequestLatencies:
		switch a {
		case monitoringpb.Aggregation_ALIGN_PERCENTILE_05:
			return 5, nil
		case monitoringpb.Aggregation_ALIGN_PERCENTILE_50:
			return 50, nil
		case monitoringpb.Aggregation_ALIGN_PERCENTILE_95:
			return 95, nil
		case monitoringpb.Aggregation_ALIGN_PERCENTILE_99:
			return 99, nil
		}
	}
	return 0, status.Errorf(codes.InvalidArgument, "per_series_aligner %s is not valid for %s", a, mtype)
}

// rawSeries builds the aligned series of every revision the filter
// selects: one per response code for request_count, one per response code
// class for request_latencies. Callers hold s.mu.
func (s *Server) rawSeries(f filter, mtype string, pct float64, aligner monitoringpb.Aggregation_Aligner, start, end time.Time, period time.Duration) []series {
	visible := s.now().Add(-s.opts.MetricsDelay)
	var out []series
	for _, id := range slices.Sorted(maps.Keys(s.services)) {
		v := s.services[id]
		res := map[string]string{
			"project_id": s.opts.Project, "location": s.opts.Location, "service_name": v.id, "configuration_name": v.id,
		}
		if !f.match("resource.labels.service_name", v.id) || !f.match("resource.labels.project_id", s.opts.Project) || !f.match("resource.labels.location", s.opts.Location) {
			continue
		}
		for _, rev := range v.model.revisions() {
			if !f.match("resource.labels.revision_name", rev) {
				continue
			}
			r := maps.Clone(res)
			r["revision_name"] = rev
			type key struct{ code, class string }
			byKey := map[key][]*monitoringpb.Point{}
			for pEnd := end; !pEnd.Add(-period).Before(start); pEnd = pEnd.Add(-period) {
				if pEnd.After(visible) {
					continue
				}
				pStart := pEnd.Add(-period)
				c := v.model.window(rev, pStart, pEnd)
				calls := v.model.callsIn(rev, pStart, pEnd)
				iv := &monitoringpb.TimeInterval{StartTime: ts(pStart), EndTime: ts(pEnd)}
				if mtype == RequestCount {
					n := map[key]int64{{"200", "2xx"}: c.ok, {"500", "5xx"}: c.errors, {"429", "4xx"}: c.throttled}
					for _, k := range calls {
						n[key{strconv.Itoa(k.status), codeClass(k.status)}]++
					}
					for _, k := range slices.SortedFunc(maps.Keys(n), func(a, b key) int { return strings.Compare(a.code, b.code) }) {
						if n[k] == 0 {
							continue
						}
						val := &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: n[k]}}
						if aligner == monitoringpb.Aggregation_ALIGN_RATE {
							val = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: float64(n[k]) / period.Seconds()}}
						}
						byKey[k] = append(byKey[k], &monitoringpb.Point{Interval: iv, Value: val})
					}
					continue
				}
				modeled := map[string]int64{"2xx": c.ok, "5xx": c.errors}
				real := map[string][]float64{}
				for _, k := range calls {
					real[codeClass(k.status)] = append(real[codeClass(k.status)], k.ms)
				}
				classes := slices.Sorted(maps.Keys(real))
				for cl := range modeled {
					if !slices.Contains(classes, cl) {
						classes = append(classes, cl)
					}
				}
				slices.Sort(classes)
				for _, cl := range classes {
					nm, durs := modeled[cl], real[cl]
					if nm == 0 && len(durs) == 0 {
						continue
					}
					var val *monitoringpb.TypedValue
					if pct > 0 {
						val = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: blendPercentile(c.b, nm, durs, pct)}}
					} else {
						val = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: blendDistribution(c.b, nm, durs)}}
					}
					byKey[key{"", cl}] = append(byKey[key{"", cl}], &monitoringpb.Point{Interval: iv, Value: val})
				}
			}
			for _, k := range slices.SortedFunc(maps.Keys(byKey), func(a, b key) int { return strings.Compare(a.class+a.code, b.class+b.code) }) {
				ml := map[string]string{"response_code_class": k.class, "route_type": "default"}
				if k.code != "" {
					ml["response_code"] = k.code
				}
				if !f.match("metric.labels.response_code_class", k.class) || !f.match("metric.labels.response_code", k.code) {
					continue
				}
				out = append(out, series{metricLabels: ml, resourceLabels: r, points: byKey[k]})
			}
		}
	}
	return out
}

// percentileOf interpolates the behavior's latency percentiles, in ms.
func percentileOf(b Behavior, p float64) float64 {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	switch {
	case p <= 50:
		return ms(b.P50) * p / 50
	case p <= 90:
		return ms(b.P50) + (ms(b.P90)-ms(b.P50))*(p-50)/40
	default:
		return ms(b.P90) + (ms(b.P99)-ms(b.P90))*(p-90)/9
	}
}

// codeClass is the response_code_class of an HTTP status: "2xx", "4xx"…
func codeClass(status int) string { return strconv.Itoa(status/100) + "xx" }

// blendPercentile is the pct-th latency percentile of a period with nm
// modeled requests (interpolated from b) and real ones taking durs ms
// (nearest rank), averaged weighted by their counts.
func blendPercentile(b Behavior, nm int64, durs []float64, pct float64) float64 {
	if len(durs) == 0 {
		return percentileOf(b, pct)
	}
	ds := slices.Clone(durs)
	slices.Sort(ds)
	rank := int(math.Ceil(pct/100*float64(len(ds)))) - 1
	real := ds[min(max(rank, 0), len(ds)-1)]
	if nm == 0 {
		return real
	}
	return (percentileOf(b, pct)*float64(nm) + real*float64(len(ds))) / float64(nm+int64(len(ds)))
}

// blendDistribution is the latency distribution of nm modeled requests
// (latencyDistribution) and of real ones taking durs ms, each in its
// bucket.
func blendDistribution(b Behavior, nm int64, durs []float64) *distribution.Distribution {
	var d *distribution.Distribution
	if nm > 0 {
		d = latencyDistribution(b, nm)
	} else {
		d = &distribution.Distribution{BucketOptions: proto.Clone(latencyBuckets).(*distribution.Distribution_BucketOptions)}
	}
	sum := d.Mean * float64(d.Count)
	for _, ms := range durs {
		i := bucketOf(ms)
		for len(d.BucketCounts) <= i {
			d.BucketCounts = append(d.BucketCounts, 0)
		}
		d.BucketCounts[i]++
		d.Count++
		sum += ms
	}
	if d.Count > 0 {
		d.Mean = sum / float64(d.Count)
	}
	return d
}

// latencyDistribution spreads n requests so that the 50th, 90th and 99th
// percentiles fall in the buckets of b.P50, b.P90 and b.P99: ⌈n/2⌉
// requests at P50, up to the ⌈0.9·n⌉-th at P90, the rest at P99.
func latencyDistribution(b Behavior, n int64) *distribution.Distribution {
	buckets := make([]int64, 202)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	put := func(v float64, k int64) {
		buckets[bucketOf(v)] += k
	}
	// Rounding up keeps the percentiles in place when distributions of
	// several series are summed.
	c50 := (n + 1) / 2
	c90 := int64(math.Ceil(0.9*float64(n))) - c50
	c99 := n - c50 - c90
	put(ms(b.P50), c50)
	put(ms(b.P90), c90)
	put(ms(b.P99), c99)
	mean := (ms(b.P50)*float64(c50) + ms(b.P90)*float64(c90) + ms(b.P99)*float64(c99)) / float64(n)
	last := len(buckets)
	for last > 0 && buckets[last-1] == 0 {
		last--
	}
	return &distribution.Distribution{Count: n, Mean: mean, BucketOptions: proto.Clone(latencyBuckets).(*distribution.Distribution_BucketOptions), BucketCounts: buckets[:last]}
}

// bucketOf returns the index of the bucket holding v ms: 0 is underflow
// (< 1 ms), i in 1..200 holds [1.1^(i-1), 1.1^i), 201 overflow.
func bucketOf(v float64) int {
	if v < 1 {
		return 0
	}
	i := int(math.Floor(math.Log(v)/math.Log(1.1))) + 1
	// Guard against rounding at bucket boundaries.
	for i > 1 && v < math.Pow(1.1, float64(i-1)) {
		i--
	}
	for i < 201 && v >= math.Pow(1.1, float64(i)) {
		i++
	}
	return min(i, 201)
}

func seriesKey(x series) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(x.resourceLabels)) {
		b.WriteString(k + "=" + x.resourceLabels[k] + ";")
	}
	for _, k := range slices.Sorted(maps.Keys(x.metricLabels)) {
		b.WriteString(k + "=" + x.metricLabels[k] + ";")
	}
	return b.String()
}

// reduce sums series that agree on the group-by fields; the output keeps
// only those labels.
func reduce(in []series, groupBy []string, mtype string) []series {
	groups := map[string]*series{}
	var order []string
	for _, x := range in {
		ml, rl := map[string]string{}, map[string]string{}
		for _, g := range groupBy {
			if k, ok := strings.CutPrefix(g, "metric.labels."); ok {
				if v, ok := x.metricLabels[k]; ok {
					ml[k] = v
				}
			} else if k, ok := strings.CutPrefix(g, "resource.labels."); ok {
				rl[k] = x.resourceLabels[k]
			}
		}
		key := seriesKey(series{metricLabels: ml, resourceLabels: rl})
		gr, ok := groups[key]
		if !ok {
			gr = &series{metricLabels: ml, resourceLabels: rl}
			groups[key] = gr
			order = append(order, key)
		}
		for _, p := range x.points {
			gr.points = mergePoint(gr.points, p)
		}
	}
	out := make([]series, 0, len(order))
	for _, k := range order {
		gr := groups[k]
		slices.SortFunc(gr.points, func(a, b *monitoringpb.Point) int {
			return b.Interval.EndTime.AsTime().Compare(a.Interval.EndTime.AsTime())
		})
		out = append(out, *gr)
	}
	return out
}

// mergePoint adds p into the point of the same interval (summing values
// or merging distributions), or appends it.
func mergePoint(pts []*monitoringpb.Point, p *monitoringpb.Point) []*monitoringpb.Point {
	for _, q := range pts {
		if !q.Interval.EndTime.AsTime().Equal(p.Interval.EndTime.AsTime()) {
			continue
		}
		switch v := q.Value.Value.(type) {
		case *monitoringpb.TypedValue_Int64Value:
			v.Int64Value += p.Value.GetInt64Value()
		case *monitoringpb.TypedValue_DoubleValue:
			v.DoubleValue += p.Value.GetDoubleValue()
		case *monitoringpb.TypedValue_DistributionValue:
			a, b := v.DistributionValue, p.Value.GetDistributionValue()
			total := a.Count + b.Count
			if total > 0 {
				a.Mean = (a.Mean*float64(a.Count) + b.Mean*float64(b.Count)) / float64(total)
			}
			a.Count = total
			for len(a.BucketCounts) < len(b.BucketCounts) {
				a.BucketCounts = append(a.BucketCounts, 0)
			}
			for i, c := range b.BucketCounts {
				a.BucketCounts[i] += c
			}
		}
		return pts
	}
	return append(pts, proto.Clone(p).(*monitoringpb.Point))
}

func (x series) proto(mtype string, pct float64, aligner monitoringpb.Aggregation_Aligner) *monitoringpb.TimeSeries {
	vt := metric.MetricDescriptor_INT64
	switch {
	case mtype == RequestLatencies && pct == 0:
		vt = metric.MetricDescriptor_DISTRIBUTION
	case pct > 0 || aligner == monitoringpb.Aggregation_ALIGN_RATE:
		vt = metric.MetricDescriptor_DOUBLE
	}
	kind := metric.MetricDescriptor_DELTA
	if pct > 0 || aligner == monitoringpb.Aggregation_ALIGN_RATE {
		kind = metric.MetricDescriptor_GAUGE
	}
	return &monitoringpb.TimeSeries{
		Metric:     &metric.Metric{Type: mtype, Labels: maps.Clone(x.metricLabels)},
		Resource:   &monitoredres.MonitoredResource{Type: ResourceType, Labels: maps.Clone(x.resourceLabels)},
		MetricKind: kind, ValueType: vt, Points: x.points, Unit: unitOf(mtype),
	}
}
