#!/usr/bin/env bash
# The sandbox image step of `make run` (and all of `make sandbox`): when Docker answers and the image
# is missing, install debootstrap if it is missing (as root) and build the image; otherwise say what
# is missing and the one command that fixes it. Never fails `make run`: the web pages say it too.
set -uo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
FIX="sudo make sandbox"

say() { echo "sandbox: $*"; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# debootstrap, when it is missing and we may install it; nothing otherwise.
sandbox_packages_missing() {
  command -v debootstrap >/dev/null 2>&1 || echo debootstrap
}

sandbox_install() {
  local missing=("$@")
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" && return 0
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

sandbox_setup() {
  local plan status
  plan=$("$PYTHON" manage.py build_sandbox_image --dry-run 2>&1)
  status=$?
  if [ "$status" -ne 0 ]; then
    if [[ "$plan" == *"docker unavailable"* ]]; then
      say "Docker does not answer, so skill and file actions fail until it does. Install and start it, then: sudo apt-get install docker.io && $FIX"
    else
      say "cannot build the image: ${plan##*CommandError: }"
    fi
    return 0
  fi
  if [[ "$plan" == *"is up to date"* ]]; then
    "$PYTHON" manage.py build_sandbox_image
    return 0
  fi
  local missing
  missing=$(sandbox_packages_missing)
  if ! is_root; then
    # debootstrap builds the root filesystem in a chroot, which needs root.
    say "building the image needs root${missing:+ and $missing}; run: $FIX"
    return 0
  fi
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    sandbox_install $missing || { say "could not install $missing; run: $FIX"; return 0; }
  fi
  "$PYTHON" manage.py build_sandbox_image || say "the image build failed (above); run: $FIX"
  return 0
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  sandbox_setup
fi
