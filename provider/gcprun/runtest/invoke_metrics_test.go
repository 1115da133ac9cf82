package runtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// Requests served at the service URL and at a tag URL count in Cloud
// Monitoring under the revision that answered them ("Number of requests
// reaching the revision", Google Cloud metrics list, "run"):
// request_count by response_code and response_code_class, and
// request_latencies with each request's time on the emulator clock, in the
// period the request started. Raw HTTP through InvokeTransport, raw gRPC
// ListTimeSeries through the generated stub.
func TestInvoke_CountsInMetrics(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 2)
	if _, err := f.setTraffic("svc", "", rev(r[0], 100), tagged(r[1], "blue")); err != nil {
		t.Fatal(err)
	}
	// A request takes as many ms of the emulator clock as its body says;
	// r[1] fails on a negative number.
	for _, id := range r {
		f.srv.SetHandler(id, func(_ context.Context, b []byte) ([]byte, error) {
			var ms int
			if _, err := fmt.Sscan(string(b), &ms); err != nil {
				return nil, err
			}
			if ms < 0 {
				return nil, errors.New("negative")
			}
			f.now = f.now.Add(time.Duration(ms) * time.Millisecond)
			return []byte(`"ok"`), nil
		})
	}
	hc := &http.Client{Transport: f.srv.InvokeTransport()}
	post := func(host, body string, want int) {
		t.Helper()
		resp, err := hc.Post("https://"+host+"/", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s %s: %d, want %d", host, body, resp.StatusCode, want)
		}
	}
	start := f.now
	f.now = f.now.Add(10 * time.Second)
	post("blue---svc-uc.a.run.app", "10", 200)
	post("blue---svc-uc.a.run.app", "-1", 500)
	post("blue---svc-uc.a.run.app", "60", 200)
	post("svc-uc.a.run.app", "30", 200) // the split: all on r[0]
	f.now = start.Add(time.Minute + 10*time.Second)
	post("blue---svc-uc.a.run.app", "40", 200)
	post("nope---svc-uc.a.run.app", "1", 404) // an unknown tag reaches no revision
	f.now = start.Add(3 * time.Minute)

	list := func(mtype string, aligner monitoringpb.Aggregation_Aligner) []*monitoringpb.TimeSeries {
		t.Helper()
		resp, err := f.mon.ListTimeSeries(f.ctx, &monitoringpb.ListTimeSeriesRequest{
			Name:        "projects/" + f.srv.Project(),
			Filter:      `metric.type = "` + mtype + `" AND resource.type = "cloud_run_revision" AND resource.labels.service_name = "svc"`,
			Interval:    &monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(3 * time.Minute))},
			Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: aligner},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.TimeSeries
	}
	// series as "revision code/class: hh:mm=value" lines, points oldest
	// first.
	lines := func(tss []*monitoringpb.TimeSeries, value func(*monitoringpb.Point) string) []string {
		var out []string
		for _, x := range tss {
			var pts []string
			for _, p := range x.Points {
				pts = append(pts, p.Interval.StartTime.AsTime().Format("15:04")+"="+value(p))
			}
			slices.Reverse(pts)
			name := "r0"
			if x.Resource.Labels["revision_name"] == r[1] {
				name = "r1"
			}
			out = append(out, fmt.Sprintf("%s %s/%s: %s", name, x.Metric.Labels["response_code"], x.Metric.Labels["response_code_class"], strings.Join(pts, " ")))
		}
		slices.Sort(out)
		return out
	}
	count := lines(list(runtest.RequestCount, monitoringpb.Aggregation_ALIGN_DELTA), func(p *monitoringpb.Point) string {
		return fmt.Sprint(p.Value.GetInt64Value())
	})
	if diff := cmp.Diff([]string{"r0 200/2xx: 10:00=1", "r1 200/2xx: 10:00=2 10:01=1", "r1 500/5xx: 10:00=1"}, count); diff != "" {
		t.Errorf("request_count (-want +got):\n%s", diff)
	}
	p50 := lines(list(runtest.RequestLatencies, monitoringpb.Aggregation_ALIGN_PERCENTILE_50), func(p *monitoringpb.Point) string {
		return fmt.Sprint(p.Value.GetDoubleValue())
	})
	// r1's two 2xx requests at 10:00 took 10 and 60 ms: the nearest-rank
	// median is 10; its failure took no time.
	if diff := cmp.Diff([]string{"r0 /2xx: 10:00=30", "r1 /2xx: 10:00=10 10:01=40", "r1 /5xx: 10:00=0"}, p50); diff != "" {
		t.Errorf("request_latencies p50 (-want +got):\n%s", diff)
	}
	dist := lines(list(runtest.RequestLatencies, monitoringpb.Aggregation_ALIGN_DELTA), func(p *monitoringpb.Point) string {
		d := p.Value.GetDistributionValue()
		return fmt.Sprintf("n%d/mean%g", d.Count, d.Mean)
	})
	if diff := cmp.Diff([]string{"r0 /2xx: 10:00=n1/mean30", "r1 /2xx: 10:00=n2/mean35 10:01=n1/mean40", "r1 /5xx: 10:00=n1/mean0"}, dist); diff != "" {
		t.Errorf("request_latencies distributions (-want +got):\n%s", diff)
	}
}

// Real requests add to the modeled load of their revision: 1 request a
// minute plus 12 through the tag URL in the first minute.
func TestInvoke_MetricsAddToTheModeledLoad(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 1)
	t100 := rev(r[0], 100)
	t100.Tag = "blue"
	if _, err := f.setTraffic("svc", "", t100); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetLoad("svc", 1.0/60); err != nil {
		t.Fatal(err)
	}
	start := f.now
	hc := &http.Client{Transport: f.srv.InvokeTransport()}
	for range 12 {
		resp, err := hc.Post("https://blue---svc-uc.a.run.app/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	f.now = start.Add(2 * time.Minute)
	resp, err := f.mon.ListTimeSeries(f.ctx, &monitoringpb.ListTimeSeriesRequest{
		Name:        "projects/" + f.srv.Project(),
		Filter:      `metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" AND resource.labels.revision_name = "` + r[0] + `"`,
		Interval:    &monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(f.now)},
		Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, x := range resp.TimeSeries {
		for _, p := range x.Points {
			got = append(got, p.Value.GetInt64Value())
		}
	}
	if diff := cmp.Diff([]int64{1, 13}, got); diff != "" { // newest first
		t.Errorf("request_count (-want +got):\n%s", diff)
	}
}
