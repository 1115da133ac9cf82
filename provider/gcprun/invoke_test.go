package gcprun_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

func TestInvoke(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: -1})
	ctx := context.Background()
	var ids []string
	for i, code := range []string{"a", "b"} {
		v, err := e.p.Publish(ctx, fn, provider.PublishInput{Artifact: zipOf(code), Config: config(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	e.srv.SetHandler(ids[0], func(context.Context, []byte) ([]byte, error) { return []byte(`"one"`), nil })
	e.srv.SetHandler(ids[1], func(context.Context, []byte) ([]byte, error) { return nil, errors.New("two fails") })
	for _, r := range []provider.Route{provider.Split("live", ids[0], ids[1], 5000), provider.To("canary", ids[1])} {
		if _, err := e.p.SetRoute(ctx, fn, r); err != nil {
			t.Fatal(err)
		}
	}

	// A tag reaches its revision only; a failing function is a function
	// error, not an error of Invoke.
	out, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "canary", Payload: []byte(`{}`)})
	if err != nil || out.Status != 500 || out.FunctionError != "HTTP 500" || out.ExecutedVersion != ids[1] || string(out.Body) != `{"error":"two fails"}` {
		t.Errorf("tag: %+v %s %v", out, out.Body, err)
	}
	// The revision the tag pins is reachable by its ID too.
	if out, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: ids[1]}); err != nil || out.ExecutedVersion != ids[1] {
		t.Errorf("tagged revision: %+v %v", out, err)
	}
	// An untagged revision is not reachable on Cloud Run.
	if _, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: ids[0]}); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("untagged revision: %v", err)
	}
	// The split sends half the requests to each revision.
	fails := 0
	for range 10 {
		out, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "live"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Failed() {
			fails++
		}
		if out.ExecutedVersion != "" {
			t.Errorf("the split named version %q", out.ExecutedVersion)
		}
	}
	if fails != 5 {
		t.Errorf("%d of 10 requests reached the failing half", fails)
	}
	if _, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "nope"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing tag: %v", err)
	}
}
