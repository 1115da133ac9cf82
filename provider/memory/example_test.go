package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// virtualClock is the smallest virtual clock: time moves only when told.
type virtualClock struct{ t time.Time }

func (c *virtualClock) Now() time.Time          { return c.t }
func (c *virtualClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func ExampleNew() {
	ctx := context.Background()
	clock := &virtualClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	p, err := memory.New(memory.Options{Now: clock.Now})
	if err != nil {
		fmt.Println(err)
		return
	}

	in := provider.PublishInput{
		Artifact: provider.Artifact{Zip: []byte("v1 code")},
		Config:   provider.Config{Runtime: "provided.al2023", MemoryMB: 128},
		Labels:   map[string]string{provider.LabelSemver: "1.0.0"},
	}
	v1, _ := p.Publish(ctx, "checkout", in)
	again, _ := p.Publish(ctx, "checkout", in) // a retried CI step
	fmt.Println("published", v1.ID, "then", again.ID)

	in.Artifact.Zip = []byte("v2 code")
	in.Labels = map[string]string{provider.LabelSemver: "1.1.0"}
	v2, _ := p.Publish(ctx, "checkout", in)

	prod, _ := p.SetRoute(ctx, "checkout", provider.To("prod", v1.ID))
	canary := provider.Split("prod", v1.ID, v2.ID, 1000)
	canary.Revision = prod.Revision
	prod, _ = p.SetRoute(ctx, "checkout", canary)
	fmt.Println("prod:", prod.Weights)

	stale := provider.To("prod", v2.ID) // no revision: a second pipeline creating prod
	_, err = p.SetRoute(ctx, "checkout", stale)
	fmt.Println("conflict:", errors.Is(err, provider.ErrConflict))

	err = p.DeleteVersion(ctx, "checkout", v1.ID)
	fmt.Println("delete routed version:", errors.Is(err, provider.ErrInUse))
	// Output:
	// published 1 then 1
	// prod: [{1 9000} {2 1000}]
	// conflict: true
	// delete routed version: true
}

func ExampleProvider_SetBehavior() {
	ctx := context.Background()
	clock := &virtualClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	p, _ := memory.New(memory.Options{Now: clock.Now, Seed: 1})
	stable, _ := p.Publish(ctx, "api", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("good")}})
	bad, _ := p.Publish(ctx, "api", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("bad")}})

	// A bad release: 20% errors and a slow tail.
	p.SetBehavior("api", stable.ID, memory.Behavior{ErrorRate: 0.001,
		Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 120 * time.Millisecond}})
	p.SetBehavior("api", bad.ID, memory.Behavior{ErrorRate: 0.2,
		Latency: memory.Latency{Median: 45 * time.Millisecond, P99: 900 * time.Millisecond}})

	// 50 requests per second arrive at prod; a 10% canary for ten minutes.
	p.SetLoad("api", "prod", 50)
	_, _ = p.SetRoute(ctx, "api", provider.Split("prod", stable.ID, bad.ID, 1000))
	start := clock.Now()
	clock.Advance(10 * time.Minute)

	obs, err := p.Observe(ctx, provider.Query{Function: "api", Alias: "prod",
		Versions: []string{stable.ID, bad.ID}, Start: start, End: clock.Now(), Period: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range obs.Series {
		t := s.Total()
		rate, _ := t.ErrorRate()
		// 50 rps × 600 s = 30000 requests: about 27000 and 3000. Total
		// reports the worst minute's p99.
		fmt.Printf("version %s: %d points, %d invocations, %.1f%% errors, worst p99 %v\n",
			s.Version, len(s.Points), t.Invocations, 100*rate, t.P99.Round(10*time.Millisecond))
	}
	// Output:
	// version 1: 10 points, 27100 invocations, 0.1% errors, worst p99 130ms
	// version 2: 10 points, 2951 invocations, 19.8% errors, worst p99 1.11s
}

func ExampleProvider_Inject() {
	ctx := context.Background()
	p, _ := memory.New(memory.Options{})
	v, _ := p.Publish(ctx, "api", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("code")}})

	// The next two SetRoute calls are throttled with a retry-after hint.
	p.Inject(memory.Fault{Ops: []string{memory.OpSetRoute}, Count: 2,
		Err: &provider.ThrottleError{RetryAfter: time.Second}})
	for range 3 {
		_, err := p.SetRoute(ctx, "api", provider.To("prod", v.ID))
		hint, _ := provider.RetryAfter(err)
		fmt.Println(errors.Is(err, provider.ErrThrottled), hint)
	}
	// Output:
	// true 1s
	// true 1s
	// false 0s
}
