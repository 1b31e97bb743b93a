#!/usr/bin/env bash
# bench/where-time-goes.sh CONFIG [OUT]
#
# Diagnostic for bench/backup.sh: runs ONE `backupdr backup --target bench --config CONFIG` and samples every
# process's cumulative CPU time (utime+stime from /proc/PID/stat) every 0.2 s, so the CPU of the backup splits
# into backupdr itself, pg_dump, the PostgreSQL backend serving pg_dump (COPY), and the backend serving backupdr's
# snapshot connection (the evidence queries), with the time each was last seen active. Needs BACKUPDR_DLL and the
# environment of bench/backup.sh (PGHOST, PGPORT, AWS_* for S3). Writes a table to OUT (default stdout).
set -euo pipefail
CONFIG=$1
OUT=${2:-/dev/stdout}
DLL=${BACKUPDR_DLL:?set BACKUPDR_DLL}
TICK=$(getconf CLK_TCK)
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT

sample() { # one line per process: t pid cpu_ticks name...
  local t
  t=$(date +%s.%N)
  for p in /proc/[0-9]*; do
    [ -r "$p/stat" ] || continue
    read -r -a f <"$p/stat" 2>/dev/null || continue
    # fields after the ")" of comm: state is index 2 when comm has no spaces; use the cmdline for names
    local cmd
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case "$cmd" in *backupdr.dll*) cmd="backupdr ${cmd#*backupdr.dll }" ;; pg_dump*|*/pg_dump*|"postgres: "*) ;; *) continue ;; esac
    cmd=$(cut -c1-80 <<<"$cmd")
    local rest=${f[*]}; rest=${rest#*) }
    read -r -a g <<<"$rest"
    echo "$t ${p#/proc/} $(( g[11] + g[12] )) $cmd"
  done
}

start=$(date +%s.%N)
dotnet "$DLL" backup --target bench --config "$CONFIG" --json >"$S/out.json" 2>"$S/err.log" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do sample >>"$S/samples"; sleep 0.2; done
wait "$pid"
end=$(date +%s.%N)

python3 - "$S/samples" "$start" "$end" "$TICK" "$S/out.json" >"$OUT" <<'EOF'
import json, sys
samples, start, end, tick, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
procs = {}
for line in open(samples):
    t, pid, ticks, *cmd = line.split()
    t, ticks, cmd = float(t), int(ticks), " ".join(cmd)
    p = procs.setdefault(pid, {"first": t, "ticks0": ticks, "last_active": None, "ticks": ticks, "cmds": set()})
    if ticks > p["ticks"]: p["last_active"] = t
    p["ticks"] = ticks; p["cmds"].add(cmd)
print(f"backup wall {end - start:.2f} s; backupdr durationSeconds {json.load(open(out))['durationSeconds']}")
print("| process | CPU s (during the backup) | first seen s | last active s | states seen |")
print("|---|---:|---:|---:|---|")
for pid, p in sorted(procs.items(), key=lambda kv: -(kv[1]["ticks"] - kv[1]["ticks0"])):
    cpu = (p["ticks"] - p["ticks0"]) / tick
    if cpu < 0.05: continue
    name = sorted(p["cmds"], key=len)[0]
    states = "; ".join(sorted({c.split(")")[-1].strip() or c for c in p["cmds"]}))[:120]
    la = "-" if p["last_active"] is None else f"{p['last_active'] - start:.1f}"
    print(f"| {pid} {name[:60]} | {cpu:.2f} | {p['first'] - start:.1f} | {la} | {states} |")
EOF
