/* config_variants.c — method variants (include/tgmm/config.h, tgmm_variant): the built-in ones,
 * the lookup by name (eval.variants first), and the check of eval.methods against the methods and
 * variants. The entries of eval.variants are parsed by config.c (apply_variant); this file calls
 * no other file of the config module. */
#include <stdio.h>
#include <string.h>

#include "config_schema.h"
#include "tgmm/config.h"

const char tgmm_config_methods[] = "tgmm|em|spectral|oracle|lloyd|tgmm_plugin|tgmm_em|truth";

/* The methods a variant may vary (those with em.*, lloyd.* or spectral.* settings). */
static const char *const VARIED[] = {"em", "lloyd", "spectral", "oracle", "tgmm_em", NULL};

/* The practitioner's starts beside the paper's (one N(0, I) start): scikit-learn's k-means++ with
 * 1 and 10 restarts, diagonal-covariance EM (the paper's start; k-means++ x 10), Lloyd from
 * k-means++. */
static const tgmm_variant BUILTIN[] = {
    {"em_kpp", "em", 1, {"em.init=kmeans++"}},
    {"em_kpp10", "em", 2, {"em.init=kmeans++", "em.restarts=10"}},
    {"em_diag", "em", 1, {"em.covariance=diag"}},
    {"em_kpp10_diag", "em", 3, {"em.init=kmeans++", "em.restarts=10", "em.covariance=diag"}},
    {"lloyd_kpp", "lloyd", 1, {"lloyd.init=kmeans++"}},
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
    "em_kpp10, em_diag, em_kpp10_diag, lloyd_kpp) or one of eval.variants (<method>_<suffix>)";

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
