/* eval_settings.c — the settings of `tgmm eval`: the methods, the grid's settings (the base
 * config with one value of every eval.grid key), and the layout of task slots, units and rows
 * (src/eval/eval_impl.h). Used by eval.c (the grid) and eval_data.c (--data); calls neither. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/common.h"
#include "tgmm/task.h"

static const char *const METHOD_NAMES[] = {"tgmm",  "em",    "spectral",    "oracle",
                                           "lloyd", "tgmm_plugin", "tgmm_em", "truth"};

int tgmm_eval_add_column(evaluator *ev, int m, const tgmm_variant *var, int it) {
  if (ev->nm == EV_MAXCOL) {
    tgmm_error0("eval.methods with eval.iterations makes more than %d result columns (em and "
                "lloyd count once per iteration count): shorten one of the lists", EV_MAXCOL);
    return TGMM_EUSER;
  }
  const char *base = var ? var->name : METHOD_NAMES[m];
  char name[64];
  if (it) snprintf(name, sizeof name, "%s@%d", base, it);
  else snprintf(name, sizeof name, "%s", base);
  if (strlen(name) >= sizeof ev->colname[0]) {
    tgmm_error0("eval.methods: the column name '%s' is longer than %d characters: shorten the "
                "variant's name", name, (int)sizeof ev->colname[0] - 1);
    return TGMM_EUSER;
  }
  for (int j = 0; j < ev->nm; j++)
    if (!strcmp(ev->colname[j], name)) {
      tgmm_error0("eval.methods: the column '%s' appears twice", name);
      return TGMM_EUSER;
    }
  ev->methods[ev->nm] = m;
  ev->variant[ev->nm] = var;
  ev->miter[ev->nm] = it;
  memcpy(ev->colname[ev->nm], name, strlen(name) + 1); /* fits: checked above */
  ev->nm++;
  ev->nrows = ev->nslots * ev->nm; /* a column added after the layout (tgmm_plugin) */
  return TGMM_OK;
}

static int method_index(const char *name) {
  for (int j = 0; j < EV_NMETHODS; j++)
    if (!strcmp(name, METHOD_NAMES[j])) return j;
  return -1;
}

int tgmm_eval_parse_methods(evaluator *ev) {
  const tgmm_config *cfg = ev->cfg;
  ev->nm = 0;
  for (int i = 0; i < cfg->eval.n_methods; i++) {
    const tgmm_variant *var = NULL;
    int m = method_index(cfg->eval.methods[i]);
    if (m < 0 && (var = tgmm_config_variant(cfg, cfg->eval.methods[i])) != NULL)
      m = method_index(var->method);
    if (m < 0) {
      tgmm_error0("eval.methods: unknown method '%s'", cfg->eval.methods[i]);
      return TGMM_EUSER;
    }
    if (m == EV_TGMM || m == EV_TGMM_PLUGIN || m == EV_TGMM_EM) ev->has_tgmm = 1;
    int truncated = (m == EV_EM || m == EV_LLOYD) && cfg->eval.n_iterations > 0;
    for (int c = 0; truncated && c < cfg->eval.n_iterations; c++)
      TGMM_TRY(tgmm_eval_add_column(ev, m, var, cfg->eval.iterations[c]));
    if (!truncated) TGMM_TRY(tgmm_eval_add_column(ev, m, var, 0));
  }
  return TGMM_OK;
}

int tgmm_eval_variant_keys(evaluator *ev) {
  int any = 0;
  for (int j = 0; j < ev->nm; j++) any |= ev->variant[j] != NULL;
  if (!any) return TGMM_OK;
  ev->mkeys = tgmm_calloc((size_t)ev->ns * (size_t)ev->nm, sizeof(ev_keys));
  if (!ev->mkeys) return TGMM_ENOMEM;
  for (int s = 0; s < ev->ns; s++)
    for (int j = 0; j < ev->nm; j++) {
      const tgmm_variant *var = ev->variant[j];
      if (!var) continue;
      char *set[TGMM_MAX_VARIANT_SET];
      for (int i = 0; i < var->n; i++) set[i] = (char *)var->set[i];
      tgmm_config vc;
      int rc = tgmm_config_load_string(&vc, var->name, ev->scfg[s].text, var->n, set);
      if (rc != TGMM_OK) {
        tgmm_error0("eval.methods: variant %s does not apply to setting '%s'", var->name,
                    ev->label[s]);
        return rc;
      }
      ev_keys *k = &ev->mkeys[(size_t)s * ev->nm + j];
      k->em = vc.em, k->lloyd = vc.lloyd, k->spectral = vc.spectral;
      tgmm_config_free(&vc);
    }
  return TGMM_OK;
}

const char *tgmm_eval_method_name(int m) { return METHOD_NAMES[m]; }

const char *tgmm_eval_column_name(const evaluator *ev, int j) {
  return ev->colname[j][0] ? ev->colname[j] : METHOD_NAMES[ev->methods[j]];
}


/* Setting s: the base config with the values of grid point gp (first key slowest) and the
 * extra overrides `more` (NULL-terminated; --data: K and d of the file). */
int tgmm_eval_load_setting(evaluator *ev, int s, int64_t gp, char *const *more) {
  const tgmm_config *cfg = ev->cfg;
  char ov[TGMM_MAX_GRID + 4][160], *ovp[TGMM_MAX_GRID + 4];
  int64_t rest = gp;
  int len = 0, n = cfg->eval.n_grid;
  ev->label[s][0] = '\0';
  for (int g = cfg->eval.n_grid - 1; g >= 0; g--) {
    int nv = cfg->eval.grid[g].n, v = (int)(rest % nv);
    rest /= nv;
    const char *key = cfg->eval.grid[g].key, *val = cfg->eval.grid[g].vals[v];
    int list = tgmm_config_key_is_list(key) == 1;
    snprintf(ov[g], sizeof ov[g], list ? "%s=[%s]" : "%s=%s", key, val);
    ovp[g] = ov[g];
    ev->value_idx[s][g] = v;
  }
  for (int i = 0; more && more[i] && n < TGMM_MAX_GRID + 4; i++) {
    snprintf(ov[n], sizeof ov[n], "%s", more[i]);
    ovp[n] = ov[n];
    n++;
  }
  for (int g = 0; g < n; g++)
    if (g >= cfg->eval.n_grid && strncmp(ov[g], "K=", 2)) continue; /* --data: K in the label */
    else
      len += snprintf(ev->label[s] + len, sizeof ev->label[s] - (size_t)len, "%s%s",
                      len ? " " : "", ov[g]);
  if (!len) snprintf(ev->label[s], sizeof ev->label[s], "(base config)");
  int rc = tgmm_config_load_string(&ev->scfg[s], "eval.grid", cfg->text, n, ovp);
  if (rc != TGMM_OK) tgmm_error0("eval.grid: setting %d (%s) is not a valid config", s, ev->label[s]);
  return rc;
}

/* Setting s holds ntask[s] slots from slot0[s]; its units start at unit0[s]. */
int tgmm_eval_layout(evaluator *ev) {
  ev->unit0 = tgmm_calloc((size_t)ev->ns + 1, sizeof(int64_t));
  if (!ev->unit0) return TGMM_ENOMEM;
  int64_t q = 0, u = 0;
  for (int s = 0; s < ev->ns; s++) {
    ev->slot0[s] = q;
    ev->unit0[s] = u;
    q += ev->ntask[s];
    u += (ev->ntask[s] + ev->chunk - 1) / ev->chunk;
  }
  ev->unit0[ev->ns] = u;
  ev->nslots = q;
  ev->nunits = u;
  ev->nrows = q * ev->nm;
  return TGMM_OK;
}

int tgmm_eval_alloc_settings(evaluator *ev, int64_t ns) {
  if (ns > 100000) {
    tgmm_error0("eval.grid has %lld settings; at most 100000", (long long)ns);
    return TGMM_EUSER;
  }
  ev->ns = (int)ns;
  ev->scfg = tgmm_calloc((size_t)ns, sizeof(tgmm_config));
  ev->label = tgmm_calloc((size_t)ns, sizeof *ev->label);
  ev->value_idx = tgmm_calloc((size_t)ns, sizeof *ev->value_idx);
  ev->mclass = tgmm_calloc((size_t)ns, sizeof *ev->mclass);
  ev->slot0 = tgmm_calloc((size_t)ns, sizeof(int64_t));
  ev->ntask = tgmm_calloc((size_t)ns, sizeof(int64_t));
  if (!ev->scfg || !ev->label || !ev->value_idx || !ev->mclass || !ev->slot0 || !ev->ntask)
    return TGMM_ENOMEM;
  return TGMM_OK;
}

int tgmm_eval_grid_settings(evaluator *ev) {
  const tgmm_config *cfg = ev->cfg;
  int64_t ns = 1;
  for (int g = 0; g < cfg->eval.n_grid; g++) ns *= cfg->eval.grid[g].n;
  TGMM_TRY(tgmm_eval_alloc_settings(ev, ns));
  for (int s = 0; s < ev->ns; s++) {
    TGMM_TRY(tgmm_eval_load_setting(ev, s, s, NULL));
    TGMM_TRY(tgmm_task_check_feasible(&ev->scfg[s]));
    ev->ntask[s] = cfg->eval.tasks_per_setting;
  }
  return tgmm_eval_layout(ev);
}

