#!/usr/bin/env python3
"""Writes bench/results/backup-<date>.md and .json from the work dir of bench/backup.sh (called by it)."""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

(work, outbase, fdir, scale, db_b, stream_b, runs, rev, build_note, dll, small_scale) = sys.argv[1:]
db_b, stream_b, runs, small_scale = int(db_b), int(stream_b), int(runs), int(small_scale)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:  # noqa: BLE001 - a missing fact is reported as empty
        return ""


def json_docs(path):
    """Concatenated JSON documents (one per run) in a file."""
    if not os.path.exists(path):
        return []
    text, docs, i = open(path).read(), [], 0
    dec = json.JSONDecoder()
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        doc, i = dec.raw_decode(text, i)
        docs.append(doc)
    return docs


metrics = {}
for line in open(os.path.join(work, "metrics.tsv")):
    i, k, v = line.rstrip("\n").split("\t", 2)
    metrics.setdefault(i, {})[k] = v

rows, by_id = [], {}
for line in open(os.path.join(work, "rows.tsv")):
    i, group, label, cmd, prep, status = line.rstrip("\n").split("\t")

    def script(name):
        p = os.path.join(work, "cmd", name)
        if not os.path.exists(p):
            return None
        body = [l for l in open(p).read().splitlines()
                if not l.startswith("source ") and "quiet-gate.sh" not in l and l.strip() not in (":", "")]
        return "\n".join(body) or None

    r = {"id": i, "group": group, "label": label, "command": script(i + ".sh") or cmd.strip(),
         "prepare": script(i + ".prepare.sh"), "status": status}
    hf = os.path.join(work, "hf", i + ".json")
    if os.path.exists(hf) and status == "ok":
        h = json.load(open(hf))["results"][0]
        r.update(wall_median_s=round(h["median"], 3), wall_min_s=round(h["min"], 3), wall_max_s=round(h["max"], 3),
                 wall_times_s=[round(t, 3) for t in h["times"]],
                 cpu_user_s=round(h["user"], 3), cpu_system_s=round(h["system"], 3))
    rss = os.path.join(work, "rss", i + ".txt")
    if os.path.exists(rss):
        runs_t = [l.split() for l in open(rss) if len(l.split()) == 4 and l.split()[1].isdigit()]
        if runs_t:
            r["peak_rss_kib"] = max(int(t[1]) for t in runs_t)
            r["peak_rss_kib_runs"] = [int(t[1]) for t in runs_t]
            r["time_user_s_median"] = round(statistics.median(float(t[2]) for t in runs_t), 2)
            r["time_sys_s_median"] = round(statistics.median(float(t[3]) for t in runs_t), 2)
    ld = os.path.join(work, "load", i + ".txt")
    if os.path.exists(ld):
        lines = [l.split() for l in open(ld) if l.strip()]
        r["load_before_runs"] = [float(l[0]) for l in lines]
        r["cpu_busy_pct_before_runs"] = [int(x.split("=")[1]) for l in lines for x in l if x.startswith("busy=")]
        r["quiet_wait_s_before_runs"] = [int(x.split("=")[1]) for l in lines for x in l if x.startswith("waited=")]
    docs = json_docs(os.path.join(work, "json", i + ".json"))
    if docs:
        if "durationSeconds" in docs[0]:
            r["backupdr_duration_s"] = [d["durationSeconds"] for d in docs]
            r["dump_bytes"] = docs[-1]["dumpBytes"]
            r["stored_bytes"] = docs[-1]["storedBytes"]
        if "phases" in docs[0]:
            r["phases_s"] = {k: [d["phases"].get(k) for d in docs] for k in docs[0]["phases"]}
            r["phases_median_s"] = {k: round(statistics.median(v for v in vs if v is not None), 3) for k, vs in r["phases_s"].items()}
    m = metrics.get(i, {})
    if "bytes_written" in m:
        r["bytes_written"] = int(m["bytes_written"])
    for k in ("note", "backup_id", "db_bytes"):
        if k in m:
            r[k] = m[k]
    rows.append(r)
    by_id[i] = r


def med(i):
    return by_id.get(i, {}).get("wall_median_s")


def verdict(ok):
    return None if ok is None else ("PASS" if ok else "FAIL")


targets = []


def target(name, value, limit, detail, ok=None):
    if ok is None and value is not None:
        ok = value <= limit
    targets.append({"target": name, "value": None if value is None else round(value, 3), "limit": limit,
                    "result": verdict(ok), "detail": detail})


a, b, c, p1, p2, f = (med(x) for x in ("A", "B", "C", "P1", "P2", "F"))
target("backup to local <= 1.15x C", p1 / c if p1 and c else None, 1.15,
       f"P1 {p1} s / C {c} s")
target("backup to local <= 0.5x B", p1 / b if p1 and b else None, 0.5, f"P1 {p1} s / B {b} s")
target("backup to s3rver <= 1.3x C", p2 / c if p2 and c else None, 1.3, f"P2 {p2} s / C {c} s")
R = by_id.get("R", {})
if R.get("phases_s") and f:
    dl = R["phases_median_s"]["download"]
    dr = statistics.median(d + s for d, s in zip(R["phases_s"]["download"], R["phases_s"]["restore"]))
    target("restore (download+restore phases, no check) <= 1.10x (F + download)", dr / (f + dl), 1.10,
           f"median(download+restore) {dr:.2f} s / (F {f} s + download {dl} s = {f + dl:.2f} s); "
           f"whole command wall {R.get('wall_median_s')} s (startup, unlock, prepare incl. CREATE DATABASE)")
else:
    target("restore (download+restore phases, no check) <= 1.10x (F + download)", None, 1.10, "not measured")
rss_rows = [x for x in ("P1", "P2", "R", "RC", "S1") if by_id.get(x, {}).get("peak_rss_kib")]
peak = max((by_id[x]["peak_rss_kib"] for x in rss_rows), default=None)
target("backupdr peak RSS <= 256 MiB", None if peak is None else peak / 1024, 256,
       "; ".join(f"{x} {by_id[x]['peak_rss_kib'] / 1024:.1f} MiB" for x in rss_rows))
S1 = by_id.get("S1", {})
if S1.get("peak_rss_kib") and by_id.get("P1", {}).get("peak_rss_kib"):
    big, small = by_id["P1"]["peak_rss_kib"], S1["peak_rss_kib"]
    sb = int(S1.get("db_bytes", 0))
    target("backupdr backup peak RSS does not grow with database size (P1 <= 1.25x S1)", big / small, 1.25,
           f"P1 at SCALE {scale} ({db_b / 2**20:,.0f} MiB database) {big / 1024:.1f} MiB vs S1 at SCALE {small_scale} "
           f"({sb / 2**20:,.0f} MiB database) {small / 1024:.1f} MiB")
else:
    target("backupdr backup peak RSS does not grow with database size (P1 <= 1.25x S1)", None, 1.25, "small scale not measured")

machine = {
    "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"), "cores": os.cpu_count(),
    "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    "kernel": platform.release(), "os": sh(". /etc/os-release; echo $PRETTY_NAME"),
    "virt": sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'"),
    "fs": sh(f"df -T {fdir} | awk 'NR==2{{print $2\" on \"$1}}'"),
    "load_at_report": sh("cat /proc/loadavg"),
}
versions = {
    "pg_dump": sh("/usr/lib/postgresql/15/bin/pg_dump --version"),
    "postgresql": sh("/usr/lib/postgresql/15/bin/postgres --version"),
    "zstd": sh("zstd --version"), "hyperfine": sh("hyperfine --version"), "dotnet": sh("dotnet --version"),
    "node": sh("node --version"),
    "s3rver": sh(f"node -p \"require('{os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}/tools/node_modules/s3rver/package.json').version\""),
    "backupdr_commit": rev, "backupdr_build": build_note,
}
doc = {
    "kind": "backupdr-database-backup-benchmark",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "runs_per_row": runs, "page_cache": "warm (fixture fits in RAM)",
    "machine": machine, "versions": versions,
    "fixture": {"scale": int(scale), "dir": fdir, "db_bytes": db_b, "custom_dump_stream_bytes": stream_b},
    "targets": targets, "rows": rows,
}
json.dump(doc, open(outbase + ".json", "w"), indent=2)


def fmt(v, d=2):
    return "-" if v is None else f"{v:.{d}f}"


def mib(v):
    return "-" if v is None else f"{v / 2**20:,.1f}"


def cell(t):
    return str(t).replace("|", "\\|")


L = [f"# BackupDr database backup benchmark, {doc['date'][:10]}", ""]
L.append(f"Machine: {machine['cpu']}, {machine['cores']} cores ({machine['virt'] or 'bare'} VM), {machine['mem_gib']} GiB RAM, "
         f"{machine['os']}, kernel {machine['kernel']}, {machine['fs']}. Page cache warm.")
L.append("")
L.append("Versions: " + ", ".join(f"{k} `{v}`" for k, v in versions.items() if v and k not in ("backupdr_build",)) + ".")
L.append(f"backupdr: {build_note}.")
L.append("")
L.append(f"Fixture: `make-odoo-fixture.sh {scale}`; database `odoo_bench` {db_b / 2**20:,.0f} MiB (pg_database_size), "
         f"uncompressed custom-format dump stream {stream_b / 2**20:,.0f} MiB. {runs} runs per row (RC: 1).")
L.append("")
L.append("**Other processes may have been running** (colleagues' builds and test runs on this 2-core machine): the "
         "1-minute load average and the CPU busy % over the second before each run are in the last column. Before each run "
         "the script waited (at most QUIET_MAX s) until the CPUs were at most QUIET_BUSY % busy; a busy % above that means "
         "the wait timed out and the run shared the CPUs. The load average lags: it still counts the previous run's own processes.")
L.append("")
L.append("## Targets (issue [2] point 7)")
L.append("")
L.append("| target | value | limit | result | how |")
L.append("|---|---:|---:|---|---|")
for t in targets:
    L.append(f"| {cell(t['target'])} | {fmt(t['value'])} | {t['limit']} | **{t['result'] or 'n/a'}** | {cell(t['detail'])} |")
L.append("")
L.append("## Rows")
L.append("")
L.append("wall = hyperfine median (min-max); CPU = user+sys of the command's processes (GNU time medians; PostgreSQL "
         "backends not counted); peak RSS = largest single process of the command (GNU time %M, max over runs); "
         "last column = 1-min load average / CPU busy % over the second before each run.")
L.append("")
L.append("| row | what | wall median s | min-max s | CPU user+sys s | peak RSS MiB | written MiB | load / CPU busy % before each run |")
L.append("|---|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    if r["status"] != "ok":
        L.append(f"| {r['id']} | {cell(r['label'])} | FAILED | | | | | |")
        continue
    cpu = (r.get("time_user_s_median") or 0) + (r.get("time_sys_s_median") or 0)
    cpu_s = f"{r.get('time_user_s_median', 0):.1f}+{r.get('time_sys_s_median', 0):.1f}={cpu:.1f}"
    L.append(f"| {r['id']} | {cell(r['label'])} | {fmt(r.get('wall_median_s'))} | {fmt(r.get('wall_min_s'))}-{fmt(r.get('wall_max_s'))} | "
             f"{cpu_s} | {fmt(r['peak_rss_kib'] / 1024 if r.get('peak_rss_kib') else None, 1)} | {mib(r.get('bytes_written'))} | "
             f"{', '.join(f'{x:.1f}/{y}%' for x, y in zip(r.get('load_before_runs', []), r.get('cpu_busy_pct_before_runs', [])))} |")
L.append("")
L.append("Product details:")
L.append("")
for r in rows:
    if r.get("backupdr_duration_s"):
        L.append(f"* **{r['id']}** backupdr's own `durationSeconds` per run: {r['backupdr_duration_s']} "
                 f"(the rest of the wall is process start, configuration and repository unlock); dump {r['dump_bytes']:,} B "
                 f"stored as {r['stored_bytes']:,} B; peak RSS per run {[round(k / 1024, 1) for k in r.get('peak_rss_kib_runs', [])]} MiB.")
    if r.get("phases_s"):
        L.append(f"* **{r['id']}** phases (s, per run): " + "; ".join(f"{k} {v}" for k, v in r["phases_s"].items())
                 + f"; medians {r['phases_median_s']}; peak RSS per run {[round(k / 1024, 1) for k in r.get('peak_rss_kib_runs', [])]} MiB.")
    if r.get("db_bytes"):
        L.append(f"* **{r['id']}** small fixture database {int(r['db_bytes']) / 2**20:,.0f} MiB.")
L.append("")
L.append("## Exact commands")
L.append("")
L.append("Each command ran as `/usr/bin/time -f '%e %M %U %S' bash CMD.sh` under `hyperfine --runs N --prepare PREP`, with "
         "`set -euo pipefail`, PATH=/usr/lib/postgresql/15/bin:$PATH, PGHOST=<fixture socket dir> PGPORT PGUSER=postgres, "
         "AWS_ACCESS_KEY_ID=AWS_SECRET_ACCESS_KEY=S3RVER, and `backupdr() { dotnet <build>/backupdr.dll \"$@\"; }`. "
         "The configurations (local.json, s3.json, small.json) follow the commands.")
L.append("")
for r in rows:
    L.append(f"**{r['id']}** {r['label']}")
    L.append("```bash")
    L.append(r["command"])
    L.append("```")
    if r.get("prepare"):
        L.append("before each run (untimed):")
        L.append("```bash")
        L.append(r["prepare"])
        L.append("```")
    L.append("")
for name in ("local.json", "s3.json", "small.json"):
    p = os.path.join(work, name)
    if os.path.exists(p):
        L.append(f"`{name}`:")
        L.append("```json")
        L.append(open(p).read().rstrip())
        L.append("```")
        L.append("")
open(outbase + ".md", "w").write("\n".join(L) + "\n")
