#!/usr/bin/env bash
# Installs the Debian packages the tests use (fio, to record real I/O traces).
# Safe to run repeatedly; does nothing when they are present.
set -euo pipefail
missing=()
command -v fio >/dev/null 2>&1 || missing+=(fio)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
