# Sourced by the Slurm tests: starts a 3-node local Slurm under $WORK/slurm on ports derived from this shell's pid
# (so two runs, or a cluster started by hand, do not collide), below Linux's ephemeral range (32768 on), where an
# outgoing connection of a test running beside it took the controller's port once ("Address already in use"), and
# stops its daemons by pid file on exit.
# Needs WORK and REPO set.
export CADMM_SLURM_DIR="$WORK/slurm" CADMM_SLURM_PORT=$((20000 + ($$ % 3000) * 4)) SLURM_CONF="$WORK/slurm/slurm.conf"
trap '"$REPO/jobs/local-cluster.sh" stop' EXIT
trap 'exit 143' TERM INT  # a timeout's SIGTERM too goes through the EXIT trap
"$REPO/jobs/local-cluster.sh" start 3 > "$WORK/cluster.log"
# The daemons' errors, for a failed job: why a launch failed is in the slurmd logs only (Open MPI's mpirun reports any
# failed srun of its daemons as "An ORTE daemon has unexpectedly failed after launch"). Known start-up noise left out.
slurm_errors() {
  echo "== errors in the Slurm daemons' logs ($WORK/slurm/*.log):"
  grep -h "error" "$WORK"/slurm/slurmctld.log "$WORK"/slurm/slurmd.*.log 2>/dev/null |
    grep -v -e "state file" -e "NOTE: Trying backup" -e "MailProg" | tail -n 20 || true
}
