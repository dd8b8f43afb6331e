package translate

import "errors"

// Errors returned by Container and VerifyRunAsNonRoot. They wrap the details with %w, so test
// them with errors.Is. Each of them is what the kubelet reports as CreateContainerConfigError:
// the controller sets that waiting reason (see Observed) and retries after the cause is fixed.
var (
	// ErrNotFound: a configMap, secret or key referenced by env or envFrom does not exist and
	// the reference is not optional.
	ErrNotFound = errors.New("not found")
	// ErrNoVolumeSource: a volume k2d must materialise (configMap, secret, projected,
	// downwardAPI, persistentVolumeClaim) has no entry in EnvContext.Volumes.
	ErrNoVolumeSource = errors.New("volume has no source")
	// ErrInvalidSubPath: subPath or subPathExpr is absolute, climbs out with "..", or is used on a
	// Docker named volume (API 1.41 cannot mount a volume's subdirectory).
	ErrInvalidSubPath = errors.New("invalid subPath")
	// ErrInvalidSpec: the pod refers to something it does not define (an unknown volume or
	// container), uses a field path env cannot read, or Container got an unknown kind.
	ErrInvalidSpec = errors.New("invalid pod spec")
	// ErrRunAsRoot: runAsNonRoot is set and the container would run as root, or the image user
	// is a name whose uid cannot be checked.
	ErrRunAsRoot = errors.New("container would run as root")
)
