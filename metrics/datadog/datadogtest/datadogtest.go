// Package datadogtest is an in-process emulator of the part of the Datadog
// API that metrics/datadog uses: GET /api/v1/query ("Query timeseries
// points"), on an httptest.Server. Tests of metrics/datadog, and users
// testing their own tooling, point the real datadog-api-client-go client at
// it by server variables only.
//
// Emulated, from the API reference (docs/metrics-and-alerting.md cites the
// pages):
//
//   - Authentication: DD-API-KEY and DD-APPLICATION-KEY headers must both
//     carry the configured keys; otherwise 403 {"errors": ["Forbidden"]}.
//   - Arguments: from and to (seconds since the epoch) and query are
//     required; a missing or malformed one, or from ≥ to, is 400
//     {"errors": [...]}.
//   - Rate limits: every answer carries X-RateLimit-Limit, -Period,
//     -Remaining, -Reset and -Name; periods are calendar aligned (they start
//     at multiples of Period on the server's clock); a request past the
//     limit is 429 {"errors": ["Rate limit exceeded"]} and is not served.
//   - Query language, a subset: `<agg>:<metric>{<filters>}` with agg one of
//     sum, avg, min, max (space aggregation across the matching series);
//     filters a comma-separated list of key:value tags (a value may hold *
//     wildcards) or *; then optionally `.as_count()` (accepted: points are
//     stored as counts already) and `.rollup(<sum|avg|min|max|count>[,
//     <seconds>])`. Grouping (`by {…}`), arithmetic and functions are
//     refused with 400.
//   - Time aggregation: buckets of the rollup interval aligned to multiples
//     of it since the epoch; without .rollup, avg over the smallest
//     interval of 20s, 60s, 300s, … that gives at most MaxPoints buckets. A
//     rollup interval that would give more than MaxPoints (1500) points per
//     series is raised, as Datadog does, to the smallest multiple of it
//     that does not. Buckets without data are left out of the pointlist.
//   - Response: status "ok", res_type "time_series", resp_version 1, query,
//     from_date and to_date in milliseconds, group_by [], message "", and
//     one series object (metric, display_name, expression, scope, aggr,
//     tag_set [], query_index 0, interval, length, start, end, pointlist of
//     [ms, value] pairs, unit [null, null]) when any series matches, none
//     otherwise.
//
// Not emulated: the v2 timeseries endpoint, metric types (every point is a
// count), distributions and percentiles, multiple queries in one request.
package datadogtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value uses real time and the keys
// "test-api-key" / "test-app-key".
type Options struct {
	// APIKey and AppKey are the keys requests must carry.
	APIKey, AppKey string
	// Now is the server's clock (rate-limit periods); nil means time.Now.
	Now func() time.Time
	// RateLimit is the number of requests allowed per RatePeriod; 0 means
	// no limit, and then no rate-limit headers.
	RateLimit int
	// RatePeriod is the length of a rate-limit period; 0 means one hour.
	RatePeriod time.Duration
	// MaxPoints is the most points a series holds; 0 means 1500.
	MaxPoints int
	// Fault, when set, is asked before each query; a non-zero status is
	// answered instead, with body {"errors": [message]}.
	Fault func() (status int, message string)
}

// Point is one submitted value.
type Point struct {
	Time  time.Time
	Value float64
}

type series struct {
	metric string
	tags   []string
	points []Point
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu       sync.Mutex
	series   []*series
	window   int64 // start of the current rate-limit period, Unix seconds
	used     int
	requests []Request
}

// Request is one entry of the server's request log.
type Request struct {
	Query    string
	From, To int64
	Status   int
}

// NewServer starts an emulator; Close it when done.
func NewServer(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "test-api-key"
	}
	if opts.AppKey == "" {
		opts.AppKey = "test-app-key"
	}
	if opts.RatePeriod <= 0 {
		opts.RatePeriod = time.Hour
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 1500
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/query", s.query)
	s.ts = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.ts.URL }

// Host is the server's host:port, for the client's "name" server variable
// (with "protocol" http).
func (s *Server) Host() string { return strings.TrimPrefix(s.ts.URL, "http://") }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Requests returns the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Submit adds points to the series of metric with tags ("key:value"),
// as the metrics intake would.
func (s *Server) Submit(metric string, tags []string, points ...Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags = slices.Sorted(slices.Values(tags))
	for _, se := range s.series {
		if se.metric == metric && slices.Equal(se.tags, tags) {
			se.points = append(se.points, points...)
			return
		}
	}
	s.series = append(s.series, &series{metric: metric, tags: tags, points: slices.Clone(points)})
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string][]string{"errors": msgs})
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	status := 0
	var from, to int64
	q := r.URL.Query().Get("query")
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Query: q, From: from, To: to, Status: status})
		s.mu.Unlock()
	}()
	if r.Header.Get("DD-API-KEY") != s.opts.APIKey || r.Header.Get("DD-APPLICATION-KEY") != s.opts.AppKey {
		status = http.StatusForbidden
		writeErrors(w, status, "Forbidden")
		return
	}
	if !s.admit(w) {
		status = http.StatusTooManyRequests
		writeErrors(w, status, "Rate limit exceeded")
		return
	}
	if s.opts.Fault != nil {
		if st, msg := s.opts.Fault(); st != 0 {
			status = st
			writeErrors(w, status, msg)
			return
		}
	}
	var err error
	if from, err = strconv.ParseInt(r.URL.Query().Get("from"), 10, 64); err != nil {
		status = http.StatusBadRequest
		writeErrors(w, status, "The value provided for parameter 'from' is invalid")
		return
	}
	if to, err = strconv.ParseInt(r.URL.Query().Get("to"), 10, 64); err != nil {
		status = http.StatusBadRequest
		writeErrors(w, status, "The value provided for parameter 'to' is invalid")
		return
	}
	if q == "" {
		status = http.StatusBadRequest
		writeErrors(w, status, "The value provided for parameter 'query' is invalid")
		return
	}
	if from >= to {
		status = http.StatusBadRequest
		writeErrors(w, status, "The value provided for parameter 'from' must be less than 'to'")
		return
	}
	pq, perr := parse(q)
	if perr != "" {
		status = http.StatusBadRequest
		writeErrors(w, status, "Error parsing query: "+perr)
		return
	}
	status = http.StatusOK
	writeJSON(w, status, s.evaluate(pq, q, from, to))
}

// admit counts the request against the current period and writes the
// rate-limit headers; it reports whether the request may be served.
func (s *Server) admit(w http.ResponseWriter) bool {
	if s.opts.RateLimit <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	period := int64(s.opts.RatePeriod / time.Second)
	now := s.now().Unix()
	window := now - now%period
	if window != s.window {
		s.window, s.used = window, 0
	}
	ok := s.used < s.opts.RateLimit
	if ok {
		s.used++
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Period", strconv.FormatInt(period, 10))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.RateLimit-s.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(window+period-now, 10))
	h.Set("X-RateLimit-Name", "query")
	return ok
}

type parsedQuery struct {
	space   string
	metric  string
	filters []string // "key:value" patterns; empty means all
	rollup  string
	every   int64 // 0: default
}

var queryRe = regexp.MustCompile(`^(sum|avg|min|max):([A-Za-z][A-Za-z0-9_.]*)\{([^{}]*)\}((?:\.as_count\(\))?)((?:\.rollup\([^()]*\))?)$`)

func parse(q string) (parsedQuery, string) {
	m := queryRe.FindStringSubmatch(strings.ReplaceAll(q, " ", ""))
	if m == nil {
		return parsedQuery{}, fmt.Sprintf("unsupported or malformed query %q (datadogtest accepts <sum|avg|min|max>:<metric>{<tags>}[.as_count()][.rollup(<agg>[,<seconds>])])", q)
	}
	pq := parsedQuery{space: m[1], metric: m[2], rollup: "avg"}
	if m[3] != "*" {
		for f := range strings.SplitSeq(m[3], ",") {
			if !strings.Contains(f, ":") {
				return pq, fmt.Sprintf("tag filter %q is not key:value", f)
			}
			pq.filters = append(pq.filters, f)
		}
	}
	if m[5] != "" {
		args := strings.Split(strings.TrimSuffix(strings.TrimPrefix(m[5], ".rollup("), ")"), ",")
		if !slices.Contains([]string{"sum", "avg", "min", "max", "count"}, args[0]) || len(args) > 2 {
			return pq, fmt.Sprintf("rollup %s: the aggregator must be sum, avg, min, max or count", m[5])
		}
		pq.rollup = args[0]
		if len(args) == 2 {
			n, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || n <= 0 {
				return pq, fmt.Sprintf("rollup %s: the interval must be a positive number of seconds", m[5])
			}
			pq.every = n
		}
	}
	return pq, ""
}

func (pq parsedQuery) matches(se *series) bool {
	if se.metric != pq.metric {
		return false
	}
	for _, f := range pq.filters {
		if !slices.ContainsFunc(se.tags, func(tag string) bool { ok, _ := path.Match(f, tag); return ok }) {
			return false
		}
	}
	return true
}

// interval returns the bucket length of a query over [from, to).
func (s *Server) interval(pq parsedQuery, from, to int64) int64 {
	span := to - from
	maxPts := int64(s.opts.MaxPoints)
	if pq.every > 0 {
		k := (span + pq.every*maxPts - 1) / (pq.every * maxPts) // multiples needed
		return pq.every * max(k, 1)
	}
	for _, d := range []int64{20, 60, 300, 600, 1800, 3600, 14400, 86400} {
		if (span+d-1)/d <= maxPts {
			return d
		}
	}
	return 86400 * ((span + 86400*maxPts - 1) / (86400 * maxPts))
}

type seriesJSON struct {
	Metric      string        `json:"metric"`
	DisplayName string        `json:"display_name"`
	Expression  string        `json:"expression"`
	Scope       string        `json:"scope"`
	Aggr        string        `json:"aggr"`
	TagSet      []string      `json:"tag_set"`
	QueryIndex  int           `json:"query_index"`
	Interval    int64         `json:"interval"`
	Length      int           `json:"length"`
	Start       int64         `json:"start"`
	End         int64         `json:"end"`
	Pointlist   [][2]*float64 `json:"pointlist"`
	Unit        []any         `json:"unit"`
}

func (s *Server) evaluate(pq parsedQuery, q string, from, to int64) map[string]any {
	every := s.interval(pq, from, to)
	s.mu.Lock()
	var matched []*series
	for _, se := range s.series {
		if pq.matches(se) {
			matched = append(matched, se)
		}
	}
	// bucket start → per series rolled-up value.
	buckets := map[int64][]float64{}
	for _, se := range matched {
		acc := map[int64][]float64{}
		for _, p := range se.points {
			t := p.Time.Unix()
			if t < from || t >= to {
				continue
			}
			b := t - ((t%every)+every)%every
			acc[b] = append(acc[b], p.Value)
		}
		for b, vs := range acc {
			buckets[b] = append(buckets[b], aggregate(pq.rollup, vs))
		}
	}
	s.mu.Unlock()
	out := map[string]any{
		"status": "ok", "res_type": "time_series", "resp_version": 1,
		"query": q, "from_date": from * 1000, "to_date": to * 1000,
		"group_by": []string{}, "message": "", "series": []seriesJSON{},
	}
	if len(matched) == 0 {
		return out
	}
	keys := make([]int64, 0, len(buckets))
	for b := range buckets {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	sj := seriesJSON{
		Metric: pq.metric, DisplayName: pq.metric, Expression: q, Aggr: pq.space,
		Scope: strings.Join(pq.filters, ","), TagSet: []string{}, Interval: every,
		Unit: []any{nil, nil}, Pointlist: [][2]*float64{},
	}
	if sj.Scope == "" {
		sj.Scope = "*"
	}
	for _, b := range keys {
		t := float64(b * 1000)
		v := aggregate(pq.space, buckets[b])
		sj.Pointlist = append(sj.Pointlist, [2]*float64{&t, &v})
	}
	sj.Length = len(sj.Pointlist)
	if sj.Length > 0 {
		sj.Start = keys[0] * 1000
		sj.End = (keys[len(keys)-1]+every)*1000 - 1
	}
	out["series"] = []seriesJSON{sj}
	return out
}

func aggregate(how string, vs []float64) float64 {
	switch how {
	case "sum":
		var s float64
		for _, v := range vs {
			s += v
		}
		return s
	case "count":
		return float64(len(vs))
	case "min":
		return slices.Min(vs)
	case "max":
		return slices.Max(vs)
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / math.Max(float64(len(vs)), 1)
}
