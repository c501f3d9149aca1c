#!/usr/bin/env bash
# The house (README "Layout"): src/ holds one folder per part, and the parts use each other in one
# direction only. Checked on the #include lines and on the calls (a call from a.c to a function
# that only b.c defines is an arrow a.c -> b.c, as is an include of b's header):
#  - every .c file stands in a part's folder (main.c and outpath.c at src/'s top), at least 8
#    folders hold .c files, and a private header (src/<part>/*.h) is included only in its folder;
#  - every arrow between two parts goes the allowed way (the table USES below, README's table);
#  - no circle between files (includes and calls), none among the headers;
#  - the arrows that must never exist, on the #include lines: the model (nn, model) opens no
#    file, knows no MPI, no trainer, no checkpoint; the baselines' library files know no model
#    and no files; metrics include nothing but their header (and common.h for allocation); eval
#    needs no trainer; train and report never include eval's parts; tasks (rng, task) open no
#    file;
#  - inside config and eval the files call one way: config.c -> config_variants.c ->
#    config_emit.c -> config_parse.c -> config_yaml.c -> config_schema.c (by the list below); eval's files as src/eval/eval_impl.h says
#    (by the symbols each defines).
source "$(dirname "$0")/lib.sh"
cd "$TGMM_SRC"
incs() { grep -ho '#include ["<][^">]*[">]' "$@" | sed 's/#include //; s/[<>"]//g; s|.*/||' | sort -u; }
never() { # what, files (glob), forbidden headers regex
  local what="$1" files="$2" bad="$3" hit
  hit=$(incs $files | grep -E "^($bad)$" | tr '\n' ' ')
  [[ -z $hit ]] && ok "$what" || fail "$what: includes $hit"
}
files_io="h5io.h|out.h|dataset.h|hdf5.h|mpi.h"
never "model knows no files, MPI, trainer or checkpoint" "src/nn/*.c src/nn/*.h src/model/*.c src/model/*.h include/tgmm/nn.h include/tgmm/nn_ssm.h include/tgmm/model.h include/tgmm/optim.h include/tgmm/batch.h" \
  "$files_io|train.h|train_impl.h|checkpoint.h|runlog.h|eval_impl.h"
never "baselines know no model and no files" "src/baselines/em.c src/baselines/gmm.c src/baselines/lloyd.c src/baselines/spectral.c src/baselines/linalg.c src/baselines/baseline.c include/tgmm/em.h include/tgmm/gmm.h include/tgmm/spectral.h include/tgmm/linalg.h include/tgmm/baseline.h" \
  "model.h|nn.h|batch.h|h5io.h|out.h|dataset.h|hdf5.h|train.h|checkpoint.h"
hit=$(incs src/core/metrics.c include/tgmm/metrics.h | grep '\.h$' | grep -vE '^(metrics\.h|common\.h|math\.h|stdlib\.h|stdint\.h)$' | tr '\n' ' ')
[[ -z $hit ]] && ok "metrics are pure" || fail "metrics include $hit"
never "eval needs no trainer" "src/eval/*.c src/eval/*.h" "train.h|train_impl.h|runlog.h"
never "train never includes eval" "src/train/*.c src/train/*.h include/tgmm/train.h" "eval_impl.h"
never "report never includes eval" "src/report/*.c include/tgmm/report.h include/tgmm/results.h" "eval_impl.h"
never "tasks open no file" "src/core/rng.c src/tasks/task.c include/tgmm/rng.h include/tgmm/task.h" "$files_io"

# The parts, their direction, the circles: one reading of the tree for the checks below.
if /usr/bin/python3 - <<'PY'
import collections, glob, os, re, sys

# What each part may use (directly); a part always uses itself. "top" is src/main.c and
# src/outpath.c, the face: it may use every part.
USES = {
    "core": [],
    "config": ["core"],
    "io": ["core", "config"],
    "tasks": ["core", "config", "io"],
    "nn": ["core", "config"],
    "model": ["core", "config", "tasks", "nn"],
    "checkpoint": ["core", "config", "io", "model"],
    "baselines": ["core", "config", "io", "tasks"],
    "results": ["core", "io"],
    "train": ["core", "config", "io", "tasks", "nn", "model", "checkpoint", "baselines"],
    "eval": ["core", "config", "io", "tasks", "model", "checkpoint", "baselines", "results"],
    "report": ["core", "config", "io", "results"],
}
USES["top"] = list(USES)
TOP = {"src/main.c", "src/outpath.c"}
# Public headers without a .c of their name: the part they belong to.
HEADER_PART = {"commands.h": "config"}  # the signature of every command, beside cli.h

bad = []
cs = sorted(glob.glob("src/**/*.c", recursive=True))
hs = sorted(glob.glob("src/**/*.h", recursive=True)) + sorted(glob.glob("include/tgmm/*.h"))

def part_of_src(p):
    if p in TOP: return "top"
    d = p.split("/")
    return d[1] if len(d) == 3 and d[1] in USES else None

for p in cs:
    if part_of_src(p) is None:
        bad.append(f"{p}: not in a part's folder (src/<part>/, parts: {' '.join(USES)})")
top_c = [p for p in cs if p.count("/") == 1]
if len(top_c) > 2: bad.append(f"more than two .c files at src/'s top: {' '.join(top_c)}")
folders = {p.split("/")[1] for p in cs if p.count("/") == 2}
if len(folders) < 8: bad.append(f"only {len(folders)} part folders hold .c files")

c_of = {os.path.basename(p): p for p in cs}  # x.c -> its path
def part_of_header(h):  # h: a path
    if h.startswith("src/"): return part_of_src(h.rsplit("/", 1)[0] + "/x.c")
    b = os.path.basename(h)
    twin = c_of.get(b[:-2] + ".c")
    return part_of_src(twin) if twin else HEADER_PART.get(b)
for h in hs:
    if h.startswith("include/") and part_of_header(h) is None:
        bad.append(f"{h}: no part (no src/<part>/{os.path.basename(h)[:-2]}.c; name it in HEADER_PART)")

def strip(t):
    t = re.sub(r"/\*.*?\*/", " ", t, flags=re.S)
    t = re.sub(r"//[^\n]*", " ", t)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', t)
raw = {p: open(p).read() for p in cs + hs}
text = {p: strip(t) for p, t in raw.items()}

def resolve(frm, inc):  # a project header named by #include "inc" in file frm
    if inc.startswith("tgmm/"):
        p = "include/" + inc
    else:
        p = os.path.normpath(os.path.join(os.path.dirname(frm), inc))
    return p if p in raw else None

arrows = collections.defaultdict(set)  # (file, file) -> why
includes = []  # (file, the .c of the included header's name, header, as written)
def allowed(a, b):
    return a == b or b in USES[a]
for f in cs + hs:
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', raw[f], re.M):
        h = resolve(f, inc)
        if h is None: continue
        pa, pb = (part_of_src(f) if f.endswith(".c") else part_of_header(f)), part_of_header(h)
        if h.startswith("src/") and os.path.dirname(h) != os.path.dirname(f):
            bad.append(f"{f} includes {h}, private to {os.path.dirname(h)}/")
        if pa and pb and not allowed(pa, pb):
            bad.append(f"{f} ({pa}) includes {h} ({pb}): {pa} may not use {pb}")
        twin = c_of.get(os.path.basename(h)[:-2] + ".c")
        if f.endswith(".c") and twin and twin != f:
            includes.append((f, twin, h, inc))

# Calls: a function defined (not static) in exactly one .c file; a file's own definitions
# (static or not) shadow the others'.
defre = re.compile(r"^(static\s+)?(?!typedef\b|if\b|for\b|while\b|switch\b|return\b|else\b)"
                   r"[A-Za-z_][\w \t\*]*?[\s\*]\**([A-Za-z_]\w*)\s*\([^;{}()]*(?:\([^;{}()]*\)[^;{}()]*)*\)\s*\{", re.M)
public, own = collections.defaultdict(set), collections.defaultdict(set)
for f in cs:
    for m in defre.finditer(text[f]):
        own[f].add(m.group(2))
        if not m.group(1): public[m.group(2)].add(f)
for f in cs:
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text[f])) - own[f]:
        if len(public.get(name, ())) != 1: continue
        g = next(iter(public[name]))
        arrows[(f, g)].add(name)
        pa, pb = part_of_src(f), part_of_src(g)
        if pa and pb and not allowed(pa, pb):
            bad.append(f"{f} ({pa}) calls {name} of {g} ({pb}): {pa} may not use {pb}")

# An include of b's header is an arrow a.c -> b.c, unless a.c implements part of that header
# (nn_par.c and nn.h, a module's files and their one public header).
for f, twin, h, inc in includes:
    declared = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", text[h]))
    if not (own[f] & declared):
        arrows[(f, twin)].add("#include " + inc)

# Circles between files (Tarjan's strongly connected components over includes and calls).
succ = collections.defaultdict(set)
for a, b in arrows: succ[a].add(b)
index, low, stack, on, comps = {}, {}, [], set(), []
def scc(v):
    index[v] = low[v] = len(index); stack.append(v); on.add(v)
    for w in succ[v]:
        if w not in index:
            scc(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: comps.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in cs:
    if v not in index: scc(v)
for comp in comps:
    ties = [f"{a} -> {b}: {' '.join(sorted(arrows[(a, b)]))}" for a in comp for b in comp if (a, b) in arrows]
    bad.append("circle of files: " + ", ".join(comp) + "\n    " + "\n    ".join(ties))

# Header include cycles.
hinc = {h: [x for x in (resolve(h, i) for i in re.findall(r'#include "([^"]+)"', raw[h])) if x] for h in hs}
state = {}
def visit(h, path):
    if state.get(h) == 1: bad.append("include cycle: " + " -> ".join(path + [h])); return
    if state.get(h) == 2: return
    state[h] = 1
    for n in hinc[h]: visit(n, path + [h])
    state[h] = 2
for h in hs: visit(h, [])

# Inside config and eval: a file calls only files after it in its list.
order = {"src/config/": ["config.c", "config_variants.c", "config_diff.c", "config_emit.c", "config_parse.c", "config_yaml.c", "config_schema.c"],
         "src/eval/": ["check_cmd.c", "eval.c", "eval_unit.c", "eval_data.c", "eval_write.c", "eval_settings.c"]}
for d, files in order.items():
    for i, f in enumerate(files):
        for g in files[:i]:
            why = arrows.get((d + f, d + g), set()) - {n for n in arrows.get((d + f, d + g), set()) if n.startswith("#include")}
            if why: bad.append(f"{d}{f} calls {' '.join(sorted(why))} of {d}{g}, upstream of it")

print(f"{len(cs)} .c files in {len(folders)} part folders, {len(arrows)} arrows between files")
if bad: sys.exit("\n".join(bad))
PY
then ok "parts, their direction, no circle of files or headers"; else fail "the layout"; fi
finish
