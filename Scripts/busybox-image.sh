#!/usr/bin/env bash
# Builds the local image vigil-busybox:latest (or $1) from busybox-static if it is missing.
# No image can be pulled here: the image is a directory with /bin/busybox, an applet symlink
# for every applet, minimal /etc/passwd and /etc/group, /tmp and /var/www/index.html.
# Set VIGIL_REBUILD_IMAGE=1 to rebuild it even if it exists.
set -euo pipefail

IMAGE=${1:-${VIGIL_TEST_IMAGE:-vigil-busybox:latest}}

# shellcheck source=Scripts/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

if [ "${VIGIL_REBUILD_IMAGE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    exit 0
fi

BUSYBOX=
for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ]; then BUSYBOX=$candidate; break; fi
done
[ -n "$BUSYBOX" ] || { echo "busybox-image.sh: busybox not found (install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would not run in an image without a libc.
if ! LC_ALL=C file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' \
   && ldd "$BUSYBOX" >/dev/null 2>&1; then
    echo "busybox-image.sh: $BUSYBOX is not statically linked (install busybox-static)" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/vigil-busybox-image.XXXXXX)
trap 'rm -rf "$dir"' EXIT

mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/var/www" "$dir/root" "$dir/home/app" \
         "$dir/proc" "$dir/sys" "$dir/dev"
cp "$BUSYBOX" "$dir/bin/busybox"
chmod 0755 "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$dir/bin/$applet"
done
cat >"$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$dir/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
chmod 1777 "$dir/tmp"
chown 1000:1000 "$dir/home/app"
chmod 0700 "$dir/root"
cat >"$dir/var/www/index.html" <<'HTML'
<!doctype html>
<html><head><title>vigil test</title></head><body>vigil test page</body></html>
HTML

tar --numeric-owner -C "$dir" -c . \
    | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null

if ! out=$(docker run --rm "$IMAGE" sh -c 'echo ok' 2>&1) || [ "$out" != ok ]; then
    echo "busybox-image.sh: image $IMAGE does not run: $out" >&2
    exit 1
fi
echo "busybox-image.sh: built $IMAGE"
