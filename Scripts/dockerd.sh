#!/usr/bin/env bash
# Starts or stops a Docker daemon for the tests.
#   start: does nothing if a daemon already answers; otherwise starts
#          `dockerd --iptables=false --bridge=none` (never any other way: no bridge, no
#          iptables, loopback only), records its PID in $PIDFILE and waits until it answers.
#   stop:  stops only the daemon recorded in $PIDFILE (by PID, never by name).
set -euo pipefail

PIDFILE=${VIGIL_DOCKERD_PIDFILE:-/run/vigil-test-dockerd.pid}
LOGFILE=${VIGIL_DOCKERD_LOG:-/tmp/vigil-dockerd.log}

# shellcheck source=Scripts/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

docker_works() {
    docker info >/dev/null 2>&1
}

# is_our_dockerd PID: PID is alive and still a dockerd (not a recycled PID from a stale pidfile).
is_our_dockerd() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = dockerd ]
}

start() {
    if docker_works; then
        echo "dockerd.sh: a Docker daemon is already running; not starting one"
        return 0
    fi
    if [ -f "$PIDFILE" ]; then
        old=$(cat "$PIDFILE")
        if is_our_dockerd "$old"; then
            echo "dockerd.sh: dockerd $old from $PIDFILE is running but not answering; waiting for it"
        else
            rm -f "$PIDFILE"
        fi
    fi
    if [ ! -f "$PIDFILE" ]; then
        command -v dockerd >/dev/null || { echo "dockerd.sh: dockerd not found (run Scripts/deps.sh)" >&2; exit 1; }
        # setsid: own session/process group, so it does not get the caller's signals.
        # (No job control here, so setsid does not fork and $! is dockerd's PID.)
        set +m
        setsid dockerd --iptables=false --bridge=none </dev/null >>"$LOGFILE" 2>&1 &
        echo $! >"$PIDFILE"
        echo "dockerd.sh: started dockerd (pid $(cat "$PIDFILE"), log $LOGFILE)"
    fi
    pid=$(cat "$PIDFILE")
    for _ in $(seq 1 120); do
        if docker_works; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "dockerd.sh: dockerd exited; last lines of $LOGFILE:" >&2
            tail -n 30 "$LOGFILE" >&2 || true
            rm -f "$PIDFILE"
            exit 1
        fi
        sleep 0.5
    done
    echo "dockerd.sh: dockerd (pid $pid) did not answer within 60s; last lines of $LOGFILE:" >&2
    tail -n 30 "$LOGFILE" >&2 || true
    exit 1
}

stop() {
    if [ ! -f "$PIDFILE" ]; then
        return 0
    fi
    pid=$(cat "$PIDFILE")
    if is_our_dockerd "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if is_our_dockerd "$pid"; then
            echo "dockerd.sh: dockerd $pid did not stop in 20s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "dockerd.sh: stopped dockerd (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
