package azurefunc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

func TestInvoke(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	var ids []string
	for _, code := range []string{"a", "b"} {
		v, err := e.p.Publish(ctx, fn, zipIn(code))
		must(t, err)
		ids = append(ids, v.ID)
	}
	e.srv.SetHandler(fn, ids[0], func(context.Context, []byte) ([]byte, error) { return []byte(`"a"`), nil })
	e.srv.SetHandler(fn, ids[1], func(context.Context, []byte) ([]byte, error) { return nil, errors.New("b fails") })
	for _, r := range []provider.Route{provider.To("production", ids[0]), provider.To("staging", ids[1])} {
		if _, err := e.p.SetRoute(ctx, fn, r); err != nil {
			t.Fatal(err)
		}
	}
	// The staging slot's host runs the staging version; its failure is a
	// function error.
	out, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "staging", Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != "HTTP 500" || out.ExecutedVersion != ids[1] {
		t.Errorf("staging: %+v %s %v", out, out.Body, err)
	}
	// A version by ID reaches the slot that runs it.
	out, err = e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: ids[0]})
	if err != nil || out.Failed() || out.ExecutedVersion != ids[0] || string(out.Body) != `"a"` {
		t.Errorf("version: %+v %v", out, err)
	}
	// Production with a 20% ramp-up rule: 2 of 10 requests reach the
	// candidate; the split names no version.
	prod, err := e.p.Route(ctx, fn, "production")
	must(t, err)
	split := provider.Split("production", ids[0], ids[1], 2000)
	split.Revision = prod.Revision
	if _, err := e.p.SetRoute(ctx, fn, split); err != nil {
		t.Fatal(err)
	}
	fails := 0
	for range 10 {
		out, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "production"})
		must(t, err)
		if out.Failed() {
			fails++
		}
		if out.ExecutedVersion != "" {
			t.Errorf("the split named version %q", out.ExecutedVersion)
		}
	}
	if fails != 2 {
		t.Errorf("%d of 10 production requests reached the 20%% candidate", fails)
	}
	got := e.srv.Invocations()
	if len(got) == 0 || got[0].Host != fn+"-staging.azurewebsites.net" || got[0].Path != "/api/orders" {
		t.Errorf("first invocation %+v", got[0])
	}
	if _, err := e.p.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "nope"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing route: %v", err)
	}
}
