#!/usr/bin/env bash
# Installs the Debian packages Vigil needs, if missing. Idempotent and quiet unless it installs
# something. Run as root.
#     deps.sh            what the tests need (build libraries, Docker, busybox, rsyslog)
#     deps.sh --build    only what building and running the agent needs (libcap-dev, libseccomp-dev)
# Extra package names may be given as further arguments.
set -euo pipefail

if [ "${1:-}" = "--build" ]; then
    shift
    packages=(libcap-dev libseccomp-dev "$@")
else
    packages=(libcap-dev libseccomp-dev docker.io busybox-static rsyslog procps "$@")
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages (${missing[*]}) and not root; install them as root" >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# needrestart (recommended by docker.io) must not restart services that are not ours.
export NEEDRESTART_SUSPEND=1
apt-get update </dev/null
apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" </dev/null
