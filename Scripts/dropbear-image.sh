#!/usr/bin/env bash
# Builds the local image vigil-dropbear:latest (or $1) if it is missing: a real SSH server (Debian's
# dropbear-bin, downloaded with `apt-get download`, not installed on the host) with the libraries it
# needs, for the audit's sshd_running test. Nothing can be pulled here, so the image is a directory
# made into an image with `docker import`. VIGIL_REBUILD_IMAGE=1 rebuilds it.
set -euo pipefail

IMAGE=${1:-vigil-dropbear:latest}

# shellcheck source=Scripts/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

if [ "${VIGIL_REBUILD_IMAGE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    exit 0
fi

dir=$(mktemp -d /tmp/vigil-dropbear-image.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 0755 "$dir"
cd "$dir"
# As root apt downloads into the current directory without its sandbox user; say so once, not per file.
apt-get -q download dropbear-bin libtomcrypt1 libtommath1 2>&1 | grep -v 'unsandboxed' >&2 || true
ls dropbear-bin_*.deb libtomcrypt1_*.deb libtommath1_*.deb >/dev/null
mkdir root
for deb in ./*.deb; do dpkg-deb -x "$deb" root; done
binary=root/usr/sbin/dropbear
[ -x "$binary" ] || { echo "dropbear-image.sh: no dropbear in dropbear-bin" >&2; exit 1; }

# The host's libraries it links (libc, libcrypt, zlib, the loader); the package's own are in root/.
for library in $(LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu" ldd "$binary" |
                 awk '/=> \// { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }'); do
    case "$library" in "$dir"/*) continue ;; esac
    mkdir -p "root$(dirname "$library")"
    cp -L "$library" "root$library"
done
mkdir -p root/etc/dropbear root/tmp root/root root/proc root/sys root/dev
chmod 1777 root/tmp
echo 'root:x:0:0:root:/root:/bin/false' >root/etc/passwd
echo 'root:x:0:' >root/etc/group
tar -C root -c . | docker import - "$IMAGE" >/dev/null
echo "dropbear-image.sh: built $IMAGE" >&2
