package reconcile

import (
	"errors"
	"fmt"
)

// BadRequestError is a stream request the user can fix: a container that does not exist in
// the pod, one that is not running yet, a previous instance that never existed. The API
// answers 400 with Message, in the API server's words.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// PodNotFoundError reports a stream request for a pod that is not in the cache; the API
// answers 404 (`pods "x" not found`).
type PodNotFoundError struct{ Namespace, Name string }

func (e *PodNotFoundError) Error() string { return fmt.Sprintf("pods %q not found", e.Name) }

// ErrNotRunning is returned by Exec and Attach when the container has no running process.
var ErrNotRunning = errors.New("container is not running")

func errContainerNotValid(container, pod string) error {
	return &BadRequestError{Message: fmt.Sprintf("container %s is not valid for pod %s", container, pod)}
}

func errContainerWaiting(container, pod, reason string) error {
	return &BadRequestError{Message: fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod, reason)}
}

func errNoPrevious(container, pod string) error {
	return &BadRequestError{Message: fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod)}
}

func errNotRunning(container, pod string) error {
	return &BadRequestError{Message: fmt.Sprintf("container %s is not running in pod %s: %v", container, pod, ErrNotRunning)}
}
