/* report_impl.h — private to src/report: the runs of a merged `tgmm report` (report_runs.c:
 * each results file with its flattened config, the keys in which the runs differ) and their rows
 * for pandas (report_rows.c). Rank 0 only. */
#ifndef TGMM_REPORT_IMPL_H
#define TGMM_REPORT_IMPL_H

#include <stdio.h>

#include "tgmm/report.h"

#define MAXDIFF 8

typedef struct {
  const char *path;
  tgmm_report r;
  char *config, *version, *commit, *ckpt;
  long long step;
  int has_step, tasks, nk;
  int model_layers; /* model.n_layer of the evaluated model (its model_config), 0 if unknown */
  char (*key)[96], (*val)[256]; /* [nk] the flattened config */
} run;

typedef struct {
  int n;
  run *runs;
  int ndiff;
  char dkey[MAXDIFF][96];   /* differing config keys */
  char dcol[MAXDIFF][100];  /* their column names */
  char (*dval)[MAXDIFF][256]; /* [n] their values per run (spaces removed) */
} runset;

/* One results file: its summary, attributes and flattened config (run.path is the caller's). */
int tgmm_run_load(run *u, const char *path);
void tgmm_runs_free(runset *rs);
/* The value of a flattened config key ("model.n_layer") of a run, or NULL. */
const char *tgmm_run_lookup(const run *u, const char *key);
/* rs->dkey, dcol, dval: the config keys whose values differ between the runs, leaving out paths,
 * resources, bookkeeping (cadence, retention) and the report's own keys. */
void tgmm_runs_find_diff(runset *rs);
/* What a run is called in titles (never a path): the evaluated model's name (the checkpoint's
 * file name without .h5, or its run directory's name for a ckpt_*.h5 or a run directory), else
 * the results file's name without directory and .h5; ", step S" when stored and > 0. */
void tgmm_run_name(const run *u, char *out, size_t n);
/* The same without the step, as one word (spaces and '=' as '_'; "run<r>" when two runs share
 * it): what tells apart runs of one config (they differ in the evaluated model alone). */
void tgmm_run_id(const runset *rs, int r, char *out, size_t n);
/* A run's short label for the plots' keys: its values of the differing keys, each key by its
 * short name (tgmm_report_key_short), "n_layer=2 lr=0.001"; with no differing key (runs of one
 * config) the run's id (tgmm_run_id); at most n - 1 characters. */
void tgmm_run_tag(const runset *rs, int r, char *out, size_t n);
/* --rows: one line per (run, setting, task, method) of every file, for pandas. */
int tgmm_runs_write_rows(const runset *rs, const char *path);

#endif
