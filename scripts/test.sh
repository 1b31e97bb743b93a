#!/usr/bin/env bash
# Builds everything and runs every test against real servers (PostgreSQL 15, s3rver, Azurite, SMTP),
# which the test fixtures start and stop themselves. Ends with the plain line "N passed, N failed[, N skipped]".
# With CI=true a missing server or tool fails the run instead of skipping the tests that need it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/install-deps.sh

# PostgreSQL servers run as the postgres user, and a restored PITR server calls `backupdr wal-fetch` from this
# checkout: every folder above it must be traversable by that user (a clone under `mktemp -d` is 0700).
scripts/postgres-can-reach.sh "$root"

echo "== build"
dotnet build BackupDr.sln -c Debug -nologo -clp:NoSummary -v:quiet

results="$root/TestResults"
rm -rf "$results"
mkdir -p "$results"

passed=0 failed=0 skipped=0
for project in tests/*/*.Tests.csproj tests/IntegrationTests/IntegrationTests.csproj; do
  name=$(basename "$project" .csproj)
  echo "== test $name"
  status=0
  dotnet test "$project" --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" || status=$?
  trx="$results/$name.trx"
  if [ ! -s "$trx" ]; then
    echo "!! $name produced no test results (exit $status): counted as one failure" >&2
    failed=$((failed + 1))
    continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  count() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  # xunit's skipped tests are counted in "total" but not in "executed".
  p=$(count passed) f=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) )) s=$(( $(count total) - $(count executed) ))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $name exited $status without a failed test (crash or aborted run): counted as one failure" >&2
    f=1
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
