package awslambda_test

import "github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"

// The tests run on the harness of awslambdatest (awslambdatest.New): an
// emulator with one function and an adapter pointed at it by endpoint only
// (the production code path), on one virtual clock.

const (
	fn   = awslambdatest.Function
	role = awslambdatest.Role
)
