//go:build !unix

package reconcile

import (
	"os"
	"os/signal"
)

// Pause is the sandbox process (`k2d pause`); sandboxes only run on Linux, so elsewhere it
// only waits for an interrupt.
func Pause() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	<-sigs
	os.Exit(0)
}
