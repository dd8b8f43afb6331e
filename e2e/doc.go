// Package e2e holds the end-to-end tests of k2d: they build (or take from $K2D_BIN) the real
// binary, start one server on a free port with a temporary data dir, and drive the real kubectl
// (/usr/bin/kubectl, or $K2D_KUBECTL) and docker CLI against the local Docker engine, checking
// what a user sees: Table columns, error wording, containers, events, restarts.
//
// The package has no code of its own; everything lives in *_test.go so `go test ./...` runs it.
//
// How a run goes: TestMain checks the tools (a missing docker CLI or kubectl skips every test with
// a reason, except under CI=true where it fails), builds the binary, starts it, waits for /readyz
// and loads the kubeconfig it wrote. Tests run one after another, each in its own namespace where
// it can, and may restart k2d (SIGTERM or SIGKILL) or dockerd. The last test, TestZZReset, runs
// `k2d reset --yes` and checks that nothing labelled io.k2d.managed=true is left (and that objects
// k2d did not create are); TestMain resets too when that test did not run.
//
// Environment:
//   - K2D_BIN: the binary to test (default: build ../bin/k2d).
//   - K2D_KUBECTL: the kubectl to drive (default /usr/bin/kubectl, else kubectl on PATH).
//   - K2D_E2E_RESTART_DOCKERD=1: allow TestDockerdRestart to restart dockerd (off by default: on a
//     shared machine the engine belongs to others too). .ci/run sets it.
//   - K2D_E2E_CLEAN_START=1: run `k2d reset` before starting, to clear what an earlier run left.
//     .ci/run sets it.
//   - K2D_E2E_KEEP=1: keep the work dir (logs, kubeconfig) after the run.
//
// Caveats: the engine is shared by everything on the machine. `k2d reset` removes every object
// labelled io.k2d.managed=true, so do not run this suite while another k2d serves real work on
// the same engine, and two k2d servers on one engine see each other's containers.
package e2e
