#!/usr/bin/env bash
# test-images.sh builds the images the tests run, locally and without any registry (devices and CI
# are offline): k2d-test/busybox:1, a rootfs made from the host's static busybox and imported with
# `docker import`. It is skipped when the image already carries the same content hash (label
# io.k2d.test.content), so running it again costs one `docker image inspect`.
#
# Environment: K2D_TEST_IMAGE (default k2d-test/busybox:1), BUSYBOX (default /bin/busybox).
set -euo pipefail

IMAGE=${K2D_TEST_IMAGE:-k2d-test/busybox:1}
BUSYBOX=${BUSYBOX:-/bin/busybox}
# Bump when the recipe below changes, so existing images are rebuilt.
RECIPE=1

log() { printf 'test-images: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing: run scripts/ensure-docker.sh (it installs busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi
docker info >/dev/null 2>&1 || die "docker does not answer: run scripts/ensure-docker.sh"

hash=$({
	echo "recipe=$RECIPE"
	sha256sum <"$BUSYBOX"
} | sha256sum | cut -c1-32)

have=$(docker image inspect --format '{{ index .Config.Labels "io.k2d.test.content" }}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$hash" ]; then
	log "$IMAGE is up to date ($hash)"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/rootfs
mkdir -p "$root"/{bin,etc,tmp,root,home,var/tmp,proc,sys,dev}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
cp "$BUSYBOX" "$root/bin/busybox"
# Every applet as a symlink in /bin (PATH=/bin), so `sh`, `sleep`, `cat`, `tty` work as commands.
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP

tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$tmp/rootfs.tar" .
docker import \
	--change 'CMD ["/bin/sh"]' \
	--change 'ENV PATH=/bin' \
	--change "LABEL io.k2d.test.content=$hash" \
	--message "k2d test image from $BUSYBOX (recipe $RECIPE)" \
	"$tmp/rootfs.tar" "$IMAGE" >/dev/null
# A quick proof that the image runs: the tests rely on sh and the applets.
out=$(docker run --rm --network none "$IMAGE" sh -c 'echo ok-$((6*7))')
[ "$out" = "ok-42" ] || die "$IMAGE does not run: got $out"
log "built $IMAGE ($hash)"
