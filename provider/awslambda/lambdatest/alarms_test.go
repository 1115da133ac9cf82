package lambdatest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// DescribeAlarms and DescribeAlarmHistory with hand-built CBOR bodies,
// against the CloudWatch API reference.

func postOp(t *testing.T, srv *lambdatest.Server, op string, body cbor.Map) cborReply {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL()+"/service/GraniteServiceVersion20100801/operation/"+op, bytes.NewReader(cbor.Encode(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v, err := cbor.Decode(b)
	if err != nil {
		t.Fatalf("%s: response is not CBOR: %v", op, err)
	}
	return cborReply{status: resp.StatusCode, header: resp.Header, body: v.(cbor.Map)}
}

func strs(ss ...string) cbor.List {
	l := cbor.List{}
	for _, s := range ss {
		l = append(l, cbor.String(s))
	}
	return l
}

func alarmNames(r cborReply) []string {
	var out []string
	for _, a := range r.body["MetricAlarms"].(cbor.List) {
		out = append(out, string(a.(cbor.Map)["AlarmName"].(cbor.String)))
	}
	return out
}

var alarmT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func alarmServer(t *testing.T) (*lambdatest.Server, *providertest.Clock) {
	clk := providertest.NewClock(alarmT0)
	srv := lambdatest.NewServer(lambdatest.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	spec := lambdatest.AlarmSpec{Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: map[string]string{"FunctionName": "checkout", "Resource": "checkout:live"}, Statistic: "Sum", Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold"}
	for _, n := range []string{"checkout-errors", "checkout-latency", "other"} {
		if err := srv.PutAlarm(n, spec); err != nil {
			t.Fatal(err)
		}
	}
	return srv, clk
}

func TestDescribeAlarms(t *testing.T) {
	srv, clk := alarmServer(t)
	clk.Advance(time.Minute)
	if err := srv.SetAlarmState("checkout-errors", "ALARM", "Threshold Crossed: 1 datapoint [9.0] was greater than the threshold (5.0)."); err != nil {
		t.Fatal(err)
	}
	r := postOp(t, srv, "DescribeAlarms", cbor.Map{"AlarmNames": strs("checkout-errors", "missing")})
	if r.status != 200 {
		t.Fatalf("status %d %v", r.status, r.body)
	}
	want := cbor.Map{
		"AlarmName":                          cbor.String("checkout-errors"),
		"AlarmArn":                           cbor.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-errors"),
		"AlarmConfigurationUpdatedTimestamp": ts(alarmT0),
		"ActionsEnabled":                     cbor.Bool(true),
		"StateValue":                         cbor.String("ALARM"),
		"StateReason":                        cbor.String("Threshold Crossed: 1 datapoint [9.0] was greater than the threshold (5.0)."),
		"StateUpdatedTimestamp":              ts(alarmT0.Add(time.Minute)),
		"StateTransitionedTimestamp":         ts(alarmT0.Add(time.Minute)),
		"Namespace":                          cbor.String("AWS/Lambda"),
		"MetricName":                         cbor.String("Errors"),
		"Dimensions": cbor.List{
			cbor.Map{"Name": cbor.String("FunctionName"), "Value": cbor.String("checkout")},
			cbor.Map{"Name": cbor.String("Resource"), "Value": cbor.String("checkout:live")},
		},
		"Statistic": cbor.String("Sum"), "Period": cbor.Uint(60), "EvaluationPeriods": cbor.Uint(1),
		"Threshold": cbor.Float64(5), "ComparisonOperator": cbor.String("GreaterThanThreshold"),
	}
	if diff := cmp.Diff(cbor.Map{"MetricAlarms": cbor.List{want}, "CompositeAlarms": cbor.List{}}, r.body); diff != "" {
		t.Errorf("DescribeAlarms (-want +got):\n%s", diff)
	}

	// Same state again: StateUpdatedTimestamp moves, StateTransitioned not.
	clk.Advance(time.Minute)
	if err := srv.SetAlarmState("checkout-errors", "ALARM", "still"); err != nil {
		t.Fatal(err)
	}
	a := postOp(t, srv, "DescribeAlarms", cbor.Map{"AlarmNames": strs("checkout-errors")}).body["MetricAlarms"].(cbor.List)[0].(cbor.Map)
	if !cmp.Equal(a["StateUpdatedTimestamp"], ts(alarmT0.Add(2*time.Minute))) || !cmp.Equal(a["StateTransitionedTimestamp"], ts(alarmT0.Add(time.Minute))) {
		t.Errorf("after a same-state update: updated %v, transitioned %v", a["StateUpdatedTimestamp"], a["StateTransitionedTimestamp"])
	}

	cases := []struct {
		name string
		body cbor.Map
		want []string
	}{
		{"all, by name", cbor.Map{}, []string{"checkout-errors", "checkout-latency", "other"}},
		{"prefix", cbor.Map{"AlarmNamePrefix": cbor.String("checkout-")}, []string{"checkout-errors", "checkout-latency"}},
		{"state", cbor.Map{"StateValue": cbor.String("INSUFFICIENT_DATA")}, []string{"checkout-latency", "other"}},
		{"composite only", cbor.Map{"AlarmTypes": strs("CompositeAlarm")}, nil},
	}
	for _, c := range cases {
		if got := alarmNames(postOp(t, srv, "DescribeAlarms", c.body)); !cmp.Equal(c.want, got) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	// Paging.
	r = postOp(t, srv, "DescribeAlarms", cbor.Map{"MaxRecords": cbor.Uint(2)})
	tok, _ := r.body["NextToken"].(cbor.String)
	r2 := postOp(t, srv, "DescribeAlarms", cbor.Map{"MaxRecords": cbor.Uint(2), "NextToken": tok})
	if got := append(alarmNames(r), alarmNames(r2)...); !cmp.Equal([]string{"checkout-errors", "checkout-latency", "other"}, got) || tok == "" || r2.body["NextToken"] != nil {
		t.Errorf("pages: %q, token %q then %v", got, tok, r2.body["NextToken"])
	}

	errs := []struct {
		name string
		body cbor.Map
		code string
	}{
		{"names and prefix", cbor.Map{"AlarmNames": strs("a"), "AlarmNamePrefix": cbor.String("a")}, "InvalidParameterCombination"},
		{"101 names", cbor.Map{"AlarmNames": strs(make([]string, 101)...)}, "ValidationError"},
		{"bad state", cbor.Map{"StateValue": cbor.String("FIRING")}, "ValidationError"},
		{"bad type", cbor.Map{"AlarmTypes": strs("LogAlarm")}, "ValidationError"},
		{"max records 0", cbor.Map{"MaxRecords": cbor.Uint(0)}, "ValidationError"},
		{"max records 101", cbor.Map{"MaxRecords": cbor.Uint(101)}, "ValidationError"},
		{"bad token", cbor.Map{"NextToken": cbor.String("nope")}, "InvalidNextToken"},
	}
	for _, e := range errs {
		r := postOp(t, srv, "DescribeAlarms", e.body)
		if r.status != 400 || r.header.Get("X-Amzn-Query-Error") != e.code+";Sender" {
			t.Errorf("%s: %d %q, want 400 %s", e.name, r.status, r.header.Get("X-Amzn-Query-Error"), e.code)
		}
	}
}

func TestDescribeAlarmHistory(t *testing.T) {
	srv, clk := alarmServer(t)
	for _, st := range []string{"OK", "ALARM", "OK"} {
		clk.Advance(time.Minute)
		if err := srv.SetAlarmState("checkout-errors", st, "because "+st); err != nil {
			t.Fatal(err)
		}
	}
	srv.DeleteAlarm("checkout-errors") // history outlives the alarm
	r := postOp(t, srv, "DescribeAlarmHistory", cbor.Map{
		"AlarmName": cbor.String("checkout-errors"), "HistoryItemType": cbor.String("StateUpdate"),
		"StartDate": ts(alarmT0.Add(2 * time.Minute)), "ScanBy": cbor.String("TimestampAscending"),
	})
	if r.status != 200 {
		t.Fatalf("status %d %v", r.status, r.body)
	}
	items := r.body["AlarmHistoryItems"].(cbor.List)
	if len(items) != 2 {
		t.Fatalf("%d items, want the two changes from 10:02 on: %v", len(items), items)
	}
	first := items[0].(cbor.Map)
	var data struct {
		Version  string
		OldState struct{ StateValue, StateReason string }
		NewState struct{ StateValue, StateReason string }
	}
	if err := json.Unmarshal([]byte(first["HistoryData"].(cbor.String)), &data); err != nil {
		t.Fatal(err)
	}
	if data.Version != "1.0" || data.OldState.StateValue != "OK" || data.NewState.StateValue != "ALARM" || data.NewState.StateReason != "because ALARM" {
		t.Errorf("HistoryData %+v", data)
	}
	if first["HistorySummary"] != cbor.String("Alarm updated from OK to ALARM") || !cmp.Equal(first["Timestamp"], ts(alarmT0.Add(2*time.Minute))) || first["AlarmType"] != cbor.String("MetricAlarm") {
		t.Errorf("first item %v", first)
	}
	// Default order is newest first; all item types.
	r = postOp(t, srv, "DescribeAlarmHistory", cbor.Map{"AlarmName": cbor.String("checkout-errors")})
	var kinds []string
	for _, it := range r.body["AlarmHistoryItems"].(cbor.List) {
		kinds = append(kinds, string(it.(cbor.Map)["HistoryItemType"].(cbor.String)))
	}
	if !cmp.Equal([]string{"StateUpdate", "StateUpdate", "StateUpdate", "ConfigurationUpdate"}, kinds) {
		t.Errorf("newest first: %q", kinds)
	}
	if r := postOp(t, srv, "DescribeAlarmHistory", cbor.Map{"ScanBy": cbor.String("Sideways")}); r.status != 400 {
		t.Errorf("bad ScanBy: %d", r.status)
	}
	// EndDate is inclusive.
	r = postOp(t, srv, "DescribeAlarmHistory", cbor.Map{"HistoryItemType": cbor.String("StateUpdate"), "EndDate": ts(alarmT0.Add(time.Minute))})
	if n := len(r.body["AlarmHistoryItems"].(cbor.List)); n != 1 {
		t.Errorf("EndDate 10:01: %d items, want 1", n)
	}
}
