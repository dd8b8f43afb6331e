#!/usr/bin/env bash
# ensure-docker.sh makes sure a Docker engine answers `docker info` and that the tools the tests
# use are installed: docker.io (dockerd and the docker CLI), busybox-static (the test image is
# made from it), script(1) (a TTY for `kubectl exec -it`), and docker-registry and htpasswd
# (a local registry for the image-pull tests). It is idempotent: on a machine that
# already has all of them it only checks. Made for Debian 12 as root (CI runs it in a fresh clone
# where no dockerd runs); as another user it uses `sudo -n` when it must install or start something.
#
# Environment:
#   DOCKER_HOST          the engine to check (default: the docker CLI's default, /var/run/docker.sock)
#   K2D_DOCKERD_LOG      where a dockerd started here logs (default /var/log/k2d-dockerd.log)
#   K2D_DOCKERD_ARGS     extra dockerd arguments (default none), e.g. a private engine for tests
#   K2D_DOCKERD_PIDFILE  dockerd's pid file (default /var/run/docker.pid)
#   K2D_DOCKER_WAIT      seconds to wait for the engine to answer (default 60)
set -euo pipefail

# dockerd and apt-get live in sbin, which a non-login or CI environment may leave off PATH.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
DOCKERD_LOG=${K2D_DOCKERD_LOG:-/var/log/k2d-dockerd.log}
DOCKERD_PIDFILE=${K2D_DOCKERD_PIDFILE:-/var/run/docker.pid}
WAIT_SECONDS=${K2D_DOCKER_WAIT:-60}

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# as_root runs a command as root: directly when we are root, else through sudo without a prompt
# (CI has no stdin, so a password prompt would hang).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "must run as root (or with password-less sudo) to: $*"
	fi
}

apt_updated=0
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
	# The dpkg lock may be held briefly by another apt run; wait for it rather than fail.
	local opts=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update >/dev/null ||
			die "apt-get update failed"
		apt_updated=1
	fi
	log "apt-get install $*"
	# A package's own start script may fail where no init system runs (a container, CI); the
	# callers check for the programs they need, so that alone is not fatal here.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >/dev/null ||
		log "warning: apt-get install $* reported an error; checking what got installed"
}

docker_answers() { timeout 20 docker info >/dev/null 2>&1; }

dockerd_pid() {
	local pid
	pid=$(cat "$DOCKERD_PIDFILE" 2>/dev/null) || return 1
	# A stale pid file may name a pid the kernel has since given to another program.
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
		printf '%s\n' "$pid"
}

# 1. Tools the tests need besides Docker.
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
	# Missing, or Debian's dynamic `busybox` package: the test image needs a static binary.
	apt_install busybox-static
	[ -x /bin/busybox ] || die "/bin/busybox is still missing after installing busybox-static"
fi
if ! command -v script >/dev/null 2>&1; then
	apt_install bsdutils
	command -v script >/dev/null 2>&1 || die "script(1) is still missing after installing bsdutils"
fi
# The image-pull tests (e2e/pullsecret_test.go) run a local registry with htpasswd auth:
# Debian's docker-registry, and htpasswd (apache2-utils) for its bcrypt password file.
registry_pkgs=()
[ -x /usr/bin/docker-registry ] || command -v docker-registry >/dev/null 2>&1 || registry_pkgs+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || registry_pkgs+=(apache2-utils)
if [ ${#registry_pkgs[@]} -gt 0 ]; then
	apt_install "${registry_pkgs[@]}"
	[ -x /usr/bin/docker-registry ] || die "docker-registry is still missing after installing it"
	command -v htpasswd >/dev/null 2>&1 || die "htpasswd is still missing after installing apache2-utils"
fi

# 2. The engine.
if docker_answers; then
	log "docker answers: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo ok)"
	exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
	pkgs=(docker.io)
	# With AppArmor on (Debian's default kernel), dockerd needs apparmor_parser to run containers.
	[ -d /sys/kernel/security/apparmor ] && pkgs+=(apparmor)
	apt_install "${pkgs[@]}"
	command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 ||
		die "dockerd or docker is still missing after installing docker.io"
	# On a machine with an init system the package has started dockerd already.
	if docker_answers; then
		log "docker answers: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo ok)"
		exit 0
	fi
fi

if pid=$(dockerd_pid); then
	log "dockerd (pid $pid) runs but does not answer yet; waiting for it"
else
	as_root mkdir -p "$(dirname "$DOCKERD_LOG")"
	log "starting dockerd ${K2D_DOCKERD_ARGS:-}; its log: $DOCKERD_LOG"
	# setsid + nohup: dockerd must outlive this script and the shell or test that called it, and
	# must not hold their stdout/stderr open (a caller reading them to EOF would never finish).
	# shellcheck disable=SC2086 # K2D_DOCKERD_ARGS is a list of words on purpose.
	as_root sh -c 'setsid nohup dockerd "$@" </dev/null >>"$0" 2>&1 &' "$DOCKERD_LOG" ${K2D_DOCKERD_ARGS:-}
fi

deadline=$((SECONDS + WAIT_SECONDS))
until docker_answers; do
	if [ "$SECONDS" -ge $((deadline - WAIT_SECONDS + 10)) ] && ! dockerd_pid >/dev/null; then
		log "dockerd exited; the end of $DOCKERD_LOG:"
		tail -n 40 "$DOCKERD_LOG" >&2 2>/dev/null || true
		die "dockerd did not start"
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "dockerd did not answer within ${WAIT_SECONDS}s; the end of $DOCKERD_LOG:"
		tail -n 40 "$DOCKERD_LOG" >&2 2>/dev/null || true
		die "no Docker engine"
	fi
	sleep 1
done
log "docker answers: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo ok)"
