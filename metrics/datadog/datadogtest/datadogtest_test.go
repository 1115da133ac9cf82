package datadogtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// get sends a raw GET /api/v1/query with the given headers.
func get(t *testing.T, s *datadogtest.Server, headers map[string]string, args url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/api/v1/query?"+args.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return resp, m
}

var keys = map[string]string{"DD-API-KEY": "k1", "DD-APPLICATION-KEY": "k2"}

func args(query string, from, to time.Time) url.Values {
	return url.Values{"query": {query}, "from": {fmt.Sprint(from.Unix())}, "to": {fmt.Sprint(to.Unix())}}
}

func newServer(t *testing.T, opts datadogtest.Options) *datadogtest.Server {
	opts.APIKey, opts.AppKey = "k1", "k2"
	s := datadogtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// TestAuth: both key headers are required ("Authentication" in the API
// reference): 403 {"errors": ["Forbidden"]} otherwise.
func TestAuth(t *testing.T) {
	s := newServer(t, datadogtest.Options{})
	a := args("sum:m{*}", t0, t0.Add(time.Hour))
	for _, h := range []map[string]string{
		nil,
		{"DD-API-KEY": "k1"},
		{"DD-APPLICATION-KEY": "k2"},
		{"DD-API-KEY": "k1", "DD-APPLICATION-KEY": "wrong"},
	} {
		resp, body := get(t, s, h, a)
		if resp.StatusCode != http.StatusForbidden || !cmp.Equal(body, map[string]any{"errors": []any{"Forbidden"}}) {
			t.Errorf("headers %v: %d %v, want 403 {errors: [Forbidden]}", h, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, s, keys, a); resp.StatusCode != http.StatusOK {
		t.Errorf("with both keys: %d, want 200", resp.StatusCode)
	}
}

// TestArguments: from, to and query are required integers/strings.
func TestArguments(t *testing.T) {
	s := newServer(t, datadogtest.Options{})
	good := args("sum:m{*}", t0, t0.Add(time.Hour))
	for _, drop := range []string{"from", "to", "query"} {
		a := url.Values{}
		for k, v := range good {
			if k != drop {
				a[k] = v
			}
		}
		resp, body := get(t, s, keys, a)
		if resp.StatusCode != http.StatusBadRequest || body["errors"] == nil {
			t.Errorf("without %s: %d %v, want 400 with errors", drop, resp.StatusCode, body)
		}
	}
	for _, q := range []string{"m{*}", "sum:m{*} by {host}", "sum:m{*}+sum:n{*}", "sum:m{*}.rollup(median,60)"} {
		resp, _ := get(t, s, keys, args(q, t0, t0.Add(time.Hour)))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("query %q: %d, want 400", q, resp.StatusCode)
		}
	}
	resp, _ := get(t, s, keys, args("sum:m{*}", t0, t0))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("from = to: %d, want 400", resp.StatusCode)
	}
}

// TestRateLimit: headers on every answer, calendar-aligned periods, 429
// past the limit, a fresh allowance in the next period.
func TestRateLimit(t *testing.T) {
	clk := &clock{t: t0.Add(10 * time.Second)}
	s := newServer(t, datadogtest.Options{Now: clk.Now, RateLimit: 2, RatePeriod: time.Minute})
	a := args("sum:m{*}", t0.Add(-time.Hour), t0)
	type hdr struct {
		Status                                int
		Limit, Period, Remaining, Reset, Name string
	}
	h := func(resp *http.Response) hdr {
		g := resp.Header.Get
		return hdr{resp.StatusCode, g("X-RateLimit-Limit"), g("X-RateLimit-Period"), g("X-RateLimit-Remaining"), g("X-RateLimit-Reset"), g("X-RateLimit-Name")}
	}
	var got []hdr
	for range 3 {
		resp, _ := get(t, s, keys, a)
		got = append(got, h(resp))
	}
	resp, body := get(t, s, keys, a)
	got = append(got, h(resp))
	if !cmp.Equal(body, map[string]any{"errors": []any{"Rate limit exceeded"}}) {
		t.Errorf("429 body %v", body)
	}
	clk.Advance(50 * time.Second) // the next minute
	resp, _ = get(t, s, keys, a)
	got = append(got, h(resp))
	want := []hdr{
		{200, "2", "60", "1", "50", "query"},
		{200, "2", "60", "0", "50", "query"},
		{429, "2", "60", "0", "50", "query"},
		{429, "2", "60", "0", "50", "query"},
		{200, "2", "60", "1", "60", "query"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rate-limit answers (-want +got):\n%s", diff)
	}
}

// TestResponseShape: the documented fields of a time_series answer,
// filters with wildcards, space aggregation and rollup buckets aligned to
// the epoch, empty buckets left out.
func TestResponseShape(t *testing.T) {
	s := newServer(t, datadogtest.Options{})
	for i := range 5 {
		ts := t0.Add(time.Duration(i) * time.Minute)
		s.Submit("req.count", []string{"version:1", "resource:fn:live"}, datadogtest.Point{Time: ts, Value: 10}, datadogtest.Point{Time: ts.Add(30 * time.Second), Value: 5})
		s.Submit("req.count", []string{"version:2", "resource:fn:live"}, datadogtest.Point{Time: ts, Value: 1})
	}
	resp, body := get(t, s, keys, args("sum:req.count{version:1,resource:fn:*}.as_count().rollup(sum, 120)", t0, t0.Add(10*time.Minute)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %v", resp.StatusCode, body)
	}
	ms := func(d time.Duration) float64 { return float64(t0.Add(d).UnixMilli()) }
	want := map[string]any{
		"status": "ok", "res_type": "time_series", "resp_version": float64(1),
		"query":     "sum:req.count{version:1,resource:fn:*}.as_count().rollup(sum, 120)",
		"from_date": ms(0), "to_date": ms(10 * time.Minute), "group_by": []any{}, "message": "",
		"series": []any{map[string]any{
			"metric": "req.count", "display_name": "req.count", "expression": "sum:req.count{version:1,resource:fn:*}.as_count().rollup(sum, 120)",
			"scope": "version:1,resource:fn:*", "aggr": "sum", "tag_set": []any{}, "query_index": float64(0),
			"interval": float64(120), "length": float64(3), "start": ms(0), "end": ms(6*time.Minute) - 1,
			"pointlist": []any{[]any{ms(0), float64(30)}, []any{ms(2 * time.Minute), float64(30)}, []any{ms(4 * time.Minute), float64(15)}},
			"unit":      []any{nil, nil},
		}},
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	// Both versions: space aggregation sums the series per bucket.
	_, body = get(t, s, keys, args("sum:req.count{*}.rollup(sum,300)", t0, t0.Add(10*time.Minute)))
	pl := body["series"].([]any)[0].(map[string]any)["pointlist"]
	if diff := cmp.Diff([]any{[]any{ms(0), float64(80)}}, pl); diff != "" {
		t.Errorf("sum over versions (-want +got):\n%s", diff)
	}
	// No match: no series.
	_, body = get(t, s, keys, args("sum:req.count{version:9}", t0, t0.Add(10*time.Minute)))
	if diff := cmp.Diff([]any{}, body["series"]); diff != "" {
		t.Errorf("no match (-want +got):\n%s", diff)
	}
}

// TestPointLimit: a rollup interval giving more than MaxPoints points per
// series is raised to a multiple of it that does not.
func TestPointLimit(t *testing.T) {
	s := newServer(t, datadogtest.Options{MaxPoints: 10})
	for i := range 30 {
		s.Submit("m", []string{"a:b"}, datadogtest.Point{Time: t0.Add(time.Duration(i) * time.Minute), Value: 1})
	}
	_, body := get(t, s, keys, args("sum:m{a:b}.rollup(sum,60)", t0, t0.Add(30*time.Minute)))
	se := body["series"].([]any)[0].(map[string]any)
	if se["interval"] != float64(180) || se["length"] != float64(10) {
		t.Errorf("30 one-minute points under a 10-point limit: interval %v, length %v; want 180 and 10", se["interval"], se["length"])
	}
}
