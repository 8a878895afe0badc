#!/usr/bin/env bash
# Captures real /proc and cgroup files into Tests/Captured/ for the parser unit tests.
# Run as root on a machine with Docker (see Tests/Captured/README.md for what each file is).
# Starts dockerd via Scripts/dockerd.sh if none is running and stops it again afterwards.
# Every process and container it starts is stopped by its PID / ID.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-$root/Tests/Captured}
mkdir -p "$out"

IMAGE=${VIGIL_TEST_IMAGE:-vigil-busybox:latest}
export VIGIL_DOCKERD_PIDFILE=${VIGIL_DOCKERD_PIDFILE:-/run/vigil-test-dockerd.pid}
# shellcheck source=Scripts/docker-env.sh
. "$root/Scripts/docker-env.sh"

pids=()
containers=()
tmpdir=$(mktemp -d /tmp/vigil-capture.XXXXXX)
deleted_exe=/tmp/x
started_dockerd=0
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
    rm -rf "$tmpdir"
    [ "$started_dockerd" = 1 ] && "$root/Scripts/dockerd.sh" stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pid_before=$(cat "$VIGIL_DOCKERD_PIDFILE" 2>/dev/null || true)
start_status=0
"$root/Scripts/dockerd.sh" start || start_status=$?
pid_after=$(cat "$VIGIL_DOCKERD_PIDFILE" 2>/dev/null || true)
if [ -n "$pid_after" ] && [ "$pid_after" != "$pid_before" ]; then started_dockerd=1; fi
[ "$start_status" = 0 ] || exit "$start_status"
"$root/Scripts/busybox-image.sh" "$IMAGE"

# capture PREFIX PID: copies stat, status, cmdline, cgroup, mountinfo, the exe link and the
# namespace links of PID.
capture() {
    local prefix=$1 pid=$2 f
    for f in stat status cmdline cgroup mountinfo; do
        cat "/proc/$pid/$f" >"$out/$prefix.$f"
    done
    readlink "/proc/$pid/exe" >"$out/$prefix.exe.txt"
    : >"$out/$prefix.ns.txt"
    for f in /proc/"$pid"/ns/*; do
        printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")" >>"$out/$prefix.ns.txt"
    done
}

# wait_children PID N: waits until PID has at least N children and all of them have exec'd
# (so the capture shows them settled, not mid-fork).
wait_children() {
    local pid=$1 n=$2 i kids
    for i in $(seq 1 100); do
        kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
        if [ "$(echo $kids | wc -w)" -ge "$n" ]; then
            sleep 0.2
            return 0
        fi
        sleep 0.1
    done
    echo "capture-fixtures.sh: process $pid did not get $n children" >&2
    return 1
}

# wait_exec PID NAME: waits until /proc/PID/comm is NAME.
wait_exec() {
    local pid=$1 name=$2 i
    for i in $(seq 1 100); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && return 0
        sleep 0.05
    done
    echo "capture-fixtures.sh: process $pid did not become $name" >&2
    return 1
}

# run_container ARGS...: starts a detached container running `sh` with two `sleep` children;
# prints its ID.
run_container() {
    docker run -d "$@" "$IMAGE" sh -c 'sleep 1000 & sleep 1000 & wait'
}

container_pid() {
    docker inspect -f '{{.State.Pid}}' "$1"
}

# 1. A busybox sh with children in a pids-limited container, with a name and a compose label.
id=$(run_container --name vigil-capture-sh --label com.docker.compose.service=web \
        --label com.docker.compose.project=vigil --pids-limit 64)
containers+=("$id")
pid=$(container_pid "$id")
wait_children "$pid" 2
capture docker-sh "$pid"
child=$(awk '{print $1}' "/proc/$pid/task/$pid/children")
capture docker-sleep "$child"
for f in pids.max pids.current pids.events pids.peak; do
    cat "/sys/fs/cgroup/pids/docker/$id/$f" >"$out/docker-pids.${f#pids.}"
done
for f in cgroup.procs cgroup.events cgroup.controllers cgroup.type; do
    cat "/sys/fs/cgroup/unified/docker/$id/$f" >"$out/docker-unified.${f#cgroup.}"
done
cp "/var/lib/docker/containers/$id/config.v2.json" "$out/docker-sh.config.v2.json"
cp "/var/lib/docker/containers/$id/hostconfig.json" "$out/docker-sh.hostconfig.json"
chmod 0644 "$out/docker-sh.config.v2.json" "$out/docker-sh.hostconfig.json"
echo "$id" >"$out/docker-sh.id.txt"

# 2. A container that hit its pids limit: pids.events counts the failed forks.
id=$(run_container --pids-limit 5)
containers+=("$id")
pid=$(container_pid "$id")
wait_children "$pid" 2
docker exec "$id" sh -c 'for i in 1 2 3 4 5 6; do sleep 30 & done; wait' >/dev/null 2>&1 || true
for f in pids.max pids.current pids.events pids.peak; do
    cat "/sys/fs/cgroup/pids/docker/$id/$f" >"$out/docker-pids-hit.${f#pids.}"
done
docker rm -f "$id" >/dev/null

# 3. /proc/PID/status of the main process under various security settings.
variant() {
    local name=$1; shift
    local id pid
    id=$(run_container "$@")
    containers+=("$id")
    pid=$(container_pid "$id")
    wait_children "$pid" 2
    cat "/proc/$pid/status" >"$out/docker-$name.status"
    docker rm -f "$id" >/dev/null
}
variant default
variant user1000 --user 1000
variant capdropall --cap-drop ALL
variant netadmin --cap-add NET_ADMIN
variant nearpriv --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined
variant nnp --security-opt no-new-privileges
variant pidhost --pid=host

id=$(run_container --read-only)
containers+=("$id")
pid=$(container_pid "$id")
wait_children "$pid" 2
cat "/proc/$pid/mountinfo" >"$out/docker-readonly.mountinfo"
docker rm -f "$id" >/dev/null

# 4. A host process of our own.
sleep 1000 &
pid=$!
pids+=("$pid")
wait_exec "$pid" sleep
capture host-sleep "$pid"

# 5. comm containing ") (" and spaces: busybox under the file name "a) b (c", run as `sleep 100`.
cp /bin/busybox "$tmpdir/a) b (c"
(exec -a sleep "$tmpdir/a) b (c" 1000) &
pid=$!
pids+=("$pid")
wait_exec "$pid" "a) b (c"
capture odd-comm "$pid"

# 6. A process whose executable was deleted after it started.
if [ -e "$deleted_exe" ]; then
    echo "capture-fixtures.sh: $deleted_exe exists; not touching it" >&2
    exit 1
fi
cp /bin/sleep "$deleted_exe"
"$deleted_exe" 1000 &
pid=$!
pids+=("$pid")
wait_exec "$pid" x
rm -f "$deleted_exe"
capture deleted-exe "$pid"

# 7. The host's own mount table.
cat /proc/self/mountinfo >"$out/host.mountinfo"

echo "capture-fixtures.sh: wrote $(ls "$out" | wc -l) files to $out"
