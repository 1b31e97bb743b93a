#!/usr/bin/env bash
# bench/backup.sh [DIR]
#
# Database backup benchmark of issue [2] point 7: `backupdr backup` (local repository and s3rver) and
# `backupdr restore` against the peers pg_dump, pg_dump | zstd and pg_restore -j2, on the Odoo fixture of
# ../shared/bench/make-odoo-fixture.sh (SCALE invoices, default 200000, in DIR, default /var/tmp/odoo-fixture;
# built if missing, started if stopped). Every row runs RUNS times under hyperfine (wall median) with GNU time
# inside (peak RSS, user/sys CPU). Writes bench/results/backup-<date>[-TAG].md and .json with the ratios the
# issue sets as targets and PASS/FAIL per target. See bench/README.md.
#
# Env: SCALE (200000)  RUNS (3)  ONLY (comma list of rows, e.g. A,C,P1; default all)  TAG (file name suffix)
#      BENCH_PGPORT (55432)  SMALL_SCALE (20000; 0 = skip the small-scale RSS row)  SMALL_DIR (/var/tmp/odoo-fixture-SMALL_SCALE)
#      SMALL_PGPORT (55442)  S3_PORT (45689)  BACKUPDR_DLL (use this build instead of building HEAD)
#      BACKUPDR_REV (HEAD: the commit built, from `git archive`, so colleagues' uncommitted edits are not measured)
#      BUILD_CACHE (/var/tmp/backupdr-bench-build)  WORK (/var/tmp/backupdr-bench-work)  KEEP_WORK (0)
#      RESULTS_DIR (bench/results)  PGBIN (/usr/lib/postgresql/15/bin)
#      QUIET_BUSY (25)  QUIET_MAX (120): before each timed run, bench/quiet-gate.sh waits until the CPUs were at most
#      QUIET_BUSY % busy over one second, for at most QUIET_MAX s (others' builds and tests share this 2-core machine);
#      the load average, the busy % and the wait are recorded per run.
#
# Leaves things as it found them: a fixture server it had to start is stopped again, s3rver is stopped, the
# scratch databases are dropped and WORK is deleted (trap), also after a failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SCALE=${SCALE:-200000}
DIR=${1:-/var/tmp/odoo-fixture}
PORT=${BENCH_PGPORT:-55432}
SMALL_SCALE=${SMALL_SCALE:-20000}
SMALL_DIR=${SMALL_DIR:-/var/tmp/odoo-fixture-$SMALL_SCALE}
SMALL_PORT=${SMALL_PGPORT:-55442}
S3_PORT=${S3_PORT:-45689}
RUNS=${RUNS:-3}
ONLY=${ONLY:-}
TAG=${TAG:-}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OSUSER=${BENCH_OSUSER:-postgres}
WORK=${WORK:-/var/tmp/backupdr-bench-work}
KEEP_WORK=${KEEP_WORK:-0}
BUILD_CACHE=${BUILD_CACHE:-/var/tmp/backupdr-bench-build}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_MAX=${QUIET_MAX:-120}
DB=odoo_bench
RESTORE_DB=bench_restore
DATE=$(date +%F)
OUTBASE="$RESULTS_DIR/backup-$DATE${TAG:+-$TAG}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$OSUSER" -- "$@"); else "$@"; fi; }
server_running() { [ -d "$1/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$1/pg" status >/dev/null 2>&1; }

# ------------------------------------------------------------------ tools
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v zstd >/dev/null || missing+=(zstd)
command -v jq >/dev/null || missing+=(jq)
[ -x /usr/bin/time ] || missing+=(time)
[ -x "$PGBIN/pg_dump" ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
  fi
fi
[ -f "$ROOT/tools/node_modules/s3rver/bin/s3rver.js" ] || "$ROOT/scripts/install-deps.sh"

# ------------------------------------------------------------------ cleanup
S3_PID=
STOP_MAIN=0
STOP_SMALL=0
cleanup() {
  rc=$?
  set +e
  if [ -n "$S3_PID" ]; then kill "$S3_PID" 2>/dev/null; wait "$S3_PID" 2>/dev/null; fi
  if server_running "$DIR"; then
    "$PGBIN/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $RESTORE_DB" >/dev/null 2>&1
  fi
  [ "$STOP_MAIN" = 1 ] && "$SHARED/stop-fixture.sh" "$DIR" >/dev/null 2>&1
  [ "$STOP_SMALL" = 1 ] && BENCH_PGPORT=$SMALL_PORT "$SHARED/stop-fixture.sh" "$SMALL_DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" != 1 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

# a previous run that was killed hard: its s3rver and work dir
if [ -f "$WORK/s3rver.pid" ]; then kill "$(cat "$WORK/s3rver.pid")" 2>/dev/null || true; fi
rm -rf "$WORK"
mkdir -p "$WORK"/{cmd,hf,rss,load,json,logs,out,sandbox,s3} "$RESULTS_DIR"

# ------------------------------------------------------------------ backupdr build (Release, a clean tree of one commit)
REV=$(git -C "$ROOT" rev-parse "${BACKUPDR_REV:-HEAD}")
if [ -n "${BACKUPDR_DLL:-}" ]; then
  DLL=$BACKUPDR_DLL
  BUILD_NOTE="given build $DLL (working tree of $ROOT, commit $REV$(git -C "$ROOT" diff --quiet HEAD -- src || echo ', with uncommitted changes in src/'))"
else
  SRC="$BUILD_CACHE/$REV"
  DLL="$SRC/publish/backupdr.dll"
  if [ ! -f "$DLL" ]; then
    log "building backupdr $REV (published as it ships: Release, ReadyToRun; from git archive)"
    "$ROOT/bench/build-backupdr.sh" "$ROOT" "$REV" "$SRC" >"$WORK/logs/build.log" 2>&1 \
      || { cat "$WORK/logs/build.log" >&2; rm -rf "$SRC"; exit 1; }
  fi
  BUILD_NOTE="Release ReadyToRun publish of commit $REV (clean tree from git archive; bench/build-backupdr.sh, as the Dockerfile)"
fi
[ -f "$DLL" ] || { echo "no backupdr build at $DLL" >&2; exit 1; }

# ------------------------------------------------------------------ fixtures
server_running "$DIR" || STOP_MAIN=1
log "fixture: SCALE $SCALE in $DIR (port $PORT); built if missing (~72 s at 200000), started if stopped"
BENCH_PGPORT=$PORT "$SHARED/make-odoo-fixture.sh" "$SCALE" "$DIR" >"$WORK/logs/fixture.log" 2>&1 \
  || { cat "$WORK/logs/fixture.log" >&2; exit 1; }
[ "$(jq -r .scale "$DIR/fixture.json")" = "$SCALE" ] || { echo "$DIR holds a fixture of another scale; use another DIR or FORCE=1" >&2; exit 1; }
[ "$(jq -r .port "$DIR/fixture.json")" = "$PORT" ] || { echo "$DIR was built for another port; set BENCH_PGPORT" >&2; exit 1; }
export PGHOST="$DIR" PGPORT="$PORT" PGUSER=postgres
psql_q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "DROP DATABASE IF EXISTS $RESTORE_DB" >/dev/null
DB_BYTES=$(psql_q -d "$DB" -Atc "select pg_database_size('$DB')")
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$DB"
INTO="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$RESTORE_DB"

# ------------------------------------------------------------------ backupdr configuration and repositories
head -c 32 /dev/urandom | base64 >"$WORK/passphrase"
chmod 600 "$WORK/passphrase"
write_config() { # FILE REPOSITORY_JSON CONNSTRING
  cat >"$1" <<JSON
{
  "BackupDr": {
    "Repository": $2,
    "Targets": [
      { "Name": "bench", "Tenant": "bench", "Environment": "production", "Tier": "gold",
        "ConnectionString": "$3", "FilestorePath": "$DIR/filestore/$DB", "BackupSchedule": "0 0 1 * * ?" }
    ],
    "Sandbox": { "Kind": "Local", "WorkPath": "$WORK/sandbox" },
    "Logging": { "Json": true }
  }
}
JSON
}
write_config "$WORK/local.json" "{ \"Kind\": \"Local\", \"Path\": \"$WORK/repo-local\", \"PassphraseFile\": \"$WORK/passphrase\" }" "$CONN"
write_config "$WORK/s3.json" "{ \"Kind\": \"S3\", \"S3\": { \"Bucket\": \"bench\", \"ServiceUrl\": \"http://127.0.0.1:$S3_PORT\", \"Region\": \"us-east-1\", \"ForcePathStyle\": true }, \"PassphraseFile\": \"$WORK/passphrase\" }" "$CONN"
write_config "$WORK/small.json" "{ \"Kind\": \"Local\", \"Path\": \"$WORK/repo-small\", \"PassphraseFile\": \"$WORK/passphrase\" }" \
  "Host=127.0.0.1;Port=$SMALL_PORT;Username=postgres;Database=$DB"

# s3rver on the loopback; the bucket is created at startup
if want P2; then
  node "$ROOT/tools/node_modules/s3rver/bin/s3rver.js" -d "$WORK/s3" -a 127.0.0.1 -p "$S3_PORT" --silent \
    --configure-bucket bench >"$WORK/logs/s3rver.log" 2>&1 &
  S3_PID=$!
  echo "$S3_PID" >"$WORK/s3rver.pid"
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/bench" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/bench" || { cat "$WORK/logs/s3rver.log" >&2; echo "s3rver did not start" >&2; exit 1; }
fi

cat >"$WORK/env.sh" <<EOF
set -euo pipefail
export PATH="$PGBIN:\$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export PGHOST="$DIR" PGPORT="$PORT" PGUSER=postgres
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
backupdr() { dotnet "$DLL" "\$@"; }
EOF
# shellcheck disable=SC1091
(source "$WORK/env.sh"
 backupdr repo init --config "$WORK/local.json" >"$WORK/logs/init-local.log" 2>&1
 if want P2; then backupdr repo init --config "$WORK/s3.json" >"$WORK/logs/init-s3.log" 2>&1; fi)

# ------------------------------------------------------------------ the bench helper
: >"$WORK/rows.tsv"
: >"$WORK/metrics.tsv"
metric() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK/metrics.tsv"; }
# bench ID GROUP "label" "command" ["prepare command"] [runs]
#   wall from hyperfine; peak RSS and user/sys CPU from GNU time; load average before each run.
bench() {
  local id=$1 group=$2 label=$3 cmd=$4 prep=${5:-} runs=${6:-$RUNS}
  want "$id" || return 0
  printf 'source "%s"\n%s\n' "$WORK/env.sh" "$cmd" >"$WORK/cmd/$id.sh"
  printf 'source "%s"\n%s\nQUIET_BUSY=%s QUIET_MAX=%s bash "%s" "%s"\n' "$WORK/env.sh" "${prep:-:}" "$QUIET_BUSY" "$QUIET_MAX" \
    "$ROOT/bench/quiet-gate.sh" "$WORK/load/$id.txt" >"$WORK/cmd/$id.prepare.sh"
  log "row $id: $label (load $(cut -d' ' -f1-3 /proc/loadavg))"
  local status=ok
  if ! hyperfine --runs "$runs" --style basic --export-json "$WORK/hf/$id.json" \
        --prepare "bash '$WORK/cmd/$id.prepare.sh' >>'$WORK/logs/$id.prepare.log' 2>&1" \
        "/usr/bin/time -f '%e %M %U %S' -a -o '$WORK/rss/$id.txt' bash '$WORK/cmd/$id.sh' 2>>'$WORK/logs/$id.log'" \
        >"$WORK/logs/$id.hyperfine.txt" 2>&1; then
    status=failed
    log "row $id FAILED; log tail:"
    tail -n 20 "$WORK/logs/$id.log" "$WORK/logs/$id.prepare.log" >&2 || true
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$group" "$label" "$(echo "$cmd" | tr '\n' ' ')" \
    "$(echo "${prep:-}" | tr '\n' ' ')" "$status" >>"$WORK/rows.tsv"
}
dsize() { du -sb "$1" 2>/dev/null | cut -f1 || echo 0; }

log "uncompressed custom-format stream size (untimed)"
STREAM_BYTES=$("$PGBIN/pg_dump" -Fc -Z0 "$DB" | wc -c)

# ------------------------------------------------------------------ peers: dumps
bench A dump "pg_dump -Fc -Z0 > /dev/null (floor: read speed)" \
  "pg_dump -Fc -Z0 $DB > /dev/null"
bench C dump "pg_dump -Fc -Z0 | zstd -3 -T0 > file (the zstd pipe)" \
  "pg_dump -Fc -Z0 $DB | zstd -q -f -3 -T0 > '$WORK/out/odoo.dump.zst'"
want C && metric C bytes_written "$(dsize "$WORK/out/odoo.dump.zst")"
bench B dump "pg_dump -Fc > file (default gzip)" \
  "pg_dump -Fc $DB > '$WORK/out/odoo.dump'"
want B && metric B bytes_written "$(dsize "$WORK/out/odoo.dump")"

# ------------------------------------------------------------------ product: backups
bench P1 product "backupdr backup -> local repository" \
  "backupdr backup --target bench --config '$WORK/local.json' --json >>'$WORK/json/P1.json'"
want P1 && metric P1 bytes_written "$(( $(dsize "$WORK/repo-local") / RUNS ))"

bench P2 product "backupdr backup -> s3rver (S3 API on 127.0.0.1)" \
  "backupdr backup --target bench --config '$WORK/s3.json' --json >>'$WORK/json/P2.json'"
want P2 && metric P2 bytes_written "$(( $(dsize "$WORK/s3/bench") / RUNS ))"

# diagnostic: the evidence queries alone (they run in the snapshot, beside pg_dump, during a backup)
cat >"$WORK/evidence.sql" <<'EOF'
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text FROM (SELECT md5(t::text) AS h FROM public.account_move t) r;
SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text FROM (SELECT md5(t::text) AS h FROM public.account_move_line t) r;
SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text FROM (SELECT md5(t::text) AS h FROM public.res_partner t) r;
SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text FROM (SELECT md5(t::text) AS h FROM public.ir_attachment t) r;
SELECT coalesce(l.company_id, 0), coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0), count(*)
  FROM public.account_move_line l JOIN public.account_move m ON m.id = l.move_id WHERE m.state = 'posted' GROUP BY 1 ORDER BY 1;
COMMIT;
EOF
bench EV diagnostic "evidence queries alone (4 fingerprints + ledger totals, psql)" \
  "psql -X -q -v ON_ERROR_STOP=1 -d $DB -f '$WORK/evidence.sql' >/dev/null"

# ------------------------------------------------------------------ restores
if want F && [ ! -f "$WORK/out/odoo.dump" ]; then log "making B's dump for F (untimed)"; "$PGBIN/pg_dump" -Fc "$DB" >"$WORK/out/odoo.dump"; fi
bench F restore "pg_restore -j2 from B's dump (local file) -> fresh database" \
  "pg_restore -j2 --exit-on-error -d $RESTORE_DB '$WORK/out/odoo.dump'" \
  "dropdb --if-exists $RESTORE_DB && createdb -T template0 $RESTORE_DB"

# diagnostic: the same pg_restore from the file backupdr stages (uncompressed, written to a pipe: no table offsets)
if want F0; then
  [ -f "$WORK/out/odoo.dump.zst" ] || "$PGBIN/pg_dump" -Fc -Z0 "$DB" | zstd -q -3 -T0 >"$WORK/out/odoo.dump.zst"
  zstd -q -d -f "$WORK/out/odoo.dump.zst" -o "$WORK/out/odoo-pipe-z0.dump"
fi
bench F0 diagnostic "pg_restore -j2 from C's dump decompressed (-Z0, written to a pipe) -> fresh database" \
  "pg_restore -j2 --exit-on-error -d $RESTORE_DB '$WORK/out/odoo-pipe-z0.dump'" \
  "dropdb --if-exists $RESTORE_DB && createdb -T template0 $RESTORE_DB"
rm -f "$WORK/out/odoo-pipe-z0.dump"

BACKUP_ID=
if want R || want RC; then
  [ -s "$WORK/json/P1.json" ] || (source "$WORK/env.sh"; backupdr backup --target bench --config "$WORK/local.json" --json >>"$WORK/json/P1.json" 2>>"$WORK/logs/P1.log")
  BACKUP_ID=$(jq -rs 'last | .backupId' "$WORK/json/P1.json")
  metric R backup_id "$BACKUP_ID"
fi
bench R product "backupdr restore --jobs 2 --no-check (local repository) -> new database" \
  "backupdr restore --target bench --backup $BACKUP_ID --into '$INTO' --jobs 2 --no-check --config '$WORK/local.json' --json >>'$WORK/json/R.json'" \
  "dropdb --if-exists $RESTORE_DB"
bench RC product "backupdr restore --jobs 2 with the evidence check (once)" \
  "backupdr restore --target bench --backup $BACKUP_ID --into '$INTO' --jobs 2 --config '$WORK/local.json' --json >>'$WORK/json/RC.json'" \
  "dropdb --if-exists $RESTORE_DB" 1
psql_q -d postgres -c "DROP DATABASE IF EXISTS $RESTORE_DB" >/dev/null

# ------------------------------------------------------------------ peak RSS at a smaller scale
if [ "$SMALL_SCALE" -gt 0 ] && want S1; then
  server_running "$SMALL_DIR" || STOP_SMALL=1
  log "small fixture: SCALE $SMALL_SCALE in $SMALL_DIR (port $SMALL_PORT)"
  BENCH_PGPORT=$SMALL_PORT "$SHARED/make-odoo-fixture.sh" "$SMALL_SCALE" "$SMALL_DIR" >"$WORK/logs/fixture-small.log" 2>&1 \
    || { cat "$WORK/logs/fixture-small.log" >&2; exit 1; }
  SMALL_DB_BYTES=$(psql_q -h "$SMALL_DIR" -p "$SMALL_PORT" -d "$DB" -Atc "select pg_database_size('$DB')")
  (source "$WORK/env.sh"; backupdr repo init --config "$WORK/small.json" >"$WORK/logs/init-small.log" 2>&1)
  bench S1 product "backupdr backup -> local repository, SCALE $SMALL_SCALE fixture" \
    "backupdr backup --target bench --config '$WORK/small.json' --json >>'$WORK/json/S1.json'"
  metric S1 db_bytes "$SMALL_DB_BYTES"
  [ "$STOP_SMALL" = 1 ] && { BENCH_PGPORT=$SMALL_PORT "$SHARED/stop-fixture.sh" "$SMALL_DIR" >/dev/null; STOP_SMALL=0; }
fi

# ------------------------------------------------------------------ report
log "writing $OUTBASE.md / .json"
python3 "$ROOT/bench/report.py" "$WORK" "$OUTBASE" "$DIR" "$SCALE" "$DB_BYTES" "$STREAM_BYTES" "$RUNS" "$REV" "$BUILD_NOTE" "$DLL" "$SMALL_SCALE"
log "done: $OUTBASE.md"
