package schemadiff_test

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/schemadiff"
)

func BenchmarkDiff(b *testing.B) {
	old, new := []byte(orderV1), []byte(strings.Replace(orderV1, `"required": ["sku"]`, `"required": ["sku", "qty"]`, 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schemadiff.Diff(old, new); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	v, err := schemadiff.Compile([]byte(orderV1))
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(`{"orderId":"o-1","amount":3,"items":[{"sku":"a","qty":2}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}
