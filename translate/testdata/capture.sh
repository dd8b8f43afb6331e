#!/bin/sh
# Captures `docker inspect` fixtures for the translate tests from the local Docker engine.
# Run from translate/: sh testdata/capture.sh. Uses only the local image k2d-test/busybox:1; every
# container is labelled io.k2d.test=translate and removed at the end. Pod fixtures (sandbox, init
# and app containers) come from the end-to-end test: go test -tags docker -run TestDocker -update .
set -eu
IMG=k2d-test/busybox:1
L="--label io.k2d.test=translate"
OUT=testdata/inspect
P=k2dt-
cleanup() { docker ps -aq --filter label=io.k2d.test=translate | xargs -r docker rm -f >/dev/null; }
trap cleanup EXIT
cleanup

docker run -d $L --name ${P}running -e FOO=bar $IMG sleep 3600 >/dev/null
docker run $L --name ${P}exited0 $IMG sh -c 'exit 0'
docker run $L --name ${P}exited1 $IMG sh -c 'echo boom >&2; exit 1' || true
# The shell variable outgrows the 8 MiB limit (no swap): the kernel kills it. Docker sets
# OOMKilled from a cgroup event that can lose the race with the exit, so retry until it shows.
i=0
while :; do
	docker rm -f ${P}oomkilled >/dev/null 2>&1 || true
	docker run $L --name ${P}oomkilled --network none --memory 8m --memory-swap 8m $IMG \
		sh -c 'a=$(head -c 30000000 /dev/zero | tr "\0" a); echo ${#a}' || true
	[ "$(docker inspect -f '{{.State.OOMKilled}}' ${P}oomkilled)" = true ] && break
	i=$((i + 1)); [ $i -lt 20 ] || { echo "never saw OOMKilled" >&2; exit 1; }
done
docker create $L --name ${P}created $IMG sleep 1 >/dev/null
docker run $L --name ${P}starterror $IMG /nonexistent 2>/dev/null || true
# A plain `docker run` service, as a user would start one: PodFromContainer's main fixture.
docker run -d $L --name My_Web.App --label io.k2d.namespace=team-a --label app=web \
	--label 'com.example.path=/not/a/label/value' -p 38471:80/tcp -p 127.0.0.1:38472:53/udp \
	--memory 64m --cpus 0.5 -e A=1 -e 'B=x=y' -w /tmp --restart unless-stopped \
	-v /tmp:/host-tmp:ro --tmpfs /run --cap-add NET_ADMIN $IMG sleep 3600 >/dev/null
docker run -d $L --name ${P}hostnet --network host $IMG sleep 3600 >/dev/null
# Docker restarts it itself with growing delays; catch it between two runs.
docker run -d $L --name ${P}restarting --restart always $IMG sh -c 'sleep 0.3; exit 3' >/dev/null
# Inspect first, then check the captured document: checking first races with the restart.
i=0
while :; do
	docker inspect ${P}restarting >$OUT/restarting.json
	grep -q '"Restarting": true' $OUT/restarting.json && break
	i=$((i + 1)); [ $i -lt 200 ] || { echo "never saw restarting" >&2; exit 1; }
	sleep 0.05
done

for n in running exited0 exited1 oomkilled created starterror hostnet; do
	docker inspect ${P}$n >$OUT/$n.json
done
docker inspect My_Web.App >$OUT/plain-web.json
echo "captured: $(ls $OUT)"
