#!/usr/bin/env bash
# bench/report.sh: the monthly report benchmark of issue [6] point 7.
#
# Writes a synthetic repository of TARGETS (500) targets with a month of daily backups and weekly drills (as the issue
# sets it; DRILL_MONTHS=12 adds the 11 months before, which fill the 12-month trend), incidents and an alert canary, in BackupDr's own formats (bench/FleetGenerator, the
# tests' SyntheticFleet), then times `backupdr report --month MONTH` on it: RUNS (3) runs under hyperfine, peak RSS
# with GNU time, each run behind bench/quiet-gate.sh. Target: the report built in <= 5 s on this machine.
# Writes bench/results/report-<date>[-TAG].md and .json. Knobs: TARGETS, MONTH (2026-10), DRILL_MONTHS (1), RUNS, TAG, WORK, KEEP_WORK,
# BACKUPDR_REV (HEAD), BUILD_CACHE, QUIET_BUSY, QUIET_MAX.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=${TARGETS:-500}
MONTH=${MONTH:-2026-10}
DRILL_MONTHS=${DRILL_MONTHS:-1}
RUNS=${RUNS:-3}
TAG=${TAG:-}
WORK=${WORK:-/var/tmp/backupdr-report-bench}
KEEP_WORK=${KEEP_WORK:-0}
BUILD_CACHE=${BUILD_CACHE:-/var/tmp/backupdr-bench-build}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
DATE=$(date +%F)
OUT="$RESULTS_DIR/report-$DATE${TAG:+-$TAG}"
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

for tool in hyperfine jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { log "installing hyperfine jq time"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine jq time >/dev/null; break; }
done

REV=$(git -C "$ROOT" rev-parse "${BACKUPDR_REV:-HEAD}")
SRC="$BUILD_CACHE/$REV"
DLL="$SRC/publish/backupdr.dll"
GEN="$SRC/bench/FleetGenerator/bin/Release/net10.0/backupdr-fleet-gen.dll"
if [ ! -f "$DLL" ] || [ ! -f "$GEN" ]; then
  log "building backupdr $REV (published as it ships: Release, ReadyToRun; from git archive)"
  "$ROOT/bench/build-backupdr.sh" "$ROOT" "$REV" "$SRC" >/dev/null
  dotnet build "$SRC/bench/FleetGenerator/FleetGenerator.csproj" -c Release -nologo -v:quiet -clp:NoSummary >/dev/null
fi

rm -rf "$WORK" && mkdir -p "$WORK/json"
[ "$KEEP_WORK" = 1 ] || trap 'rm -rf "$WORK"' EXIT
head -c 32 /dev/urandom | base64 >"$WORK/passphrase" && chmod 600 "$WORK/passphrase"
log "generating $TARGETS targets for $MONTH ($DRILL_MONTHS month(s) of drills)"
GEN_LINE=$(dotnet "$GEN" "$WORK/repository" "$WORK/passphrase" "$TARGETS" "$MONTH" "$DRILL_MONTHS" "$WORK/fleet.json")
log "$GEN_LINE"
OBJECTS=$(find "$WORK/repository" -type f | wc -l)
REPO_BYTES=$(du -sb "$WORK/repository" | cut -f1)

cat >"$WORK/run.sh" <<RUN
set -euo pipefail
/usr/bin/time -f '%e %M' -a -o "$WORK/rss" dotnet "$DLL" report --month "$MONTH" --config "$WORK/fleet.json" --out "$WORK/out" --json >>"$WORK/json/runs.jsonl"
RUN
log "timing backupdr report ($RUNS runs)"
hyperfine --runs "$RUNS" --prepare "bash $ROOT/bench/quiet-gate.sh $WORK/load" --export-json "$WORK/hf.json" "bash $WORK/run.sh" >&2

python3 - "$WORK" "$OUT" "$TARGETS" "$MONTH" "$REV" "$OBJECTS" "$REPO_BYTES" "$GEN_LINE" "$DRILL_MONTHS" <<'PY'
import json, os, platform, subprocess, sys
work, out, targets, month, rev, objects, repo_bytes, gen, drill_months = sys.argv[1:10]
hf = json.load(open(f"{work}/hf.json"))["results"][0]
text, runs, decoder, at = open(f"{work}/json/runs.jsonl").read(), [], json.JSONDecoder(), 0
while at < len(text.rstrip()):
    while text[at].isspace():
        at += 1
    run, at = decoder.raw_decode(text, at)
    runs.append(run)
rss = [float(l.split()[1]) / 1024 for l in open(f"{work}/rss")]
load = [l.strip() for l in open(f"{work}/load")]
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
median = hf["median"]
last = runs[-1]
files = {f["name"]: f["bytes"] for f in last["files"]}
result = {
    "date": subprocess.run(["date", "-u", "+%F %T UTC"], capture_output=True, text=True).stdout.strip(),
    "machine": f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, {platform.platform()}",
    "dotnet": dotnet, "backupdr_commit": rev, "targets": int(targets), "month": month,
    "repository_objects": int(objects), "repository_bytes": int(repo_bytes), "generator": gen,
    "wall_median_s": round(median, 3), "wall_min_s": round(hf["min"], 3), "wall_max_s": round(hf["max"], 3),
    "peak_rss_mib": round(max(rss), 1), "pdf_pages": last["pdfPages"], "files_bytes": files,
    "environments": last["environments"], "headline": last["headline"], "load_before_runs": load,
    "target": {"limit_s": 5.0, "pass": median <= 5.0},
}
json.dump(result, open(out + ".json", "w"), indent=2)
with open(out + ".md", "w") as f:
    f.write(f"# BackupDr monthly report benchmark, {result['date']}\n\n")
    f.write(f"Machine: {result['machine']}. .NET SDK {dotnet}. backupdr commit `{rev}` (Release build from git archive).\n\n")
    f.write(f"Fixture: synthetic repository of {targets} targets for {month} ({gen}): {objects} objects, {int(repo_bytes)/2**20:.1f} MiB on a local folder; "
            f"daily backups (sealed manifests), weekly drills for {drill_months} month(s) (sealed drill records), incidents, an alert canary.\n\n")
    f.write("| what | value |\n|---|---:|\n")
    f.write(f"| `backupdr report --month {month} --out DIR --json` wall, median of {len(runs)} (min-max) | {median:.2f} s ({hf['min']:.2f}-{hf['max']:.2f}) |\n")
    f.write(f"| target: <= 5 s | **{'PASS' if median <= 5.0 else 'FAIL'}** |\n")
    f.write(f"| peak RSS | {max(rss):.1f} MiB |\n| PDF pages | {last['pdfPages']} |\n")
    for name, size in files.items():
        f.write(f"| {name} | {size/2**20:.2f} MiB |\n")
    f.write(f"\nHeadline of the generated month: \"{last['headline']}\"\n\n")
    f.write("Load before each run (1/5/15-min load average, CPU busy % over one second, seconds waited by the quiet gate): "
            + "; ".join(load) + "\n\nThe whole process is timed: start, configuration, repository unlock (PBKDF2, 600,000 iterations), reading "
            "every manifest of the month and every drill record of the trend's 12 months with their seals checked, building, rendering HTML and PDF, "
            "storing the three files and the audit record, and writing --out.\n")
print(f"{out}.md: median {median:.2f} s, peak RSS {max(rss):.1f} MiB, {'PASS' if median <= 5.0 else 'FAIL'}")
PY
