package release_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// BenchmarkReplay replays 100 recorded events, each validated against the
// candidate's schema, on memory and on the Lambda emulator (through the
// adapter and the SDK: one Invoke request per event).
func BenchmarkReplay(b *testing.B) {
	for _, pl := range []*platform{memoryPlatform(b), lambdaPlatform(b)} {
		b.Run(pl.name, func(b *testing.B) {
			pl.publish(b, 1)
			pl.handler(b, "1", orderHandler(true))
			c := release.Contract{Schema: []byte(inputV1)}
			for i := range 100 {
				c.Events = append(c.Events, release.RecordedEvent{Name: fmt.Sprint(i), Payload: json.RawMessage(fmt.Sprintf(`{"orderId":"o-%d","customerId":"c"}`, i))})
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := release.Replay(context.Background(), pl.p.(provider.Invoker), e2eFn, "1", c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
