// Package integration holds the tests that drive several of the module's
// packages together through a platform adapter: the canary runner and
// retention against AWS Lambda's adapter (provider/awslambda), its real
// SDK clients and the in-process emulator (provider/awslambda/lambdatest);
// the release workflow against Cloud Run functions' adapter
// (provider/gcprun), the Google Cloud clients over gRPC and its emulator
// (provider/gcprun/runtest), and against Azure Functions' adapter
// (provider/azurefunc) and its emulator (provider/azurefunc/azuretest);
// CloudWatch alarms as rollback triggers (canary.Alarms over
// provider/awslambda); a canary judged on a real Prometheus server
// (metrics/prometheus with metrics/prometheus/promtest) over the in-memory
// provider; and notifier secrets kept out of a release's logs.
//
// They live here, not beside the adapter, so that the adapter's own tests
// depend on the provider contract alone (go list -deps -test
// ./provider/awslambda or ./provider/gcprun names neither canary nor
// retention) and the
// package graph's rule "provider/* never imports canary, retention or
// release" holds for test code too. The package has no code of its own.
package integration
