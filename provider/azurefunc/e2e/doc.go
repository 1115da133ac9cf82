// Package e2e holds end-to-end tests of provider/azurefunc: slipway's
// release workflow (package release, with the canary runner) driving the
// adapter against the azuretest emulator in virtual time. It has no API;
// it exists so that provider/azurefunc itself never imports canary or
// release.
package e2e
