// Package canary shifts a route's traffic from a stable version to a
// candidate in steps, judging each step with pluggable metric checks, and
// rolls back automatically when the candidate is worse.
package canary
