#!/usr/bin/env bash
# bench/filestore.sh [DIR]
#
# Filestore benchmark of issue [3] point 6: `backupdr backup` (its filestore phase) and `backupdr restore
# --filestore-into` beside restic (apt, 0.14) on the same files: the filestore of the Odoo fixture of
# ../shared/bench/make-odoo-fixture.sh (SCALE 200000: 10,000 files, 1.03 GiB, in DIR, default /var/tmp/odoo-fixture;
# built if missing, started if stopped). Both tools write to a local folder. Rows (hyperfine, RUNS each, wall median;
# GNU time inside for peak RSS and CPU; bench/quiet-gate.sh before every run):
#   G1 restic initial (new repository)    P1 backupdr initial backup (new repository)
#   G2 restic no change                   P2 backupdr no change
#   G3 restic after 1 % new files         P3 backupdr after 1 % new files (files + their ir_attachment rows)
#   GR restic restore (whole filestore)   PR backupdr restore --filestore-into (whole filestore)
# A backupdr backup always dumps the database too; its filestore phase is timed by the backup itself (JSON
# `filestoreSeconds`: store_fname list already read, from finding the stored blobs to the index written) and that is
# what the ratios compare with restic's whole run; the whole command's wall is reported beside it.
# Writes bench/results/filestore-<date>[-TAG].md and .json.
#
# Env: SCALE (200000) RUNS (3) TAG  BENCH_PGPORT (55432)  WORK (/var/tmp/backupdr-fsbench-work)  KEEP_WORK (0)
#      BUILD_CACHE (/var/tmp/backupdr-bench-build)  BACKUPDR_REV (HEAD)  RESULTS_DIR (bench/results)
#      QUIET_BUSY (25) QUIET_MAX (120)  PGBIN (/usr/lib/postgresql/15/bin)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
SCALE=${SCALE:-200000}
DIR=${1:-/var/tmp/odoo-fixture}
PORT=${BENCH_PGPORT:-55432}
RUNS=${RUNS:-3}
TAG=${TAG:-}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
WORK=${WORK:-/var/tmp/backupdr-fsbench-work}
KEEP_WORK=${KEEP_WORK:-0}
BUILD_CACHE=${BUILD_CACHE:-/var/tmp/backupdr-bench-build}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_MAX=${QUIET_MAX:-120}
DB=odoo_bench
FS="$DIR/filestore/$DB"
DATE=$(date +%F)
OUTBASE="$RESULTS_DIR/filestore-$DATE${TAG:+-$TAG}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
server_running() { [ -d "$1/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$1/pg" status >/dev/null 2>&1; }

missing=()
for tool in hyperfine restic jq python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1; fi
fi

STOP_MAIN=0
cleanup() {
  rc=$?
  set +e
  [ -f "$WORK/cmd/remove1pct.sh" ] && bash "$WORK/cmd/remove1pct.sh" >/dev/null 2>&1
  [ "$STOP_MAIN" = 1 ] && "$SHARED/stop-fixture.sh" "$DIR" >/dev/null 2>&1
  if [ "$KEEP_WORK" != 1 ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM
rm -rf "$WORK"
mkdir -p "$WORK"/{cmd,hf,rss,load,json,logs} "$RESULTS_DIR"

# ------------------------------------------------------------------ backupdr build
# Release, ReadyToRun (precompiled, as a container image ships it: restic is a native binary too), framework-dependent,
# from a clean tree of one commit (`git archive`), so colleagues' uncommitted edits are not measured.
REV=$(git -C "$ROOT" rev-parse "${BACKUPDR_REV:-HEAD}")
SRC="$BUILD_CACHE/$REV-r2r"
DLL="$SRC/publish/backupdr.dll"
if [ ! -f "$DLL" ]; then
  log "publishing backupdr $REV (Release, ReadyToRun, from git archive)"
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
  dotnet publish "$SRC/src/BackupWorker/BackupWorker.csproj" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -o "$SRC/publish" -nologo -clp:NoSummary -v:quiet >"$WORK/logs/build.log" 2>&1 \
    || { cat "$WORK/logs/build.log" >&2; rm -rf "$SRC"; exit 1; }
fi

# ------------------------------------------------------------------ fixture
server_running "$DIR" || STOP_MAIN=1
log "fixture: SCALE $SCALE in $DIR (port $PORT); built if missing, started if stopped"
BENCH_PGPORT=$PORT "$SHARED/make-odoo-fixture.sh" "$SCALE" "$DIR" >"$WORK/logs/fixture.log" 2>&1 || { cat "$WORK/logs/fixture.log" >&2; exit 1; }
export PGHOST="$DIR" PGPORT="$PORT" PGUSER=postgres
FS_BYTES=$(find "$FS" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
FS_FILES=$(find "$FS" -type f | wc -l)
CONN="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=$DB"

head -c 32 /dev/urandom | base64 >"$WORK/passphrase"; chmod 600 "$WORK/passphrase"
echo "bench-not-a-secret" >"$WORK/restic.pass"
cat >"$WORK/backupdr.json" <<JSON
{
  "BackupDr": {
    "Repository": { "Kind": "Local", "Path": "$WORK/repo-backupdr", "PassphraseFile": "$WORK/passphrase" },
    "Targets": [
      { "Name": "bench", "Tenant": "bench", "Environment": "production", "Tier": "gold",
        "ConnectionString": "$CONN", "FilestorePath": "$FS", "BackupSchedule": "0 0 1 * * ?" }
    ],
    "Sandbox": { "Kind": "Local", "WorkPath": "$WORK/sandbox" },
    "Logging": { "Json": true }
  }
}
JSON
cat >"$WORK/env.sh" <<EOF
set -euo pipefail
export PATH="$PGBIN:\$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export PGHOST="$DIR" PGPORT="$PORT" PGUSER=postgres
export RESTIC_REPOSITORY="$WORK/repo-restic" RESTIC_PASSWORD_FILE="$WORK/restic.pass" RESTIC_CACHE_DIR="$WORK/restic-cache"
backupdr() { dotnet "$DLL" "\$@"; }
EOF

# 1 % new files: fresh incompressible content in Odoo's layout (the peers' recipe), each with its ir_attachment row so
# that backupdr backs it up; the previous batch (files and rows) is removed first.
cat >"$WORK/addfiles.py" <<'PY'
import hashlib, math, os, random, sys
root, n, seed, listfile, sqlfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if os.path.exists(listfile):
    for p in open(listfile).read().split():
        if os.path.exists(p): os.remove(p)
rng = random.Random(seed)
out, rows, total = [], [], 0
for _ in range(n):
    size = min(max(int(rng.lognormvariate(math.log(48_000), 1.3)), 2048), 2 * 1024 * 1024)
    data = rng.randbytes(size)
    sha = hashlib.sha1(data).hexdigest()
    d = os.path.join(root, sha[:2]); os.makedirs(d, exist_ok=True)
    p = os.path.join(d, sha)
    with open(p, "wb") as f: f.write(data)
    out.append(p); total += size
    rows.append(f"('bench-1pct', 'binary', '{sha[:2]}/{sha}', {size}, '{sha}', 'application/octet-stream')")
with open(listfile, "w") as f: f.write("\n".join(out) + "\n")
with open(listfile + ".bytes", "a") as f: f.write(f"{n} {total}\n")
with open(sqlfile, "w") as f:
    f.write("DELETE FROM ir_attachment WHERE name = 'bench-1pct';\n")
    f.write("INSERT INTO ir_attachment (name, type, store_fname, file_size, checksum, mimetype) VALUES\n" + ",\n".join(rows) + ";\n")
PY
cat >"$WORK/cmd/add1pct.sh" <<EOF
source "$WORK/env.sh"
c=\$(cat "$WORK/add.counter" 2>/dev/null || echo 0); c=\$((c + 1)); echo \$c >"$WORK/add.counter"
python3 "$WORK/addfiles.py" "$FS" $(( FS_FILES / 100 )) \$((1000 + c)) "$WORK/added.list" "$WORK/added.sql"
psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$WORK/added.sql"
EOF
cat >"$WORK/cmd/remove1pct.sh" <<EOF
source "$WORK/env.sh"
if [ -f "$WORK/added.list" ]; then while IFS= read -r f; do rm -f "\$f"; done <"$WORK/added.list"; : >"$WORK/added.list"; fi
psql -X -q -d $DB -c "DELETE FROM ir_attachment WHERE name = 'bench-1pct'"
EOF
bash "$WORK/cmd/remove1pct.sh" >/dev/null 2>&1 || true

# bench ID "label" "command" ["prepare command"]: wall from hyperfine; peak RSS and CPU from GNU time; load per run.
: >"$WORK/rows.tsv"
bench() {
  local id=$1 label=$2 cmd=$3 prep=${4:-}
  printf 'source "%s"\n%s\n' "$WORK/env.sh" "$cmd" >"$WORK/cmd/$id.sh"
  printf 'source "%s"\n%s\nQUIET_BUSY=%s QUIET_MAX=%s bash "%s" "%s"\n' "$WORK/env.sh" "${prep:-:}" "$QUIET_BUSY" "$QUIET_MAX" \
    "$ROOT/bench/quiet-gate.sh" "$WORK/load/$id.txt" >"$WORK/cmd/$id.prepare.sh"
  log "row $id: $label (load $(cut -d' ' -f1-3 /proc/loadavg))"
  local status=ok
  hyperfine --runs "$RUNS" --style basic --export-json "$WORK/hf/$id.json" \
    --prepare "bash '$WORK/cmd/$id.prepare.sh' >>'$WORK/logs/$id.prepare.log' 2>&1" \
    "/usr/bin/time -f '%e %M %U %S' -a -o '$WORK/rss/$id.txt' bash '$WORK/cmd/$id.sh' 2>>'$WORK/logs/$id.log'" \
    >"$WORK/logs/$id.hyperfine.txt" 2>&1 || { status=failed; log "row $id FAILED"; tail -n 20 "$WORK/logs/$id.log" >&2 || true; }
  printf '%s\t%s\t%s\t%s\n' "$id" "$label" "$(echo "$cmd" | tr '\n' ' ')" "$status" >>"$WORK/rows.tsv"
}

# ------------------------------------------------------------------ restic
bench G1 "restic backup: initial (new repository)" \
  "restic backup --quiet --host bench '$FS'" \
  "rm -rf \"\$RESTIC_REPOSITORY\" \"\$RESTIC_CACHE_DIR\" && restic init --quiet"
bench G2 "restic backup: no change" "restic backup --quiet --host bench '$FS'"
bench G3 "restic backup: 1 % new files" "restic backup --quiet --host bench '$FS'" "bash '$WORK/cmd/add1pct.sh'"
bash "$WORK/cmd/remove1pct.sh" >/dev/null 2>&1
bench GR "restic restore latest (whole filestore) -> new folder" \
  "restic restore latest --quiet --target '$WORK/restore-restic'" "rm -rf '$WORK/restore-restic'"
rm -rf "$WORK/restore-restic" "$WORK/repo-restic" "$WORK/restic-cache"

# ------------------------------------------------------------------ backupdr
bench P1 "backupdr backup: initial (new repository; database + filestore)" \
  "backupdr backup --target bench --config '$WORK/backupdr.json' --json >>'$WORK/json/P1.json'" \
  "rm -rf '$WORK/repo-backupdr' && backupdr repo init --config '$WORK/backupdr.json' >/dev/null"
bench P2 "backupdr backup: no change" \
  "backupdr backup --target bench --config '$WORK/backupdr.json' --json >>'$WORK/json/P2.json'"
bench P3 "backupdr backup: 1 % new files" \
  "backupdr backup --target bench --config '$WORK/backupdr.json' --json >>'$WORK/json/P3.json'" "bash '$WORK/cmd/add1pct.sh'"
bash "$WORK/cmd/remove1pct.sh" >/dev/null 2>&1
(source "$WORK/env.sh"; backupdr backup --target bench --config "$WORK/backupdr.json" --json >"$WORK/json/last.json" 2>>"$WORK/logs/last.log")
BACKUP_ID=$(jq -r .backupId "$WORK/json/last.json")
bench PR "backupdr restore --filestore-into (whole filestore) -> new folder" \
  "backupdr restore --target bench --backup $BACKUP_ID --filestore-into '$WORK/restore-backupdr' --config '$WORK/backupdr.json' --json >>'$WORK/json/PR.json'" \
  "rm -rf '$WORK/restore-backupdr'"
diff -r "$FS" "$WORK/restore-backupdr" >/dev/null && RESTORE_CHECK="diff -r: identical to the source" || RESTORE_CHECK="diff -r: DIFFERENT"
(source "$WORK/env.sh"; backupdr verify --target bench --backup "$BACKUP_ID" --config "$WORK/backupdr.json" --json >"$WORK/json/verify.json" 2>>"$WORK/logs/verify.log") \
  && VERIFY="verify ok" || VERIFY="verify FAILED"
REPO_BYTES=$(du -sb "$WORK/repo-backupdr/targets/bench/blobs" | cut -f1)

log "writing $OUTBASE.md / .json"
python3 "$ROOT/bench/filestore-report.py" "$WORK" "$OUTBASE" "$SCALE" "$FS_FILES" "$FS_BYTES" "$RUNS" "$REV" "$RESTORE_CHECK" "$VERIFY" "$REPO_BYTES"
log "done: $OUTBASE.md"
