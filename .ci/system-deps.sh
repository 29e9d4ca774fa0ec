#!/usr/bin/env bash
# Install the Debian packages listed in .ci/apt-packages.txt that are missing.
# As root (CI, a fresh machine) it installs them; otherwise it says which tests will skip.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^\s*$/d' .ci/apt-packages.txt | awk '{print $1}')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: not root or no apt-get; missing: ${missing[*]} (their tests will skip)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || echo "system-deps: apt-get update failed" >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "system-deps: apt-get install failed for ${missing[*]}; their tests will skip" >&2; exit 0; }
