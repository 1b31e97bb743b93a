"""Writes bench/drill.sh's results (.md and .json) from its work folder; run again on a kept WORK to rewrite them.

Usage: drill-report.py WORK OUTBASE COMMIT SCALE DB_BYTES DUMP_BYTES RUNS
"""
import json, os, platform, statistics, subprocess, sys
work, outbase, rev, scale, db_bytes, dump_bytes, runs = sys.argv[1:8]
fs_file = os.path.join(work, "fs.txt")
fs = open(fs_file).read().strip() if os.path.exists(fs_file) else "not recorded"
runs = int(runs)
peer = [float(l.split()[1]) for l in open(f"{work}/peer.tsv")]
# CPU seconds of every process of a run (cgroup cpuacct; "-" or absent where the machine had none).
number = lambda x: None if x in ("-", "") else float(x)
peer_cpu = [number(l.split()[2]) if len(l.split()) > 2 else None for l in open(f"{work}/peer.tsv")]
# The peer with files (bench runs since 2026-12-06 v6): the same restore with the filestore unpacked from a tar meanwhile.
files_rows = [l.split() for l in open(f"{work}/peer-files.tsv")] if os.path.exists(f"{work}/peer-files.tsv") else []
peer_files = [float(r[1]) for r in files_rows]
peer_files_cpu = [number(r[2]) if len(r) > 2 else None for r in files_rows]
drill_cpu = [number(open(f"{work}/records/{r}.cpu").read().strip()) if os.path.exists(f"{work}/records/{r}.cpu") else None
             for r in range(1, runs + 1)]
records = [json.load(open(f"{work}/records/{r}.json")) for r in range(1, runs + 1)]
walls = [float(open(f"{work}/records/{r}.wall").read()) for r in range(1, runs + 1)]
loads = [l.strip() for l in open(f"{work}/load.txt")]
phase_names = ["Provision", "Download", "DatabaseRestore", "FilestoreRestore", "Neutralize", "Probes"]
phases = {p: [next(x["seconds"] for x in rec["phases"] if x["phase"] == p) for rec in records] for p in phase_names}
starts = {p: [next(x.get("startedAtSeconds") for x in rec["phases"] if x["phase"] == p) for rec in records] for p in phase_names}
probes = {}
for rec in records:
    for p in rec["probes"]:
        probes.setdefault(p["name"], []).append(p["seconds"])
rto = [rec["rto"]["achievedSeconds"] for rec in records]
med = statistics.median
peer_m, restore_m, wall_m = med(peer), med(phases["DatabaseRestore"]), med(walls)
r_restore, r_wall = restore_m / peer_m, wall_m / peer_m
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) // 1024 // 1024
machine = f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, {platform.platform()}"
date = subprocess.check_output(["date", "-u", "+%Y-%m-%d %H:%M UTC"], text=True).strip()
result = {
    "date": date, "machine": machine, "commit": rev, "scale": int(scale), "databaseBytes": int(db_bytes), "dumpFileBytes": int(dump_bytes),
    "runs": runs, "peerSeconds": peer, "drillWallSeconds": walls, "peerCpuSeconds": peer_cpu, "drillCpuSeconds": drill_cpu, "phaseSeconds": phases, "phaseStartSeconds": starts, "probeSeconds": probes, "rtoSeconds": rto,
    "outcomes": [rec["outcome"] for rec in records], "load": loads,
    "peerWithFilesSeconds": peer_files, "peerWithFilesCpuSeconds": peer_files_cpu,
    "medians": {"peer": peer_m, "databaseRestore": restore_m, "drillWall": wall_m, "rto": med(rto)}
               | ({"peerWithFiles": med(peer_files)} if peer_files else {}),
    "ratios": {"databaseRestoreVsPeer": round(r_restore, 3), "drillVsPeer": round(r_wall, 3)}
              | ({"drillVsPeerWithFiles": round(wall_m / med(peer_files), 3)} if peer_files else {}),
    "workFilesystem": fs,
    "targets": {"databaseRestoreVsPeer": 1.10, "drillVsPeer": 1.5},
    "pass": {"databaseRestoreVsPeer": r_restore <= 1.10, "drillVsPeer": r_wall <= 1.5},
}
json.dump(result, open(outbase + ".json", "w"), indent=2)
ok = lambda b: "PASS" if b else "FAIL"
fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
lines = [
    f"# Drill benchmark, {date}", "",
    f"- Machine: {machine}; the machine is shared with other sessions (load before each timed run below).",
    f"- Work folder (repository, dump file, peer cluster, sandboxes): {fs}.",
    f"- Commit {rev} (Release build from git archive); fixture SCALE={scale}: database {int(db_bytes)/2**20:.1f} MiB, "
    f"pg_dump -Fc file {int(dump_bytes)/2**20:.1f} MiB; {runs} runs each, alternating, each after `sync` (no run pays for the writeback of the one before), medians compared.",
    "- Peer: `createdb` + `pg_restore -j2 --exit-on-error --no-owner --no-privileges` from a local dump file into a fresh cluster "
    "with the sandbox's settings (cluster creation untimed), through the cluster's unix socket as the drill's connections to its sandbox.",
    "- Drill: `backupdr drill --target bench --json` end to end (wall of the whole command: start-up, janitor, provision with initdb, "
    "download + verify + decrypt, pg_restore -j2, the filestore restore, neutralize, probes, teardown, record). "
    "The backup holds the fixture's filestore (10,000 files, 1.1 GiB): the drill restores and checks it too, the peer does not. "
    "The sandbox starts while the dump downloads; the filestore restores from pg_restore's start on the cores it leaves "
    "idle (SCHED_IDLE threads, the session at nice 19, pg_restore in a session of its own), at normal priority once it has "
    "ended, beside the probes of table data (fingerprints, ledger, recency). Each phase's seconds are its own.", "",
    "| measure | median s | runs (s) |", "| --- | ---: | --- |",
    f"| peer: pg_restore -j2 from a local file | {peer_m:.2f} | {fmt(peer)} |",
]
if peer_files:
    lines += [f"| peer with files: the same, the filestore unpacked from a local tar meanwhile | {med(peer_files):.2f} | {fmt(peer_files)} |"]
lines += [
    f"| drill: whole command | {wall_m:.2f} | {fmt(walls)} |",
    f"| drill: achieved RTO (start until critical probes passed) | {med(rto):.2f} | {fmt(rto)} |",
]
lines += [f"| drill phase: {p} (starts at {med(starts[p]):.2f} s) | {med(v):.2f} | {fmt(v)} |" if all(x is not None for x in starts[p])
          else f"| drill phase: {p} | {med(v):.2f} | {fmt(v)} |" for p, v in phases.items()]
lines += [f"| probe: {n} | {med(v):.2f} | {fmt(v)} |" for n, v in probes.items()]
if all(x is not None for x in peer_cpu + drill_cpu):
    lines += [f"| CPU seconds, peer (every process: servers, pg_restore) | {med(peer_cpu):.2f} | {fmt(peer_cpu)} |",
              f"| CPU seconds, drill (every process: backupdr, its tools, the sandbox's server) | {med(drill_cpu):.2f} | {fmt(drill_cpu)} |"]
    if peer_files and all(x is not None for x in peer_files_cpu):
        lines.insert(-1, f"| CPU seconds, peer with files | {med(peer_files_cpu):.2f} | {fmt(peer_files_cpu)} |")
lines += ["", "| target | ratio | limit | result |", "| --- | ---: | ---: | --- |",
          f"| database-restore phase / peer | {r_restore:.3f} | 1.10 | {ok(r_restore <= 1.10)} |",
          f"| whole drill / peer | {r_wall:.3f} | 1.50 | {ok(r_wall <= 1.5)} |"]
if peer_files:
    lines += [f"| whole drill / peer with files (informational: the same data restored, without checks) | {wall_m / med(peer_files):.3f} | - | - |"]
lines += ["",
          "Load before each timed run (load1 load5 load15, CPU busy % over 1 s, seconds waited by quiet-gate):", ""]
lines += [f"- {l}" for l in loads]
lines += ["", "Per run (pairs run back to back):", "", "| run | peer s | DB restore s | DB restore / peer | drill wall s | drill / peer |",
          "| --- | ---: | ---: | ---: | ---: | ---: |"]
lines += [f"| {i + 1} | {p:.2f} | {d:.2f} | {d / p:.3f} | {w:.2f} | {w / p:.3f} |"
          for i, (p, d, w) in enumerate(zip(peer, phases["DatabaseRestore"], walls))]
if peer_files:
    lines += ["", "Peer with files per run (s): " + fmt(peer_files) + "."]
lines += ["", f"Outcomes: {', '.join(rec['outcome'] for rec in records)}."]
open(outbase + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
