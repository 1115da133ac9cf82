// Package e2e holds the end-to-end test of a canary rollout judged on
// Prometheus data: the in-memory provider carries the routes, a real
// Prometheus server (metrics/prometheus/promtest) holds the traffic the
// rollout's schedule sends to each version, and the canary runner reads it
// through metrics/prometheus. It has no code of its own.
package e2e
