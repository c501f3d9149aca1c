/* eval_data.c — `tgmm eval --data TASKS.h5`: evaluate on the tasks of a dataset file (written by
 * `tgmm gen` or another tool: README "Dataset files") instead of drawing them.
 *
 * Each task keeps its own K and N. There is one setting per (eval.grid point, K present in the
 * file), K fastest; setting (g, K) holds the file's tasks with that K, in file order, and row
 * `task` is the file's task index. A grid over K or d that agrees with the file (holds every K,
 * the d of its tasks) is ignored with one note; other grid keys that would redefine the tasks
 * (anything but em.*, lloyd.*, spectral.*) are refused. Rank 0 reads the file's index and broadcasts it; every rank
 * reads the samples (and truth) of the tasks it computes. Truth the file lacks makes the
 * metrics that need it NaN; the oracle (EM started from the truth) then cannot run and is
 * refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/common.h"
#include "tgmm/task.h"

static int check_grid(const evaluator *ev, const char *path) {
  const tgmm_config *cfg = ev->cfg;
  static const char *const ok[] = {"em.", "lloyd.", "spectral."};
  for (int g = 0; g < cfg->eval.n_grid; g++) {
    const char *key = cfg->eval.grid[g].key;
    int allowed = 0;
    for (int i = 0; i < 3; i++) allowed |= !strncmp(key, ok[i], strlen(ok[i]));
    allowed |= !strcmp(key, "K") || !strcmp(key, "d"); /* checked against the file (agree_grid) */
    if (!allowed) {
      tgmm_error0("eval --data %s: eval.grid key '%s' would redefine the file's tasks; with "
                  "--data only method keys (em.*, lloyd.*, spectral.*) may vary", path, key);
      return TGMM_EUSER;
    }
  }
  if (cfg->family == TGMM_FAMILY_PHASE_TRANSITION) {
    tgmm_error0("eval --data %s: family phase_transition draws its own tasks; set family to "
                "isotropic or anisotropic to evaluate a file's tasks", path);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

/* The distinct K of the file, ascending, and the largest N of each. */
static int distinct_K(evaluator *ev, const char *path, int *maxN) {
  const tgmm_dataset *ds = &ev->ds;
  ev->nkf = 0;
  for (int64_t t = 0; t < ds->T; t++) {
    int K = ds->K[t], k = 0;
    int64_t N = ds->offsets[t + 1] - ds->offsets[t];
    if (N < 1) {
      tgmm_error0("eval --data %s: task %lld has no samples", path, (long long)t);
      return TGMM_EUSER;
    }
    while (k < ev->nkf && ev->kf[k] < K) k++;
    if (k == ev->nkf || ev->kf[k] != K) {
      if (ev->nkf == TGMM_MAX_LIST) {
        tgmm_error0("eval --data %s: more than %d distinct K", path, TGMM_MAX_LIST);
        return TGMM_EUSER;
      }
      memmove(ev->kf + k + 1, ev->kf + k, sizeof(int) * (size_t)(ev->nkf - k));
      memmove(maxN + k + 1, maxN + k, sizeof(int) * (size_t)(ev->nkf - k));
      ev->kf[k] = K;
      maxN[k] = 0;
      ev->nkf++;
    }
    if (N > maxN[k]) maxN[k] = (int)N;
  }
  if (ev->nkf == 0) {
    tgmm_error0("eval --data %s: the file holds no tasks", path);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

static int grid_has(const tgmm_config *cfg, int g, int v) {
  for (int i = 0; i < cfg->eval.grid[g].n; i++)
    if (atoi(cfg->eval.grid[g].vals[i] + (cfg->eval.grid[g].vals[i][0] == '[')) == v) return 1;
  return 0;
}

/* eval.grid's K and d: they must hold the file's values (every K, its d), and are then dropped
 * from the settings (the file's tasks define them), with one note. */
static int agree_grid(evaluator *ev, const char *path) {
  const tgmm_config *cfg = ev->cfg;
  int drop[TGMM_MAX_GRID] = {0}, ndrop = 0;
  for (int g = 0; g < cfg->eval.n_grid; g++) {
    const char *key = cfg->eval.grid[g].key;
    if (strcmp(key, "K") && strcmp(key, "d")) continue;
    int isK = key[0] == 'K', bad = isK ? 0 : !grid_has(cfg, g, ev->ds.d);
    for (int k = 0; isK && k < ev->nkf && !bad; k++) bad = !grid_has(cfg, g, ev->kf[k]) ? ev->kf[k] : 0;
    if (bad) {
      tgmm_error0("eval --data %s: eval.grid's %s does not hold the file's %s = %d (a grid over "
                  "K or d must agree with the file, whose tasks define them)", path, key, key,
                  isK ? bad : ev->ds.d);
      return TGMM_EUSER;
    }
    drop[g] = 1, ndrop++;
  }
  if (!ndrop) return TGMM_OK;
  ev->data_cfg = *cfg;
  ev->data_cfg.eval.n_grid = 0;
  for (int g = 0; g < cfg->eval.n_grid; g++)
    if (!drop[g]) ev->data_cfg.eval.grid[ev->data_cfg.eval.n_grid++] = cfg->eval.grid[g];
  ev->cfg = &ev->data_cfg;
  char names[16] = "";
  for (int g = 0; g < cfg->eval.n_grid; g++)
    if (drop[g]) snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                          names[0] ? " and " : "", cfg->eval.grid[g].key);
  tgmm_info("eval --data %s: eval.grid's %s ignored: the file's tasks define %s", path, names,
            ndrop > 1 ? "them" : "it");
  return TGMM_OK;
}

int tgmm_eval_data_setup(evaluator *ev, const char *path) {
  const tgmm_config *cfg = ev->cfg; /* without an agreeing grid K or d after agree_grid */
  ev->data = path;
  TGMM_TRY(check_grid(ev, path));
  TGMM_TRY(tgmm_dataset_open(&ev->ds, path, tgmm_mpi.comm, tgmm_config_single_K(cfg)));
  ev->data_ok = 1;
  const tgmm_dataset *ds = &ev->ds;
  for (int j = 0; j < ev->nm; j++)
    if ((ev->methods[j] == EV_ORACLE || ev->methods[j] == EV_TRUTH) &&
        (!ds->has_weights || !ds->has_means)) {
      tgmm_error0("eval --data %s: eval.methods has %s (%s), but the file has no /weights and "
                  "/means", path, tgmm_eval_column_name(ev, j),
                  ev->methods[j] == EV_TRUTH ? "the true parameters" : "EM from the truth");
      return TGMM_EUSER;
    }
  int maxN[TGMM_MAX_LIST];
  TGMM_TRY(distinct_K(ev, path, maxN));
  TGMM_TRY(agree_grid(ev, path));
  cfg = ev->cfg;
  int64_t ngp = 1;
  for (int g = 0; g < cfg->eval.n_grid; g++) ngp *= cfg->eval.grid[g].n;
  TGMM_TRY(tgmm_eval_alloc_settings(ev, ngp * ev->nkf));
  int64_t count[TGMM_MAX_LIST] = {0};
  for (int64_t t = 0; t < ds->T; t++)
    for (int k = 0; k < ev->nkf; k++) count[k] += ds->K[t] == ev->kf[k];
  for (int s = 0; s < ev->ns; s++) {
    int k = s % ev->nkf;
    char ok_[3][64], *more[4] = {ok_[0], ok_[1], ok_[2], NULL};
    snprintf(ok_[0], sizeof ok_[0], "K=[%d]", ev->kf[k]);
    snprintf(ok_[1], sizeof ok_[1], "d=%d", ds->d);
    snprintf(ok_[2], sizeof ok_[2], "N=%d", maxN[k]);
    TGMM_TRY(tgmm_eval_load_setting(ev, s, s / ev->nkf, more));
    ev->ntask[s] = count[k];
  }
  TGMM_TRY(tgmm_eval_layout(ev));
  ev->slot_task = tgmm_malloc(sizeof(int64_t) * (size_t)(ev->nslots ? ev->nslots : 1));
  if (!ev->slot_task) return TGMM_ENOMEM;
  for (int s = 0; s < ev->ns; s++) {
    int64_t q = ev->slot0[s];
    for (int64_t t = 0; t < ds->T; t++)
      if (ds->K[t] == ev->kf[s % ev->nkf]) ev->slot_task[q++] = t;
  }
  tgmm_info("eval: %lld task(s) of %s, %d distinct K, truth: %s%s%s%s (eval.tasks_per_setting "
            "is not used)", (long long)ds->T, path, ev->nkf, ds->has_weights ? "weights " : "",
            ds->has_means ? "means " : "", ds->has_scales ? "scales " : "",
            ds->has_z ? "labels" : "");
  return TGMM_OK;
}

int tgmm_eval_data_task(const evaluator *ev, int64_t q, tgmm_task *t) {
  TGMM_TRY(tgmm_dataset_read_task(&ev->ds, ev->slot_task[q], t));
  t->cls = 0; /* the setting's K list is [K] */
  return TGMM_OK;
}
