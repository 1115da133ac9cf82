package lambdatest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// GetMetricData over Smithy RPC v2 CBOR (docs/platforms/aws-lambda.md §2 "Wire protocol",
// SDK-CW request_snapshot/GetMetricData.request.snap), with hand-built CBOR
// bodies.

const gmdPath = "/service/GraniteServiceVersion20100801/operation/GetMetricData"

type cborReply struct {
	status int
	header http.Header
	body   cbor.Map
}

func postCBOR(t *testing.T, srv *lambdatest.Server, body cbor.Map) cborReply {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL()+gmdPath, bytes.NewReader(cbor.Encode(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	req.Header.Set("Content-Type", "application/cbor")
	req.Header.Set("Accept", "application/cbor")
	req.Header.Set("X-Amzn-Query-Mode", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/cbor" {
		t.Fatalf("Content-Type = %q", ct)
	}
	v, err := cbor.Decode(b)
	if err != nil {
		t.Fatalf("response is not CBOR: %v", err)
	}
	return cborReply{status: resp.StatusCode, header: resp.Header, body: v.(cbor.Map)}
}

func ts(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func metricQuery(id, metric, stat string, period int, dims ...string) cbor.Value {
	dl := cbor.List{}
	for i := 0; i+1 < len(dims); i += 2 {
		dl = append(dl, cbor.Map{"Name": cbor.String(dims[i]), "Value": cbor.String(dims[i+1])})
	}
	return cbor.Map{
		"Id": cbor.String(id),
		"MetricStat": cbor.Map{
			"Metric": cbor.Map{"Namespace": cbor.String("AWS/Lambda"), "MetricName": cbor.String(metric), "Dimensions": dl},
			"Period": cbor.Uint(period),
			"Stat":   cbor.String(stat),
		},
	}
}

// series is one result as "hh:mm=value" strings in response order.
func series(t *testing.T, r cborReply, id string) []string {
	t.Helper()
	for _, item := range r.body["MetricDataResults"].(cbor.List) {
		m := item.(cbor.Map)
		if string(m["Id"].(cbor.String)) != id {
			continue
		}
		tsl, vl := m["Timestamps"].(cbor.List), m["Values"].(cbor.List)
		if len(tsl) != len(vl) {
			t.Fatalf("%s: %d timestamps, %d values", id, len(tsl), len(vl))
		}
		out := []string{}
		for i := range tsl {
			sec := float64(tsl[i].(*cbor.Tag).Value.(cbor.Float64))
			at := time.UnixMilli(int64(sec * 1e3)).UTC()
			out = append(out, fmt.Sprintf("%s=%g", at.Format("15:04"), float64(vl[i].(cbor.Float64))))
		}
		return out
	}
	t.Fatalf("no result %q", id)
	return nil
}

// canaryServer: alias live on version 1 from 10:00 with 10 req/s; at 10:05
// a quarter of the traffic moves to version 2, which fails half of its
// invocations; the clock stands at 10:10.
func canaryServer(t *testing.T, opts lambdatest.Options) (*lambdatest.Server, *providertest.Clock) {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	opts.SettlePolls = -1
	srv := newServer(t, opts)
	publishN(t, srv, 2)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	if err := srv.SetLoad("fn", "live", 10); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBehavior("fn", "1", lambdatest.Behavior{P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBehavior("fn", "2", lambdatest.Behavior{ErrorRate: 0.5, P50: 100 * time.Millisecond, P90: 200 * time.Millisecond, P99: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	want(t, call(t, srv, "PUT", fnPath+"/aliases/live", `{"RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}}`), 200, "")
	clk.Advance(5 * time.Minute)
	return srv, clk
}

func TestGetMetricData_TrafficByExecutedVersion(t *testing.T) {
	srv, clk := canaryServer(t, lambdatest.Options{})
	start := clk.Now().Add(-10 * time.Minute)
	ev := func(v string) []string {
		return []string{"FunctionName", "fn", "Resource", "fn:live", "ExecutedVersion", v}
	}
	r := postCBOR(t, srv, cbor.Map{
		"StartTime": ts(start),
		"EndTime":   ts(start.Add(12 * time.Minute)),
		"MetricDataQueries": cbor.List{
			metricQuery("inv2", "Invocations", "Sum", 60, ev("2")...),
			metricQuery("err2", "Errors", "Sum", 60, ev("2")...),
			metricQuery("p992", "Duration", "p99", 60, ev("2")...),
			metricQuery("p502", "Duration", "p50", 60, ev("2")...),
			metricQuery("inv1", "Invocations", "Sum", 60, ev("1")...),
			metricQuery("alias", "Invocations", "Sum", 300, "FunctionName", "fn", "Resource", "fn:live"),
			metricQuery("direct", "Invocations", "Sum", 60, "FunctionName", "fn", "Resource", "fn:2"),
		},
	})
	if r.status != 200 {
		t.Fatalf("status %d: %v", r.status, r.body)
	}
	// Newest first by default; minutes with no traffic are absent (no
	// zeros); the minute 10:10 has not ended and is absent.
	checks := []struct {
		id   string
		want []string
	}{
		{"inv2", []string{"10:09=150", "10:08=150", "10:07=150", "10:06=150", "10:05=150"}},
		{"err2", []string{"10:09=75", "10:08=75", "10:07=75", "10:06=75", "10:05=75"}},
		{"p992", []string{"10:09=400", "10:08=400", "10:07=400", "10:06=400", "10:05=400"}},
		{"p502", []string{"10:09=100", "10:08=100", "10:07=100", "10:06=100", "10:05=100"}},
		{"inv1", []string{"10:09=450", "10:08=450", "10:07=450", "10:06=450", "10:05=450", "10:04=600", "10:03=600", "10:02=600", "10:01=600", "10:00=600"}},
		{"alias", []string{"10:05=3000", "10:00=3000"}},
		{"direct", []string{}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, series(t, r, c.id)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.id, diff)
		}
	}
	for _, item := range r.body["MetricDataResults"].(cbor.List) {
		if s := item.(cbor.Map)["StatusCode"]; s != cbor.String("Complete") {
			t.Errorf("StatusCode = %v", s)
		}
	}
	if _, ok := r.body["NextToken"]; ok {
		t.Error("NextToken on a complete answer")
	}
}

func TestGetMetricData_AscendingAndMetricsDelay(t *testing.T) {
	srv, clk := canaryServer(t, lambdatest.Options{MetricsDelay: 2 * time.Minute})
	start := clk.Now().Add(-10 * time.Minute)
	r := postCBOR(t, srv, cbor.Map{
		"StartTime": ts(start.Add(4 * time.Minute)),
		"EndTime":   ts(start.Add(10 * time.Minute)),
		"ScanBy":    cbor.String("TimestampAscending"),
		"MetricDataQueries": cbor.List{
			metricQuery("inv2", "Invocations", "Sum", 60, "FunctionName", "fn", "Resource", "fn:live", "ExecutedVersion", "2"),
		},
	})
	// Data for 10:08 and 10:09 is not visible yet at 10:10 with a 2-minute
	// delay.
	if diff := cmp.Diff([]string{"10:05=150", "10:06=150", "10:07=150"}, series(t, r, "inv2")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestGetMetricData_PagesWithNextToken(t *testing.T) {
	srv, clk := canaryServer(t, lambdatest.Options{MaxDatapointsPerPage: 4})
	start := clk.Now().Add(-10 * time.Minute)
	req := cbor.Map{
		"StartTime": ts(start),
		"EndTime":   ts(start.Add(10 * time.Minute)),
		"ScanBy":    cbor.String("TimestampAscending"),
		"MetricDataQueries": cbor.List{
			metricQuery("a", "Invocations", "Sum", 60, "FunctionName", "fn", "Resource", "fn:live", "ExecutedVersion", "2"),
			metricQuery("b", "Invocations", "Sum", 60, "FunctionName", "fn", "Resource", "fn:live", "ExecutedVersion", "1"),
		},
	}
	got := map[string][]string{}
	pages := 0
	for {
		r := postCBOR(t, srv, req)
		if r.status != 200 {
			t.Fatalf("status %d: %v", r.status, r.body)
		}
		pages++
		got["a"] = append(got["a"], series(t, r, "a")...)
		got["b"] = append(got["b"], series(t, r, "b")...)
		tok, ok := r.body["NextToken"]
		if !ok {
			break
		}
		req["NextToken"] = tok
	}
	want := map[string][]string{
		"a": {"10:05=150", "10:06=150", "10:07=150", "10:08=150", "10:09=150"},
		"b": {"10:00=600", "10:01=600", "10:02=600", "10:03=600", "10:04=600", "10:05=450", "10:06=450", "10:07=450", "10:08=450", "10:09=450"},
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 4 {
		t.Errorf("over %d pages (want 4) (-want +got):\n%s", pages, diff)
	}
	// A token is valid only for the request that issued it.
	req["NextToken"] = cbor.String("bm90IGEgdG9rZW4")
	r := postCBOR(t, srv, req)
	if r.status != 400 || r.header.Get("X-Amzn-Query-Error") != "InvalidNextToken;Sender" {
		t.Errorf("bad token: %d %v %v", r.status, r.header, r.body)
	}
}

func TestGetMetricData_Errors(t *testing.T) {
	srv, clk := canaryServer(t, lambdatest.Options{})
	now := clk.Now()
	q := metricQuery("a", "Invocations", "Sum", 60, "FunctionName", "fn")
	many := cbor.List{}
	for i := range 501 {
		many = append(many, metricQuery(fmt.Sprintf("q%d", i), "Invocations", "Sum", 60, "FunctionName", "fn"))
	}
	expr := cbor.Map{"Id": cbor.String("e"), "Expression": cbor.String("SUM(METRICS())")}
	tests := []struct {
		name  string
		body  cbor.Map
		query string // X-Amzn-Query-Error
		typ   string // __type
	}{
		{"more than 500 queries", cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now), "MetricDataQueries": many}, "InvalidParameterValue;Sender", "com.amazonaws.cloudwatch#InvalidParameterValueException"},
		{"id starts uppercase", cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now), "MetricDataQueries": cbor.List{metricQuery("Abc", "Invocations", "Sum", 60)}}, "InvalidParameterValue;Sender", "com.amazonaws.cloudwatch#InvalidParameterValueException"},
		{"duplicate ids", cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now), "MetricDataQueries": cbor.List{q, q}}, "InvalidParameterValue;Sender", "com.amazonaws.cloudwatch#InvalidParameterValueException"},
		{"start not before end", cbor.Map{"StartTime": ts(now), "EndTime": ts(now), "MetricDataQueries": cbor.List{q}}, "ValidationError;Sender", "com.amazonaws.cloudwatch#ValidationException"},
		{"no queries", cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now)}, "MissingParameter;Sender", "com.amazonaws.cloudwatch#MissingRequiredParameterException"},
		{"metric math", cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now), "MetricDataQueries": cbor.List{expr}}, "InvalidParameterValue;Sender", "com.amazonaws.cloudwatch#InvalidParameterValueException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postCBOR(t, srv, tt.body)
			if r.status != 400 {
				t.Fatalf("status = %d", r.status)
			}
			if got := r.header.Get("X-Amzn-Query-Error"); got != tt.query {
				t.Errorf("X-Amzn-Query-Error = %q, want %q", got, tt.query)
			}
			if got := r.body["__type"]; got != cbor.String(tt.typ) {
				t.Errorf("__type = %v, want %s", got, tt.typ)
			}
			if msg, _ := r.body["message"].(cbor.String); msg == "" {
				t.Error("no message")
			}
		})
	}
}

func TestGetMetricData_Throttled(t *testing.T) {
	srv := newServer(t, lambdatest.Options{Throttle: func(op string) (time.Duration, bool) { return 0, op == "GetMetricData" }})
	now := time.Now()
	r := postCBOR(t, srv, cbor.Map{"StartTime": ts(now.Add(-time.Hour)), "EndTime": ts(now), "MetricDataQueries": cbor.List{metricQuery("a", "Invocations", "Sum", 60, "FunctionName", "fn")}})
	if r.status != 400 || !strings.HasPrefix(r.header.Get("X-Amzn-Query-Error"), "Throttling;") {
		t.Errorf("throttle: %d %v", r.status, r.header)
	}
}
