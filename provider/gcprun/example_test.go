package gcprun_test

import (
	"context"
	"fmt"
	"log"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// The adapter on its emulator: the first Publish creates the function,
// the second deploys a revision without moving traffic, and the split
// route sends 10% to it.
func Example() {
	ctx := context.Background()
	srv := runtest.NewServer(runtest.Options{Polls: -1})
	defer srv.Close()
	p, err := gcprun.New(ctx, gcprun.Options{Project: srv.Project(), Location: srv.Location()}, srv.ClientOptions()...)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	var ids []string
	for i := range 2 {
		v, err := p.Publish(ctx, "checkout", provider.PublishInput{
			Artifact: zipOf(fmt.Sprint("v", i)),
			Config:   provider.Config{Runtime: "go125", Handler: "Checkout"},
			Labels:   map[string]string{provider.LabelSemver: fmt.Sprintf("1.%d.0", i)},
		})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	r, err := p.SetRoute(ctx, "checkout", provider.Split("live", ids[0], ids[1], 1000))
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range r.Weights {
		fmt.Printf("%s %d%%\n", w.Version, w.BasisPoints/100)
	}
	// A step finer than a whole percent cannot be expressed.
	fmt.Println(p.Capabilities().CheckWeight(50) != nil)
	// Output:
	// checkout-00001-cda 90%
	// checkout-00002-fat 10%
	// true
}
