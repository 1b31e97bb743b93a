#!/usr/bin/env bash
# bench/build-backupdr.sh ROOT REV SRC: builds backupdr as it ships (the Dockerfile's publish: Release, linux-x64,
# framework-dependent, ReadyToRun) from a clean tree of commit REV of the checkout ROOT, into SRC/publish.
# The benchmarks measure this build: start-up and the first backup do not wait for the JIT (a plain build spent
# about 0.3 s more wall and 0.6 s more CPU per `backupdr backup` on the bench fixture).
set -euo pipefail
root=$1 rev=$2 src=$3
rm -rf "$src" && mkdir -p "$src"
git -C "$root" archive "$rev" | tar -x -C "$src"
dotnet publish "$src/src/BackupWorker/BackupWorker.csproj" -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$src/publish" -nologo -clp:NoSummary -v:quiet
