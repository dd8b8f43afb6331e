#!/usr/bin/env bash
# package.sh BINARY DEB_ARCH VERSION OUT.deb
# Builds a Debian package of k2d for SD-card image builders: /usr/bin/k2d, a systemd unit that
# runs k2d against the host's Docker, and /etc/default/k2d for its settings. Needs dpkg-deb only.
set -euo pipefail
bin=$1 arch=$2 version=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
# Debian versions must start with a digit: "v1.2.3" -> "1.2.3", a git hash -> "0.0.0+git<hash>".
if [[ $version =~ ^v?[0-9]+\.[0-9]+ ]]; then
	version=${version#v}
	version=${version//-/+}
else
	version="0.0.0+git${version//[^A-Za-z0-9.+~]/.}"
fi
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/k2d"
install -D -m 0644 "$here/k2d.service" "$root/lib/systemd/system/k2d.service"
install -D -m 0644 "$here/k2d.default" "$root/etc/default/k2d"
install -d -m 0755 "$root/DEBIAN" "$root/usr/share/doc/k2d"
printf 'k2d %s\nThe Kubernetes API on one Docker host. See https://github.com/k2d-project/k2d\n' "$version" >"$root/usr/share/doc/k2d/README"
size=$(du -ks "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: k2d
Version: $version
Architecture: $arch
Maintainer: k2d developers <k2d@k2d-project.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Recommends: docker.io | docker-ce | podman-docker
Homepage: https://github.com/k2d-project/k2d
Description: Kubernetes API for a single Docker host
 k2d serves the Kubernetes API that kubectl, Helm and client-go use on a small
 device that runs only Docker, and carries it out with Docker Engine API calls.
CONTROL
echo /etc/default/k2d >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	systemctl enable --now k2d.service >/dev/null || true
fi
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl disable --now k2d.service >/dev/null || true
fi
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "package.sh: $out ($version, $arch)"
