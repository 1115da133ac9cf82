package schemadiff_test

import (
	"fmt"

	"github.com/slipway-dev/slipway/schemadiff"
)

func ExampleBump() {
	previous := []byte(`{"type":"object","required":["orderId","customerId"],
		"properties":{"orderId":{"type":"string"},"customerId":{"type":"string"}}}`)
	candidate := []byte(`{"type":"object","required":["orderId"],
		"properties":{"orderId":{"type":"string"},"channel":{"type":"string"}}}`)
	r, err := schemadiff.Diff(previous, candidate)
	if err != nil {
		panic(err)
	}
	for _, c := range r.Changes {
		fmt.Println(c.Level, c)
	}
	fmt.Println(schemadiff.Bump(r, []string{"fix: tidy the handler"}).Reason)
	// Output:
	// minor optional property added at channel
	// major property removed at customerId
	// major: the input schema breaks callers (property removed at customerId); the commits call for patch
}
