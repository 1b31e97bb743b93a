#!/usr/bin/env bash
# The BackupDr demo, end to end as far as the product goes today:
#   1. installs what is missing (scripts/install-deps.sh) and builds;
#   2. starts (or reuses) a demo Odoo server: a throwaway PostgreSQL 15 cluster with database odoo_demo and its
#      filestore, in $DEMO_DIR (default /var/tmp/backupdr-demo, outside the clone so the postgres user can reach it);
#   3. writes BackupDr's local configuration data/demo/backupdr.json (local repository data/demo/repository,
#      local sandboxes data/demo/sandboxes, passphrase file data/demo/passphrase) with one target, demo-prod;
#   4. creates the repository (once), backs the database and the filestore up, takes a second backup (which finds
#      every file already stored and uploads none), verifies the backup (every pack and every file's SHA-1), restores
#      it into a new database (odoo_demo_restored, checked against the backup's row counts, fingerprints and ledger
#      totals) and a new filestore folder (data/demo/restored-filestore, every SHA-1 checked, then compared with the
#      source by diff), runs a restore drill of the backup in a local sandbox (a throwaway PostgreSQL cluster:
#      restore, neutralize, probes, RTO and RPO against the tier) and prints its verdict, lists backups and drills,
#      and prints where everything is;
#   5. runs the worker (`backupdr run`) for WORKER_SECONDS with a backup every 20 s, shows its /readyz and /metrics
#      and the backups it took, then stops it with SIGTERM (a clean stop exits 0);
#   6. builds the monthly recoverability report of this month and prints where it is.
# Knobs: SCALE (journal entries in the demo database, default 2000), DEMO_DIR, WORKER_SECONDS (default 60),
# WORKER_PORT (default: a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scale="${SCALE:-2000}"
demo_dir="${DEMO_DIR:-/var/tmp/backupdr-demo}"
data="$root/data/demo"

step() { printf '\n== %s\n' "$*"; }

step "installing what is missing"
scripts/install-deps.sh
# The drill's sandbox server runs as the postgres user in data/demo/sandboxes, inside this checkout.
scripts/postgres-can-reach.sh "$root"

step "building"
dotnet build src/BackupWorker/BackupWorker.csproj -nologo -clp:NoSummary -v:quiet
dotnet build tools/OdooDemo/OdooDemo.csproj -nologo -clp:NoSummary -v:quiet
backupdr() { dotnet "$root/src/BackupWorker/bin/Debug/net10.0/backupdr.dll" "$@"; }
odoo_demo() { dotnet "$root/tools/OdooDemo/bin/Debug/net10.0/odoo-demo.dll" "$@"; }

step "demo Odoo server (scale $scale) in $demo_dir"
mkdir -p "$data"
odoo_demo up --data-dir "$demo_dir" --scale "$scale" --json >"$data/odoo-demo.json"
field() { node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(d[process.argv[2]]);' "$data/odoo-demo.json" "$1"; }
connection=$(field connectionString)
filestore=$(field filestore)
echo "database:  $connection"
echo "filestore: $filestore"

step "BackupDr configuration in data/demo"
if [ ! -s "$data/passphrase" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 >"$data/passphrase")
  echo "new repository passphrase in data/demo/passphrase (keep it: without it the backups cannot be read)"
fi
cat >"$data/backupdr.json" <<JSON
{
  "BackupDr": {
    "Repository": { "Kind": "Local", "Path": "$data/repository", "PassphraseFile": "$data/passphrase" },
    "Targets": [
      { "Name": "demo-prod", "Tenant": "demo", "Environment": "production", "Tier": "gold",
        "ConnectionString": "$connection",
        "FilestorePath": "$filestore",
        "BackupSchedule": "0 0 1 * * ?", "DrillSchedule": "0 30 3 ? * SUN" }
    ],
    "Sandbox": { "Kind": "Local", "WorkPath": "$data/sandboxes" },
    "Logging": { "Json": false }
  }
}
JSON
backupdr config check --config "$data/backupdr.json" | head -n 1

if [ ! -f "$data/repository/repository.json" ]; then
  step "creating the repository"
  backupdr repo init --config "$data/backupdr.json"
fi

step "backup of demo-prod (database + filestore)"
backupdr backup --target demo-prod --config "$data/backupdr.json"

step "a second backup: the filestore is incremental, nothing changed, so no file is read or uploaded"
# Captured, then printed: `tee /dev/stderr` would reopen (and truncate) a log file the demo's output is redirected to.
second_backup=$(backupdr backup --target demo-prod --config "$data/backupdr.json")
printf '%s\n' "$second_backup"
backup_id=$(head -n 1 <<<"$second_backup")

step "verify $backup_id (reads every object and every pack, checks SHA-256, authentication and each file's SHA-1)"
backupdr verify --target demo-prod --backup "$backup_id" --config "$data/backupdr.json"

restored="${connection/Database=odoo_demo/Database=odoo_demo_restored}"
restored_filestore="$data/restored-filestore"
step "restore $backup_id into a new database (odoo_demo_restored) and a new filestore folder"
rm -rf "$restored_filestore"
backupdr restore --target demo-prod --backup "$backup_id" --into "$restored" --force --filestore-into "$restored_filestore" --config "$data/backupdr.json"

step "check: the restored filestore is identical to the source"
diff -r "$filestore" "$restored_filestore"
echo "identical: $(find "$restored_filestore" -type f | wc -l) files"

step "restore drill of $backup_id in a local sandbox (phases on stderr, then the table and the verdict)"
backupdr drill --target demo-prod --backup "$backup_id" --config "$data/backupdr.json"


step "the worker: backupdr run for ${WORKER_SECONDS:-60} s, a backup every 20 s (log: data/demo/worker.log)"
port="${WORKER_PORT:-$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')}"
BackupDr__Targets__0__BackupSchedule='0/20 * * * * ?' BackupDr__Http__Port="$port" BackupDr__Scheduler__HeartbeatInterval=00:00:10 \
  dotnet "$root/src/BackupWorker/bin/Debug/net10.0/backupdr.dll" run --config "$data/backupdr.json" >"$data/worker.log" 2>&1 &
worker=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$worker" 2>/dev/null || { cat "$data/worker.log"; echo "backupdr run exited early" >&2; exit 1; }
  sleep 1
done
echo "readyz: $(curl -fsS "http://127.0.0.1:$port/readyz")"
sleep "${WORKER_SECONDS:-60}"
echo "metrics (http://127.0.0.1:$port/metrics, backupdr_ families with samples):"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^backupdr_(backup|jobs|heartbeat|scheduler|job_failures)' | sed 's/^/  /'
kill -TERM "$worker"
status=0
wait "$worker" || status=$?
# The worker logs on standard output (JSON lines when configured so); a run with no match is not an error here.
echo "backupdr run stopped by SIGTERM: exit code $status; $(grep -c 'Backup of .* committed' "$data/worker.log" || true) backup(s) committed by the worker"
{ grep -E 'Backup of .* committed|Drill .* of|Heartbeat' "$data/worker.log" || true; } | sed 's/^/  /' | tail -n 8

step "all backups and drills"
backupdr list --config "$data/backupdr.json"

month=$(date -u +%Y-%m)
step "the monthly recoverability report of $month (HTML, PDF, JSON), stored in the repository and in data/demo/reports"
backupdr report --month "$month" --out "$data/reports" --config "$data/backupdr.json"

step "where things are"
cat <<TXT
demo Odoo database   $connection
restored copy        $restored
restored filestore   $restored_filestore
demo filestore       $filestore
BackupDr config      $data/backupdr.json   (backupdr config check --config $data/backupdr.json)
repository           $data/repository   (heartbeats in service/heartbeat/)
worker log           $data/worker.log
sandboxes            $data/sandboxes   (empty after every drill)
drill records        $data/repository/targets/demo-prod/drills/
report (HTML, PDF)   $data/reports/backupdr-report-$month.html  $data/reports/backupdr-report-$month.pdf
stop the demo server dotnet tools/OdooDemo/bin/Debug/net10.0/odoo-demo.dll down --data-dir $demo_dir [--purge]
TXT
