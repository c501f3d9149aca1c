#!/usr/bin/env bash
# README's config reference lists every key of the schema, as `tgmm --keys` prints it.
source "$(dirname "$0")/lib.sh"
"$TGMM_BIN" --keys >"$WORK/keys.md" || { fail "tgmm --keys failed"; finish; }
n=0
while IFS= read -r line; do
  [[ $line == '| `'* ]] || continue
  n=$((n + 1))
  grep -qF -- "$line" "$TGMM_SRC/README.md" || fail "README lacks or has a stale row: $line"
done <"$WORK/keys.md"
((n > 40)) && ok "$n keys checked" || fail "only $n keys listed"
finish
