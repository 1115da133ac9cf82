package httpfn_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/provider/internal/httpfn"
)

func TestRun(t *testing.T) {
	echo := func(_ context.Context, b []byte) ([]byte, error) { return append([]byte("got "), b...), nil }
	boom := func(context.Context, []byte) ([]byte, error) { return nil, errors.New(`bad "input"`) }
	for _, tt := range []struct {
		name   string
		h      func(context.Context, []byte) ([]byte, error)
		status int
		body   string
	}{
		{"no handler", nil, 200, "null"},
		{"handler", echo, 200, "got x"},
		{"failing handler", boom, 500, `{"error":"bad \"input\""}`},
	} {
		status, body := httpfn.Run(context.Background(), tt.h, []byte("x"))
		if status != tt.status || string(body) != tt.body {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.body)
		}
	}
}

func TestTransport(t *testing.T) {
	var gotHost, gotPath, gotBody string
	c := &http.Client{Transport: httpfn.Transport("emu", ".example.test", func(_ context.Context, host, path string, body []byte) (int, []byte) {
		gotHost, gotPath, gotBody = host, path, string(body)
		return http.StatusTeapot, []byte(`{"ok":true}`)
	})}
	resp, err := c.Post("https://app.example.test/api/run", "application/json", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || string(out) != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("answer %d %q %q", resp.StatusCode, out, resp.Header.Get("Content-Type"))
	}
	if gotHost != "app.example.test" || gotPath != "/api/run" || gotBody != "payload" {
		t.Errorf("served %q %q %q", gotHost, gotPath, gotBody)
	}
	if _, err := c.Get("https://elsewhere.test/"); err == nil || !strings.Contains(err.Error(), "emu: no route to elsewhere.test") {
		t.Errorf("other host: %v", err)
	}
}
