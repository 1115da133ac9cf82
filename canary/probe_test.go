package canary_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// probeServer answers request k (counting from 1) with status(k); a
// status of 0 means the request hangs until the client gives up.
func probeServer(t *testing.T, status func(k int64) int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := status(n.Add(1))
		if code == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(code)
		fmt.Fprintln(w, http.StatusText(code))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestHTTPProbeSuccessRatio(t *testing.T) {
	// Every fifth request is answered 503: 8 of 10 succeed.
	srv, _ := probeServer(t, func(k int64) int {
		if k%5 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	for _, tc := range []struct {
		min  float64
		want canary.Verdict
	}{
		{0.8, canary.Pass},
		{0.5, canary.Pass},
		{0.9, canary.Fail},
		{0, canary.Fail}, // zero means every request
	} {
		t.Run(fmt.Sprint(tc.min), func(t *testing.T) {
			m := judge(t, canary.HTTPProbe{URL: srv.URL + "/healthz", MinSuccess: tc.min}, canary.MetricWindow{})
			if m.Verdict != tc.want || m.Value != 0.8 || m.Unit != "ratio" {
				t.Errorf("got %v value %v %s (%s), want %v 0.8", m.Verdict, m.Value, m.Unit, m.Reason, tc.want)
			}
			if !strings.Contains(m.Reason, "8 of 10 GET "+srv.URL+"/healthz succeeded (80.0%)") || !strings.HasSuffix(m.Reason, ": 2 answered 503") {
				t.Errorf("reason %q", m.Reason)
			}
		})
	}
}

func TestHTTPProbeStatuses(t *testing.T) {
	codes := []int{200, 204, 301, 404, 500, 299, 300, 418}
	srv, _ := probeServer(t, func(k int64) int { return codes[(k-1)%int64(len(codes))] })
	// 200, 204 and 299 succeed; a 301 is not followed (the client below
	// does not follow redirects) and fails, like 404, 500, 300 and 418.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	m := judge(t, canary.HTTPProbe{URL: srv.URL, Requests: len(codes), MinSuccess: 0.3, Client: client}, canary.MetricWindow{})
	if m.Verdict != canary.Pass || m.Value != 3.0/8 {
		t.Errorf("got %v value %v (%s), want Pass 0.375", m.Verdict, m.Value, m.Reason)
	}
	if want := ": 1 answered 301, 1 answered 404, 1 answered 500, 1 answered 300, 1 answered 418"; !strings.HasSuffix(m.Reason, want) {
		t.Errorf("reason %q, want suffix %q", m.Reason, want)
	}
}

// TestHTTPProbeTimeout: a candidate that hangs fails; it is not an error.
// The handler never answers a hanging request, so the outcome does not
// depend on how long the timeout is.
func TestHTTPProbeTimeout(t *testing.T) {
	srv, _ := probeServer(t, func(k int64) int {
		if k%2 == 0 {
			return 0
		}
		return http.StatusOK
	})
	m := judge(t, canary.HTTPProbe{URL: srv.URL, Requests: 4, Timeout: 20 * time.Millisecond, MinSuccess: 0.9}, canary.MetricWindow{})
	if m.Verdict != canary.Fail || m.Value != 0.5 || !strings.HasSuffix(m.Reason, ": 2 timed out after 20ms") {
		t.Errorf("got %v value %v (%s), want Fail 0.5 with 2 timeouts", m.Verdict, m.Value, m.Reason)
	}
	hang, _ := probeServer(t, func(int64) int { return 0 })
	m = judge(t, canary.HTTPProbe{URL: hang.URL, Requests: 2, Timeout: 20 * time.Millisecond}, canary.MetricWindow{})
	if m.Verdict != canary.Fail || m.Value != 0 {
		t.Errorf("every request hangs: %v value %v (%s), want Fail 0", m.Verdict, m.Value, m.Reason)
	}
}

// TestHTTPProbeUnreachable: when no request could be sent the probe
// measured nothing, and says so with an error, not a verdict.
func TestHTTPProbeUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	m, err := canary.HTTPProbe{URL: addr, Requests: 3}.Judge(context.Background(), canary.MetricWindow{})
	if !errors.Is(err, provider.ErrUnavailable) || m != (canary.Measurement{}) {
		t.Fatalf("got %+v, %v; want an ErrUnavailable error", m, err)
	}
	if !strings.HasPrefix(err.Error(), "canary: http probe "+addr+": none of 3 requests could be sent") {
		t.Errorf("message %q", err)
	}
}

func TestHTTPProbeCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// The third request cancels the probe's context: it stops there.
	srv, n := probeServer(t, func(k int64) int {
		if k == 3 {
			cancel()
		}
		return http.StatusOK
	})
	m, err := canary.HTTPProbe{URL: srv.URL, Requests: 10}.Judge(ctx, canary.MetricWindow{})
	if !errors.Is(err, context.Canceled) || m != (canary.Measurement{}) {
		t.Fatalf("got %+v, %v; want context.Canceled", m, err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("%d requests sent, want 3", got)
	}
	// Already cancelled: nothing is sent.
	if _, err := (canary.HTTPProbe{URL: srv.URL}).Judge(ctx, canary.MetricWindow{}); !errors.Is(err, context.Canceled) || n.Load() != 3 {
		t.Errorf("cancelled before the start: %v, %d requests", err, n.Load())
	}
}

// TestHTTPProbeClient: the probe sends through the caller's client (here
// one that adds a token, as a signing transport would).
func TestHTTPProbeClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer t0k3n" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer t0k3n")
		return http.DefaultTransport.RoundTrip(r)
	})}
	if m := judge(t, canary.HTTPProbe{URL: srv.URL, Requests: 3}, canary.MetricWindow{}); m.Verdict != canary.Fail || m.Value != 0 {
		t.Errorf("default client: %v value %v, want Fail 0 (unauthorised)", m.Verdict, m.Value)
	}
	if m := judge(t, canary.HTTPProbe{URL: srv.URL, Requests: 3, Client: client}, canary.MetricWindow{}); m.Verdict != canary.Pass || m.Value != 1 {
		t.Errorf("token client: %v value %v (%s), want Pass 1", m.Verdict, m.Value, m.Reason)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPProbeConcurrentUse(t *testing.T) {
	srv, n := probeServer(t, func(int64) int { return http.StatusOK })
	probe := canary.HTTPProbe{URL: srv.URL, Requests: 5}
	var wg sync.WaitGroup
	verdicts := make([]canary.Verdict, 8)
	for i := range verdicts {
		wg.Go(func() {
			m, err := probe.Judge(context.Background(), canary.MetricWindow{})
			if err != nil {
				t.Error(err)
			}
			verdicts[i] = m.Verdict
		})
	}
	wg.Wait()
	for i, v := range verdicts {
		if v != canary.Pass {
			t.Errorf("goroutine %d: %v", i, v)
		}
	}
	if got := n.Load(); got != 40 {
		t.Errorf("%d requests, want 40", got)
	}
}

func TestHTTPProbeValidate(t *testing.T) {
	for _, tc := range []struct {
		p     canary.HTTPProbe
		field string
	}{
		{canary.HTTPProbe{}, "url"},
		{canary.HTTPProbe{URL: "localhost:8080/healthz"}, "url"},
		{canary.HTTPProbe{URL: "ftp://example.com/"}, "url"},
		{canary.HTTPProbe{URL: "http://%zz"}, "url"},
		{canary.HTTPProbe{URL: "https:///path-only"}, "url"},
		{canary.HTTPProbe{URL: "https://example.com", Requests: -1}, "requests"},
		{canary.HTTPProbe{URL: "https://example.com", Timeout: -time.Second}, "timeout"},
		{canary.HTTPProbe{URL: "https://example.com", MinSuccess: 1.01}, "minSuccess"},
		{canary.HTTPProbe{URL: "https://example.com", MinSuccess: math.NaN()}, "minSuccess"},
		{canary.HTTPProbe{URL: "https://example.com", MinSuccess: -0.5}, "minSuccess"},
	} {
		t.Run(tc.field+"/"+tc.p.URL, func(t *testing.T) {
			err := tc.p.Validate()
			var ie *provider.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, provider.ErrInvalid) || ie.Field != tc.field {
				t.Fatalf("Validate() = %v, want an InvalidError for %s", err, tc.field)
			}
			if _, err := tc.p.Judge(context.Background(), canary.MetricWindow{}); !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("Judge: %v, want the validation error", err)
			}
		})
	}
	if err := (canary.HTTPProbe{URL: "https://example.com/healthz", Requests: 3, Timeout: time.Second, MinSuccess: 0.5}).Validate(); err != nil {
		t.Errorf("valid probe: %v", err)
	}
}

// ExampleHTTPProbe probes a health endpoint (an httptest server standing in
// for the candidate's URL) ten times and requires nine successes.
func ExampleHTTPProbe() {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 4 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	probe := canary.HTTPProbe{URL: srv.URL + "/healthz", Requests: 10, Timeout: 2 * time.Second, MinSuccess: 0.9}
	m, err := probe.Judge(context.Background(), canary.MetricWindow{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Verdict, m.Value)
	fmt.Println(strings.Replace(m.Reason, srv.URL, "http://candidate", 1))
	// Output:
	// Pass 0.9
	// 9 of 10 GET http://candidate/healthz succeeded (90.0%), at least the required 90.0%: 1 answered 503
}
