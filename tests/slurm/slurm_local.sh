#!/usr/bin/env bash
# tests/slurm/slurm_local.sh — start (or stop) a one-node Slurm on this host, for tests and for
# trying the job scripts on a laptop: munged, slurmctld and slurmd, no systemd needed.
#   source tests/slurm/slurm_local.sh start DIR   -> exports SLURM_CONF=DIR/slurm.conf
#   tests/slurm/slurm_local.sh stop DIR
set -uo pipefail
slurm_local_start() {
  local dir="$1" host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p "$dir/state" "$dir/spool"
  cat >"$dir/slurm.conf" <<CONF
ClusterName=tgmmlocal
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_LOCAL_PORT:-16817}
SlurmdPort=$(( ${SLURM_LOCAL_PORT:-16817} + 1 ))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobRequeue=1
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
  export SLURM_CONF="$dir/slurm.conf"
  if ! pgrep -x munged >/dev/null; then
    [[ -s /etc/munge/munge.key ]] || mungekey --create --force >/dev/null 2>&1 || /usr/sbin/create-munge-key -f >/dev/null 2>&1
    chown munge:munge /etc/munge/munge.key 2>/dev/null; chmod 600 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
  fi
  /usr/sbin/slurmctld -f "$SLURM_CONF" -i || return 1
  /usr/sbin/slurmd -f "$SLURM_CONF" || return 1
  for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then return 0; fi
    sleep 0.5
  done
  echo "slurm_local: node did not come up; logs in $dir" >&2
  sinfo >&2; tail -5 "$dir"/slurm*.log >&2
  return 1
}
slurm_local_stop() {
  local dir="$1" pids=() p alive
  for f in slurmd slurmctld; do
    [[ -f $dir/$f.pid ]] && { p=$(cat "$dir/$f.pid"); pids+=("$p"); kill "$p" 2>/dev/null; }
  done
  # until they have exited: the next test's Slurm binds the same ports at once
  for _ in $(seq 150); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  sleep 1
}
# For tests (after sourcing tests/mpi/lib.sh): a Slurm of the test's own in $WORK/slurm, its
# jobs cancelled and its daemons stopped on exit; the working directory becomes $WORK.
slurm_test_start() {
  if ! slurm_local_start "$WORK/slurm"; then fail "could not start a local Slurm"; finish; fi
  trap 'scancel --user="$(id -un)" 2>/dev/null; slurm_local_stop "$WORK/slurm"; rm -rf "$WORK"' EXIT
  cd "$WORK" || exit 1
  export TGMM="$TGMM_BIN"
}
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    start) slurm_local_start "$2" && echo "export SLURM_CONF=$2/slurm.conf" ;;
    stop) slurm_local_stop "$2" ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
  esac
fi
