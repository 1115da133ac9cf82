package lambdatest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// Invocations through the emulator count in the CloudWatch metrics it
// serves, by the rules in traffic.go (call): Invocations counts the
// invocations that ran (not a DryRun), Errors those with
// X-Amz-Function-Error, Duration each one's time, in the minute it started;
// an alias invocation counts under {FunctionName}, {FunctionName,
// Resource=fn:alias} and {…, ExecutedVersion=N}; a version invocation
// under {FunctionName} and {FunctionName, Resource=fn:N} only; an
// unqualified one under {FunctionName} only. Raw HTTP both ways: Invoke
// requests, GetMetricData in CBOR.
func TestInvoke_CountsInMetrics(t *testing.T) {
	clk := newClock()
	srv := newServer(t, lambdatest.Options{Now: clk.Now, SettlePolls: -1})
	publishN(t, srv, 2)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	// Each version's code takes "ms" milliseconds of the emulator clock and
	// fails when "fail" is set.
	for _, v := range []string{"1", "2", "$LATEST"} {
		srv.SetHandler("fn", v, func(_ context.Context, p []byte) ([]byte, error) {
			var in struct {
				Ms   int
				Fail bool
			}
			if err := json.Unmarshal(p, &in); err != nil {
				return nil, err
			}
			clk.Advance(time.Duration(in.Ms) * time.Millisecond)
			if in.Fail {
				return nil, errors.New("boom")
			}
			return []byte(`"ok"`), nil
		})
	}
	start := clk.Now() // 10:00
	clk.Advance(10 * time.Second)
	inv := func(qualifier, typ, body string, status int, fnErr string) {
		t.Helper()
		path := fnPath + "/invocations"
		if qualifier != "" {
			path += "?Qualifier=" + qualifier
		}
		r := invokeRaw(t, srv, path, typ, []byte(body))
		if r.status != status || r.header.Get("X-Amz-Function-Error") != fnErr {
			t.Fatalf("invoke %q %s: %d %q %s", qualifier, typ, r.status, r.header.Get("X-Amz-Function-Error"), r.body)
		}
	}
	// 10:00: three through the alias (one fails), two of version 2 (one
	// fails) and one of it as Event, one unqualified, one DryRun.
	inv("live", "", `{"ms":10}`, 200, "")
	inv("live", "", `{"ms":20,"fail":true}`, 200, "Unhandled")
	inv("live", "", `{"ms":60}`, 200, "")
	inv("2", "", `{"ms":40}`, 200, "")
	inv("2", "", `{"ms":80,"fail":true}`, 200, "Unhandled")
	inv("2", "Event", `{"ms":20}`, 202, "")
	inv("", "", `{"ms":5}`, 200, "")
	inv("1", "DryRun", `{"ms":5}`, 204, "")
	// 10:01: half of live's traffic to version 2; two invocations, one
	// each (the emulator alternates deterministically).
	clk.Advance(time.Minute)
	want(t, call(t, srv, "PUT", fnPath+"/aliases/live", `{"RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}}`), 200, "")
	inv("live", "", `{"ms":30}`, 200, "")
	inv("live", "", `{"ms":50}`, 200, "")
	clk.Advance(time.Minute) // 10:02:10: both minutes have ended

	dims := func(d ...string) []string { return append([]string{"FunctionName", "fn"}, d...) }
	queries := []struct {
		id, metric, stat string
		dims             []string
		want             []string
	}{
		{"all", "Invocations", "Sum", dims(), []string{"10:00=7", "10:01=2"}},
		{"allerr", "Errors", "Sum", dims(), []string{"10:00=2", "10:01=0"}},
		{"alias", "Invocations", "Sum", dims("Resource", "fn:live"), []string{"10:00=3", "10:01=2"}},
		{"aliaserr", "Errors", "Sum", dims("Resource", "fn:live"), []string{"10:00=1", "10:01=0"}},
		{"aliasavg", "Duration", "Average", dims("Resource", "fn:live"), []string{"10:00=30", "10:01=40"}},
		{"aliasmax", "Duration", "Maximum", dims("Resource", "fn:live"), []string{"10:00=60", "10:01=50"}},
		{"aliasp50", "Duration", "p50", dims("Resource", "fn:live"), []string{"10:00=20", "10:01=30"}},
		{"aliascount", "Duration", "SampleCount", dims("Resource", "fn:live"), []string{"10:00=3", "10:01=2"}},
		{"ev1", "Invocations", "Sum", dims("Resource", "fn:live", "ExecutedVersion", "1"), []string{"10:00=3", "10:01=1"}},
		{"ev2", "Invocations", "Sum", dims("Resource", "fn:live", "ExecutedVersion", "2"), []string{"10:01=1"}},
		{"ev2dur", "Duration", "Maximum", dims("Resource", "fn:live", "ExecutedVersion", "2"), []string{"10:01=50"}},
		{"direct2", "Invocations", "Sum", dims("Resource", "fn:2"), []string{"10:00=3"}},
		{"direct2err", "Errors", "Sum", dims("Resource", "fn:2"), []string{"10:00=1"}},
		{"direct2p99", "Duration", "p99", dims("Resource", "fn:2"), []string{"10:00=80"}},
		{"direct2ev", "Invocations", "Sum", dims("Resource", "fn:2", "ExecutedVersion", "2"), []string{}},
		{"direct1", "Invocations", "Sum", dims("Resource", "fn:1"), []string{}}, // a DryRun runs nothing
		{"latest", "Invocations", "Sum", dims("Resource", "fn:$LATEST"), []string{}},
	}
	list := cbor.List{}
	for _, q := range queries {
		list = append(list, metricQuery(q.id, q.metric, q.stat, 60, q.dims...))
	}
	r := postCBOR(t, srv, cbor.Map{
		"StartTime": ts(start), "EndTime": ts(start.Add(5 * time.Minute)),
		"ScanBy": cbor.String("TimestampAscending"), "MetricDataQueries": list,
	})
	if r.status != 200 {
		t.Fatalf("status %d: %v", r.status, r.body)
	}
	for _, q := range queries {
		if diff := cmp.Diff(q.want, series(t, r, q.id)); diff != "" {
			t.Errorf("%s %s %v (-want +got):\n%s", q.metric, q.stat, q.dims, diff)
		}
	}

	// An invocation of $LATEST by name has its own Resource series.
	inv("%24LATEST", "", `{"ms":1}`, 200, "")
	clk.Advance(time.Minute)
	r = postCBOR(t, srv, cbor.Map{
		"StartTime": ts(start), "EndTime": ts(start.Add(5 * time.Minute)), "ScanBy": cbor.String("TimestampAscending"),
		"MetricDataQueries": cbor.List{metricQuery("latest", "Invocations", "Sum", 60, dims("Resource", "fn:$LATEST")...)},
	})
	if diff := cmp.Diff([]string{"10:02=1"}, series(t, r, "latest")); diff != "" {
		t.Errorf("$LATEST (-want +got):\n%s", diff)
	}
}

// The modeled load and real invocations add up in one series: a quiet
// alias (1 request a minute) plus 12 real invocations of it in a minute.
func TestInvoke_MetricsAddToTheModeledLoad(t *testing.T) {
	clk := newClock()
	srv := newServer(t, lambdatest.Options{Now: clk.Now, SettlePolls: -1})
	publishN(t, srv, 1)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	if err := srv.SetLoad("fn", "live", 1.0/60); err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for range 12 {
		if r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=live", "", []byte(`{}`)); r.status != 200 {
			t.Fatalf("invoke: %d %s", r.status, r.body)
		}
	}
	clk.Advance(2 * time.Minute)
	r := postCBOR(t, srv, cbor.Map{
		"StartTime": ts(start), "EndTime": ts(start.Add(2 * time.Minute)), "ScanBy": cbor.String("TimestampAscending"),
		"MetricDataQueries": cbor.List{metricQuery("ev", "Invocations", "Sum", 60, "FunctionName", "fn", "Resource", "fn:live", "ExecutedVersion", "1")},
	})
	if diff := cmp.Diff([]string{"10:00=13", "10:01=1"}, series(t, r, "ev")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
