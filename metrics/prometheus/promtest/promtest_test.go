package promtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/metrics/prometheus/promtest"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// One minute at 60 requests a minute, 6 of them failing, each taking
// 100 ms: samples every 15 s from 10:00:00 to 10:01:00 (five), the last
// holding 60 requests, 6 errors, a latency sum of 6 s, all 60 in the
// le="0.1" bucket and none in le="0.05".
func TestOpenMetricsCounts(t *testing.T) {
	text := promtest.OpenMetrics([]promtest.Series{{
		Function: "checkout", Version: "2", Alias: "live",
		Segments: []promtest.Segment{{From: t0, To: t0.Add(time.Minute), PerMinute: 60, ErrorsPerMinute: 6, Latency: 100 * time.Millisecond}},
	}})
	if !strings.HasSuffix(text, "# EOF\n") {
		t.Fatalf("OpenMetrics text does not end with # EOF:\n%s", text)
	}
	lbl := `{function="checkout",version="2",alias="live"`
	last := "1772445660.000" // 10:01:00 UTC
	for _, want := range []string{
		promtest.RequestsTotal + lbl + "} 60 " + last,
		promtest.ErrorsTotal + lbl + "} 6 " + last,
		promtest.Duration + "_sum" + lbl + "} 6 " + last,
		promtest.Duration + "_count" + lbl + "} 60 " + last,
		promtest.Duration + "_bucket" + lbl + `,le="0.1"} 60 ` + last,
		promtest.Duration + "_bucket" + lbl + `,le="0.05"} 0 ` + last,
		promtest.Duration + "_bucket" + lbl + `,le="+Inf"} 60 ` + last,
		promtest.RequestsTotal + lbl + "} 15 1772445615.000", // 10:00:15: a quarter of the minute
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("OpenMetrics text lacks %q", want)
		}
	}
	if n := strings.Count(text, promtest.RequestsTotal+lbl); n != 5 {
		t.Errorf("%d request samples, want 5 (every 15 s over one minute, both ends)", n)
	}
}

func TestOpenMetricsSkipsEmptySeries(t *testing.T) {
	text := promtest.OpenMetrics([]promtest.Series{{Function: "checkout", Version: "1"}})
	if strings.Contains(text, `version="1"`) {
		t.Errorf("a series without segments was written:\n%s", text)
	}
}

// Start serves what was backfilled: the requests of a version over the
// minute read back through Queries.Invocations.
func TestStartServesTheSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Prometheus")
	}
	s := promtest.Start(t, promtest.OpenMetrics([]promtest.Series{{
		Function: "checkout", Version: "2", Alias: "live",
		Segments: []promtest.Segment{{From: t0, To: t0.Add(2 * time.Minute), PerMinute: 60, Latency: 10 * time.Millisecond}},
	}}))
	q := strings.NewReplacer("{{function}}", "checkout", "{{version}}", "2", "{{alias}}", ".*", "{{period}}", "1m").Replace(promtest.Queries.Invocations)
	u := s.URL + "/api/v1/query?" + url.Values{"query": {q}, "time": {"1772445720"}}.Encode() // 10:02:00
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct{ Value [2]any }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		t.Fatalf("query %s: %+v", q, body)
	}
	v, _ := body.Data.Result[0].Value[1].(string)
	if v != "60" {
		t.Errorf("requests in the minute before 10:02 = %s, want 60", v)
	}
}
