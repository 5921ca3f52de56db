#!/usr/bin/env bash
# A real multi-node Slurm on this one machine, for trying the batch scripts: slurmctld plus one slurmd per
# node (Debian's build allows several slurmd on one host), authenticated by munge.
#   jobs/local-cluster.sh start [NODES]   # default 3 nodes node1..nodeN, 2 CPUs each; prints SLURM_CONF
#   jobs/local-cluster.sh stop            # stops exactly the daemons it started (by their pid files)
# Needs root and Debian's slurm-wlm and munge (installed when missing). CADMM_SLURM_DIR (state, logs,
# sockets) and CADMM_SLURM_PORT (controller port; nodes use the next ones) let two clusters coexist.
# CADMM_SLURM_CRED_EXPIRE: seconds a job step's credential lives (default 120, Slurm's own), see below.
set -euo pipefail
DIR="${CADMM_SLURM_DIR:-/tmp/cadmm-slurm}"
PORT="${CADMM_SLURM_PORT:-16817}"
CRED_EXPIRE="${CADMM_SLURM_CRED_EXPIRE:-120}"
CONF="$DIR/slurm.conf"

stop() {
  # Jobs first, so that no job step (slurmstepd and what it runs) outlives the daemons.
  if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    SLURM_CONF="$CONF" scancel --full --partition=local 2>/dev/null || true
    for _ in $(seq 100); do
      [ -z "$(SLURM_CONF="$CONF" squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for pidfile in "$DIR"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # A slurmd waits for the job steps it runs; do not leave it behind.
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

start() {
  local nodes="${1:-3}" host
  host=$(hostname)
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
  fi
  stop
  mkdir -p "$DIR/state" "$DIR/tmp"
  # munge: a key and a daemon of our own (socket and pid under $DIR).
  [ -f "$DIR/munge.key" ] || dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$DIR/munge.key"
  munged --force --key-file="$DIR/munge.key" --socket="$DIR/munge.socket" --pid-file="$DIR/munged.pid" \
         --log-file="$DIR/munged.log" --seed-file="$DIR/munge.seed"
  cat > "$CONF" <<CONF
ClusterName=cadmm-local
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# Every "node" shares this one machine, so a busy machine stalls them all at once: Slurm's advice for shared nodes is
# room in its timeouts. cred_expire: a job step's launch must reach each slurmd within this many seconds of the
# step's creation, or that slurmd refuses it ("Job credential expired"); under mpirun, which launches its daemons
# with srun, that shows only as "An ORTE daemon has unexpectedly failed after launch". It is also how long Slurm
# holds a requeued job back, which is why a test of requeueing may set it short (CADMM_SLURM_CRED_EXPIRE).
# MessageTimeout: a round trip between the daemons and srun (srun waits twice this for a step's launch).
AuthInfo=socket=$DIR/munge.socket,cred_expire=$CRED_EXPIRE
MessageTimeout=60
CredType=cred/munge
StateSaveLocation=$DIR/state
TmpFS=$DIR/tmp
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdSpoolDir=$DIR/slurmd.%n
SlurmdPidFile=$DIR/slurmd.%n.pid
SlurmdLogFile=$DIR/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/none
NodeName=node[1-$nodes] NodeHostname=$host NodeAddr=127.0.0.1 Port=$((PORT + 1))-$((PORT + nodes)) CPUs=2 State=UNKNOWN
PartitionName=local Nodes=node[1-$nodes] Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF="$CONF"
  slurmctld -f "$CONF"
  for i in $(seq "$nodes"); do
    mkdir -p "$DIR/slurmd.node$i"
    slurmd -f "$CONF" -N "node$i"
  done
  for _ in $(seq 100); do
    [ "$(sinfo -h -o '%T' 2>/dev/null | grep -c idle)" -ge 1 ] && break
    sleep 0.2
  done
  sinfo
  echo "export SLURM_CONF=$CONF"
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  stop) stop ;;
  *) echo "usage: $0 start [NODES] | stop" >&2; exit 2 ;;
esac
