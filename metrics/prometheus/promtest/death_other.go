//go:build !linux

package promtest

import "os/exec"

// setDeathSignal does nothing where the platform has no parent-death
// signal; t.Cleanup stops the server.
func setDeathSignal(*exec.Cmd) {}
