#!/usr/bin/env bash
# The house (README "Layout"): the arrows that must never exist, checked on the #include lines.
#  - the model (nn*, model*, optim, batch) opens no file, knows no MPI, no trainer, no checkpoint;
#  - the baselines (em, lloyd, spectral, linalg, baseline) know no model and no files;
#  - metrics include nothing but their header (and common.h for allocation);
#  - eval needs no trainer (no train.h, no train_impl.h); train never includes eval's parts;
#    report never includes eval's parts; tasks (rng, task) open no file;
#  - no header includes itself through another (no include cycle), and the private parts of a
#    module call one way: config.c -> config_emit.c -> config_schema.c, eval's files as
#    src/eval_impl.h says (checked by the symbols each file defines and uses).
source "$(dirname "$0")/lib.sh"
cd "$TGMM_SRC"
incs() { grep -ho '#include ["<][^">]*[">]' "$@" | sed 's/#include //; s/[<>"]//g; s|tgmm/||' | sort -u; }
never() { # what, files (glob), forbidden headers regex
  local what="$1" files="$2" bad="$3" hit
  hit=$(incs $files | grep -E "^($bad)$" | tr '\n' ' ')
  [[ -z $hit ]] && ok "$what" || fail "$what: includes $hit"
}
never "model knows no files, MPI, trainer or checkpoint" "src/nn/*.c src/model/*.c include/tgmm/nn.h include/tgmm/model.h include/tgmm/optim.h include/tgmm/batch.h" \
  "h5io.h|hdf5.h|mpi.h|train.h|train_impl.h|checkpoint.h|runlog.h|eval_impl.h"
never "baselines know no model and no files" "src/baselines/em.c src/baselines/lloyd.c src/baselines/spectral.c src/baselines/linalg.c src/baselines/baseline.c include/tgmm/em.h include/tgmm/spectral.h include/tgmm/linalg.h include/tgmm/baseline.h" \
  "model.h|nn.h|batch.h|h5io.h|hdf5.h|train.h|checkpoint.h"
hit=$(incs src/core/metrics.c include/tgmm/metrics.h | grep '\.h$' | grep -vE '^(metrics\.h|common\.h|math\.h|stdlib\.h|stdint\.h)$' | tr '\n' ' ')
[[ -z $hit ]] && ok "metrics are pure" || fail "metrics include $hit"
never "eval needs no trainer" "src/eval/*.c src/eval/eval_impl.h" "train.h|train_impl.h|runlog.h"
never "train never includes eval" "src/train/train*.c src/train/train_impl.h include/tgmm/train.h" "eval_impl.h"
never "report never includes eval" "src/report/*.c include/tgmm/report.h" "eval_impl.h"
never "tasks open no file" "src/core/rng.c src/tasks/task.c include/tgmm/rng.h include/tgmm/task.h" "h5io.h|hdf5.h"
# header include cycles (depth-first over include/tgmm and src/*.h)
if /usr/bin/python3 - <<'PY'
import re, glob, os, sys
hs = {}
for p in glob.glob("include/tgmm/*.h") + glob.glob("src/*/*.h"):
    hs[os.path.basename(p)] = [os.path.basename(m) for m in re.findall(r'#include "(?:tgmm/)?([^"]+)"', open(p).read())]
state = {}
def visit(h, path):
    if state.get(h) == 1: sys.exit("include cycle: " + " -> ".join(path + [h]))
    if state.get(h) == 2 or h not in hs: return
    state[h] = 1
    for n in hs[h]: visit(n, path + [h])
    state[h] = 2
for h in hs: visit(h, [])
PY
then ok "no include cycle among headers"; else fail "include cycle"; fi
# file-level call cycles inside config and eval: a file may call only "downstream" files
if /usr/bin/python3 - <<'PY'
import re, sys
order = {"config/": ["config.c", "config_emit.c", "config_schema.c"],
         "eval/": ["eval.c", "eval_unit.c", "eval_data.c", "eval_write.c", "eval_settings.c"]}
def defs(f):
    t = open("src/" + f).read()
    return set(re.findall(r'^(?:[a-z_][a-z_0-9 *]*\s)?\**((?:tgmm|cfg)_[A-Za-z_0-9]+)\(', t, re.M))
bad = []
for mod, files in order.items():
    d = {f: defs(mod + f) for f in files}
    for i, f in enumerate(files):
        t = open("src/" + mod + f).read()
        for g in files[:i]:  # f must not call anything defined upstream
            for sym in d[g]:
                if re.search(r'\b' + sym + r'\(', t) and sym not in d[f]:
                    bad.append(f"{f} calls {sym} of {g}")
if bad: sys.exit("\n".join(bad))
PY
then ok "config and eval files call one way (no circle)"; else fail "call circle"; fi
finish
