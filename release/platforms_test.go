package release_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/memory"
)

// platform is one provider the end-to-end tests of issue 19's steps run on
// (memory, and the Lambda adapter over the lambdatest emulator), with the
// set-up each offers in its own terms.
type platform struct {
	name  string
	clock *canary.VirtualClock
	p     provider.Provider
	m     provider.Metrics
	// handler sets the code version runs when invoked.
	handler func(t testing.TB, version string, h func(ctx context.Context, payload []byte) ([]byte, error))
	// grant adds an invoke grant to a version: principal "*" is public, a
	// 12-digit account another account.
	grant func(t testing.TB, version, sid, principal string)
	// mapping adds an event-source mapping pinned to qualifier.
	mapping func(t testing.TB, qualifier, source string) string
	// permissions lists a version's grants by statement ID.
	permissions func(t testing.TB, version string) []string
	// load sets the organic requests per second arriving at alias;
	// errorRate a version's share of failing requests.
	load      func(t testing.TB, alias string, rps float64)
	errorRate func(t testing.TB, version string, rate float64)
	// invocations counts the invocations the platform ran (nil for memory,
	// which keeps no log: counted by wrapping the handlers).
	invocations func() []string
}

const e2eFn = "orders"

var e2eStart = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// platforms returns a fresh memory and emulator platform, each with e2eFn
// created (the emulator needs it before the first publish).
func platforms(t testing.TB) []*platform {
	return []*platform{memoryPlatform(t), lambdaPlatform(t)}
}

func memoryPlatform(t testing.TB) *platform {
	clk := canary.NewVirtualClock(e2eStart)
	mem, err := memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	perms := map[string][]provider.Permission{}
	memLog := &invocationLog{}
	var sources []provider.EventSource
	return &platform{
		name: "memory", clock: clk, p: mem, m: mem,
		load: func(_ testing.TB, alias string, rps float64) { mem.SetLoad(e2eFn, alias, rps) },
		errorRate: func(_ testing.TB, v string, rate float64) {
			mem.SetBehavior(e2eFn, v, memory.Behavior{ErrorRate: rate})
		},
		handler: func(_ testing.TB, v string, h func(context.Context, []byte) ([]byte, error)) {
			mem.SetHandler(e2eFn, v, func(ctx context.Context, p []byte) ([]byte, error) {
				memLog.add(v)
				return h(ctx, p)
			})
		},
		invocations: memLog.list,
		grant: func(_ testing.TB, v, sid, principal string) {
			perms[v] = append(perms[v], provider.Permission{ID: sid, Principal: principal, Action: "lambda:InvokeFunction", Public: principal == "*"})
			mem.SetPermissions(e2eFn, v, perms[v])
		},
		mapping: func(_ testing.TB, q, src string) string {
			id := fmt.Sprintf("m%d", len(sources)+1)
			sources = append(sources, provider.EventSource{ID: id, Source: src, Qualifier: q, State: "Enabled"})
			mem.SetEventSources(e2eFn, sources)
			return id
		},
		permissions: func(t testing.TB, v string) []string {
			ps, err := mem.Permissions(context.Background(), e2eFn, v)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			return ids
		},
	}
}

func lambdaPlatform(t testing.TB) *platform {
	clk := canary.NewVirtualClock(e2eStart)
	srv := lambdatest.NewServer(lambdatest.Options{Now: clk.Now, SettlePolls: -1})
	t.Cleanup(srv.Close)
	if err := srv.CreateFunction(e2eFn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap",
		Role: "arn:aws:iam::123456789012:role/orders"}); err != nil {
		t.Fatal(err)
	}
	p := awslambda.NewFromClients(srv.LambdaClient(), srv.CloudWatchClient(), awslambda.Options{Now: clk.Now, Sleep: clk.Sleep, MetricsDelay: time.Minute})
	return &platform{
		name: "lambda", clock: clk, p: p, m: p,
		load: func(t testing.TB, alias string, rps float64) {
			if err := srv.SetLoad(e2eFn, alias, rps); err != nil {
				t.Fatal(err)
			}
		},
		errorRate: func(t testing.TB, v string, rate float64) {
			if err := srv.SetBehavior(e2eFn, v, lambdatest.Behavior{ErrorRate: rate, P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
		},
		handler: func(_ testing.TB, v string, h func(context.Context, []byte) ([]byte, error)) {
			srv.SetHandler(e2eFn, v, lambdatest.Handler(h))
		},
		invocations: func() []string {
			var out []string
			for _, iv := range srv.Invocations() {
				out = append(out, iv.Version)
			}
			return out
		},
		grant: func(t testing.TB, v, sid, principal string) {
			if err := srv.AddPermission(e2eFn, v, lambdatest.Permission{Sid: sid, Principal: principal}); err != nil {
				t.Fatal(err)
			}
		},
		mapping: func(t testing.TB, q, src string) string {
			id, err := srv.AddEventSourceMapping(e2eFn, q, src)
			if err != nil {
				t.Fatal(err)
			}
			return id
		},
		permissions: func(t testing.TB, v string) []string {
			ps, err := p.Permissions(context.Background(), e2eFn, v)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
			return ids
		},
	}
}

// publish publishes n versions with distinct code and returns their IDs.
func (pl *platform) publish(t testing.TB, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		v, err := pl.p.Publish(context.Background(), e2eFn, provider.PublishInput{
			Artifact: provider.Artifact{Zip: fmt.Appendf(nil, "code %s", pl.clock.Now())}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		_ = pl.clock.Sleep(context.Background(), time.Second) // a fresh context never ends
	}
	return ids
}

func (pl *platform) route(t testing.TB, r provider.Route) {
	t.Helper()
	cur, err := pl.p.Route(context.Background(), e2eFn, r.Alias)
	if err == nil {
		r.Revision = cur.Revision
	}
	if _, err := pl.p.SetRoute(context.Background(), e2eFn, r); err != nil {
		t.Fatal(err)
	}
}

// invocationLog records the versions the memory provider's handlers ran.
type invocationLog struct {
	mu  sync.Mutex
	log []string
}

func (l *invocationLog) add(v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, v)
}

func (l *invocationLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}
