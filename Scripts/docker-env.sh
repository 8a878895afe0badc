# Sourced by the other scripts (not run directly). Chooses the docker client.
#
# These machines have two clients: Debian's /usr/bin/docker (20.10, from docker.io, the same
# version as the daemon) and /usr/local/bin/docker (28.x), which comes first on PATH. Both work
# against Debian's dockerd 20.10: the newer client negotiates API 1.41 down from its own. We still
# prefer the client that matches the daemon, and export its path as VIGIL_DOCKER so that tests
# can use the same one. Override with VIGIL_DOCKER=/path/to/docker.
if [ -z "${VIGIL_DOCKER:-}" ]; then
    if [ -x /usr/bin/docker ]; then
        VIGIL_DOCKER=/usr/bin/docker
    else
        VIGIL_DOCKER=$(command -v docker || echo docker)
    fi
fi
export VIGIL_DOCKER
docker() { "$VIGIL_DOCKER" "$@"; }
