#!/usr/bin/env bash
# A one-node Slurm cluster on 127.0.0.1 (Debian's slurm-wlm and munge), for
# the batch tests, CI and anyone who wants to try `segvol batch --slurm`
# without a cluster. Everything lives in $SEGVOL_SLURM_DIR (default
# /tmp/segvol-slurm): the configuration, munge's key and socket, the
# daemons' state, logs and pids; no systemd, nothing in /etc.
#
#   scripts/slurm-local.sh start   # prints the line to eval: export SLURM_CONF=...
#   scripts/slurm-local.sh stop
#
# The daemons run as the calling user (root in CI). Clients find the
# cluster through SLURM_CONF.
set -euo pipefail
dir=${SEGVOL_SLURM_DIR:-/tmp/segvol-slurm}
conf=$dir/slurm.conf

stop() {
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then
      kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
      rm -f "$dir/$p.pid"
    fi
  done
}

start() {
  for t in munged slurmctld slurmd sbatch; do
    command -v "$t" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$t" >/dev/null || { echo "slurm-local: $t is missing (apt-get install slurm-wlm munge)" >&2; exit 1; }
  done
  # (Only with a configuration: without one the clients look for a
  # configless controller in DNS, a minute of timeouts.)
  if [ -f "$conf" ] && SLURM_CONF=$conf scontrol ping 2>/dev/null | grep -q UP && SLURM_CONF=$conf sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
    echo "export SLURM_CONF=$conf"
    return
  fi
  stop
  mkdir -p "$dir"/{munge,ctld,d,log}
  chmod 711 "$dir/munge"
  [ -f "$dir/munge/munge.key" ] || { dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$dir/munge/munge.key"; }
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
  user=$(id -un)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  cat >"$conf" <<CONF
ClusterName=segvol-local
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/socket
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
# Schedule each array task as soon as a CPU frees (the default waits up to
# 3 s to gather batch jobs: 20 short tasks took 27 s more than locally,
# 7 s with this).
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF=$conf
  slurmctld -f "$conf"
  slurmd -f "$conf"
  for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "export SLURM_CONF=$conf"
      return
    fi
    sleep 0.5
  done
  echo "slurm-local: the node did not come up; see $dir/log" >&2
  tail -5 "$dir"/log/*.log >&2
  exit 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
