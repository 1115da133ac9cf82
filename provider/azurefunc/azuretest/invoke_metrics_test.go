package azuretest_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

// Requests served at the app's and a slot's host names count in Azure
// Monitor on the slot that answered (each slot is its own resource,
// REF-METRICS): Requests and FunctionExecutionCount one each, Http5xx
// when the answer was a 5xx, HttpResponseTime the average of their times
// on the emulator clock, in the grain they started in. A production
// request the ramp-up rule sends to a slot counts on that slot. Raw HTTP
// both ways: requests through InvokeTransport, Metrics - List over ARM.
func TestInvoke_CountsInMetrics(t *testing.T) {
	srv, c := start(t, azuretest.Options{})
	createSlot(t, srv, "canary")
	for slot, v := range map[string]string{"": "v1", "canary": "v2"} {
		path := "/sites/" + app + "/config/appsettings"
		if slot != "" {
			path = "/sites/" + app + "/slots/" + slot + "/config/appsettings"
		}
		wantStatus(t, "settings", call(t, srv, http.MethodPut, path, map[string]any{"properties": map[string]string{"SLIPWAY_VERSION": v}}), http.StatusOK, "")
	}
	// A request takes as many ms of the emulator clock as its body says
	// and fails on a negative number.
	for _, v := range []string{"v1", "v2"} {
		srv.SetHandler(app, v, func(_ context.Context, b []byte) ([]byte, error) {
			var ms int
			if _, err := fmt.Sscan(string(b), &ms); err != nil {
				return nil, err
			}
			if ms < 0 {
				return nil, errors.New("negative")
			}
			c.Advance(time.Duration(ms) * time.Millisecond)
			return []byte(`"ok"`), nil
		})
	}
	hc := &http.Client{Transport: srv.InvokeTransport()}
	post := func(host, body string, want int) {
		t.Helper()
		resp, err := hc.Post("https://"+host+"/api/orders", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s %s: %d, want %d", host, body, resp.StatusCode, want)
		}
	}
	const prodHost, canaryHost = app + ".azurewebsites.net", app + "-canary.azurewebsites.net"
	c.Advance(10 * time.Second)
	post(canaryHost, "100", 200)
	post(canaryHost, "-1", 500)
	post(canaryHost, "300", 200)
	post(prodHost, "50", 200)
	post(prodHost, "50", 200)
	c.Advance(time.Minute)
	// 10:01: half of production's requests to the canary slot; of two,
	// one each (the emulator alternates deterministically).
	wantStatus(t, "rule", call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web",
		map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": []any{rule("canary", canaryHost, 50)}}}}), http.StatusOK, "")
	post(prodHost, "20", 200)
	post(prodHost, "40", 200)
	c.Advance(2 * time.Minute) // 10:03:10

	span := "timespan=2026-03-02T10:00:00Z/2026-03-02T10:03:00Z&interval=PT1M&metricnames=Requests,FunctionExecutionCount,Http5xx,HttpResponseTime&aggregation=Total,Average"
	round := func(m map[string][]float64) map[string][]float64 {
		for k, vs := range m {
			for i, v := range vs {
				vs[i] = math.Round(v*1e6) / 1e6
			}
			m[k] = vs
		}
		return m
	}
	for _, tt := range []struct {
		slot     string
		total    map[string][]float64
		averages []float64
	}{
		{"", map[string][]float64{"Requests": {2, 1, 0}, "FunctionExecutionCount": {2, 1, 0}, "Http5xx": {0, 0, 0}, "HttpResponseTime": {-1, -1, -1}}, []float64{0.05, 0.02, -1}},
		{"canary", map[string][]float64{"Requests": {3, 1, 0}, "FunctionExecutionCount": {3, 1, 0}, "Http5xx": {1, 0, 0}, "HttpResponseTime": {-1, -1, -1}}, []float64{0.133333, 0.04, -1}},
	} {
		r := call(t, srv, http.MethodGet, metricsURL(srv, tt.slot, span), nil)
		wantStatus(t, "metrics of "+tt.slot, r, http.StatusOK, "")
		if diff := cmp.Diff(tt.total, totals(t, r, "total")); diff != "" {
			t.Errorf("slot %q totals (-want +got):\n%s", tt.slot, diff)
		}
		if diff := cmp.Diff(tt.averages, round(totals(t, r, "average"))["HttpResponseTime"]); diff != "" {
			t.Errorf("slot %q HttpResponseTime averages (-want +got):\n%s", tt.slot, diff)
		}
	}
}

// Real requests add to the modeled load of their slot: 1 request a minute
// at production plus 12 at the production host in the first minute.
func TestInvoke_MetricsAddToTheModeledLoad(t *testing.T) {
	srv, c := start(t, azuretest.Options{})
	if err := srv.SetLoad(app, 1.0/60); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: srv.InvokeTransport()}
	for range 12 {
		resp, err := hc.Post("https://"+app+".azurewebsites.net/api/orders", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	c.Advance(2 * time.Minute)
	span := "timespan=2026-03-02T10:00:00Z/2026-03-02T10:02:00Z&interval=PT1M&metricnames=Requests&aggregation=Total"
	if diff := cmp.Diff(map[string][]float64{"Requests": {13, 1}}, totals(t, call(t, srv, http.MethodGet, metricsURL(srv, "", span), nil), "total")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
