/* eval_impl.h — private to the eval module. eval.c: validation (model, checkpoint) and the
 * dynamic scheduling of units; check_cmd.c: `tgmm check`; eval_settings.c: methods, grid
 * settings, the slot/unit/row layout; eval_data.c: the settings and tasks of `eval --data`;
 * eval_unit.c: the methods on one unit; eval_write.c: the results file and the summary. Calls go
 * one way: check_cmd -> eval, settings; eval -> settings, data, unit, write; data -> settings;
 * unit -> data; write -> settings.
 *
 * Rows: setting s owns the task slots [slot0[s], slot0[s] + ntask[s]) (grid: eval.tasks_per_setting
 * tasks each; --data: the file's tasks with that setting's K, in file order); slot q, method j
 * is global row q * nm + j, fixed whatever the rank count. A unit is eval.chunk consecutive slots
 * of one setting, so its rows are one contiguous block; a rank keeps only the rows of the units
 * it computed (in the order it computed them) and writes them itself.
 *
 * Columns ("methods" j = 0..nm-1): one per entry of eval.methods, except that with
 * eval.iterations [c1, c2, ...] em and lloyd become one column per count, em@c1, em@c2, ...
 * (lloyd@c...), in place, whose fits run with em.max_iter = lloyd.max_iter = c (miter[j]); the
 * other methods (tgmm, spectral, oracle: not truncated) keep one column, computed once per task
 * with the setting's own config. So the settings, the tasks and the row layout are those of an
 * eval without eval.iterations, and no result is repeated.
 *
 * A variant (tgmm_variant: em_kpp10, or an eval.variants entry) is a column of its base method
 * under its own name (with eval.iterations an em variant's columns are em_kpp10@c, ...); its fits
 * use the setting's config with the variant's keys set on top (mkeys[s * nm + j], every setting
 * resolved once before anything runs). tgmm_em: EM started at the model's estimate (one start,
 * em.* keys of the setting or variant); its /seconds is the task's share of the forward pass plus
 * its EM run. truth: the true parameters scored as they are (no fit). */
#ifndef TGMM_EVAL_IMPL_H
#define TGMM_EVAL_IMPL_H

#include <stdio.h>

#include "tgmm/cli.h"
#include "tgmm/config.h"
#include "tgmm/dataset.h"
#include "tgmm/h5io.h"
#include "tgmm/model.h"

/* tgmm: the model's own output (its labels when it has a label head, else its mixture);
 * tgmm_plugin: the plug-in labels of the mixture read-out of a model.head = both model. */
enum { EV_TGMM, EV_EM, EV_SPECTRAL, EV_ORACLE, EV_LLOYD, EV_TGMM_PLUGIN, EV_TGMM_EM, EV_TRUTH,
       EV_NMETHODS };
#define EV_MAXCOL 32 /* columns (a report holds at most 32 methods) */

/* One result row as a rank holds it until the write (80 bytes): the float columns in the order
 * C_* (also the order of the metrics in the summary: l2_means, l2_weights, accuracy,
 * misclustering, loglik, seconds, l2_scales), then K, N, iterations, status (tgmm_status), then
 * delta: the task's smallest distance between two true means (a covariate, not a metric; NaN
 * for K = 1 or without true means). */
enum { C_L2M, C_L2W, C_ACC, C_MIS, C_LOGLIK, C_SEC, C_L2S, EV_NF };
typedef struct {
  double f[EV_NF];
  int32_t K, N, iterations, status;
  double delta;
} ev_row;

/* Summary sums per (setting, method, metric): tasks ok with a finite value, the others, sum,
 * sum of squares. Metrics as tgmm_report_metric_name. */
enum { SUM_NOK, SUM_NOTHER, SUM_S1, SUM_S2, EV_NSUM };

/* The method keys of one (setting, column): the setting's, or a variant's on top of them. */
typedef struct {
  struct tgmm_em_keys em;
  struct tgmm_lloyd_keys lloyd;
  struct tgmm_spectral_keys spectral;
} ev_keys;

typedef struct {
  const tgmm_config *cfg; /* the eval config (with eval.grid) */
  int methods[EV_MAXCOL], nm, has_tgmm; /* [nm] the method of each column */
  int miter[EV_MAXCOL];     /* [nm] eval.iterations: the column's max_iter (0: the setting's) */
  char colname[EV_MAXCOL][16]; /* [nm] "em", "em@4", "em_kpp10", ... (the /method strings) */
  const tgmm_variant *variant[EV_MAXCOL]; /* [nm] the column's variant, NULL for a method */
  ev_keys *mkeys;         /* [ns * nm] variant columns' method keys (tgmm_eval_variant_keys) */
  int ns;                 /* settings */
  tgmm_config *scfg;      /* [ns] resolved config of each setting */
  char (*label)[512];     /* [ns] "K=[3] N=64" */
  int (*value_idx)[TGMM_MAX_GRID]; /* [ns][n_grid] index of each grid key's value */
  int (*mclass)[TGMM_MAX_LIST];    /* [ns][class] the model's read-out for each class */
  int64_t *slot0, *ntask;  /* [ns] first task slot and tasks of each setting */
  int64_t *unit0;          /* [ns + 1] first unit of each setting; unit0[ns] = units */
  const char *ckpt;       /* the checkpoint file (NULL without tgmm) */
  char ckpt_path[4200];   /* --checkpoint, or the newest checkpoint of that directory */
  tgmm_config tcfg;       /* the model's training config */
  tgmm_model model;
  int64_t step;           /* the checkpoint's step (0: an exported model) */
  int model_ok;
  int chunk;
  int64_t nunits, nslots, nrows;
  /* --data: the dataset, its distinct K values, and the file task of every slot */
  const char *data;
  tgmm_dataset ds;
  int data_ok, nkf, kf[TGMM_MAX_LIST];
  tgmm_config data_cfg; /* --data with a grid over K or d that agrees with the file: cfg without
                           those grid keys (a shallow copy; cfg points to it; never freed) */
  int64_t *slot_task; /* [nslots] file task index of each slot (--data), NULL on the grid */
  /* predictions (eval.save_predictions): row widths */
  int save_pred, pred_K, pred_d, pred_scales;
  int pred_N; /* /pred_labels row width (largest N; 0: no label rows) */
  /* this rank's rows: the blocks of its units, in computing order */
  int64_t nloc, cap_loc;   /* rows held, capacity */
  ev_row *rows;            /* [nloc] */
  double *pw, *pm, *psd;   /* [nloc, pred_K], [nloc, pred_K, pred_d] x 2 (save_pred) */
  int32_t *plab;           /* [nloc, pred_N] labels of label rows, -1 elsewhere (save_pred) */
  int nblk, cap_blk;
  hsize_t *blk_row0, *blk_nrows; /* [nblk] global first row and rows of each block */
} evaluator;

/* eval_settings.c */
const char *tgmm_eval_method_name(int m);
/* eval.methods (and eval.iterations) -> the columns methods[], miter[], colname[], nm, has_tgmm
 * (an unknown name or more than EV_MAXCOL columns: TGMM_EUSER). */
int tgmm_eval_parse_methods(evaluator *ev);
/* Append column j = nm: method m (variant var, or NULL), truncated at max_iter it (0: not
 * truncated; name "em@4", "em_kpp10@4", the variant's or the method's); more than EV_MAXCOL
 * columns or a name longer than 15 characters: TGMM_EUSER. Every column is added this way; nrows
 * follows (a column may be added after the layout). */
int tgmm_eval_add_column(evaluator *ev, int m, const tgmm_variant *var, int it);
/* The method keys of every (setting, variant column): the setting's config with the variant's
 * keys set (loaded once per pair; an invalid combination: TGMM_EUSER naming both). */
int tgmm_eval_variant_keys(evaluator *ev);
/* The /method string of column j (its colname; the method's name if none was set). */
const char *tgmm_eval_column_name(const evaluator *ev, int j);
/* The grid's settings: eval.tasks_per_setting drawn tasks each (checked feasible). */
int tgmm_eval_grid_settings(evaluator *ev);
/* Allocate the per-setting arrays for ns settings (at most 100000). */
int tgmm_eval_alloc_settings(evaluator *ev, int64_t ns);
/* Setting s = the base config with grid point gp's values and the NULL-terminated overrides
 * `more` (NULL: none); the label shows the grid values and a K override. */
int tgmm_eval_load_setting(evaluator *ev, int s, int64_t gp, char *const *more);
/* slot0, unit0, nslots, nunits, nrows from ntask[] and chunk. */
int tgmm_eval_layout(evaluator *ev);
/* Compute unit u (its setting by unit0, its slots by eval.chunk): appends its rows. */
int tgmm_eval_unit(evaluator *ev, int64_t u);
/* The setting of unit u (binary search in unit0). */
int tgmm_eval_unit_setting(const evaluator *ev, int64_t u);
/* Write the results file: every rank its own rows (collective); rank 0 prints the summary from
 * the reduced per-(setting, method) sums. */
int tgmm_eval_write(evaluator *ev, const char *path);

/* eval.c, shared with check_cmd.c: every setting fits the model in ev->model (same d, a
 * read-out for every K or pt.a, N within its positions); the method tgmm_plugin added for (and
 * only allowed with) a model.head = both model; everything an evaluator holds freed. */
int tgmm_eval_check_model_fits(evaluator *ev);
int tgmm_eval_plugin_method(evaluator *ev);
void tgmm_eval_free(evaluator *ev);

/* eval_data.c — `eval --data FILE`: open the file (rank 0 reads its index), refuse grid keys
 * that redefine tasks, build one setting per (grid point, K of the file) and the slot -> file task
 * map. Collective. */
int tgmm_eval_data_setup(evaluator *ev, const char *path);
/* File task of slot q as a tgmm_task (allocates; truth the file lacks is filled with defaults:
 * callers look at ev->ds.has_* before using it). */
int tgmm_eval_data_task(const evaluator *ev, int64_t q, tgmm_task *t);

/* check_plan.c: `tgmm check --sweep` and `tgmm check --cost` */
int tgmm_check_sweep(const tgmm_cli *cli, const tgmm_config *cfg);
int tgmm_check_cost(const tgmm_config *cfg);
int tgmm_check_identity(const tgmm_config *cfg);

#endif
