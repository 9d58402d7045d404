# shellcheck shell=bash
# Sourced by the scripts that need root (apt-get, network namespaces):
#     . "$(dirname "$0")/as-root.sh"
# As root they go on, with or without sudo installed (a fresh Debian 12 has
# none); as a user they run themselves again through sudo; as a user without
# sudo they stop, saying what to do (exit 3: this machine cannot do it).
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        echo "$(basename "$0"): needs root: running it again through sudo" >&2
        exec sudo -- "${BASH:-bash}" "$0" "$@"
    fi
    echo "$(basename "$0"): needs root (it installs Debian packages and makes network namespaces), and sudo is not installed:" >&2
    echo "  run it as root: su -c 'bash $0'" >&2
    exit 3
fi
