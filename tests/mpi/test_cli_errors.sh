#!/usr/bin/env bash
# User errors: a message naming file, line and key; exit code 2 on every rank (mpirun returns
# 2, no hang); no output file left behind.
source "$(dirname "$0")/lib.sh"

expect_error() { # description, expected message regex, command...
  local what="$1" pattern="$2"; shift 2
  local out="$WORK/out.h5"
  rm -f "$out" "$out.tmp"
  mpi 3 "$TGMM_BIN" "$@" >"$WORK/log" 2>&1
  local rc=$?
  if [[ $rc != 2 ]]; then fail "$what: exit code $rc, expected 2"; cat "$WORK/log"; return; fi
  if ! grep -Eq -- "$pattern" "$WORK/log"; then fail "$what: message does not match '$pattern'"; cat "$WORK/log"; return; fi
  if ls "$WORK"/out.h5* >/dev/null 2>&1; then fail "$what: output file left behind"; return; fi
  ok "$what"
}

printf 'seed: 1\nd: 8\nmodel:\n  n_embd: 64\n  n_hed: 4\n' >"$WORK/unknown.yaml"
expect_error "unknown key" "unknown.yaml:5:.*model.n_hed" gen "$WORK/unknown.yaml" --out "$WORK/out.h5"
printf 'seed: 1\nd: eight\n' >"$WORK/type.yaml"
expect_error "wrong type" "type.yaml:2:.*'d'" gen "$WORK/type.yaml" --out "$WORK/out.h5"
printf 'seed: 1\nN: -4\n' >"$WORK/range.yaml"
expect_error "out of range" "range.yaml:2:.*'N'" gen "$WORK/range.yaml" --out "$WORK/out.h5"
printf 'seed: 1\nK: [2, 3\nd: 4\n' >"$WORK/bad.yaml"
expect_error "malformed YAML" "bad.yaml:[0-9]+:" gen "$WORK/bad.yaml" --out "$WORK/out.h5"
expect_error "bad override" "command line.*d=" gen d=-3 --out "$WORK/out.h5"
expect_error "missing config file" "nope.yaml" gen "$WORK/nope.yaml" --out "$WORK/out.h5"
expect_error "impossible cosine filter" "K|cosine" gen d=1 K=[5] --out "$WORK/out.h5"
expect_error "unknown option" "unknown option" gen --outt "$WORK/out.h5"
expect_error "unknown command" "unknown command" frobnicate
expect_error "gen without --out" "--out" gen
expect_error "option the command does not take" "does not take --checkpoint" gen --checkpoint x.h5 --out "$WORK/out.h5"

# Help works and exits 0.
if "$TGMM_BIN" --help | grep -q "commands:" && "$TGMM_BIN" gen --help | grep -q "usage: tgmm gen"; then ok "help"; else fail "help"; fi
finish
