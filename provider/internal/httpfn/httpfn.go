// Package httpfn is what the emulators of HTTP-invoked functions
// (azurefunc/azuretest, gcprun/runtest) share: an in-process transport to
// their host names and the HTTP answer of a function's handler.
package httpfn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Transport returns an http.RoundTripper that answers requests to hosts
// ending in suffix with serve (the request's host, path and body) as an
// application/json response; a request to another host fails with
// "<pkg>: no route to HOST".
func Transport(pkg, suffix string, serve func(ctx context.Context, host, path string, body []byte) (int, []byte)) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		host := r.URL.Hostname()
		if !strings.HasSuffix(host, suffix) {
			return nil, fmt.Errorf("%s: no route to %s", pkg, host)
		}
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			body = b
		}
		status, out := serve(r.Context(), host, r.URL.Path, body)
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(out)),
			ContentLength: int64(len(out)), Request: r}, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Run runs the handler h of the code a request reached on body and returns
// the HTTP answer: 200 with "null" for no handler, 500 with
// {"error": message} when h fails, else 200 with h's output.
func Run(ctx context.Context, h func(context.Context, []byte) ([]byte, error), body []byte) (int, []byte) {
	if h == nil {
		return http.StatusOK, []byte("null")
	}
	out, err := h(ctx, body)
	if err != nil {
		doc, _ := json.Marshal(map[string]string{"error": err.Error()}) // a string always marshals
		return http.StatusInternalServerError, doc
	}
	return http.StatusOK, out
}
