package promtest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server when the test process dies, so a
// crashed or killed test leaves no Prometheus behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
