package datadog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
	"github.com/slipway-dev/slipway/provider"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func query() provider.Query {
	return provider.Query{Function: "checkout", Versions: []string{"1", "2"}, Start: now.Add(-30 * time.Minute), End: now.Add(-10 * time.Minute), Period: time.Minute}
}

// TestCredentialsNeverFormatted: every fmt verb and slog render the keys
// as [redacted], also inside a struct that holds them.
func TestCredentialsNeverFormatted(t *testing.T) {
	holder := struct {
		Name  string
		Creds datadog.Credentials
	}{"prod", creds}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("configured", "creds", creds, "holder", holder)
	out := []string{
		fmt.Sprint(creds), fmt.Sprintf("%v %+v %#v %s %q %x", creds, creds, creds, creds, creds, creds),
		fmt.Sprintf("%v %+v", holder, holder), buf.String(),
	}
	for _, o := range out {
		if strings.Contains(o, creds.APIKey) || strings.Contains(o, creds.AppKey) {
			t.Errorf("formatted credentials leak a key: %s", o)
		}
	}
}

// TestErrorsHideKeys: a refused request's error names neither key.
func TestErrorsHideKeys(t *testing.T) {
	srv := newEmulator(t, datadogtest.Options{})
	src, err := datadog.New(datadog.Config{Queries: queries(), URL: srv.URL(), Now: func() time.Time { return now }}, datadog.Credentials{APIKey: "wrong-secret-key", AppKey: creds.AppKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Observe(context.Background(), query())
	if err == nil || errors.Is(err, provider.ErrInvalid) || provider.Retryable(err) {
		t.Fatalf("Observe with a wrong key: %v; want a non-retryable error without a sentinel", err)
	}
	if !strings.Contains(err.Error(), "forbidden") || strings.Contains(err.Error(), "wrong-secret-key") || strings.Contains(err.Error(), creds.AppKey) {
		t.Errorf("error %q: want 'forbidden' and no key", err)
	}
}

// TestThrottleResetHint: the 429's X-RateLimit-Reset becomes RetryAfter.
func TestThrottleResetHint(t *testing.T) {
	clk := &clock{t: now.Add(15 * time.Second)}
	srv := newEmulator(t, datadogtest.Options{Now: clk.Now, RateLimit: 1, RatePeriod: time.Minute})
	src := newSource(t, srv, datadog.Config{Queries: queries(), Now: clk.Now})
	_, err := src.Observe(context.Background(), query())
	if d, ok := provider.RetryAfter(err); !ok || d != 45*time.Second {
		t.Fatalf("RetryAfter(%v) = %s, %t; want 45s (the period's remaining seconds)", err, d, ok)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Function != "checkout" {
		t.Errorf("%v is not a *provider.Error naming checkout", err)
	}
}

// TestWrongInterval: a template without a rollup to the period gives
// Datadog's default interval: ErrInvalid, saying how to fix it.
func TestWrongInterval(t *testing.T) {
	srv := newEmulator(t, datadogtest.Options{})
	srv.Submit("slipway.requests", []string{"function:checkout", "version:1", "alias:live"}, datadogtest.Point{Time: now.Add(-20 * time.Minute), Value: 5})
	q := queries()
	q.Invocations = "sum:slipway.requests{function:{{function}},version:{{version}}}.as_count()"
	src := newSource(t, srv, datadog.Config{Queries: q, Now: func() time.Time { return now }})
	_, err := src.Observe(context.Background(), query())
	if !errors.Is(err, provider.ErrInvalid) || !strings.Contains(err.Error(), "rollup") {
		t.Fatalf("Observe with a template lacking .rollup: %v, want ErrInvalid naming the rollup", err)
	}
}

// TestRequests: the placeholders expand, {{alias}} is * without an alias,
// windows split at MaxPoints periods.
func TestRequests(t *testing.T) {
	srv := newEmulator(t, datadogtest.Options{})
	src := newSource(t, srv, datadog.Config{Queries: datadog.Queries{
		Invocations: "sum:r{fn:{{function}},v:{{version}},a:{{alias}}}.rollup(sum,{{period}})",
		Errors:      "sum:e{fn:{{function}}}.rollup(sum,{{period}})",
	}, MaxPoints: 15, Concurrency: 1, Now: func() time.Time { return now }})
	q := query()
	q.Versions = []string{"7"}
	if _, err := src.Observe(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	q.Alias = "live"
	if _, err := src.Observe(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, fmt.Sprintf("%s %d", r.Query, (r.To-r.From)/60))
	}
	want := []string{
		"sum:r{fn:checkout,v:7,a:*}.rollup(sum,60) 15", "sum:r{fn:checkout,v:7,a:*}.rollup(sum,60) 5",
		"sum:e{fn:checkout}.rollup(sum,60) 15", "sum:e{fn:checkout}.rollup(sum,60) 5",
		"sum:r{fn:checkout,v:7,a:live}.rollup(sum,60) 15", "sum:r{fn:checkout,v:7,a:live}.rollup(sum,60) 5",
		"sum:e{fn:checkout}.rollup(sum,60) 15", "sum:e{fn:checkout}.rollup(sum,60) 5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConfigValidate(t *testing.T) {
	good := datadog.Queries{Invocations: "a", Errors: "b"}
	for _, c := range []struct {
		cfg   datadog.Config
		field string
	}{
		{datadog.Config{Queries: good}, ""},
		{datadog.Config{Queries: datadog.Queries{Errors: "b"}}, "queries.invocations"},
		{datadog.Config{Queries: datadog.Queries{Invocations: "a"}}, "queries.errors"},
		{datadog.Config{Queries: datadog.Queries{Invocations: "a{{{fn}}}", Errors: "b"}}, "queries.invocations"},
		{datadog.Config{Queries: datadog.Queries{Invocations: "a", Errors: "b", P50: "c"}}, "queries.p90"},
		{datadog.Config{Queries: good, URL: "127.0.0.1:80"}, "url"},
		{datadog.Config{Queries: good, URL: "http://h/api"}, "url"},
		{datadog.Config{Queries: good, Resolution: 1500 * time.Millisecond}, "resolution"},
		{datadog.Config{Queries: good, Delay: -1}, "delay"},
	} {
		err := c.cfg.Validate()
		var ie *provider.InvalidError
		if c.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.cfg, err)
			}
			continue
		}
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%+v: Validate() = %v, want an error naming %s", c.cfg, err, c.field)
		}
	}
	if _, err := datadog.New(datadog.Config{Queries: good}, datadog.Credentials{APIKey: "x"}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("New without an application key: %v, want ErrInvalid", err)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	t.Setenv("DD_API_KEY", "a")
	t.Setenv("DD_APP_KEY", "")
	t.Setenv("DD_APPLICATION_KEY", "b")
	c, err := datadog.CredentialsFromEnv()
	if err != nil || c.APIKey != "a" || c.AppKey != "b" {
		t.Errorf("CredentialsFromEnv() = %v (%q, %q), want a and b", err, c.APIKey, c.AppKey)
	}
	t.Setenv("DD_APPLICATION_KEY", "")
	if _, err := datadog.CredentialsFromEnv(); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("without an application key: %v, want ErrInvalid", err)
	}
}
