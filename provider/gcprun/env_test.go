package gcprun_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// newClock returns the tests' virtual clock.
func newClock() *providertest.Clock {
	return providertest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

// env is an emulator and an adapter pointed at it by client options only
// (the production code path of gcprun.New).
type env struct {
	clock *providertest.Clock
	srv   *runtest.Server
	p     *gcprun.Provider
}

const fn = "checkout"

func newEnv(t testing.TB, opts runtest.Options) *env {
	t.Helper()
	return newEnvOf(t, opts, false)
}

// newEnvOf is newEnv, with the adapter deploying Cloud Run services
// (Options.Services) when services is set.
func newEnvOf(t testing.TB, opts runtest.Options, services bool) *env {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	srv := runtest.NewServer(opts)
	t.Cleanup(srv.Close)
	p, err := gcprun.New(context.Background(), gcprun.Options{
		Project: srv.Project(), Location: srv.Location(), Services: services, Now: c.Now, Sleep: c.Sleep,
		InvokeClient: &http.Client{Transport: srv.InvokeTransport()},
	}, srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &env{clock: c, srv: srv, p: p}
}

// publishN publishes input(0)..input(n-1) and returns the revision IDs.
func (e *env) publishN(t testing.TB, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		v, err := e.p.Publish(t.Context(), fn, input(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// config is a configuration Cloud Functions accepts.
func config(i int) provider.Config {
	return provider.Config{Runtime: "go125", Handler: "Handler", MemoryMB: 256, Timeout: 60 * time.Second, Role: "fn@slipway-test.iam.gserviceaccount.com"}
}

// zipOf returns a deterministic zip archive holding one file.
func zipOf(contents string) provider.Artifact {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "main.go", Method: zip.Store})
	if err == nil {
		_, err = w.Write([]byte("package main // " + contents + "\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err)
	}
	return provider.Artifact{Zip: buf.Bytes()}
}
