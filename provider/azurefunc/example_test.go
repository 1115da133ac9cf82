package azurefunc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

// A canary on Azure Functions, on the emulator: versions are recorded
// packages, production sends 10% to the ramp-up slot through a ramp-up
// rule, and promotion swaps the slot into production.
func Example() {
	ctx := context.Background()
	srv := azuretest.NewServer(azuretest.Options{SwapPolls: -1})
	defer srv.Close()
	if err := srv.CreateSite("checkout", map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
		log.Fatal(err)
	}
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(),
		azurefunc.Options{Packages: srv.Packages()}, srv.ClientOptions())
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for _, code := range []string{"v1", "v2"} {
		v, err := p.Publish(ctx, "checkout", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("PK " + code)}})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	r, err := p.SetRoute(ctx, "checkout", provider.To("production", ids[0]))
	if err != nil {
		log.Fatal(err)
	}
	canary := provider.Split("production", ids[0], ids[1], 1000)
	canary.Revision = r.Revision
	if r, err = p.SetRoute(ctx, "checkout", canary); err != nil {
		log.Fatal(err)
	}
	rules, _ := srv.RampUpRules("checkout")
	fmt.Println("canary:", r.Traffic())
	fmt.Println("rules: ", string(rules))

	promote := provider.To("production", ids[1])
	promote.Revision = r.Revision
	if r, err = p.SetRoute(ctx, "checkout", promote); err != nil {
		log.Fatal(err)
	}
	prod, _ := srv.Settings("checkout", "")
	slot, _ := srv.Settings("checkout", azurefunc.DefaultRampUpSlot)
	fmt.Println("promoted:", r.Traffic())
	fmt.Println("production slot runs", prod["SLIPWAY_VERSION"], "and the ramp-up slot", slot["SLIPWAY_VERSION"])
	// Output:
	// canary: fb5b4f0d93aa=90% 18829159321c=10%
	// rules:  [{"name":"canary","actionHostName":"checkout-canary.azurewebsites.net","reroutePercentage":10}]
	// promoted: 18829159321c=100%
	// production slot runs 18829159321c and the ramp-up slot fb5b4f0d93aa
}
