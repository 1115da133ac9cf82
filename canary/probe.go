package canary

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of HTTPProbe, used when a field is zero.
const (
	// DefaultProbeRequests is the number of requests an HTTPProbe sends.
	DefaultProbeRequests = 10
	// DefaultProbeTimeout bounds each request of an HTTPProbe.
	DefaultProbeTimeout = 5 * time.Second
)

// HTTPProbe is a custom check that measures what the metrics source does
// not: it sends Requests GET requests to URL, one after the other, and
// passes when the share that succeeded is at least MinSuccess. It shows
// that a check is any Go value with a Judge method (CheckFunc makes one
// from a plain function); the runner calls it like the built-in checks, in
// each analysis window, with the window's context.
//
// Point URL at something that reaches the candidate: a Cloud Run revision
// tag URL, a staging alias's function URL, a health endpoint behind the
// route (then the candidate gets its share of the probes).
//
// A request succeeds when it is answered with a 2xx status within Timeout.
// A non-2xx status and a timeout count against the candidate: a version
// that hangs fails. A request that could not be sent at all (the address
// does not resolve, nothing listens, a proxy is down) counts against it
// too when other requests got through; when none did, the probe measured
// nothing: Judge returns an error wrapping provider.ErrUnavailable, which
// the analysis counts towards its consecutive-error limit, not as a failed
// window. Cancelling ctx stops the probe with an error wrapping ctx.Err().
//
// Worked example: Requests 20, MinSuccess 0.95: 19 answers of 200 and one
// 503 measure 0.95: Pass; a second 503 measures 0.90: Fail.
//
// The Measurement's Value is the success ratio (Unit "ratio"); the
// verdict is never Inconclusive, since the probe makes its own traffic.
// HTTPProbe is safe for concurrent use when Client is.
type HTTPProbe struct {
	// URL is the absolute http or https URL to GET.
	URL string `json:"url"`
	// Requests is the number of requests; zero means DefaultProbeRequests.
	Requests int `json:"requests,omitempty"`
	// Timeout bounds each request, headers and body; zero means
	// DefaultProbeTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MinSuccess is the share of requests that must succeed, in [0, 1];
	// zero means 1: every request.
	MinSuccess float64 `json:"minSuccess,omitempty"`
	// Client sends the requests; nil means http.DefaultClient. Set a
	// client to add credentials (a Transport that signs requests) or to
	// change redirects.
	Client *http.Client `json:"-"`
}

var _ Check = HTTPProbe{}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (p HTTPProbe) Validate() error {
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		return checkInvalid("http probe", "url", "is empty")
	case err != nil:
		return checkInvalid("http probe", "url", "%q does not parse: %v", p.URL, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return checkInvalid("http probe", "url", "%q is not an absolute http or https URL", p.URL)
	}
	if p.Requests < 0 {
		return checkInvalid("http probe", "requests", "is %d, negative", p.Requests)
	}
	if p.Timeout < 0 {
		return checkInvalid("http probe", "timeout", "is %s, negative", p.Timeout)
	}
	if err := judgeCheckFinite("http probe", "minSuccess", p.MinSuccess); err != nil {
		return err
	}
	if p.MinSuccess > 1 {
		return checkInvalid("http probe", "minSuccess", "is %v, above 1", p.MinSuccess)
	}
	return nil
}

// Judge sends the probe's requests and measures the share that succeeded.
func (p HTTPProbe) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := p.Validate(); err != nil {
		return Measurement{}, err
	}
	n := cmp.Or(p.Requests, DefaultProbeRequests)
	timeout := cmp.Or(p.Timeout, DefaultProbeTimeout)
	minSuccess := p.MinSuccess
	if minSuccess == 0 {
		minSuccess = 1
	}
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	var ok, reached int
	var failures []string // distinct descriptions, in order of first occurrence
	count := map[string]int{}
	var lastErr error
	for range n {
		if err := ctx.Err(); err != nil {
			return Measurement{}, fmt.Errorf("canary: http probe %s: %w", p.URL, err)
		}
		what, got, err := p.get(ctx, client, timeout)
		if ctx.Err() != nil {
			return Measurement{}, fmt.Errorf("canary: http probe %s: %w", p.URL, ctx.Err())
		}
		if got {
			reached++
		}
		if err != nil {
			lastErr = err
		}
		if what == "" {
			ok++
			continue
		}
		if count[what] == 0 {
			failures = append(failures, what)
		}
		count[what]++
	}
	if reached == 0 {
		return Measurement{}, fmt.Errorf("canary: http probe %s: none of %d requests could be sent: %w: %w", p.URL, n, provider.ErrUnavailable, lastErr)
	}
	ratio := float64(ok) / float64(n)
	m := Measurement{Verdict: Pass, Value: ratio, Unit: "ratio"}
	reason := fmt.Sprintf("%d of %d GET %s succeeded (%.1f%%)", ok, n, p.URL, 100*ratio)
	if ratio < minSuccess {
		m.Verdict = Fail
		reason += fmt.Sprintf(", below the required %.1f%%", 100*minSuccess)
	} else {
		reason += fmt.Sprintf(", at least the required %.1f%%", 100*minSuccess)
	}
	if len(failures) > 0 {
		parts := make([]string, len(failures))
		for i, f := range failures {
			parts[i] = fmt.Sprintf("%d %s", count[f], f)
		}
		reason += ": " + strings.Join(parts, ", ")
	}
	m.Reason = reason
	return m, nil
}

// get sends one request. failure is "" on success, else a description
// ("answered 503", "timed out after 2s", "failed to connect"); reached
// reports whether the request got to a server (it was answered or timed
// out); err is the transport error, if any.
func (p HTTPProbe) get(ctx context.Context, client *http.Client, timeout time.Duration) (failure string, reached bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return "failed to build the request", false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Sprintf("timed out after %s", timeout), true, err
		}
		return "failed to connect", false, err
	}
	defer resp.Body.Close()
	// Read the body (up to 1 MiB) so the connection is reused and a body
	// that stalls past the timeout counts as a timeout.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Sprintf("timed out after %s", timeout), true, err
		}
		return "broke off the body", true, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("answered %d", resp.StatusCode), true, nil
	}
	return "", true, nil
}
