// Package promtest runs a real Prometheus server for tests: Start backfills
// synthetic series into a fresh TSDB with promtool (tsdb create-blocks-from
// openmetrics) and starts the prometheus binary on it, listening on
// 127.0.0.1 only, stopped by t.Cleanup (and killed with the test process on
// Linux). Debian's prometheus package (2.42) provides both binaries; a test
// calling Start is skipped, saying so, only when they are absent.
//
// OpenMetrics writes the series a request-serving function would export
// (the names of Queries below), for versions whose traffic is given as
// segments of constant rates, so tests know the exact counts Prometheus
// must give back.
package promtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Metric names OpenMetrics writes.
const (
	// RequestsTotal counts requests served (a counter).
	RequestsTotal = "slipway_requests_total"
	// ErrorsTotal counts failed requests (a counter).
	ErrorsTotal = "slipway_request_errors_total"
	// Duration is a histogram of request latency in seconds.
	Duration = "slipway_request_duration_seconds"
)

// Buckets are the histogram's upper bounds, in seconds (+Inf implied).
var buckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Segment is constant traffic over [From, To).
type Segment struct {
	From, To time.Time
	// PerMinute requests served per minute, ErrorsPerMinute of them failed.
	PerMinute, ErrorsPerMinute float64
	// Latency every request of the segment takes.
	Latency time.Duration
}

// Series is one version's traffic: its labels (function, version, alias)
// and its segments in time order. The counters exist from the first
// segment's From and are scraped until Until (at least the last To).
type Series struct {
	Function, Version, Alias string
	Segments                 []Segment
	Until                    time.Time
}

// Scrape is the interval between the samples OpenMetrics writes.
const Scrape = 15 * time.Second

// OpenMetrics returns the OpenMetrics text of the counters and histogram
// of series, sampled every Scrape.
func OpenMetrics(series []Series) string {
	var b strings.Builder
	family := func(name, typ string) {
		fmt.Fprintf(&b, "# TYPE %s %s\n", name, typ)
	}
	type sample struct {
		t          time.Time
		req, errs  float64
		bucketsCum []float64
		sum        float64
	}
	samples := make([][]sample, len(series))
	for i, s := range series {
		if len(s.Segments) == 0 {
			continue
		}
		start := s.Segments[0].From
		until := s.Until
		if last := s.Segments[len(s.Segments)-1].To; until.Before(last) {
			until = last
		}
		cur := sample{bucketsCum: make([]float64, len(buckets)+1)}
		for t := start; !t.After(until); t = t.Add(Scrape) {
			if t.After(start) {
				// Traffic of [t−Scrape, t).
				for _, seg := range s.Segments {
					a, z := maxT(seg.From, t.Add(-Scrape)), minT(seg.To, t)
					if !z.After(a) {
						continue
					}
					min := z.Sub(a).Minutes()
					n := seg.PerMinute * min
					cur.req += n
					cur.errs += seg.ErrorsPerMinute * min
					cur.sum += n * seg.Latency.Seconds()
					for k := range cur.bucketsCum {
						if k == len(buckets) || seg.Latency.Seconds() <= buckets[k] {
							cur.bucketsCum[k] += n
						}
					}
				}
			}
			snap := cur
			snap.t = t
			snap.bucketsCum = slices.Clone(cur.bucketsCum)
			samples[i] = append(samples[i], snap)
		}
	}
	labels := func(s Series) string {
		return fmt.Sprintf(`function="%s",version="%s",alias="%s"`, s.Function, s.Version, s.Alias)
	}
	ts := func(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1e3) }
	num := func(v float64) string { return fmt.Sprintf("%g", math.Round(v*1e6)/1e6) }

	family(strings.TrimSuffix(RequestsTotal, "_total"), "counter")
	for i, s := range series {
		for _, sm := range samples[i] {
			fmt.Fprintf(&b, "%s{%s} %s %s\n", RequestsTotal, labels(s), num(sm.req), ts(sm.t))
		}
	}
	family(strings.TrimSuffix(ErrorsTotal, "_total"), "counter")
	for i, s := range series {
		for _, sm := range samples[i] {
			fmt.Fprintf(&b, "%s{%s} %s %s\n", ErrorsTotal, labels(s), num(sm.errs), ts(sm.t))
		}
	}
	family(Duration, "histogram")
	for i, s := range series {
		for k := range len(buckets) + 1 {
			le := "+Inf"
			if k < len(buckets) {
				le = fmt.Sprintf("%g", buckets[k])
			}
			for _, sm := range samples[i] {
				fmt.Fprintf(&b, "%s_bucket{%s,le=\"%s\"} %s %s\n", Duration, labels(s), le, num(sm.bucketsCum[k]), ts(sm.t))
			}
		}
		for _, sm := range samples[i] {
			fmt.Fprintf(&b, "%s_count{%s} %s %s\n", Duration, labels(s), num(sm.req), ts(sm.t))
		}
		for _, sm := range samples[i] {
			fmt.Fprintf(&b, "%s_sum{%s} %s %s\n", Duration, labels(s), num(sm.sum), ts(sm.t))
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Queries are PromQL templates (for metrics/prometheus) reading what
// OpenMetrics writes.
var Queries = struct {
	Invocations, Errors, P50, P90, P99 string
}{
	Invocations: `sum(increase(` + RequestsTotal + `{function="{{function}}",version="{{version}}",alias=~"{{alias}}"}[{{period}}]))`,
	Errors:      `sum(increase(` + ErrorsTotal + `{function="{{function}}",version="{{version}}",alias=~"{{alias}}"}[{{period}}]))`,
	P50:         `histogram_quantile(0.5, sum by (le) (increase(` + Duration + `_bucket{function="{{function}}",version="{{version}}",alias=~"{{alias}}"}[{{period}}])))`,
	P90:         `histogram_quantile(0.9, sum by (le) (increase(` + Duration + `_bucket{function="{{function}}",version="{{version}}",alias=~"{{alias}}"}[{{period}}])))`,
	P99:         `histogram_quantile(0.99, sum by (le) (increase(` + Duration + `_bucket{function="{{function}}",version="{{version}}",alias=~"{{alias}}"}[{{period}}])))`,
}

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string
	cmd *exec.Cmd
}

// Binaries returns the paths of prometheus and promtool, or an error
// saying which is missing.
func Binaries() (prometheus, promtool string, err error) {
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		p := "/usr/bin/" + name
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s not found in PATH or /usr/bin (install Debian's prometheus package: apt-get install -y prometheus; .ci/run does)", name)
		}
		return p, nil
	}
	if prometheus, err = find("prometheus"); err != nil {
		return "", "", err
	}
	if promtool, err = find("promtool"); err != nil {
		return "", "", err
	}
	return prometheus, promtool, nil
}

// Start backfills openMetrics into a new TSDB and serves it with a real
// Prometheus on 127.0.0.1; it skips t when the binaries are absent and
// fails t when they cannot start within a minute. The server is stopped by
// t.Cleanup.
func Start(t testing.TB, openMetrics string) *Server {
	t.Helper()
	prom, promtool, err := Binaries()
	if err != nil {
		t.Skipf("promtest: a real Prometheus is needed: %v", err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	input := filepath.Join(dir, "series.om")
	if err := os.WriteFile(input, []byte(openMetrics), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 15s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // a free port may be taken between choosing and binding it
		s, err := start(t, prom, config, data, filepath.Join(dir, "prometheus.log"))
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(t testing.TB, prom, config, data, logPath string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(prom,
		"--config.file="+config,
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", prom, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("prometheus exited before it was ready: %v\n%s", err, log)
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("prometheus was not ready within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
