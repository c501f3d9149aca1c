# tests/faults/lib.sh — helpers of the fault suite (sourced; run from the build directory with
# TGMM_BIN and TGMM_SRC set by CTest). Every tgmm run goes through `run_all`, which checks the
# promises of README "Errors and exit codes": the same exit code on every rank, no process left,
# no hang, no output under the final name, no .tmp left, inputs byte-identical afterwards.
source "$TGMM_SRC/tests/mpi/lib.sh"
# A private name for the binary, so that "no process left" looks only at this test's processes.
BIN="$WORK/tgmm-fault-$$"
ln -s "$TGMM_BIN" "$BIN"
CFG="$TGMM_SRC/configs/quickstart.yaml"
TINY=(model.n_embd=16 model.n_layer=1 model.n_head=2 model.n_task_embd=16 model.n_positions=64)

# run_all EXPECT NRANKS OUT "INPUTS..." ARGS...: run `tgmm ARGS` on NRANKS ranks, bounded by a
# timeout. Each rank's exit code is recorded by a wrapper that itself exits 0 (so that mpirun
# does not kill a rank still finishing when another has exited with an error). EXPECT is the
# exit code every rank must return, or "any" for a full-disk case: 0 (the output fitted and is
# there) or 74 (it could not be written). OUT is the final output path, which must not exist
# after a failure ("-": none); INPUTS (space-separated) must be byte-identical afterwards.
run_all() {
  local expect="$1" n="$2" out="$3" inputs="$4"; shift 4
  local what="tgmm $1 (np $n, expect $expect)" rcdir="$WORK/rc.$RANDOM$RANDOM" sums="" f
  mkdir -p "$rcdir"
  for f in $inputs; do sums+="$(md5sum < "$f")"; done
  timeout 60 mpirun --oversubscribe --bind-to none -np "$n" bash -c \
    '"$@"; echo $? > "'"$rcdir"'/rc.${OMPI_COMM_WORLD_RANK:-0}"' _ "$BIN" "$@" \
    > "$WORK/last.log" 2>&1
  local rc=$?
  if ((rc == 124)); then fail "$what: hung (killed after 60 s)"; return; fi
  local codes
  codes=$(cat "$rcdir"/rc.* 2>/dev/null | sort -u | tr '\n' ' ')
  LAST_RC=${codes% }
  if [[ $expect == any && ($codes == "0 " || $codes == "74 ") ]]; then expect=${codes% }; fi
  if [[ $(ls "$rcdir" | wc -l) != "$n" || $codes != "$expect " ]]; then
    fail "$what: rank exit codes '$codes' (mpirun $rc)"; tail -5 "$WORK/last.log"
  else ok "$what: exit $expect on all $n ranks"; fi
  sleep 0.2
  if pgrep -f "$BIN" > /dev/null; then fail "$what: processes left"; fi
  if [[ $out != - && $expect != 0 && -e $out ]]; then fail "$what: $out was written"; fi
  if [[ $out != - && $expect == 0 && ! -s $out ]]; then fail "$what: $out is missing"; fi
  if [[ $out != - ]] && find "$(dirname "$out")" -name '*.tmp' | grep -q .; then
    fail "$what: a .tmp is left"; fi
  local after=""
  for f in $inputs; do after+="$(md5sum < "$f")"; done
  [[ $sums == "$after" ]] || fail "$what: an input changed"
}
# The last run's output contains the pattern (grep -E).
said() { if grep -qE "$1" "$WORK/last.log"; then ok "says '$1'"; else fail "does not say '$1'"; tail -5 "$WORK/last.log"; fi; }
