package integration_test

import (
	"testing"

	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
)

// The AWS Lambda tests run on the harness of provider/awslambda's own
// tests (awslambdatest.New).

const (
	fn   = awslambdatest.Function
	role = awslambdatest.Role
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	healthy = awslambdatest.Healthy
	faulty  = awslambdatest.Faulty
)
