//go:build unix

package reconcile

import (
	"os"
	"os/signal"
	"syscall"
)

// Pause is the sandbox process (`k2d pause`): PID 1 of every pod's sandbox container. It holds
// the pod's network namespace, sleeps until SIGTERM or SIGINT and exits 0 then, and reaps
// zombies that processes of the pod leave behind when they share its PID namespace. It never
// returns.
func Pause() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every exited child; SIGCHLD coalesces, so one signal may stand for many.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
