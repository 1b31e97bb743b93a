#!/usr/bin/env bash
# bench/drill.sh [DIR]
#
# Drill benchmark of issue [4] point 8: `backupdr drill` (local repository, local sandbox) beside the peer an engineer
# would script, `pg_restore -j2` from a local dump file into a fresh cluster, on the Odoo fixture of
# ../shared/bench/make-odoo-fixture.sh (SCALE invoices, default 200000, in DIR, default /var/tmp/odoo-fixture; built if
# missing, started if stopped). Targets: the drill's database-restore phase <= 1.10x the peer, the whole drill <= 1.5x.
#
# Untimed preparation: a Release build of HEAD (git archive), a repository with one `backupdr backup` of the fixture,
# a `pg_dump -Fc` file of the same database, and for each peer run a fresh cluster made with the settings of a local
# sandbox (PostgresCluster: no data checksums, as initdb makes it, C.UTF-8, wal_level=minimal, archive_mode=off,
# shared_buffers=128MB).
# Timed, RUNS times each, alternating, each after sync and bench/quiet-gate.sh: the peer (createdb + pg_restore -j2 through the
# cluster's unix socket, as the drill reaches its sandbox; wall), the
# peer with files (the same, with the fixture's filestore unpacked from a local tar meanwhile; informational) and
# the drill (wall of the whole command; the phases from its drill record). Medians are compared. As root with cgroup v1,
# the CPU seconds of every process of each run too (the servers included). Writes bench/results/drill-<date>[-TAG].md
# and .json (bench/drill-report.py, which can rewrite them from a kept WORK).
#
# Env: SCALE (200000)  RUNS (3)  TAG  BENCH_PGPORT (55432)  PEER_PORT (55452)  BACKUPDR_REV (HEAD)
#      BUILD_CACHE (/var/tmp/backupdr-bench-build)  WORK (/var/tmp/backupdr-drill-bench-work)  KEEP_WORK (0)
#      RESULTS_DIR (bench/results)  PGBIN (/usr/lib/postgresql/15/bin)  QUIET_BUSY (25)  QUIET_MAX (120)
# The results name WORK's file system. A journaled ext4 on a loop device with direct I/O (so that nothing is cached
# twice) restores the peer as fast as this VM's root file system does; see bench/README.md.
#
# Leaves things as it found them: the peer cluster is stopped and deleted, a fixture server it had to start is
# stopped again, and WORK is deleted (trap), also after a failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SCALE=${SCALE:-200000}
DIR=${1:-/var/tmp/odoo-fixture}
PORT=${BENCH_PGPORT:-55432}
PEER_PORT=${PEER_PORT:-55452}
RUNS=${RUNS:-3}
TAG=${TAG:-}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OSUSER=${BENCH_OSUSER:-postgres}
WORK=${WORK:-/var/tmp/backupdr-drill-bench-work}
KEEP_WORK=${KEEP_WORK:-0}
BUILD_CACHE=${BUILD_CACHE:-/var/tmp/backupdr-bench-build}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_MAX=${QUIET_MAX:-120}
DB=odoo_bench
DATE=$(date +%F)
OUTBASE="$RESULTS_DIR/drill-$DATE${TAG:+-$TAG}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$OSUSER" -- "$@"); else "$@"; fi; }
server_running() { [ -d "$1" ] && as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }
now() { date +%s.%N; }
# CPU seconds of this script and every process it starts (the servers and pg_restore of the peer, backupdr and its
# sandbox server), from a cgroup v1 cpuacct group the script moves itself into; "-" where that is not available.
CPUACCT=/sys/fs/cgroup/cpuacct/backupdr-drill-bench-$$
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/cgroup/cpuacct ] && mkdir -p "$CPUACCT" 2>/dev/null && echo $$ >"$CPUACCT/tasks" 2>/dev/null; then
  cpu_ns() { cat "$CPUACCT/cpuacct.usage"; }
else
  CPUACCT=
  cpu_ns() { echo -; }
fi
cpu_s() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else python3 -c "print(f'{($2 - $1) / 1e9:.2f}')"; fi; }
# Before each timed run: sync, so that no contender pays for writing back what the one before it left dirty (the peer
# with files leaves 2 GiB of cluster and filestore behind it, which the next run's writeback would otherwise carry),
# then the quiet gate.
quiet() { sync; QUIET_BUSY=$QUIET_BUSY QUIET_MAX=$QUIET_MAX bash "$ROOT/bench/quiet-gate.sh" "$WORK/load.txt"; }

for tool in jq python3; do command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install $tool)" >&2; exit 1; }; done
[ -x "$PGBIN/pg_restore" ] || { echo "missing: postgresql-15" >&2; exit 1; }

STOP_MAIN=0
cleanup() {
  rc=$?
  set +e
  server_running "$WORK/peer/pgdata" && as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" stop -m immediate >/dev/null 2>&1
  [ "$STOP_MAIN" = 1 ] && "$SHARED/stop-fixture.sh" "$DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" != 1 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
  if [ -n "$CPUACCT" ]; then echo $$ >/sys/fs/cgroup/cpuacct/tasks; rmdir "$CPUACCT" 2>/dev/null; fi
  exit $rc
}
trap cleanup EXIT INT TERM
server_running "$WORK/peer/pgdata" && as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" stop -m immediate >/dev/null 2>&1
rm -rf "$WORK"
mkdir -p "$WORK"/{logs,records,sandbox} "$RESULTS_DIR"
chmod 755 "$WORK"
# The file system matters: creating the filestore's 10,000 files cost 3-4 times the CPU on this VM's root ext4
# (mounted without a journal, where ext4 checks every candidate inode for a recent deletion) as on a journaled ext4.
findmnt -no FSTYPE,SOURCE,OPTIONS -T "$WORK" | awk '{printf "%s on %s (%s)\n", $1, $2, $3}' >"$WORK/fs.txt"

# ------------------------------------------------------------------ backupdr build (Release, a clean tree of one commit)
REV=$(git -C "$ROOT" rev-parse "${BACKUPDR_REV:-HEAD}")
SRC="$BUILD_CACHE/$REV"
DLL="$SRC/publish/backupdr.dll"
if [ ! -f "$DLL" ]; then
  log "building backupdr $REV (published as it ships: Release, ReadyToRun; from git archive)"
  "$ROOT/bench/build-backupdr.sh" "$ROOT" "$REV" "$SRC" >"$WORK/logs/build.log" 2>&1 \
    || { cat "$WORK/logs/build.log" >&2; rm -rf "$SRC"; exit 1; }
fi
backupdr() { dotnet "$DLL" "$@"; }

# ------------------------------------------------------------------ fixture, repository, backup, dump file
server_running "$DIR/pg" || STOP_MAIN=1
log "fixture: SCALE $SCALE in $DIR (port $PORT); built if missing, started if stopped"
BENCH_PGPORT=$PORT "$SHARED/make-odoo-fixture.sh" "$SCALE" "$DIR" >"$WORK/logs/fixture.log" 2>&1 || { cat "$WORK/logs/fixture.log" >&2; exit 1; }
[ "$(jq -r .scale "$DIR/fixture.json")" = "$SCALE" ] || { echo "$DIR holds a fixture of another scale" >&2; exit 1; }
DB_BYTES=$("$PGBIN/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d "$DB" -Atc "select pg_database_size('$DB')")

head -c 32 /dev/urandom | base64 >"$WORK/passphrase"
chmod 600 "$WORK/passphrase"
cat >"$WORK/config.json" <<JSON
{
  "BackupDr": {
    "Repository": { "Kind": "Local", "Path": "$WORK/repository", "PassphraseFile": "$WORK/passphrase" },
    "Targets": [
      { "Name": "bench", "Tenant": "bench", "Environment": "production", "Tier": "gold",
        "ConnectionString": "Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$DB",
        "FilestorePath": "$DIR/filestore/$DB", "BackupSchedule": "0 0 1 * * ?" }
    ],
    "Sandbox": { "Kind": "Local", "WorkPath": "$WORK/sandbox" },
    "Logging": { "Json": true }
  }
}
JSON
log "repository and one backup (untimed)"
backupdr repo init --config "$WORK/config.json" >"$WORK/logs/init.log" 2>&1
backupdr backup --target bench --config "$WORK/config.json" --json >"$WORK/backup.json" 2>"$WORK/logs/backup.log"
log "pg_dump -Fc to a local file (untimed)"
mkdir -p "$WORK/peer-dump"
"$PGBIN/pg_dump" -h "$DIR" -p "$PORT" -U postgres -Fc -f "$WORK/peer-dump/odoo.dump" "$DB"
DUMP_BYTES=$(stat -c %s "$WORK/peer-dump/odoo.dump")
log "tar of the filestore to a local file (untimed)"
tar -cf "$WORK/peer-dump/filestore.tar" -C "$DIR/filestore" "$DB"

# A fresh cluster with a sandbox's settings, for one peer run (untimed).
fresh_cluster() {
  server_running "$WORK/peer/pgdata" && as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" stop -m immediate >/dev/null
  rm -rf "$WORK/peer" && mkdir -p "$WORK/peer" && chown "$OSUSER:" "$WORK/peer" 2>/dev/null || true
  as_pg "$PGBIN/initdb" -D "$WORK/peer/pgdata" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-instructions >/dev/null
  cat >>"$WORK/peer/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PEER_PORT
unix_socket_directories = '$WORK/peer'
archive_mode = off
wal_level = minimal
max_wal_senders = 0
shared_buffers = '128MB'
CONF
  as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" -l "$WORK/peer/postgres.log" -w start >/dev/null
}

# The peer's timed work: createdb + pg_restore -j2 of the dump file into the fresh cluster.
peer_restore() {
  "$PGBIN/createdb" -h "$WORK/peer" -p "$PEER_PORT" -U postgres -T template0 -E UTF8 "$DB"
  "$PGBIN/pg_restore" -h "$WORK/peer" -p "$PEER_PORT" -U postgres -j 2 --exit-on-error --no-owner --no-privileges -d "$DB" "$WORK/peer-dump/odoo.dump"
}

# ------------------------------------------------------------------ timed runs
: >"$WORK/peer.tsv"
: >"$WORK/peer-files.tsv"
for run in $(seq "$RUNS"); do
  fresh_cluster
  quiet
  log "run $run/$RUNS: peer createdb + pg_restore -j2 (load $(cut -d' ' -f1-3 /proc/loadavg))"
  c0=$(cpu_ns); t0=$(now)
  peer_restore
  t1=$(now); c1=$(cpu_ns)
  echo "$run $(python3 -c "print(f'{$t1 - $t0:.3f}')") $(cpu_s "$c0" "$c1")" >>"$WORK/peer.tsv"
  as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" stop -m fast >/dev/null

  # The same data restored as an engineer's script would, with no checks: the filestore unpacked from a local tar
  # while pg_restore -j2 runs (informational; the issue's ratios are against pg_restore alone).
  fresh_cluster
  quiet
  log "run $run/$RUNS: peer with files, tar -x beside createdb + pg_restore -j2 (load $(cut -d' ' -f1-3 /proc/loadavg))"
  mkdir -p "$WORK/peer/filestore"
  c0=$(cpu_ns); t0=$(now)
  tar -xf "$WORK/peer-dump/filestore.tar" -C "$WORK/peer/filestore" &
  untar=$!
  peer_restore
  wait "$untar"
  t1=$(now); c1=$(cpu_ns)
  echo "$run $(python3 -c "print(f'{$t1 - $t0:.3f}')") $(cpu_s "$c0" "$c1")" >>"$WORK/peer-files.tsv"
  as_pg "$PGBIN/pg_ctl" -D "$WORK/peer/pgdata" stop -m fast >/dev/null

  quiet
  log "run $run/$RUNS: backupdr drill (load $(cut -d' ' -f1-3 /proc/loadavg))"
  c0=$(cpu_ns); t0=$(now)
  backupdr drill --target bench --config "$WORK/config.json" --json >"$WORK/records/$run.json" 2>"$WORK/logs/drill-$run.log" \
    || { log "drill run $run did not pass:"; jq -r '.outcome, .reasons[]' "$WORK/records/$run.json" >&2; exit 1; }
  t1=$(now); c1=$(cpu_ns)
  echo "$(python3 -c "print(f'{$t1 - $t0:.3f}')")" >"$WORK/records/$run.wall"
  cpu_s "$c0" "$c1" >"$WORK/records/$run.cpu"
done

# ------------------------------------------------------------------ report
python3 "$ROOT/bench/drill-report.py" "$WORK" "$OUTBASE" "$REV" "$SCALE" "$DB_BYTES" "$DUMP_BYTES" "$RUNS"
log "results: $OUTBASE.md and .json"
