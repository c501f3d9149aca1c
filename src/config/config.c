/* config.c — loading a config: the defaults, a YAML file or text, key=value overrides, every
 * value parsed and checked against the schema (config_parse.c, config_schema.c) with messages
 * naming file:line and key, eval.grid, eval.variants (config_variants.c), sweep blocks, the
 * cross-key checks, then the resolved config text (config_emit.c); reading a config
 * file; the task classes of a config (nclass, class_K, Kmax). YAML reading: config_yaml.c. */
#define _GNU_SOURCE
#include "tgmm/config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_schema.h"
#include "config_yaml.h"
#include "tgmm/common.h"


#define KEYS cfg_keys
#define NKEYS cfg_nkeys

/* Where each key was last set (for cross-key messages) while loading. */
typedef struct {
  tgmm_config *cfg;
  char where[CFG_MAX_KEYS][600];
  int order[CFG_MAX_KEYS]; /* 0: default; else sequence number of the assignment */
  int seq;
  unsigned char seen[CFG_MAX_KEYS]; /* in the current file (duplicate check) */
  int no_model; /* the command builds no model: the model.* cross-checks are skipped */
} loader;


static int same_elem(ktype t, const void *a, const void *b, size_t elem) {
  if (t == T_STRS) return !strcmp(a, b);
  return !memcmp(a, b, elem);
}

/* eval.grid.<key>: [v1, v2, ...] — each value checked against <key>'s schema row, stored as
 * canonical text. A later entry for the same key replaces the earlier one. */
static int apply_grid(tgmm_config *cfg, const cy_src *src, const cy_entry *e) {
  const char *sub = e->key + strlen("eval.grid.");
  int r = cfg_find_key(sub);
  if (r < 0 || !strncmp(sub, "eval.", 5) || !strncmp(sub, "train.", 6) || !strncmp(sub, "model.", 6))
    return cfg_user_error(src, e->kline, e->kcol, e->key,
                      "'%s' cannot be a grid key (use task keys such as K, N, d, sigma_p, family, "
                      "ragged, pt.a, or em./spectral./lloyd. keys)", sub);
  if (!e->is_seq || e->nv < 1 || e->nv > TGMM_MAX_LIST)
    return cfg_user_error(src, e->vline, e->vcol, e->key, "expected a list of 1 to %d values, e.g. [32, 64]",
                      TGMM_MAX_LIST);
  const keydef *k = &KEYS[r];
  bool list = k->type == T_INTS || k->type == T_FLOATS || k->type == T_STRS;
  size_t elem = list ? k->size / TGMM_MAX_LIST : k->size;
  int g = 0;
  while (g < cfg->eval.n_grid && strcmp(cfg->eval.grid[g].key, sub)) g++;
  if (g == TGMM_MAX_GRID)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "at most %d grid keys", TGMM_MAX_GRID);
  unsigned char tmp[TGMM_MAX_STR + 64];
  for (int i = 0; i < e->nv; i++) {
    memset(tmp, 0, sizeof tmp);
    TGMM_TRY(cfg_parse_scalar(k, src, &e->v[i], tmp, elem));
    cfg_elem_text(k, tmp, elem, cfg->eval.grid[g].vals[i], sizeof cfg->eval.grid[g].vals[i]);
  }
  snprintf(cfg->eval.grid[g].key, sizeof cfg->eval.grid[g].key, "%s", sub);
  cfg->eval.grid[g].n = e->nv;
  if (g == cfg->eval.n_grid) cfg->eval.n_grid++;
  return 0;
}

/* Apply one flattened entry. L may be NULL (built-in defaults). */
static int apply(loader *L, tgmm_config *cfg, const cy_src *src, const cy_entry *e, int file) {
  if (!strncmp(e->key, "eval.grid.", 10)) return apply_grid(cfg, src, e);
  if (!strncmp(e->key, "eval.variants.", 14)) return cfg_apply_variant(cfg, src, e);
  if (!strcmp(e->key, "eval.grid"))
    return cfg_user_error(src, e->kline, e->kcol, e->key,
                      "must be a map from a config key to a list of values, e.g. "
                      "{K: [2, 3, 4, 5], N: [32, 64]}");
  int r = cfg_find_key(e->key);
  if (r < 0) return cfg_unknown_key(src, e);
  const keydef *k = &KEYS[r];
  if (k->size > TGMM_MAX_LIST * 64) {
    tgmm_error("config schema: field of key '%s' is too large", k->key);
    return TGMM_EFAIL;
  }
  if (L && file && L->seen[r] == file)
    return cfg_user_error(src, e->kline, e->kcol, k->key, "duplicate key");
  bool list = k->type == T_INTS || k->type == T_FLOATS || k->type == T_STRS;
  char *dst = (char *)cfg + k->off;
  unsigned char tmp[TGMM_MAX_LIST * 64];
  memset(tmp, 0, sizeof tmp);
  if (!list) {
    if (e->is_seq)
      return cfg_user_error(src, e->vline, e->vcol, k->key, "expected %s%s%s, got a list", cfg_type_name(k->type),
                        k->type == T_ENUM ? " " : "", k->type == T_ENUM ? k->choices : "");
    TGMM_TRY(cfg_parse_scalar(k, src, &e->v[0], tmp, k->size));
    memcpy(dst, tmp, k->size);
  } else {
    size_t elem = k->size / TGMM_MAX_LIST;
    if (!e->is_seq) {
      const char *ex = k->type == T_INTS ? "[2, 3]" : k->type == T_FLOATS ? "[1.5, 2]" : "[a, b]";
      return cfg_user_error(src, e->vline, e->vcol, k->key, "expected %s such as %s, got '%s'",
                        cfg_type_name(k->type), ex, e->v[0].text);
    }
    int empty_ok = !strcmp(k->def, "[]"); /* a list that is off by default may be empty */
    if (e->nv < (empty_ok ? 0 : 1) || e->nv > TGMM_MAX_LIST)
      return cfg_user_error(src, e->vline, e->vcol, k->key, "expected %d to %d entries, got %d",
                        empty_ok ? 0 : 1, TGMM_MAX_LIST, e->nv);
    if (elem * (size_t)e->nv > sizeof tmp) return TGMM_EFAIL;
    for (int i = 0; i < e->nv; i++) {
      TGMM_TRY(cfg_parse_scalar(k, src, &e->v[i], tmp + (size_t)i * elem, elem));
      if (k->off == offsetof(tgmm_config, eval.methods) && !cfg_method_plausible(e->v[i].text))
        return cfg_user_error(src, e->v[i].line, e->v[i].col, k->key, "'%s' is not one of: %s",
                          e->v[i].text, cfg_methods_text);
      for (int j = 0; j < i; j++)
        if (same_elem(k->type, tmp + (size_t)i * elem, tmp + (size_t)j * elem, elem))
          return cfg_user_error(src, e->v[i].line, e->v[i].col, k->key, "'%s' appears twice in the list",
                            e->v[i].text);
    }
    memset(dst, 0, k->size);
    memcpy(dst, tmp, elem * (size_t)e->nv);
    memcpy((char *)cfg + k->count_off, &e->nv, sizeof(int));
  }
  if (L) {
    L->seen[r] = (unsigned char)file;
    L->order[r] = ++L->seq;
    cy_where(src, e->kline, e->kcol, L->where[r], sizeof L->where[r]);
  }
  return 0;
}

void tgmm_config_defaults(tgmm_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  const cy_src src = {"built-in default", NULL};
  for (int i = 0; i < NKEYS; i++) {
    cy_doc doc;
    if (cy_flatten(&src, KEYS[i].def, KEYS[i].key, &doc)) continue;
    for (int j = 0; j < doc.n; j++) apply(NULL, cfg, &src, &doc.e[j], 0);
    cy_doc_free(&doc);
  }
  cfg->text = NULL;
}

/* ---- cross-key checks ---- */

/* Error located at whichever of the candidate keys (NULL-terminated) was set last. */
static int cross_error(const loader *L, const char *const keys[], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cross_error(const loader *L, const char *const keys[], const char *fmt, ...) {
  int best = cfg_find_key(keys[0]);
  for (int i = 1; keys[i]; i++) {
    int r = cfg_find_key(keys[i]);
    if (r >= 0 && (best < 0 || L->order[r] > L->order[best])) best = r;
  }
  char what[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *where = best >= 0 && L->order[best] ? L->where[best] : "config (built-in defaults)";
  tgmm_error0("%s: key '%s': %s", where, best >= 0 ? KEYS[best].key : keys[0], what);
  return TGMM_EUSER;
}

static const char *set_at(const loader *L, const char *key) {
  int r = cfg_find_key(key);
  return r >= 0 && L->order[r] ? L->where[r] : NULL;
}

/* model.backbone: the keys of the other backbone are ignored, with one note listing those set to
 * a non-default value (not when the text is an already resolved config, which sets every key:
 * it was noted when first resolved); mamba2's shapes must fit. */
static int check_backbone(const loader *L) {
  const tgmm_config *c = L->cfg;
  tgmm_config d;
  tgmm_config_defaults(&d);
  int resolved = 1;
  for (int i = 0; i < NKEYS; i++) resolved &= L->order[i] != 0;
  int mamba = c->model.backbone == TGMM_BACKBONE_MAMBA2;
  struct {
    const char *key;
    int differs, mamba_key;
  } k[] = {{"model.n_head", c->model.n_head != d.model.n_head, 0},
           {"model.attention", c->model.attention != d.model.attention, 0},
           {"model.positions", c->model.positions != d.model.positions, 0},
           {"model.n_positions", c->model.n_positions != d.model.n_positions, 0},
           {"model.ssm_heads", c->model.ssm_heads != d.model.ssm_heads, 1},
           {"model.ssm_head_dim", c->model.ssm_head_dim != d.model.ssm_head_dim, 1},
           {"model.ssm_state", c->model.ssm_state != d.model.ssm_state, 1},
           {"model.ssm_groups", c->model.ssm_groups != d.model.ssm_groups, 1},
           {"model.conv_kernel", c->model.conv_kernel != d.model.conv_kernel, 1}};
  char list[400] = "";
  for (size_t i = 0; !resolved && i < sizeof k / sizeof k[0]; i++)
    if (k[i].mamba_key != mamba && k[i].differs && set_at(L, k[i].key))
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "",
               k[i].key);
  if (list[0])
    tgmm_info("tgmm: note: %s %s ignored by model.backbone = %s", list,
              strchr(list, ',') ? "are" : "is", mamba ? "mamba2" : "transformer");
  if (mamba && c->model.ssm_heads % c->model.ssm_groups)
    return cross_error(L, (const char *const[]){"model.ssm_heads", "model.ssm_groups", NULL},
                       "model.ssm_heads = %d is not a multiple of model.ssm_groups = %d",
                       c->model.ssm_heads, c->model.ssm_groups);
  return 0;
}

/* mean_scale draws the uniform box of the means, which phase_transition does not have; with
 * eval.iterations the truncation counts are the EM/Lloyd columns' max_iter, so those keys cannot
 * also be grid keys. */
static int check_eval_keys(const loader *L) {
  const tgmm_config *c = L->cfg;
  if (c->family == TGMM_FAMILY_PHASE_TRANSITION && c->mean_scale != 1.0)
    return cross_error(L, (const char *const[]){"mean_scale", "family", NULL},
                       "mean_scale = %g scales the U[-5, 5] box of the means, but family "
                       "phase_transition draws its means as +-(delta/2) u (no box): set mean_scale "
                       "to 1 or use another family", c->mean_scale);
  if (c->N_min > c->N && c->family != TGMM_FAMILY_PHASE_TRANSITION)
    return cross_error(L, (const char *const[]){"N_min", "N", NULL},
                       "N_min = %d is larger than N = %d (tasks have N_i ~ U{N_min..N})", c->N_min,
                       c->N);
  for (int g = 0; g < c->eval.n_grid && c->eval.n_iterations; g++)
    if (!strcmp(c->eval.grid[g].key, "em.max_iter") || !strcmp(c->eval.grid[g].key, "lloyd.max_iter"))
      return cross_error(L, (const char *const[]){"eval.iterations", NULL},
                         "eval.iterations sets em.max_iter and lloyd.max_iter of its em@c and "
                         "lloyd@c columns; eval.grid.%s cannot vary them as well: drop one of the "
                         "two", c->eval.grid[g].key);
  return 0;
}

/* train.loss = nll scores the mixture read-out's density: there must be one, and without
 * predicted scales its standard deviations are 1, which only a family with component_scale 1
 * has. */
static int check_loss(const loader *L) {
  const tgmm_config *c = L->cfg;
  if (c->train.loss != TGMM_LOSS_NLL) return 0;
  if (c->model.head == TGMM_HEAD_LABELS)
    return cross_error(L, (const char *const[]){"train.loss", "model.head", NULL},
                       "train.loss = nll is the likelihood of the mixture read-out, which "
                       "model.head = labels does not have: use model.head mixture or both");
  int scales = c->family == TGMM_FAMILY_ANISOTROPIC || c->model.predict_scales;
  if (!scales && c->component_scale != 1.0)
    return cross_error(L, (const char *const[]){"train.loss", "component_scale",
                                                "model.predict_scales", NULL},
                       "train.loss = nll without predicted scales scores unit variances, but "
                       "component_scale = %g: set model.predict_scales: true", c->component_scale);
  return 0;
}

static int finish(loader *L) {
  tgmm_config *c = L->cfg;
  if (c->family == TGMM_FAMILY_PHASE_TRANSITION) {
    double dd = floor(c->pt_b * (double)c->pt_n * log((double)c->pt_n));
    if (!(dd >= 1 && dd <= 100000))
      return cross_error(L, (const char *const[]){"pt.b", "pt.n", NULL},
                         "family phase_transition derives d = floor(pt.b * pt.n * ln(pt.n)) = %.0f "
                         "from pt.b = %g and pt.n = %d, outside [1, 100000]",
                         dd, c->pt_b, c->pt_n);
    const char *w;
    if ((w = set_at(L, "d")) && c->d != (int)dd)
      tgmm_info("tgmm: note: %s: d = %d is ignored: family phase_transition derives d = "
                "floor(pt.b * pt.n * ln(pt.n)) = %d", w, c->d, (int)dd);
    if ((w = set_at(L, "N")) && c->N != c->pt_n)
      tgmm_info("tgmm: note: %s: N = %d is ignored: family phase_transition uses N = pt.n = %d", w,
                c->N, c->pt_n);
    if ((w = set_at(L, "K")) && !(c->nK == 1 && c->K[0] == 2))
      tgmm_info("tgmm: note: %s: K is ignored: family phase_transition has K = 2 and one class "
                "per pt.a entry", w);
    c->d = (int)dd;
    c->N = c->pt_n;
    memset(c->K, 0, sizeof c->K);
    c->K[0] = 2;
    c->nK = 1;
  }
  TGMM_TRY(check_eval_keys(L));
  char why[400];
  if (cfg_check_methods(c, why, sizeof why))
    return cross_error(L, (const char *const[]){"eval.methods", NULL}, "%s", why);
  if (L->no_model) return 0;
  TGMM_TRY(check_backbone(L));
  if (c->model.backbone == TGMM_BACKBONE_TRANSFORMER && c->model.n_embd % c->model.n_head)
    return cross_error(L, (const char *const[]){"model.n_embd", "model.n_head", NULL},
                       "model.n_embd = %d is not a multiple of model.n_head = %d",
                       c->model.n_embd, c->model.n_head);
  TGMM_TRY(check_loss(L));
  if (c->model.backbone == TGMM_BACKBONE_TRANSFORMER && c->model.positions == TGMM_POS_LEARNED &&
      c->model.n_positions < c->N)
    return cross_error(L,
                       (const char *const[]){"model.n_positions", "N", "pt.n", "model.positions",
                                             NULL},
                       "model.positions = learned needs model.n_positions >= N, but "
                       "model.n_positions = %d < N = %d: raise model.n_positions",
                       c->model.n_positions, c->N);
  return 0;
}


/* sweep.name, sweep.grid.KEY: [..], sweep.zip.KEY: [..], sweep.set.KEY: "template" — KEY must be
 * a config key or eval.grid.KEY; the values are checked when each run is loaded. */
static int apply_sweep(tgmm_config *cfg, const cy_src *src, const cy_entry *e) {
  tgmm_sweep *sw = &cfg->sweep;
  const char *sub = e->key + strlen("sweep.");
  if (!strcmp(sub, "name")) {
    if (e->is_seq || strlen(e->v[0].text) >= sizeof sw->name)
      return cfg_user_error(src, e->vline, e->vcol, e->key, "expected a run-name template of at most "
                        "%d characters, e.g. d{d}_N{N}", (int)sizeof sw->name - 1);
    snprintf(sw->name, sizeof sw->name, "%s", e->v[0].text);
    return 0;
  }
  tgmm_sweep_kind kind;
  if (!strncmp(sub, "grid.", 5)) kind = TGMM_SWEEP_GRID, sub += 5;
  else if (!strncmp(sub, "zip.", 4)) kind = TGMM_SWEEP_ZIP, sub += 4;
  else if (!strncmp(sub, "set.", 4)) kind = TGMM_SWEEP_SET, sub += 4;
  else
    return cfg_user_error(src, e->kline, e->kcol, e->key, "a sweep block holds name, grid, zip and set "
                      "(e.g. sweep: {name: d{d}, grid: {d: [2, 8]}})");
  if ((cfg_find_key(sub) < 0 && strncmp(sub, "eval.grid.", 10)) || !strncmp(sub, "sweep.", 6) ||
      strlen(sub) >= sizeof sw->ax[0].key)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "'%s' is not a config key", sub);
  for (int a = 0; a < sw->n; a++)
    if (!strcmp(sw->ax[a].key, sub))
      return cfg_user_error(src, e->kline, e->kcol, e->key, "'%s' appears twice in the sweep", sub);
  if (sw->n == TGMM_MAX_SWEEP)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "at most %d sweep keys", TGMM_MAX_SWEEP);
  if ((kind == TGMM_SWEEP_SET) == e->is_seq || e->nv < 1 || e->nv > TGMM_MAX_LIST)
    return cfg_user_error(src, e->vline, e->vcol, e->key, kind == TGMM_SWEEP_SET
                      ? "expected one value (a template such as \"[{N}, 128]\")"
                      : "expected a list of 1 to %d values, e.g. [2, 8, 32]", TGMM_MAX_LIST);
  int a = sw->n;
  for (int i = 0; i < e->nv; i++) {
    if (strlen(e->v[i].text) >= sizeof sw->ax[a].vals[i] || strchr(e->v[i].text, '\t') ||
        strchr(e->v[i].text, '\n'))
      return cfg_user_error(src, e->v[i].line, e->v[i].col, e->key, "a sweep value of at most %d "
                        "characters, without tabs or newlines", (int)sizeof sw->ax[a].vals[i] - 1);
    snprintf(sw->ax[a].vals[i], sizeof sw->ax[a].vals[i], "%s", e->v[i].text);
  }
  snprintf(sw->ax[a].key, sizeof sw->ax[a].key, "%s", sub);
  sw->ax[a].kind = kind;
  sw->ax[a].nv = e->nv;
  sw->n++;
  return 0;
}

static int has_prefix_entry(const cy_doc *doc, const char *prefix) {
  for (int i = 0; i < doc->n; i++)
    if (!strncmp(doc->e[i].key, prefix, strlen(prefix))) return 1;
  return 0;
}

/* One config text on top of the ones before it (file = its 1-based position). */
static int apply_text(loader *L, tgmm_config *cfg, const char *name, const char *yaml, int file) {
  const cy_src src = {name ? name : "config", NULL};
  cy_doc doc;
  int rc = cy_flatten(&src, yaml, NULL, &doc);
  if (rc) return rc;
  if (doc.n == 0) {
    tgmm_error0("%s: an empty config (no keys): give at least one key, or no config file to run "
                "on the built-in defaults (the paper's setting)", src.name);
    rc = TGMM_EUSER;
  }
  if (!rc && file > 1 && has_prefix_entry(&doc, "eval.grid.")) cfg->eval.n_grid = 0;
  if (!rc && file > 1 && has_prefix_entry(&doc, "eval.variants.")) cfg->eval.n_variants = 0;
  if (!rc && file > 1 && has_prefix_entry(&doc, "sweep.")) memset(&cfg->sweep, 0, sizeof cfg->sweep);
  for (int i = 0; !rc && i < doc.n; i++)
    rc = !strncmp(doc.e[i].key, "sweep.", 6) || !strcmp(doc.e[i].key, "sweep")
             ? (strcmp(doc.e[i].key, "sweep") ? apply_sweep(cfg, &src, &doc.e[i])
                                              : cfg_user_error(&src, doc.e[i].kline, doc.e[i].kcol,
                                                           "sweep", "must be a map (name, grid, "
                                                           "zip, set)"))
             : apply(L, cfg, &src, &doc.e[i], file);
  cy_doc_free(&doc);
  return rc;
}

static int apply_override(loader *L, tgmm_config *cfg, const char *arg) {
  const cy_src src = {"command line", arg};
  const char *eq = strchr(arg, '=');
  size_t kl = eq ? (size_t)(eq - arg) : 0;
  if (!eq || kl == 0 || kl >= 256 || strcspn(arg, " \t\n") < kl || arg[0] == '.' ||
      arg[kl - 1] == '.' || memmem(arg, kl, "..", 2)) {
    tgmm_error0("command line: argument '%s': expected key=value (e.g. model.n_embd=64)", arg);
    return TGMM_EUSER;
  }
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)kl, arg);
  cy_doc doc;
  int rc = cy_flatten(&src, eq + 1, key, &doc);
  for (int i = 0; !rc && i < doc.n; i++)
    rc = !strncmp(doc.e[i].key, "sweep.", 6) ? apply_sweep(cfg, &src, &doc.e[i])
                                              : apply(L, cfg, &src, &doc.e[i], 0);
  cy_doc_free(&doc);
  return rc;
}

static int load(tgmm_config *cfg, int n_texts, const char *const names[], const char *const texts[],
                int n_overrides, char *const overrides[], int no_model) {
  tgmm_config_defaults(cfg);
  if (n_texts > TGMM_MAX_CONFIGS) {
    tgmm_error0("%d config files: at most %d", n_texts, TGMM_MAX_CONFIGS);
    return TGMM_EUSER;
  }
  loader *L = calloc(1, sizeof *L);
  if (!L) return TGMM_ENOMEM;
  L->cfg = cfg;
  L->no_model = no_model;
  int rc = 0;
  for (int f = 0; !rc && f < n_texts; f++)
    if (texts[f]) rc = apply_text(L, cfg, names ? names[f] : NULL, texts[f], f + 1);
  for (int o = 0; !rc && o < n_overrides; o++) rc = apply_override(L, cfg, overrides[o]);
  if (!rc) rc = finish(L);
  free(L);
  if (rc) return rc;
  return cfg_emit_text(cfg);
}

int tgmm_config_load_strings(tgmm_config *cfg, int n_texts, const char *const names[],
                             const char *const texts[], int n_overrides, char *const overrides[],
                             int no_model) {
  return load(cfg, n_texts, names, texts, n_overrides, overrides, no_model);
}

int tgmm_config_load_string(tgmm_config *cfg, const char *name, const char *yaml, int n_overrides,
                            char *const overrides[]) {
  return load(cfg, yaml ? 1 : 0, &name, &yaml, n_overrides, overrides, 0);
}

int tgmm_config_load_string_no_model(tgmm_config *cfg, const char *name, const char *yaml,
                                     int n_overrides, char *const overrides[]) {
  return load(cfg, yaml ? 1 : 0, &name, &yaml, n_overrides, overrides, 1);
}

/* The largest config file tgmm reads (a bound, so that /dev/zero, a FIFO or a huge file is
 * refused instead of read until memory runs out). */
enum { CONFIG_MAX_BYTES = 16 << 20 };

int tgmm_config_read_file(const char *path, char **text_out) {
  *text_out = NULL;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    tgmm_error("%s: cannot read the config file: a directory", path);
    return TGMM_EUSER;
  }
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > CONFIG_MAX_BYTES) {
    tgmm_error("%s: the config file has %lld bytes, more than the %d MiB tgmm reads", path,
               (long long)st.st_size, CONFIG_MAX_BYTES >> 20);
    return TGMM_EUSER;
  }
  FILE *f = fopen(path, "rb");
  char *text = f ? tgmm_malloc((size_t)CONFIG_MAX_BYTES + 2) : NULL;
  if (f && !text) {
    fclose(f);
    return TGMM_ENOMEM;
  }
  errno = 0;
  size_t n = f ? fread(text, 1, (size_t)CONFIG_MAX_BYTES + 1, f) : 0; /* one byte more: too long */
  int err = errno, bad = !f || ferror(f);
  if (f) fclose(f);
  if (bad) {
    free(text);
    tgmm_error("%s: cannot read the config file: %s", path, strerror(err ? err : EIO));
    return TGMM_EUSER;
  }
  if (n > (size_t)CONFIG_MAX_BYTES) {
    free(text);
    tgmm_error("%s: the config file is longer than the %d MiB tgmm reads (a stream such as "
               "/dev/zero?)", path, CONFIG_MAX_BYTES >> 20);
    return TGMM_EUSER;
  }
  text[n] = 0;
  if (memchr(text, 0, n)) {
    free(text);
    tgmm_error("%s: not a YAML text file (contains NUL bytes)", path);
    return TGMM_EUSER;
  }
  char *t = realloc(text, n + 1); /* give back the unused part of the bound */
  *text_out = t ? t : text;
  return TGMM_OK;
}

int tgmm_config_load(tgmm_config *cfg, const char *path, int n_overrides,
                     char *const overrides[]) {
  if (!path) return load(cfg, 0, NULL, NULL, n_overrides, overrides, 0);
  tgmm_config_defaults(cfg);
  char *text = NULL;
  TGMM_TRY(tgmm_config_read_file(path, &text));
  const char *ctext = text;
  int rc = load(cfg, 1, &path, &ctext, n_overrides, overrides, 0);
  free(text);
  return rc;
}

void tgmm_config_free(tgmm_config *cfg) {
  if (!cfg) return;
  free(cfg->text);
  cfg->text = NULL;
}

int tgmm_config_nclass(const tgmm_config *cfg) {
  return cfg->family == TGMM_FAMILY_PHASE_TRANSITION ? cfg->n_pt_a : cfg->nK;
}

int tgmm_config_class_K(const tgmm_config *cfg, int c) {
  if (c < 0 || c >= tgmm_config_nclass(cfg)) return 0;
  return cfg->family == TGMM_FAMILY_PHASE_TRANSITION ? 2 : cfg->K[c];
}

int tgmm_config_single_K(const tgmm_config *cfg) {
  for (int c = 1; c < tgmm_config_nclass(cfg); c++)
    if (tgmm_config_class_K(cfg, c) != tgmm_config_class_K(cfg, 0)) return 0;
  return tgmm_config_nclass(cfg) > 0 ? tgmm_config_class_K(cfg, 0) : 0;
}

int tgmm_config_Kmax(const tgmm_config *cfg) {
  int m = 0;
  for (int c = 0; c < tgmm_config_nclass(cfg); c++)
    if (tgmm_config_class_K(cfg, c) > m) m = tgmm_config_class_K(cfg, c);
  return m;
}

