#!/usr/bin/env bash
# Install the Debian packages the station needs, when missing. Used by `make demo` and `make test`.
#   scripts/setup-system.sh demo   → what the demo needs
#   scripts/setup-system.sh test   → what the tests need (pcscd + vpcd for the virtual reader, tmux,
#                                    postgresql: the hub tests start a private server of their own)
set -euo pipefail
purpose=${1:-demo}
pkgs=(swig libpcsclite-dev pcscd libusb-1.0-0 libgl1 libglib2.0-0 fonts-wqy-microhei)
if [ "$purpose" = test ]; then
  pkgs+=(vsmartcard-vpcd tmux postgresql)
fi
command -v dpkg-query >/dev/null 2>&1 || { echo "setup: not a Debian system; install by hand: ${pkgs[*]}" >&2; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
elif command -v sudo >/dev/null 2>&1; then
  echo "setup: sudo will ask for your password to install: ${missing[*]}"
  SUDO=(sudo)
else
  echo "setup: these Debian packages are missing and I am not root and have no sudo:" >&2
  echo "       ${missing[*]}" >&2
  echo "       ask an administrator to run: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
