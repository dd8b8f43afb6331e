#!/usr/bin/env bash
# ensure-helm.sh prints the path of a Helm 3 binary for the end-to-end tests (e2e/helm_test.go),
# building it first if none is found. It is idempotent: once built, it only checks.
#
# It looks, in order, at:
#   1. $K2D_HELM, if set and executable;
#   2. /work/cache/helm-v3.22.0/helm (a shared build cache on the development machine);
#   3. ${XDG_CACHE_HOME:-$HOME/.cache}/k2d/helm-v3.22.0/helm;
# and otherwise builds Helm from source into (3) with `go install` (Go is the only tool needed;
# a fresh CI machine does this once, in a few minutes). Helm never goes into the repository.
#
# Only the path goes to stdout; progress and errors go to stderr.
#
# Environment:
#   K2D_HELM          a helm binary to use as is
#   K2D_HELM_VERSION  the Helm version to build (default v3.22.0)
#   GO                the go command (default go)
set -euo pipefail

VERSION=${K2D_HELM_VERSION:-v3.22.0}
GO=${GO:-go}

log() { printf 'ensure-helm: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# usable prints $1 and succeeds if it is an executable helm that runs.
usable() {
	[ -n "$1" ] && [ -f "$1" ] && [ -x "$1" ] && "$1" version --short >/dev/null 2>&1 && printf '%s\n' "$1"
}

if [ -n "${K2D_HELM:-}" ]; then
	usable "$K2D_HELM" && exit 0
	log "warning: K2D_HELM=$K2D_HELM is not an executable helm; looking elsewhere"
fi

cache_root=${XDG_CACHE_HOME:-${HOME:-}/.cache}
[ -n "$cache_root" ] && [ "$cache_root" != /.cache ] || die "neither XDG_CACHE_HOME nor HOME is set: cannot choose where to build helm"
dir="$cache_root/k2d/helm-$VERSION"

for candidate in "/work/cache/helm-$VERSION/helm" "$dir/helm"; do
	usable "$candidate" && exit 0
done

command -v "$GO" >/dev/null 2>&1 || die "no helm found and no Go toolchain ($GO) to build helm $VERSION"
mkdir -p "$dir"
# Build into a private directory and rename at the end: an interrupted build, or two callers
# building at once, never leave a half-written binary at the final path.
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building helm $VERSION into $dir (go install; a few minutes the first time)"
start=$SECONDS
# From a directory outside any module, so no go.mod or go.work around the caller interferes;
# GOFLAGS=-mod=mod overrides a -mod=vendor a developer may have set; GOBIN is absolute and ours,
# whatever GOPATH is.
(
	cd "$tmp"
	env GOFLAGS=-mod=mod GOBIN="$tmp/bin" GOWORK=off CGO_ENABLED=0 \
		"$GO" install "helm.sh/helm/v3/cmd/helm@$VERSION"
) >&2 || die "go install helm.sh/helm/v3/cmd/helm@$VERSION failed"
[ -x "$tmp/bin/helm" ] || die "go install succeeded but $tmp/bin/helm is missing"
mv -f "$tmp/bin/helm" "$dir/helm"
log "built $dir/helm in $((SECONDS - start))s: $("$dir/helm" version --short 2>/dev/null || echo '?')"
usable "$dir/helm" || die "$dir/helm does not run"
