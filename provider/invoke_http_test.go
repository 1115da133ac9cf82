package provider_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

func TestInvokeHTTP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		header map[string]string
		want   provider.InvokeOutput
		check  func(error) bool // nil: no error
	}{
		{name: "2xx is success", status: 201, want: provider.InvokeOutput{Status: 201, Body: []byte(`echo {"a":1}`)}},
		{name: "5xx is the function's failure", status: 502, want: provider.InvokeOutput{Status: 502, Body: []byte(`echo {"a":1}`), FunctionError: "HTTP 502"}},
		{name: "429 is a throttle with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, check: func(err error) bool {
			var te *provider.ThrottleError
			return errors.As(err, &te) && te.RetryAfter == 7*time.Second && errors.Is(err, provider.ErrThrottled)
		}},
		{name: "403 names the hint", status: 403, check: func(err error) bool { return strings.Contains(err.Error(), "(set a key)") }},
		{name: "401 names the hint", status: 401, check: func(err error) bool { return strings.Contains(err.Error(), "(set a key)") }},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %s with Content-Type %q, want POST application/json", tt.name, r.Method, r.Header.Get("Content-Type"))
			}
			for k, v := range tt.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte("echo " + string(b)))
		}))
		out, err := provider.InvokeHTTP(context.Background(), srv.Client(), srv.URL+"/fn", []byte(`{"a":1}`), 1<<20, "set a key")
		srv.Close()
		if tt.check != nil {
			if err == nil || !tt.check(err) {
				t.Errorf("%s: err = %v", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, out); diff != "" {
			t.Errorf("%s: output (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestInvokeHTTP_TransportFailureAndContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close()
	if _, err := provider.InvokeHTTP(context.Background(), nil, url, nil, 10, ""); !errors.Is(err, provider.ErrUnavailable) {
		t.Errorf("closed server: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := provider.InvokeHTTP(ctx, nil, url, nil, 10, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want context.Canceled", err)
	}
}

func TestInvokeInput_CheckPayload(t *testing.T) {
	in := provider.InvokeInput{Qualifier: "live", Payload: make([]byte, 11)}
	if err := in.CheckPayload(11, "the platform"); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := in.CheckPayload(10, "the platform")
	if !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), "is 11 bytes; the platform takes at most 10") {
		t.Errorf("over the limit: %v, want ErrInvalid saying the sizes", err)
	}
}
