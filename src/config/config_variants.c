/* config_variants.c — method variants (include/tgmm/config.h, tgmm_variant): the built-in ones,
 * the lookup by name (eval.variants first), and the check of eval.methods against the methods and
 * variants; the entries of eval.variants as the loader (config.c) hands them over. Calls the value
 * parser (config_parse.c) and the emitter's formatting (config_emit.c), nothing upstream. */
#include <stdio.h>
#include <string.h>

#include "config_schema.h"
#include "config_yaml.h"
#include "tgmm/common.h"
#include "tgmm/config.h"

const char tgmm_config_methods[] = "tgmm|em|spectral|oracle|lloyd|tgmm_plugin|tgmm_em|truth";

/* The methods a variant may vary (those with em.*, lloyd.* or spectral.* settings). */
static const char *const VARIED[] = {"em", "lloyd", "spectral", "oracle", "tgmm_em", NULL};

/* The practitioner's starts beside the paper's (one N(0, I) start): scikit-learn's k-means++ with
 * 1 and 10 restarts, diagonal-covariance EM (the paper's start; k-means++ x 10), Lloyd from
 * k-means++; EM from TGMM's estimate and from one k-means++ start, the better kept. */
static const tgmm_variant BUILTIN[] = {
    {"em_kpp", "em", 1, {"em.init=kmeans++"}},
    {"em_kpp10", "em", 2, {"em.init=kmeans++", "em.restarts=10"}},
    {"em_diag", "em", 1, {"em.covariance=diag"}},
    {"em_kpp10_diag", "em", 3, {"em.init=kmeans++", "em.restarts=10", "em.covariance=diag"}},
    {"lloyd_kpp", "lloyd", 1, {"lloyd.init=kmeans++"}},
    {"tgmm_em_kpp", "tgmm_em", 2, {"em.init=kmeans++", "em.restarts=2"}},
};

static int is_method(const char *name) {
  size_t n = strlen(name);
  for (const char *p = tgmm_config_methods;;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == n && !strncmp(p, name, n)) return 1;
    if (!bar) return 0;
    p = bar + 1;
  }
}

const tgmm_variant *tgmm_config_variant(const tgmm_config *cfg, const char *name) {
  for (int v = 0; cfg && v < cfg->eval.n_variants; v++)
    if (!strcmp(cfg->eval.variants[v].name, name)) return &cfg->eval.variants[v];
  for (size_t v = 0; v < sizeof BUILTIN / sizeof BUILTIN[0]; v++)
    if (!strcmp(BUILTIN[v].name, name)) return &BUILTIN[v];
  return NULL;
}

const char cfg_methods_text[] =
    "tgmm, em, spectral, oracle, lloyd, tgmm_plugin, tgmm_em, truth, a built-in variant (em_kpp, "
    "em_kpp10, em_diag, em_kpp10_diag, lloyd_kpp, tgmm_em_kpp) or one of eval.variants "
    "(<method>_<suffix>)";

int cfg_method_plausible(const char *name) {
  if (is_method(name) || tgmm_config_variant(NULL, name)) return 1;
  for (int i = 0; VARIED[i]; i++) {
    size_t l = strlen(VARIED[i]);
    if (!strncmp(name, VARIED[i], l) && name[l] == '_' && name[l + 1]) return 1;
  }
  return 0;
}

int cfg_check_methods(const tgmm_config *cfg, char *why, size_t n) {
  for (int v = 0; v < cfg->eval.n_variants; v++) {
    const tgmm_variant *var = &cfg->eval.variants[v];
    int known = 0;
    for (int i = 0; VARIED[i]; i++) known |= !strcmp(var->method, VARIED[i]);
    size_t ml = strlen(var->method);
    if (!known) {
      snprintf(why, n, "eval.variants.%s: %s; method must be one of em, lloyd, spectral, oracle, "
               "tgmm_em", var->name, var->method[0] ? "unknown method" : "no method given");
      return 1;
    }
    if (is_method(var->name) || strncmp(var->name, var->method, ml) || var->name[ml] != '_' ||
        !var->name[ml + 1]) {
      snprintf(why, n, "eval.variants.%s: a variant of %s is named %s_<suffix> (e.g. %s_kpp5), "
               "not a method's name", var->name, var->method, var->method, var->method);
      return 1;
    }
  }
  for (int i = 0; i < cfg->eval.n_methods; i++) {
    const char *m = cfg->eval.methods[i];
    if (is_method(m) || tgmm_config_variant(cfg, m)) continue;
    snprintf(why, n, "'%s' is no method and no variant (eval.variants defines no %s)", m, m);
    return 1;
  }
  return 0;
}

/* eval.variants.<name>.method: a method; eval.variants.<name>.<key>: a value of an em.*, lloyd.*
 * or spectral.* key, checked against its schema row and stored as "key=value" (canonical). */
int cfg_apply_variant(tgmm_config *cfg, const cy_src *src, const cy_entry *e) {
  const char *sub = e->key + strlen("eval.variants."), *dot = strchr(sub, '.');
  int nl = dot ? (int)(dot - sub) : (int)strlen(sub);
  if (!dot || !dot[1] || e->is_seq)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "a variant is a map of one-value keys, e.g. "
                      "eval.variants: {em_kpp5: {method: em, em.init: kmeans++, em.restarts: 5}}");
  if (nl > 15 || (int)strspn(sub, "abcdefghijklmnopqrstuvwxyz0123456789_") < nl)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "a variant's name has at most 15 characters "
                      "of a-z, 0-9 and _ (e.g. em_kpp5)");
  int v = 0;
  while (v < cfg->eval.n_variants && (strncmp(cfg->eval.variants[v].name, sub, (size_t)nl) ||
                                      cfg->eval.variants[v].name[nl]))
    v++;
  if (v == TGMM_MAX_VARIANTS)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "at most %d variants", TGMM_MAX_VARIANTS);
  tgmm_variant *var = &cfg->eval.variants[v];
  if (v == cfg->eval.n_variants) memset(var, 0, sizeof *var), cfg->eval.n_variants++;
  snprintf(var->name, sizeof var->name, "%.*s", nl, sub);
  const char *key = dot + 1, *t = e->v[0].text;
  if (!strcmp(key, "method")) {
    if (strlen(t) >= sizeof var->method || e->v[0].quoted)
      return cfg_user_error(src, e->vline, e->vcol, e->key, "expected a method such as em");
    snprintf(var->method, sizeof var->method, "%s", t);
    return 0;
  }
  int r = cfg_find_key(key);
  if (r < 0 || (strncmp(key, "em.", 3) && strncmp(key, "lloyd.", 6) && strncmp(key, "spectral.", 9)))
    return cfg_user_error(src, e->kline, e->kcol, e->key, "a variant sets its method and em.*, lloyd.* "
                      "or spectral.* keys; '%s' is none of these", key);
  unsigned char tmp[TGMM_MAX_STR + 64];
  memset(tmp, 0, sizeof tmp);
  TGMM_TRY(cfg_parse_scalar(&cfg_keys[r], src, &e->v[0], tmp, cfg_keys[r].size));
  char val[64];
  cfg_elem_text(&cfg_keys[r], tmp, cfg_keys[r].size, val, sizeof val);
  int i = 0;
  size_t kl = strlen(key);
  while (i < var->n && (strncmp(var->set[i], key, kl) || var->set[i][kl] != '=')) i++;
  if (i == TGMM_MAX_VARIANT_SET)
    return cfg_user_error(src, e->kline, e->kcol, e->key, "at most %d keys per variant",
                      TGMM_MAX_VARIANT_SET);
  snprintf(var->set[i], sizeof var->set[i], "%s=%s", key, val);
  if (i == var->n) var->n++;
  return 0;
}
