#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not yet
# installed, so that `make` targets stay fast on a machine that has them.
# With --no-start first, the packages' services are not started on install
# (a policy-rc.d for the time of the install): the tests start their own
# Orthanc, and a system one would only hold ports and memory.
set -euo pipefail
nostart=""
if [ "${1:-}" = "--no-start" ]; then nostart=1; shift; fi
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
if [ -n "$nostart" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 755 /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
