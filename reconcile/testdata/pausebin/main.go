// Command pausebin is the sandbox process for the integration tests: the real k2d binary
// is built by cmd/k2d, and a test binary cannot run `pause` itself.
package main

import "github.com/k2d-project/k2d/reconcile"

func main() { reconcile.Pause() }
