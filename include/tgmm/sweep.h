/* sweep.h — the runs of an experiment config's `sweep:` block.
 *
 *   sweep:
 *     name: L{model.n_layer}_C{model.n_embd}   # run-name template ({KEY}: that run's value)
 *     grid: {model.n_layer: [3, 6, 12], model.n_embd: [64, 128]}  # Cartesian product, first slowest
 *     zip:  {N: [32, 64], seed: [1, 2]}         # lists taken together (one more axis, last)
 *     set:  {eval.grid.N: "[{N}, 128]"}         # a value per run from a template
 *
 * Each run is a name and key=value overrides applied on top of the config's files; the launcher
 * (jobs/reproduce.sh) gives run NAME the run directory RUNS/EXPERIMENT/NAME. Without a name
 * template a run is named by its swept values (d2_N64; the last part of a dotted key:
 * n_layer4). A config without a sweep block is one run, named `fallback`. Pure: no MPI, no
 * files. */
#ifndef TGMM_SWEEP_H
#define TGMM_SWEEP_H

#include "tgmm/config.h"

#define TGMM_SWEEP_MAX_RUNS 100000

typedef struct {
  char name[256];
  int n_ov;
  char ov[TGMM_MAX_SWEEP][160]; /* "key=value" */
} tgmm_sweep_run;

/* Number of runs of the sweep (1 without one), or -1 with a message when it cannot be expanded
 * (zip lists of different lengths, a {placeholder} that is not a swept key, more than
 * TGMM_SWEEP_MAX_RUNS runs, names that collide). */
long tgmm_sweep_count(const tgmm_sweep *sw);

/* Run i (0 <= i < tgmm_sweep_count) into *run; TGMM_EUSER with a message on a bad template. */
int tgmm_sweep_run_at(const tgmm_sweep *sw, long i, const char *fallback, tgmm_sweep_run *run);

#endif
