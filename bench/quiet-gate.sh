#!/usr/bin/env bash
# quiet-gate.sh LOADFILE: run by bench/backup.sh before each timed run (untimed).
# Waits until the CPUs were at most QUIET_BUSY % busy over one second (default 25), for at most QUIET_MAX seconds
# (default 120), because colleagues' builds and test runs share this 2-core machine. Then appends
# "load1 load5 load15 busy=<%> waited=<s>" to LOADFILE, so the results show what else was running.
set -euo pipefail
busy_max=${QUIET_BUSY:-25}
wait_max=${QUIET_MAX:-120}
cpu() { read -r _ u n s i w q sq st _ </proc/stat; echo "$((u + n + s + i + w + q + sq + st)) $((i + w))"; }
waited=0
while :; do
  read -r t1 i1 <<<"$(cpu)"
  sleep 1
  read -r t2 i2 <<<"$(cpu)"
  dt=$((t2 - t1)); [ "$dt" -gt 0 ] || dt=1
  busy=$((100 * (dt - (i2 - i1)) / dt))
  [ "$busy" -le "$busy_max" ] && break
  waited=$((waited + 1))
  [ "$waited" -ge "$wait_max" ] && break
done
echo "$(cut -d' ' -f1-3 /proc/loadavg) busy=$busy waited=$waited" >>"$1"
