/* eval_impl.h — private to the eval module (eval.c: settings and scheduling; eval_unit.c: the
 * methods on one unit; eval_write.c: the results file and the summary). */
#ifndef TGMM_EVAL_IMPL_H
#define TGMM_EVAL_IMPL_H

#include <stdio.h>

#include "tgmm/config.h"
#include "tgmm/model.h"

enum { EV_TGMM, EV_EM, EV_SPECTRAL, EV_ORACLE, EV_LLOYD, EV_NMETHODS };

/* Numeric columns of a result row (status as tgmm_status; C_DONE = 1 once computed). */
enum { C_STATUS, C_ITER, C_LOGLIK, C_L2M, C_L2W, C_ACC, C_MIS, C_SEC, C_K, C_N, C_DONE, EV_NCOL };

typedef struct {
  const tgmm_config *cfg; /* the eval config (with eval.grid) */
  int methods[EV_NMETHODS + TGMM_MAX_LIST], nm, has_tgmm;
  int ns;                 /* settings */
  tgmm_config *scfg;      /* [ns] resolved config of each setting */
  char (*label)[512];     /* [ns] "K=[3] N=64" */
  int (*value_idx)[TGMM_MAX_GRID]; /* [ns][n_grid] index of each grid key's value */
  int (*mclass)[TGMM_MAX_LIST];    /* [ns][class] the model's read-out for each class */
  const char *ckpt;       /* the checkpoint file (NULL without tgmm) */
  char ckpt_path[4200];   /* --checkpoint, or the newest checkpoint of that directory */
  tgmm_config tcfg;       /* the model's training config */
  tgmm_model model;
  int model_ok;
  int tps, chunk, units_per_setting;
  int64_t nunits, nrows;
  double *rows; /* [nrows, EV_NCOL]; row ((s * tps + i) * nm + j) */
} evaluator;

const char *tgmm_eval_method_name(int m);
/* Compute unit u: setting u / units_per_setting, its chunk u % units_per_setting; fills rows. */
int tgmm_eval_unit(evaluator *ev, int64_t u);
/* Sum the rows on rank 0 and write the results file (collective). */
int tgmm_eval_write(evaluator *ev, const char *path);

#endif
