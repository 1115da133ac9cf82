package slipway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/semver"
)

// Example shows how the packages compose: semver picks the version number,
// provider publishes an immutable version labelled with it, and a route
// sends traffic to it.
func Example() {
	ctx := context.Background()
	p, err := memory.New(memory.Options{Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		panic(err)
	}
	next, err := semver.MustParse("1.4.2").NextFromCommits([]string{"feat: canary weights"})
	if err != nil {
		panic(err)
	}
	code := []byte("built artifact")
	sum := sha256.Sum256(code)
	v, err := p.Publish(ctx, "checkout", provider.PublishInput{
		Artifact: provider.Artifact{Zip: code, SHA256: hex.EncodeToString(sum[:])},
		Config:   provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 3 * time.Second},
		Labels:   map[string]string{provider.LabelSemver: next.String()},
	})
	if err != nil {
		panic(err)
	}
	r, err := p.SetRoute(ctx, "checkout", provider.To("production", v.ID))
	if err != nil {
		panic(err)
	}
	fmt.Printf("version %s labelled %s; %s sends all traffic to %s\n", v.ID, v.Labels[provider.LabelSemver], r.Alias, r.Primary())
	// Output: version 1 labelled 1.5.0; production sends all traffic to 1
}
