package azurefunc_test

import (
	"archive/zip"
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// newClock returns the tests' virtual clock.
func newClock() *providertest.Clock {
	return providertest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

const fn = "checkout"

// env is an emulator with one function app "checkout" and an adapter
// pointed at it by endpoint and transport only (the production code path).
type env struct {
	clock *providertest.Clock
	srv   *azuretest.Server
	p     *azurefunc.Provider
}

func newEnv(t *testing.T, opts azuretest.Options) *env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	srv := azuretest.NewServer(opts)
	t.Cleanup(srv.Close)
	must(t, srv.CreateSite(fn, map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCTIONS_EXTENSION_VERSION": "~4"}))
	return &env{clock: c, srv: srv, p: newProvider(t, srv, c)}
}

func newProvider(t *testing.T, srv *azuretest.Server, c *providertest.Clock) *azurefunc.Provider {
	t.Helper()
	return newProviderB(t, srv, c)
}

func newProviderB(t testing.TB, srv *azuretest.Server, c *providertest.Clock) *azurefunc.Provider {
	t.Helper()
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(),
		azurefunc.Options{Packages: srv.Packages(), Now: c.Now, Sleep: c.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
			InvokePath: "/api/orders", InvokeClient: &http.Client{Transport: srv.InvokeTransport()}},
		srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// zipOf returns a deterministic zip holding one file named after code.
func zipOf(code string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "function.json", Method: zip.Store})
	_, _ = w.Write([]byte(`{"code":"` + code + `"}`))
	_ = zw.Close()
	return buf.Bytes()
}

func zipIn(code string) provider.PublishInput {
	return provider.PublishInput{Artifact: provider.Artifact{Zip: zipOf(code)}, Config: provider.Config{Runtime: "custom", Environment: map[string]string{"MODE": code}}}
}

// syncMap is a typed sync.Map.
type syncMap[K comparable, V any] struct{ m sync.Map }

func (s *syncMap[K, V]) Store(k K, v V) { s.m.Store(k, v) }

func (s *syncMap[K, V]) Load(k K) (V, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}
