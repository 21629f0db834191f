#!/usr/bin/env bash
# Installs the Debian packages the tests use: fio (records real I/O traces;
# its nbd engine drives mirrorsim serve), and for the NBD tests qemu-utils
# (qemu-img, qemu-io), libnbd-bin (nbdinfo, nbdcopy) and nbdkit (the
# reference NBD server). Safe to run repeatedly; does nothing when they are
# present. Tests that need a missing binary skip with a message.
set -euo pipefail
missing=()
command -v fio >/dev/null 2>&1 || missing+=(fio)
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
command -v nbdinfo >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v nbdkit >/dev/null 2>&1 || missing+=(nbdkit)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
