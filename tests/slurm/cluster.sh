#!/usr/bin/env bash
# A one-node Slurm cluster on this Debian machine, for the Slurm executor's tests and CI.
#
#   tests/slurm/cluster.sh up      install what is missing (apt), configure, start, wait
#   tests/slurm/cluster.sh down    stop slurmd, slurmctld and munged (by their pid files)
#   tests/slurm/cluster.sh status  exit 0 when the node takes jobs
#
# Run as root (or with sudo at hand). `up` is idempotent: packages already there are
# not fetched again, a running cluster is left running (reconfigured when this script's
# settings changed). The settings are those measured to work in containers without
# systemd or cgroup delegation (see ARCHITECTURE.md, "Beyond one machine"): no
# cgroups, no accounting daemon; finished jobs are logged by jobcomp/filetxt, which
# `sacct -c` reads.
set -euo pipefail

cmd="${1:-up}"
PACKAGES=(slurmctld slurmd slurm-client munge)
CONF_DIR=/etc/slurm
STATE=/var/spool/slurmctld
LOGS=/var/log/slurm
PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)
START_TIMEOUT_S=30

fail() { echo "cluster.sh: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "run me as root: the daemons and /etc/slurm need it"
  exec sudo -n -- "$0" "$@"
fi

node_ready() {
  # The node's state, as the controller sees it: idle, mixed or allocated take jobs.
  timeout 5 sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pids() {
  local pidfile pid
  for pidfile in "$@"; do
    alive "$pidfile" || continue
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}
stop_slurm() { stop_pids /run/slurmd.pid /run/slurmctld.pid; }
stop() { stop_pids "${PIDS[@]}"; }

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]}, and this is no Debian machine (no apt-get)"
  echo "cluster.sh: installing ${missing[*]}"
  timeout 300 apt-get update -qq || fail "apt-get update failed; check the network or the apt sources"
  # The packages' scripts must not start the daemons (no config yet, maybe no init system):
  # this script starts them. policy-rc.d is how Debian says so, for the install only.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local ok=1
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || ok=0
  [ "$made_policy" = 1 ] && rm -f "$policy"
  [ "$ok" = 1 ] || fail "apt-get install ${missing[*]} failed"
}

write_conf() {
  local host cpus mem conf
  host="$(hostname -s)"
  cpus="$(nproc --all)"
  mem=$(awk '/MemTotal/ {print int($2 / 1024) - 512}' /proc/meminfo)
  # Each job gets an equal share of memory per CPU unless it asks: without a default,
  # every job would claim the whole node and jobs would only ever run one at a time.
  conf=$(cat <<CONF
# Written by missionctl's tests/slurm/cluster.sh: a one-node cluster for its tests.
ClusterName=missionctl
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
KillWait=5
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
DefMemPerCPU=$((mem / cpus))
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
)
  mkdir -p "$CONF_DIR" "$STATE" /var/spool/slurmd "$LOGS"
  # 22.05 refuses CgroupPlugin=disabled (slurmd then fails to start); v1 without
  # automount is accepted and unused with proctrack/linuxproc and task/none.
  printf 'CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n' > "$CONF_DIR/cgroup.conf"
  if [ -f "$CONF_DIR/slurm.conf" ] && [ "$(cat "$CONF_DIR/slurm.conf")" = "$conf" ]; then
    return 1  # unchanged
  fi
  printf '%s\n' "$conf" > "$CONF_DIR/slurm.conf"
  return 0
}

start_munge() {
  install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
  install -d -o munge -g munge -m 0755 /run/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  alive /run/munge/munged.pid || su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start"
}

up() {
  install_packages
  local changed=0
  write_conf && changed=1
  start_munge
  # New settings need fresh daemons (a node's address or CPUs are not reconfigurable);
  # jobs survive it, their state is saved in $STATE.
  if [ "$changed" = 1 ]; then stop_slurm; fi
  alive /run/slurmctld.pid || slurmctld || fail "slurmctld did not start; see $LOGS/slurmctld.log"
  alive /run/slurmd.pid || slurmd || fail "slurmd did not start; see $LOGS/slurmd.log"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while [ $SECONDS -lt $deadline ]; do
    if node_ready; then echo "cluster.sh: one-node Slurm cluster up ($(sinfo -h -o '%D node, %c CPUs, partition %P'))"; return 0; fi
    # A node the controller marked down (an earlier crash) is taken back into service.
    timeout 5 scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  echo "cluster.sh: the node did not take jobs within ${START_TIMEOUT_S} s" >&2
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  exit 1
}

case "$cmd" in
  up) up ;;
  down) stop; echo "cluster.sh: stopped" ;;
  status) node_ready ;;
  *) fail "usage: $0 up|down|status" ;;
esac
