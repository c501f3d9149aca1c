#!/usr/bin/env bash
# Every command in README.md's shell code blocks runs, so that a documented command cannot fail:
# the `tgmm ...` lines (also under mpirun, and the python3 lines between them) run in README
# order in a scratch directory with tiny overrides appended (a small model, 2 steps, 2 tasks per
# setting, at most 2 ranks); inputs a line expects (a dataset file, a run directory, a CSV) are
# made first with the same config. Lines that need a Slurm controller or a cluster (sbatch,
# jobs/reproduce.sh without --dry-run) are only validated: `tgmm check` on their config and
# overrides, reproduce.sh with --dry-run; jobs/quickstart.sh is syntax-checked (bash -n).
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/run" && cd "$WORK/run" || exit 1
ln -s "$TGMM_SRC/configs" configs && ln -s "$TGMM_SRC/jobs" jobs
/usr/bin/python3 - "$TGMM_SRC/README.md" "$TGMM_BIN" <<'PY'
import os, re, shlex, subprocess, sys

readme, tgmm = sys.argv[1], sys.argv[2]
MODEL = ["model.n_embd=32", "model.n_layer=1", "model.n_head=2", "model.n_task_embd=8",
         "model.ssm_heads=4", "model.ssm_head_dim=8", "model.ssm_state=4", "model.ssm_groups=2",
         "model.conv_kernel=4"]
TINY = {"train": MODEL + ["train.steps=2", "train.batch_size=2", "train.checkpoint_every=0",
                          "train.eval_every=0", "train.threads=1", "tasks=16"],
        "eval": ["eval.tasks_per_setting=2", "eval.chunk=2"], "gen": ["tasks=16"]}
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", TGMM=tgmm)
fails, ran, checked = 0, 0, 0


def sh(argv, what):
    global fails
    import time
    t0 = time.time()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if time.time() - t0 > 5:
        print(f"  ({time.time() - t0:.0f} s: {shlex.join(argv)[:150]})")
    if r.returncode != 0:
        fails += 1
        print(f"FAIL: {what}\n  ran: {shlex.join(argv)}\n  exit {r.returncode}: "
              f"{(r.stdout + r.stderr)[-1500:]}")
    return r.returncode == 0


# ---- the commands of the sh/bash code blocks, continuation lines joined, split at && ----
blocks, cur, lang = [], None, None
for line in open(readme):
    if line.startswith("```"):
        if cur is None:
            cur, lang = [], line[3:].strip()
        else:
            if lang in ("sh", "bash"):
                blocks.append("".join(cur).replace("\\\n", " "))
            cur = None
        continue
    if cur is not None:
        cur.append(line)
cmds = []
for b in blocks:
    pending = ""
    for line in b.splitlines(keepends=True):
        pending += line
        try:  # a quoted argument may span lines (python3 -c '...')
            words = shlex.split(pending, comments=True)
        except ValueError:
            continue
        pending = ""
        while words:
            i = words.index("&&") if "&&" in words else len(words)
            if words[:i]:
                cmds.append(words[:i])
            words = words[i + 1:]


def configs_and_keys(args):
    """The config files and key=value overrides of a command's arguments (options dropped)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("--out", "--data", "--checkpoint", "--rows"):
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def fixtures(sub, args):
    """Inputs the command expects, made with the same config (tiny)."""
    cfg = configs_and_keys(args)
    data, ckpt = option(args, "--data"), option(args, "--checkpoint")
    if data and not os.path.exists(data):
        if data.endswith(".h5") and data != "mine.h5":
            sh([tgmm, "gen", *cfg, *TINY["gen"], "--out", data, "--quiet"], f"fixture {data}")
    if ckpt and not os.path.exists(ckpt):
        train_cfg = [a for a in cfg if not a.startswith("eval.")]
        sh([tgmm, "train", *train_cfg, *TINY["train"], f"train.run_dir={ckpt}", "--quiet"],
           f"fixture run {ckpt}")


if not os.path.exists("mine.csv"):  # README "Your own data" reads it
    import numpy as np
    r = np.random.default_rng(0)
    mu = np.array([[0, 0], [5, 0], [0, 5]])
    np.savetxt("mine.csv", mu[r.integers(0, 3, 150)] + r.normal(size=(150, 2)), delimiter=",")

if not os.path.exists("my_study.yaml"):  # README's "your own config and its sweep block"
    with open("my_study.yaml", "w") as f:
        f.write(open("configs/laptop.yaml").read() + "\nsweep:\n  name: L{model.n_layer}\n"
                "  grid: {model.n_layer: [1, 2]}\n")

seen = set()
for w in cmds:
    text = shlex.join(w)
    if w[0] == "sbatch":  # a cluster line: the job's config and overrides must be valid
        script = next(a for a in w if a.startswith("jobs/"))
        rest = w[w.index(script) + 1:]
        if script.endswith("tgmm.sbatch"):
            rest = rest[1:]  # the tgmm command
        checked += sh([tgmm, "check", *configs_and_keys(rest)], f"validate: {text}")
    elif w[0] == "jobs/reproduce.sh":
        argv = ["bash", w[0], *[a for a in w[1:] if a != "--dry-run"], "--dry-run"]
        if tuple(argv) not in seen:  # `X --dry-run` and `X` validate alike: once
            seen.add(tuple(argv))
            checked += sh(argv, f"dry run of: {text}")
    elif w[0] == "jobs/quickstart.sh":
        checked += sh(["bash", "-n", w[0]], f"syntax of {text}")
    elif w[0] in ("/usr/bin/python3", "python3"):
        ran += sh(["/usr/bin/python3", *w[1:]], f"README: {text}")
    else:
        mpi = []
        if w[0] == "mpirun":
            np_ = min(int(option(w, "-np")), 2)
            i = w.index("tgmm")
            mpi = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(np_)]
            w = w[i:]
        if w[0] != "tgmm" or len(w) < 2 or w[1].startswith("<"):
            continue  # not a command (the usage synopsis)
        sub, args = w[1], w[2:]
        fixtures(sub, args)
        ok = sh([*mpi, tgmm, sub, *args, *TINY.get(sub, []), "--quiet"], f"README: {text}")
        ran += ok
print(f"{ran} README commands ran, {checked} cluster lines validated, {fails} failed")
if ran < 15 or checked < 4:
    print("FAIL: fewer commands than README holds: the extraction is broken")
    fails += 1
sys.exit(1 if fails else 0)
PY
if [[ $? == 0 ]]; then ok "every command in README's code blocks runs (cluster lines validated)"
else fail "README commands"; fi
finish
