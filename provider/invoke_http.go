package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// InvokeHTTP is Invoke for a function reached over HTTP (Cloud Run, Azure
// Functions): it POSTs payload, Content-Type application/json, to url with
// client (nil means http.DefaultClient) and maps the answer onto the
// Invoker contract:
//
//   - 2xx: success, Status and Body (read up to maxBody bytes) set;
//   - 429: a *ThrottleError carrying Retry-After (whole seconds);
//   - 401 and 403: an error naming authHint (how to give the caller the
//     right to invoke);
//   - any other status: the function's failure, FunctionError
//     "HTTP <status>", with Status and Body.
//
// A transport failure or an unreadable answer is ErrUnavailable; when ctx
// ends, its error. ExecutedVersion is left to the caller; errors are
// returned bare for the caller to wrap in its *Error.
func InvokeHTTP(ctx context.Context, client *http.Client, url string, payload []byte, maxBody int64, authHint string) (InvokeOutput, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return InvokeOutput{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return InvokeOutput{}, ctx.Err()
		}
		return InvokeOutput{}, fmt.Errorf("%w: POST %s: %w", ErrUnavailable, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return InvokeOutput{}, fmt.Errorf("%w: read the answer of %s: %w", ErrUnavailable, url, err)
	}
	out := InvokeOutput{Status: resp.StatusCode, Body: body}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return InvokeOutput{}, &ThrottleError{RetryAfter: time.Duration(secs) * time.Second,
			Err: fmt.Errorf("POST %s: %s", url, resp.Status)}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return InvokeOutput{}, fmt.Errorf("POST %s: %s (%s)", url, resp.Status, authHint)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		out.FunctionError = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return out, nil
}
