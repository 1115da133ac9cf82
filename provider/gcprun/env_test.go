package gcprun_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// clock is a virtual clock: Sleep advances it instead of waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// env is an emulator and an adapter pointed at it by client options only
// (the production code path of gcprun.New).
type env struct {
	clock *clock
	srv   *runtest.Server
	p     *gcprun.Provider
}

const fn = "checkout"

func newEnv(t testing.TB, opts runtest.Options) *env {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	srv := runtest.NewServer(opts)
	t.Cleanup(srv.Close)
	p, err := gcprun.New(context.Background(), gcprun.Options{
		Project: srv.Project(), Location: srv.Location(), Now: c.Now, Sleep: c.Sleep,
		InvokeClient: &http.Client{Transport: srv.InvokeTransport()},
	}, srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &env{clock: c, srv: srv, p: p}
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
