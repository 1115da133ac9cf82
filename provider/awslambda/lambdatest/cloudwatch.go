package lambdatest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch GetMetricData over Smithy RPC v2 CBOR, the protocol
// aws-sdk-go-v2's cloudwatch client v1.75.5 speaks (api_client.go sets
// rpcv2.NewCBOR; docs/platforms/aws-lambda.md §2 "Wire protocol"): POST
// /service/GraniteServiceVersion20100801/operation/GetMetricData with a
// CBOR map body; timestamps are CBOR tag 1 around epoch seconds; errors are
// a CBOR map {__type, message} plus, since the service is query-compatible,
// the X-Amzn-Query-Error: Code;Sender|Receiver header the SDK prefers.
//
// Emulated (docs/platforms/aws-lambda.md §2 "GetMetricData shape", sharp edge 10): up to
// 500 queries with unique ids starting with a lowercase letter; periods with
// no data absent (no zeros); Invocations not emitted when zero; newest first
// unless ScanBy=TimestampAscending; paging through NextToken when a
// response would exceed MaxDatapoints (StatusCode PartialData); the
// dimension sets {FunctionName}, {FunctionName, Resource=fn:alias} and
// {FunctionName, Resource=fn:alias, ExecutedVersion}, and for the
// invocations the emulator ran also {FunctionName, Resource=fn:N} and
// {FunctionName, Resource=fn:$LATEST} (traffic.go, call). Not emulated: metric
// math (Expression is refused with InvalidParameterValue), sub-minute
// periods, other namespaces (they return no data), the retention limits.

var queryIDRe = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]{0,254}$`)

// cwErrorShapes maps the query-compatible error codes to their shape names
// (SDK-CW schemas.go AWSQueryError traits).
var cwErrorShapes = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"MissingParameter":            "MissingRequiredParameterException",
	"InvalidNextToken":            "InvalidNextToken",
	"ValidationError":             "ValidationException",
	"InternalServiceError":        "InternalServiceFault",
	"LimitExceeded":               "LimitExceededFault",
}

func writeCBORError(w http.ResponseWriter, status int, code, msg string, sender bool) {
	shape := code
	if s, ok := cwErrorShapes[code]; ok {
		shape = s
	}
	fault := "Receiver"
	if sender {
		fault = "Sender"
	}
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	writeCBOR(w, status, cbor.Map{
		"__type":  cbor.String("com.amazonaws.cloudwatch#" + shape),
		"message": cbor.String(msg),
	})
}

func writeCBOR(w http.ResponseWriter, status int, v cbor.Value) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-RequestId", "lambdatest")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(v))
}

type cwError struct {
	status int
	code   string
	msg    string
}

func cwInvalid(format string, a ...any) *cwError {
	return &cwError{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf(format, a...)}
}

type metricQuery struct {
	id, label  string
	namespace  string
	metricName string
	dims       map[string]string
	period     int64
	stat       string
	returnData bool
}

type metricRequest struct {
	queries       []metricQuery
	start, end    time.Time
	ascending     bool
	nextToken     string
	maxDatapoints int64
}

func cborString(m cbor.Map, k string) (string, bool) {
	s, ok := m[k].(cbor.String)
	return string(s), ok
}

func cborInt(m cbor.Map, k string) (int64, bool) {
	switch v := m[k].(type) {
	case cbor.Uint:
		if uint64(v) > math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	case cbor.NegInt:
		if uint64(v) > math.MaxInt64 {
			return 0, false
		}
		return -1 - int64(v), true
	}
	return 0, false
}

func cborTime(m cbor.Map, k string) (time.Time, bool) {
	tag, ok := m[k].(*cbor.Tag)
	if !ok || tag.ID != 1 {
		return time.Time{}, false
	}
	switch v := tag.Value.(type) {
	case cbor.Uint:
		return time.Unix(int64(v), 0), true
	case cbor.NegInt:
		return time.Unix(-1-int64(v), 0), true
	case cbor.Float64:
		return time.UnixMilli(int64(math.Round(float64(v) * 1e3))), true
	case cbor.Float32:
		return time.UnixMilli(int64(math.Round(float64(v) * 1e3))), true
	}
	return time.Time{}, false
}

func parseMetricRequest(body []byte) (metricRequest, *cwError) {
	var req metricRequest
	v, err := cbor.Decode(body)
	if err != nil {
		return req, &cwError{http.StatusBadRequest, "SerializationException", "cannot decode CBOR body: " + err.Error()}
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return req, &cwError{http.StatusBadRequest, "SerializationException", "body is not a CBOR map"}
	}
	if req.start, ok = cborTime(m, "StartTime"); !ok {
		return req, &cwError{http.StatusBadRequest, "MissingParameter", "The parameter StartTime is required."}
	}
	if req.end, ok = cborTime(m, "EndTime"); !ok {
		return req, &cwError{http.StatusBadRequest, "MissingParameter", "The parameter EndTime is required."}
	}
	if !req.start.Before(req.end) {
		return req, &cwError{http.StatusBadRequest, "ValidationError", "The parameter StartTime must be less than the parameter EndTime."}
	}
	// StartTime is rounded down to the minute (docs-2 GetMetricData).
	req.start = req.start.Truncate(time.Minute)
	req.nextToken, _ = cborString(m, "NextToken")
	if sb, ok := cborString(m, "ScanBy"); ok {
		switch sb {
		case "TimestampAscending":
			req.ascending = true
		case "TimestampDescending":
		default:
			return req, cwInvalid("The value %s for parameter ScanBy is not valid.", sb)
		}
	}
	if md, ok := cborInt(m, "MaxDatapoints"); ok {
		if md < 1 {
			return req, cwInvalid("The parameter MaxDatapoints must be greater than 0.")
		}
		req.maxDatapoints = md
	}
	list, _ := m["MetricDataQueries"].(cbor.List)
	if len(list) == 0 {
		return req, &cwError{http.StatusBadRequest, "MissingParameter", "The parameter MetricDataQueries is required."}
	}
	if len(list) > 500 {
		return req, cwInvalid("The collection MetricDataQueries must not have a size greater than 500.")
	}
	seen := map[string]bool{}
	for i, item := range list {
		qm, ok := item.(cbor.Map)
		if !ok {
			return req, cwInvalid("MetricDataQueries[%d] is not a structure.", i)
		}
		var q metricQuery
		q.id, _ = cborString(qm, "Id")
		if !queryIDRe.MatchString(q.id) {
			return req, cwInvalid("The value %s for parameter MetricDataQueries.member.%d.Id is not valid: it must start with a lowercase letter and contain only letters, digits and underscores.", q.id, i+1)
		}
		if seen[q.id] {
			return req, cwInvalid("The value %s for parameter MetricDataQueries.member.%d.Id is not unique.", q.id, i+1)
		}
		seen[q.id] = true
		q.label, _ = cborString(qm, "Label")
		q.returnData = true
		if b, ok := qm["ReturnData"].(cbor.Bool); ok {
			q.returnData = bool(b)
		}
		if _, ok := qm["Expression"]; ok {
			return req, cwInvalid("lambdatest: metric math (MetricDataQueries.member.%d.Expression) is not emulated.", i+1)
		}
		ms, ok := qm["MetricStat"].(cbor.Map)
		if !ok {
			return req, &cwError{http.StatusBadRequest, "MissingParameter", fmt.Sprintf("The parameter MetricDataQueries.member.%d.MetricStat is required.", i+1)}
		}
		metric, _ := ms["Metric"].(cbor.Map)
		q.namespace, _ = cborString(metric, "Namespace")
		q.metricName, _ = cborString(metric, "MetricName")
		q.dims = map[string]string{}
		dl, _ := metric["Dimensions"].(cbor.List)
		if len(dl) > 30 {
			return req, cwInvalid("The collection MetricDataQueries.member.%d.MetricStat.Metric.Dimensions must not have a size greater than 30.", i+1)
		}
		for _, d := range dl {
			dm, _ := d.(cbor.Map)
			name, _ := cborString(dm, "Name")
			value, _ := cborString(dm, "Value")
			q.dims[name] = value
		}
		q.period, _ = cborInt(ms, "Period")
		if q.period < 60 || q.period%60 != 0 {
			return req, cwInvalid("The parameter MetricDataQueries.member.%d.MetricStat.Period must be a multiple of 60 for standard-resolution metrics (lambdatest emulates those only).", i+1)
		}
		q.stat, _ = cborString(ms, "Stat")
		if q.stat == "" {
			return req, &cwError{http.StatusBadRequest, "MissingParameter", fmt.Sprintf("The parameter MetricDataQueries.member.%d.MetricStat.Stat is required.", i+1)}
		}
		req.queries = append(req.queries, q)
	}
	return req, nil
}

// fingerprint identifies a request apart from its NextToken, so a token is
// only accepted for the request that issued it.
func (req metricRequest) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%d|%v|%d", req.start.UnixNano(), req.end.UnixNano(), req.ascending, req.maxDatapoints)
	for _, q := range req.queries {
		fmt.Fprintf(h, "|%s,%s,%s,%d,%s", q.id, q.namespace, q.metricName, q.period, q.stat)
		for _, k := range slices.Sorted(maps.Keys(q.dims)) {
			fmt.Fprintf(h, ",%s=%s", k, q.dims[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

type datapoint struct {
	t time.Time
	v float64
}

func (s *Server) getMetricData(w http.ResponseWriter, r *http.Request, _ route) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeCBORError(w, http.StatusBadRequest, "SerializationException", err.Error(), true)
		return
	}
	req, cerr := parseMetricRequest(body)
	if cerr != nil {
		writeCBORError(w, cerr.status, cerr.code, cerr.msg, true)
		return
	}
	offset := int64(0)
	fp := req.fingerprint()
	if req.nextToken != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(req.nextToken)
		if derr != nil || len(raw) != 8+len(fp) || string(raw[8:]) != fp {
			writeCBORError(w, http.StatusBadRequest, "InvalidNextToken", "The service cannot find the NextToken provided.", true)
			return
		}
		offset = int64(binary.BigEndian.Uint64(raw[:8]))
	}

	s.mu.Lock()
	visible := s.now().Add(-s.opts.MetricsDelay)
	series := make([][]datapoint, len(req.queries))
	messages := make([]cbor.List, len(req.queries))
	for i, q := range req.queries {
		series[i], messages[i] = s.evaluate(q, req.start, req.end, visible)
		if !req.ascending {
			slices.Reverse(series[i])
		}
	}
	s.mu.Unlock()

	limit := int64(100800)
	if s.opts.MaxDatapointsPerPage > 0 {
		limit = int64(s.opts.MaxDatapointsPerPage)
	}
	if req.maxDatapoints > 0 {
		limit = min(limit, req.maxDatapoints)
	}
	results := cbor.List{}
	pos := int64(0) // datapoints before the current query, over all queries
	more := false
	for i, q := range req.queries {
		pts := series[i]
		lo := min(max(offset-pos, 0), int64(len(pts)))
		hi := min(max(offset+limit-pos, 0), int64(len(pts)))
		pos += int64(len(pts))
		if !q.returnData {
			continue
		}
		status := "Complete"
		if hi < int64(len(pts)) {
			status = "PartialData"
			more = true
		}
		ts, vs := cbor.List{}, cbor.List{}
		for _, p := range pts[lo:hi] {
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(p.t.UnixMilli()) / 1e3)})
			vs = append(vs, cbor.Float64(p.v))
		}
		label := q.label
		if label == "" {
			label = q.metricName
		}
		res := cbor.Map{
			"Id": cbor.String(q.id), "Label": cbor.String(label),
			"Timestamps": ts, "Values": vs, "StatusCode": cbor.String(status),
		}
		if len(messages[i]) > 0 {
			res["Messages"] = messages[i]
		}
		results = append(results, res)
	}
	out := cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}
	if more {
		tok := make([]byte, 8, 8+len(fp))
		binary.BigEndian.PutUint64(tok, uint64(offset+limit))
		tok = append(tok, fp...)
		out["NextToken"] = cbor.String(base64.RawURLEncoding.EncodeToString(tok))
	}
	writeCBOR(w, http.StatusOK, out)
}

// evaluate returns the datapoints of one query in ascending time order, and
// messages for what the emulator cannot answer. Periods start at StartTime
// and step by the query's period; a period appears when at least one of its
// minutes has ended before visible (so the newest period can be partial, as
// on the service) and it has data. Callers hold s.mu.
func (s *Server) evaluate(q metricQuery, start, end, visible time.Time) ([]datapoint, cbor.List) {
	if q.namespace != "AWS/Lambda" {
		return nil, nil
	}
	kind, pct, ok := statKind(q.metricName, q.stat)
	if !ok {
		return nil, cbor.List{cbor.Map{
			"Code":  cbor.String("Unsupported"),
			"Value": cbor.String(fmt.Sprintf("lambdatest: statistic %q of %s is not emulated", q.stat, q.metricName)),
		}}
	}
	f, pairs, match := s.seriesOf(q.dims)
	if f == nil {
		return nil, nil
	}
	period := time.Duration(q.period) * time.Second
	var out []datapoint
	for ps := start; ps.Before(end); ps = ps.Add(period) {
		pe := minTime(ps.Add(period), end)
		// Only whole minutes that have ended before visible count.
		cut := minTime(pe, visible.Truncate(time.Minute))
		if !cut.After(ps) {
			break
		}
		var c counts
		for _, p := range pairs {
			c.add(f.traffic.window(p[0], p[1], ps, cut))
		}
		for _, k := range f.traffic.calls {
			if !k.at.Before(ps) && k.at.Before(cut) && match(k) {
				c.addCall(k)
			}
		}
		v, present := c.value(q.metricName, kind, pct)
		if present {
			out = append(out, datapoint{t: ps, v: v})
		}
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// seriesOf resolves a dimension set to a function, the (alias, version)
// pairs of the modeled load whose traffic it sums, and which real
// invocations it counts (see call). CloudWatch matches dimension sets
// exactly.
func (s *Server) seriesOf(dims map[string]string) (*function, [][2]string, func(call) bool) {
	f := s.funcs[dims["FunctionName"]]
	if f == nil {
		return nil, nil, nil
	}
	var pairs [][2]string
	var match func(call) bool
	switch len(dims) {
	case 1:
		for alias := range f.traffic.routes {
			for _, v := range f.traffic.versionsOf(alias) {
				pairs = append(pairs, [2]string{alias, v})
			}
		}
		match = func(call) bool { return true }
	case 2, 3:
		res, ok := dims["Resource"]
		name, qual, cut := strings.Cut(res, ":")
		if !ok || !cut || name != f.name {
			return nil, nil, nil
		}
		ev, hasEV := dims["ExecutedVersion"]
		if len(dims) == 3 && !hasEV {
			return nil, nil, nil
		}
		if digitsRe.MatchString(qual) || qual == latest {
			// A version invoked directly: no modeled load, and no
			// ExecutedVersion series.
			if hasEV {
				return nil, nil, nil
			}
			match = func(k call) bool { return !k.alias && k.resource == qual }
			break
		}
		for _, v := range f.traffic.versionsOf(qual) {
			if !hasEV || v == ev {
				pairs = append(pairs, [2]string{qual, v})
			}
		}
		match = func(k call) bool { return k.alias && k.resource == qual && (!hasEV || k.version == ev) }
	default:
		return nil, nil, nil
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	return f, pairs, match
}

type statKindT int

const (
	statSum statKindT = iota
	statSampleCount
	statPercentile
	statAverage
	statMaximum
)

// statKind classifies a statistic for a metric: counts take Sum and
// SampleCount; Duration takes pNN, Average (the modeled load's P50, the
// real invocations' mean), Maximum (the model's P99, the longest real
// invocation) and SampleCount.
func statKind(metric, stat string) (statKindT, float64, bool) {
	switch metric {
	case "Invocations", "Errors", "Throttles":
		switch stat {
		case "Sum":
			return statSum, 0, true
		case "SampleCount":
			return statSampleCount, 0, true
		}
	case "Duration":
		switch stat {
		case "SampleCount":
			return statSampleCount, 0, true
		case "Average":
			return statAverage, 0, true
		case "Maximum":
			return statMaximum, 0, true
		}
		if p, ok := strings.CutPrefix(stat, "p"); ok {
			if v, err := strconv.ParseFloat(p, 64); err == nil && v >= 0 && v <= 100 {
				return statPercentile, v, true
			}
		}
	default:
		// Other metrics are valid names with no emulated data.
		return statSum, 0, true
	}
	return 0, 0, false
}

// value returns the datapoint of a period and whether one is emitted:
// Invocations only when non-zero (Lambda emits it only then); Errors and
// Throttles whenever the period had any invocation or throttle; Duration
// when there were invocations.
func (c counts) value(metric string, kind statKindT, pct float64) (float64, bool) {
	active := c.invocations > 0 || c.throttles > 0
	switch metric {
	case "Invocations":
		return float64(c.invocations), c.invocations > 0
	case "Errors":
		if kind == statSampleCount {
			return float64(c.invocations), active
		}
		return float64(c.errors), active
	case "Throttles":
		if kind == statSampleCount {
			return float64(c.throttles), active
		}
		return float64(c.throttles), active
	case "Duration":
		if c.invocations == 0 {
			return 0, false
		}
		switch kind {
		case statSampleCount:
			return float64(c.invocations), true
		case statAverage:
			return c.average(), true
		case statMaximum:
			return c.maximum(), true
		}
		return c.percentile(pct), true
	}
	return 0, false
}
