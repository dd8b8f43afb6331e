#!/usr/bin/env bash
# check.sh NAME DOCKER_PLATFORM DEB_ARCH QEMU
# Checks what `make NAME` (armv7, armv6, arm64) produced in bin/: the image tar loads into
# Docker with the right platform, the Debian package holds the binary, the unit and its
# settings file, and the binary, run under QEMU user emulation, answers /version with its
# platform. It never touches the Docker engine's containers: k2d runs against a socket that
# does not exist (it serves the API while it waits for Docker).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 platform=$2 debarch=$3 qemu=$4
bin=bin/k2d-$name img=bin/k2d-$name-image.tar deb=bin/k2d_${name}_$debarch.deb
fail() { echo "check $name: FAIL: $*" >&2; exit 1; }

size=$(stat -c %s "$bin")
echo "check $name: binary $bin is $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"

tag=$(docker load -i "$img" | sed -n 's/^Loaded image: //p')
[ -n "$tag" ] || fail "docker load -i $img loaded no tagged image"
got=$(docker image inspect "$tag" --format '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}')
docker rmi "$tag" >/dev/null
[ "$got" = "$platform" ] || fail "image $tag is $got, want $platform"
echo "check $name: docker load $img -> $tag ($got)"

contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/k2d ./lib/systemd/system/k2d.service ./etc/default/k2d; do
	grep -q " $f\$" <<<"$contents" || fail "$deb lacks $f"
done
[ "$(dpkg-deb --field "$deb" Architecture)" = "$debarch" ] || fail "$deb is not $debarch"
echo "check $name: $deb holds /usr/bin/k2d, the k2d.service unit and /etc/default/k2d"

command -v "$qemu" >/dev/null || fail "$qemu is not installed (apt-get install qemu-user-static)"
data=$(mktemp -d)
port=$(( (RANDOM % 10000) + 40000 ))
DOCKER_HOST=unix://$data/no-docker.sock K2D_DATA_PATH=$data K2D_PORT=$port "$qemu" "$bin" serve >"$data/out" 2>"$data/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
version=
for _ in $(seq 1 120); do
	version=$(curl -sk --max-time 2 "https://127.0.0.1:$port/version" || true)
	[ -n "$version" ] && break
	kill -0 $pid 2>/dev/null || { cat "$data/log" >&2; fail "k2d exited under $qemu"; }
	sleep 0.5
done
want="\"platform\":\"linux/${platform#linux/}\""
want=${want%/v[0-9]\"}\"
grep -q "$want" <<<"$version" || fail "/version under $qemu answered '$version', want $want"
echo "check $name: $qemu $bin serve answers /version: $want"
