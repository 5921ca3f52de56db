#!/usr/bin/env bash
# jobs/cadmm.sbatch's own logic, run without Slurm: a stand-in mpirun and a stand-in scontrol come first in PATH.
# 1. A checkpoint named in the --config INI file counts as one given on the command line: --resume is added, and a
#    signal requeues the job (scontrol requeue). Whether the script sees a checkpoint is checked against cadmm's own
#    reading of the same file (cadmm takes --resume only when it has a checkpoint) over comments, blanks, sections,
#    '_' in keys, CRLF, a last line without newline, commands that take no checkpoint, and the command line winning.
# 2. The launcher's stderr reaches the job's stderr while the launcher runs, so that a SIGKILL of the whole job (what
#    Slurm does when KillWait ends) leaves what was said; a SIGTERM to every process of the job (time limit,
#    preemption, scancel) loses nothing that the ranks say while they stop.
# Every process started in the background runs in a session of its own and is killed by its group id on exit.
# Usage: test_sbatch_script.sh CADMM WORKDIR REPO
set -euo pipefail
CADMM="$(realpath "$1")"; WORK="$(realpath -m "$2")"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK/bin" "$WORK/tmp"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export WORK CADMM TMPDIR="$WORK/tmp" PATH="$WORK/bin:$PATH"
unset SLURM_JOB_ID SLURM_ARRAY_TASK_ID SLURM_RESTART_COUNT
SCRIPT="$REPO/jobs/cadmm.sbatch"
data="$REPO/tests/data/fixtures/lasso_diabetes.h5"
groups=()
cleanup() { for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done; }
trap cleanup EXIT

cat > "$WORK/bin/mpirun" <<'STANDIN'
#!/usr/bin/env bash
# Stand-in mpirun: records its arguments, then acts as $STANDIN says; never runs longer than 30 s.
printf '%s\n' "$@" > "$WORK/args"
case "$STANDIN" in
  args) exit 0 ;;
  signal)  # as cadmm with a checkpoint: saves its state on the signal and exits 1
    trap 'echo "cadmm: error: interrupted by a signal at iteration 7; state saved" >&2; exit 1' USR1 TERM ;;
  mute)  # as when scancel stops the launcher's daemons too: the ranks' line is lost
    trap 'exit 1' USR1 TERM ;;
  stream) ;;  # reports on stderr, then works on until killed
  term)  # stopping takes a moment (a checkpoint to write), and it reports on stderr when done
    trap 'sleep 0.5; echo "stand-in: stopped by the signal, state saved" >&2; exit 1' USR1 TERM ;;
esac
echo "stand-in: started, a line on stderr" >&2
touch "$WORK/started"
for _ in $(seq 300); do sleep 0.1; done
STANDIN
cat > "$WORK/bin/scontrol" <<'STANDIN'
#!/usr/bin/env bash
echo "$*" >> "$WORK/scontrol.log"
STANDIN
chmod +x "$WORK/bin/mpirun" "$WORK/bin/scontrol"

fail() { echo "FAIL: $*"; for f in out err args scontrol.log; do [ -f "$WORK/$f" ] && { echo "== $f:"; cat "$WORK/$f"; }; done; exit 1; }
passed=0

# Waits (at most $2 seconds) until file $1 holds text $3.
wait_for_text() {
  for _ in $(seq $(($2 * 10))); do grep -qF -- "$3" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# Waits (at most 20 s) until the stand-in mpirun has started.
wait_started() {
  for _ in $(seq 200); do [ -f "$WORK/started" ] && return 0; sleep 0.1; done
  fail "the stand-in mpirun did not start within 20 s"
}
# Starts the job script in the background in a session of its own (pid = group id) with the stand-in doing $STANDIN.
start_job() {
  rm -f "$WORK/started" "$WORK/args" "$WORK/scontrol.log"
  setsid bash "$SCRIPT" "$@" > "$WORK/out" 2> "$WORK/err" &
  job=$!
  groups+=("$job")
  # The child calls setsid() after the fork: until then it is in this script's group (a race, not a failure).
  for _ in $(seq 100); do [ "$(ps -o pgid= -p "$job" | tr -d ' ')" = "$job" ] && break; sleep 0.05; done
  [ "$(ps -o pgid= -p "$job" | tr -d ' ')" = "$job" ] || fail "the job script is not the leader of its process group"
}
# Waits (at most 60 s) for the job script started by start_job; its exit code in job_rc.
wait_job() {
  for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$job" 2>/dev/null && fail "the job script did not end within 60 s"
  set +e; { wait "$job"; } 2>/dev/null; job_rc=$?; set -e
}

# --- 1. A checkpoint in the INI file --------------------------------------------------------------------------------
# case EXPECT NAME COMMAND INI_TEXT [ARGS...]: EXPECT is yes when the script must add --resume. cadmm itself, given the
# same file and --resume, must agree (exit 0 when it has a checkpoint, exit 2 "--resume: needs --checkpoint" or, for a
# command without checkpoints, "unknown option" when not). Each case runs in a directory of its own.
ini_case() {
  local expect=$1 name=$2 command=$3 text=$4; shift 4
  local dir="$WORK/ini/$name"
  mkdir -p "$dir"
  printf '%b' "$text" > "$dir/run.ini"
  local fit=(--data "$data" --output "$dir/out.h5" --quiet) config=(--config run.ini)
  [ "${CONFIG_EQ:-0}" = 1 ] && config=(--config=run.ini)
  [ "$command" = path ] && fit+=(--n-lambda 3)
  # The script, with the stand-in mpirun recording what it would launch.
  (cd "$dir" && STANDIN=args timeout 60 bash "$SCRIPT" "$command" "${config[@]}" "${fit[@]}" "$@" \
     > "$WORK/out" 2> "$WORK/err") || fail "ini case $name: the job script failed"
  local got=no
  grep -qx -- "--resume" "$WORK/args" && got=yes
  [ "$(grep -cx -- "--resume" "$WORK/args")" -le 1 ] || fail "ini case $name: --resume given twice"
  # cadmm's own reading of the file.
  local rc=0
  (cd "$dir" && timeout 60 "$CADMM" "$command" "${config[@]}" "${fit[@]}" "$@" --resume > "$dir/cadmm.out" 2>&1) || rc=$?
  local cadmm=no
  [ "$rc" -eq 0 ] && cadmm=yes
  if [ "$rc" -ne 0 ] && ! grep -q -e "needs --checkpoint" -e "resume" "$dir/cadmm.out"; then
    cat "$dir/cadmm.out"; fail "ini case $name: cadmm failed for another reason (exit $rc)"
  fi
  [ "$got" = "$expect" ] || fail "ini case $name ($command, INI '$text' $*): --resume added: $got, expected $expect"
  [ "$cadmm" = "$expect" ] || { cat "$dir/cadmm.out"; fail "ini case $name: cadmm's reading ($cadmm) differs from the expected $expect"; }
  passed=$((passed + 1))
}
ini_case yes spaces       solve 'checkpoint = state.ck\n'
ini_case yes no_spaces    solve 'penalty = l1\ncheckpoint=state.ck\n'
ini_case yes blanks_note  solve '  checkpoint \t=   state.ck   # where the state goes\n'
ini_case yes crlf         solve 'penalty = l1\r\ncheckpoint = state.ck\r\n'
ini_case yes no_newline   solve 'checkpoint = state.ck'
CONFIG_EQ=1 ini_case yes config_eq solve 'checkpoint = state.ck\n'
ini_case yes solve_section solve 'penalty = l1\n[solve]\ncheckpoint = state.ck\n'
ini_case yes section_blank solve '[ solve ]\ncheckpoint = state.ck\n'
ini_case yes path         path  'checkpoint = state.ck\n'
ini_case yes path_section path  '[solve]\nmax-iter = 50\n[path]\ncheckpoint = state.ck\n'
ini_case yes section_over solve 'checkpoint =\n[solve]\ncheckpoint = state.ck\n'
ini_case no  hash_comment solve '# checkpoint = state.ck\n'
ini_case no  semicolon    solve '; checkpoint = state.ck\n'
ini_case no  semicolon_in solve '   ; checkpoint = state.ck\n'
ini_case no  other_section solve '[path]\ncheckpoint = state.ck\n'
ini_case no  cv_section   solve '[cv]\nfolds = 3\ncheckpoint = state.ck\n'
ini_case no  every_only   solve 'checkpoint_every = 5\n'
ini_case no  cv_command   cv    'checkpoint = state.ck\nn-lambda = 3\nfolds = 2\n'
ini_case no  cli_wins     solve 'checkpoint = state.ck\n' --checkpoint ''
ini_case yes cli_only     solve 'penalty = l1\n' --checkpoint cli.ck
ini_case yes resume_given solve 'checkpoint = state.ck\nresume = false\n'

cd "$WORK"
# Slurm's warning (SIGUSR1) requeues a job whose checkpoint is in its INI file, whose next run resumes; the command
# line's checkpoint wins over the file's; without a checkpoint anywhere, the signal ends the job (exit 1). A SIGTERM
# (scancel) ends a job with a checkpoint too: a cancelled job must not come back.
# requeue_case INI_TEXT WANT_RC WANT_MESSAGE ARGS... (SIG: the signal, default USR1; STANDIN: default signal)
requeue_case() {
  local text=$1 want_rc=$2 want=$3; shift 3
  printf '%b' "$text" > "$WORK/run.ini"
  SLURM_JOB_ID=4242 STANDIN=${STANDIN:-signal} start_job solve --config run.ini --data "$data" "$@"
  wait_started
  kill "-${SIG:-USR1}" "$job"
  wait_job
  [ "$job_rc" -eq "$want_rc" ] || fail "requeue case '$text' $*: exit $job_rc, expected $want_rc"
  if [ "$want_rc" -eq 0 ]; then
    grep -qF -- "$want" "$WORK/out" || fail "requeue case '$text' $*: no '$want' in the job's output"
    grep -qx "requeue 4242" "$WORK/scontrol.log" || fail "requeue case '$text' $*: the job was not requeued"
    grep -qx -- "--resume" "$WORK/args" || fail "requeue case '$text' $*: no --resume"
  else
    [ ! -f "$WORK/scontrol.log" ] || fail "requeue case '$text' $* (SIG${SIG:-USR1}): requeued"
    [ -z "$want" ] || grep -qF -- "$want" "$WORK/err" || fail "requeue case '$text' $*: no '$want' in the job's stderr"
  fi
  passed=$((passed + 1))
}
requeue_case 'checkpoint = state.ck\n' 0 "with its state in state.ck; requeueing job 4242"
requeue_case '[solve]\ncheckpoint=state.ck ; not a comment\n' 0 "with its state in state.ck ; not a comment; requeueing"
requeue_case 'checkpoint = state.ck\n' 0 "with its state in cli.ck; requeueing job 4242" --checkpoint cli.ck
requeue_case 'penalty = l1\n' 1 ""
grep -q "before the ranks could report" "$WORK/err" && fail "the ranks' own line was followed by the script's"
SIG=TERM requeue_case 'checkpoint = state.ck\n' 1 "the last state saved is in state.ck; not requeueing"
# When the ranks' line dies with the launcher's daemons (scancel stops them as well), the script says what happened.
SIG=TERM STANDIN=mute requeue_case 'penalty = l1\n' 1 "stopped by a signal (exit 1) before the ranks could report"

# --- 2. The launcher's stderr, as it comes ------------------------------------------------------------------------
# A job killed (SIGKILL to every process, as Slurm does when KillWait ends) while the launcher runs: what the launcher
# wrote on stderr is in the job's stderr before the kill, and stays there.
STANDIN=stream start_job solve --data "$data"
wait_started
wait_for_text "$WORK/err" 10 "stand-in: started, a line on stderr" ||
  fail "the launcher's stderr did not reach the job's stderr within 10 s while the launcher ran"
kill -KILL -- "-$job"
wait_job
grep -qF "stand-in: started, a line on stderr" "$WORK/err" || fail "the launcher's stderr is gone after the kill"
passed=$((passed + 1))

# A SIGTERM to every process of the job (a time limit, a preemption, scancel): the launcher's stderr, written while it
# stops, still reaches the job's stderr (the tee that carries it must not die of the SIGTERM first).
STANDIN=term start_job solve --data "$data"
wait_started
kill -TERM -- "-$job"
wait_job
[ "$job_rc" -eq 1 ] || fail "SIGTERM to the job: exit $job_rc, expected 1"
grep -qF "stand-in: stopped by the signal, state saved" "$WORK/err" ||
  fail "SIGTERM to the job: what the launcher wrote while stopping is lost"
passed=$((passed + 1))

echo "sbatch script: $passed passed, 0 failed"
