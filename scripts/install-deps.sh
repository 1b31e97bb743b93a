#!/usr/bin/env bash
# Installs what BackupDr's tests and demo need on a Debian 12 machine, and nothing when it is all there.
#
#   scripts/install-deps.sh
#
# Used by scripts/test.sh, scripts/demo.sh and .ci/run. Idempotent and fast when nothing is missing:
#   1. Debian packages (PostgreSQL 15 server and client, ca-certificates, Node.js, Chromium and poppler-utils
#      to render the report in its tests): each is checked with
#      dpkg-query; apt-get runs only when one is missing (then as root, with `apt-get update` first).
#      PostgreSQL's default `main` cluster is never started: tests run their own clusters.
#   2. npm packages for the test servers (tools/package-lock.json): `npm ci` runs only when the stamp in
#      tools/node_modules differs from the hash of package.json, package-lock.json and the Node version.
# Exits non-zero with a message naming the step that failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools"
stamp_file="$tools_dir/node_modules/.backupdr-install-stamp"
min_node_major=20
apt_packages=(postgresql-15 postgresql-client-15 ca-certificates nodejs chromium poppler-utils)

say() { printf 'install-deps: %s\n' "$*"; }
die() {
  printf 'install-deps: ERROR: %s\n' "$*" >&2
  exit 1
}
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

# Runs are serialized: test.sh and demo.sh may start at the same time on one machine.
exec 9>"${TMPDIR:-/tmp}/backupdr-install-deps.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == "installed" ]]
}

missing=()
for package in "${apt_packages[@]}"; do
  if [[ "$package" == nodejs ]] && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    continue # a Node.js from elsewhere (nodesource, nvm) will do; its version is checked below
  fi
  if ! is_installed "$package"; then
    missing+=("$package")
  fi
done
if [[ " ${missing[*]} " == *" nodejs "* ]]; then
  missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  say "Debian packages: all present (${apt_packages[*]})"
else
  say "Debian packages missing: ${missing[*]}"
  [[ "$(id -u)" == 0 ]] || die "run as root to install ${missing[*]} (or install them: apt-get install ${missing[*]})"
  # Keep the package scripts from starting PostgreSQL's default cluster: invoke-rc.d asks policy-rc.d,
  # and 101 means "do not start". Ours is removed afterwards; an existing one is left alone.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get update"
  apt-get update -qq || die "apt-get update failed"
  say "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
  say "Debian packages installed"
fi

[[ -x /usr/lib/postgresql/15/bin/postgres ]] || die "/usr/lib/postgresql/15/bin/postgres is missing after install"

command -v node >/dev/null 2>&1 || die "node is not on PATH"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
node_version="$(node --version)"
node_major="${node_version#v}"
node_major="${node_major%%.*}"
if ((node_major < min_node_major)); then
  die "Node.js $node_version is too old: the test servers (Azurite, smtp-server) need $min_node_major or newer"
fi

stamp="$(cat "$tools_dir/package.json" "$tools_dir/package-lock.json" | sha256sum | cut -d' ' -f1) node=$node_version"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  say "npm packages: up to date (tools/node_modules, node $node_version)"
else
  say "npm ci in tools/ (node $node_version)"
  (cd "$tools_dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $tools_dir failed"
  printf '%s\n' "$stamp" >"$stamp_file"
  say "npm packages installed"
fi

for entry in s3rver/bin/s3rver.js azurite/dist/src/blob/main.js smtp-server/package.json; do
  [[ -f "$tools_dir/node_modules/$entry" ]] || die "tools/node_modules/$entry is missing after npm ci"
done
say "done"
