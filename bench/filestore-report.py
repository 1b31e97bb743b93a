#!/usr/bin/env python3
"""Writes the results of bench/filestore.sh: <out>.md and <out>.json (see the script's header for the rows)."""
import json, os, platform, statistics, subprocess, sys, datetime

work, out, scale, fs_files, fs_bytes, runs, rev, restore_check, verify, repo_bytes = sys.argv[1:11]
fs_files, fs_bytes, repo_bytes = int(fs_files), int(fs_bytes), int(repo_bytes)

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # a missing tool only blanks its line in the report
        return f"unknown ({e})"

def documents(path):
    """The JSON documents appended one after another to a file."""
    if not os.path.exists(path):
        return []
    text, decoder, pos, docs = open(path).read(), json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)

rows = {}
for line in open(os.path.join(work, "rows.tsv")):
    rid, label, cmd, status = line.rstrip("\n").split("\t")
    hf = os.path.join(work, "hf", rid + ".json")
    times = json.load(open(hf))["results"][0]["times"] if os.path.exists(hf) else []
    rss = [l.split() for l in open(os.path.join(work, "rss", rid + ".txt"))] if os.path.exists(os.path.join(work, "rss", rid + ".txt")) else []
    load = [l.strip() for l in open(os.path.join(work, "load", rid + ".txt"))] if os.path.exists(os.path.join(work, "load", rid + ".txt")) else []
    rows[rid] = {
        "label": label, "command": cmd, "status": status,
        "wall_median_s": statistics.median(times) if times else None,
        "wall_min_s": min(times) if times else None, "wall_max_s": max(times) if times else None,
        "peak_rss_mib": max(int(r[1]) for r in rss) / 1024 if rss else None,
        "cpu_s_median": statistics.median(float(r[2]) + float(r[3]) for r in rss) if rss else None,
        "load_before_runs": load,
    }
    docs = documents(os.path.join(work, "json", rid + ".json"))
    if docs and "filestoreSeconds" in docs[0]:
        rows[rid]["filestore_phase_median_s"] = statistics.median(d["filestoreSeconds"] for d in docs)
        rows[rid]["database_phase_median_s"] = statistics.median(d["databaseSeconds"] for d in docs)
        last = docs[-1]["filestore"]
        rows[rid]["filestore_last_run"] = {k: last[k] for k in ("files", "bytes", "filesRead", "bytesRead", "packsWritten", "uploadedBytes", "packs", "storedBytes", "tablesOfContentsRead")}
    if docs and "filestore" in docs[0] and "seconds" in docs[0]["filestore"]:
        rows[rid]["restore_phase_median_s"] = statistics.median(d["filestore"]["seconds"] for d in docs)
        rows[rid]["restored_files"] = docs[-1]["filestore"]["files"]

def ratio(ours, peer):
    return round(ours / peer, 3) if ours is not None and peer else None

targets = [
    ("initial backup", "P1", "filestore_phase_median_s", "G1", 1.0),
    ("no-change backup", "P2", "filestore_phase_median_s", "G2", 0.25),
    ("backup after 1 % new files", "P3", "filestore_phase_median_s", "G3", 0.5),
    ("full filestore restore", "PR", "wall_median_s", "GR", 1.0),
]
results = []
for name, ours, field, peer, target in targets:
    r = ratio(rows.get(ours, {}).get(field), rows.get(peer, {}).get("wall_median_s"))
    results.append({"target": name, "backupdr_row": ours, "measure": field, "restic_row": peer, "ratio": r, "limit": target,
                    "pass": r is not None and r <= target})
peak = max((rows[r]["peak_rss_mib"] or 0) for r in ("P1", "P2", "P3", "PR") if r in rows)
results.append({"target": "backupdr peak RSS (MiB, any row)", "value": round(peak, 1), "limit": 256, "pass": peak <= 256})

machine = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"), "cores": os.cpu_count(),
    "memory": sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo"),
    "kernel": platform.release(), "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
    "restic": sh("restic version"), "dotnet": sh("dotnet --version"), "hyperfine": sh("hyperfine --version"),
    "backupdr_commit": rev, "load_at_report": sh("cut -d' ' -f1-3 /proc/loadavg"),
}
doc = {"scale": int(scale), "filestore_files": fs_files, "filestore_bytes": fs_bytes, "runs": int(runs), "machine": machine,
       "rows": rows, "targets": results, "restore_check": restore_check, "verify": verify, "backupdr_blobs_bytes": repo_bytes}
json.dump(doc, open(out + ".json", "w"), indent=2)

def f(v, d=2):
    return "-" if v is None else f"{v:.{d}f}"

md = [f"# Filestore benchmark, {machine['date'][:10]}", "",
      f"`bench/filestore.sh` on the SCALE={scale} fixture's filestore: {fs_files:,} files, {fs_bytes / 2**30:.2f} GiB "
      f"(incompressible content). Both tools write to a local folder. {runs} runs per row (hyperfine, wall median), "
      "each after `bench/quiet-gate.sh` (load before each run in the JSON).", "",
      f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, {machine['os']}, kernel {machine['kernel']}. "
      f"{machine['restic']}; .NET SDK {machine['dotnet']}; {machine['hyperfine']}; backupdr commit `{rev[:12]}` (Release, ReadyToRun publish).", "",
      "## Targets (issue [3] point 6)", "", "| target | backupdr | restic | ratio | limit | |", "|---|---:|---:|---:|---:|---|"]
for t in results[:-1]:
    ours, peer = rows.get(t["backupdr_row"], {}), rows.get(t["restic_row"], {})
    md.append(f"| {t['target']} | {f(ours.get(t['measure']))} s ({t['backupdr_row']}, {'filestore phase' if 'phase' in t['measure'] else 'whole command'}) "
              f"| {f(peer.get('wall_median_s'))} s ({t['restic_row']}) | {f(t['ratio'], 3)} | {t['limit']} | {'PASS' if t['pass'] else 'FAIL'} |")
p = results[-1]
md.append(f"| peak RSS of backupdr | {p['value']} MiB | | | 256 MiB | {'PASS' if p['pass'] else 'FAIL'} |")
md += ["", "## Rows", "", "| row | what | wall median s (min-max) | filestore phase s | database phase s | CPU s | peak RSS MiB |",
       "|---|---|---:|---:|---:|---:|---:|"]
for rid, r in rows.items():
    md.append(f"| {rid} | {r['label']}{'' if r['status'] == 'ok' else ' **FAILED**'} | {f(r['wall_median_s'])} ({f(r['wall_min_s'])}-{f(r['wall_max_s'])}) "
              f"| {f(r.get('filestore_phase_median_s', r.get('restore_phase_median_s')))} | {f(r.get('database_phase_median_s'))} | {f(r['cpu_s_median'], 1)} | {f(r['peak_rss_mib'], 1)} |")
md += ["", "## Notes", "",
       "- A `backupdr backup` always takes the database too (pg_dump of the ~1 GB fixture database); the ratios use the filestore "
       "phase it times itself (`filestoreSeconds`: finding stored blobs, reading, packing, uploading, writing the index), against "
       "restic's whole run. The whole command's wall is in the rows table. The restore row is the whole command for both tools.",
       "- 1 % new files: each run adds 100 fresh files (~10 MB, the peers' recipe) with their `ir_attachment` rows; the previous batch is removed first.",
       f"- After the rows: {restore_check}; {verify} (every pack read, every file's SHA-1). Blobs folder: {repo_bytes / 2**20:.1f} MiB.",
       "- Last run of each backup row: " + "; ".join(f"{rid} {r['filestore_last_run']}" for rid, r in rows.items() if "filestore_last_run" in r),
       "- Load before each run (load1 load5 load15, busy % over 1 s, seconds waited): " + "; ".join(f"{rid}: {' / '.join(r['load_before_runs'])}" for rid, r in rows.items()),
       ""]
open(out + ".md", "w").write("\n".join(md))
