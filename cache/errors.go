package cache

import (
	"errors"
	"fmt"
)

// ErrExpired is returned by Watch when the requested resourceVersion is older than the history.
var ErrExpired = errors.New("too old resource version")

// ErrNameRequired is returned by Create when neither name nor generateName is set.
var ErrNameRequired = errors.New("name or generateName is required")

// NotFoundError reports a missing object.
type NotFoundError struct{ Resource, Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Resource, e.Name) }

// AlreadyExistsError reports a create of an existing name.
type AlreadyExistsError struct{ Resource, Name string }

func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("%s %q already exists", e.Resource, e.Name)
}

// ConflictError reports a failed resourceVersion (or uid) precondition.
type ConflictError struct {
	Resource, Name string
	UID            bool
}

func (e *ConflictError) Error() string {
	if e.UID {
		return fmt.Sprintf("Precondition failed: UID in precondition does not match the UID of %s %q", e.Resource, e.Name)
	}
	return fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", e.Resource, e.Name)
}
