// Package integration holds the end-to-end tests of provider/gcprun: the
// release workflow and the canary runner driving the adapter over the real
// Google Cloud clients against provider/gcprun/runtest, in virtual time.
// It has no code; the tests live here so that package gcprun never depends
// on canary or release, even in its tests.
package integration
