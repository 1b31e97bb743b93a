#!/usr/bin/env bash
# scripts/postgres-can-reach.sh DIR: when run as root, makes every folder above DIR traversable (o+x) for the postgres
# user, saying so for each folder it changes. The demo and the tests run PostgreSQL servers (sandboxes, restored PITR
# clusters calling `backupdr wal-fetch`) as postgres on folders inside the checkout, and a clone under a 0700 folder
# (a home folder, `mktemp -d`) would keep them out.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || exit 0
dir=$(cd "$1" && pwd)
while [ "$dir" != "/" ]; do
  runuser -u postgres -- test -x "$dir" 2>/dev/null || { echo "chmod o+x $dir (the postgres user must reach the checkout)"; chmod o+x "$dir"; }
  dir=$(dirname "$dir")
done
