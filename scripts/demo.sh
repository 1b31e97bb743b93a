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
#      and prints where everything is.
# Knobs: SCALE (journal entries in the demo database, default 2000), DEMO_DIR.
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
backup_id=$(backupdr backup --target demo-prod --config "$data/backupdr.json" | tee /dev/stderr | head -n 1)

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

step "all backups and drills"
backupdr list --config "$data/backupdr.json"

step "where things are"
cat <<TXT
demo Odoo database   $connection
restored copy        $restored
restored filestore   $restored_filestore
demo filestore       $filestore
BackupDr config      $data/backupdr.json   (backupdr config check --config $data/backupdr.json)
repository           $data/repository
sandboxes            $data/sandboxes   (empty after every drill)
drill records        $data/repository/targets/demo-prod/drills/
stop the demo server dotnet tools/OdooDemo/bin/Debug/net10.0/odoo-demo.dll down --data-dir $demo_dir [--purge]
TXT
