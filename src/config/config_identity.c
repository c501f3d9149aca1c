/* config_identity.c — which keys shape a training run (its trajectory: the tasks it sees, the
 * model, the loss and the optimizer), and a run's identity, a hash of those keys' values. The
 * other keys (evaluation, report, baselines, gen, bookkeeping: cadence, retention, threads,
 * where it runs) may differ between two runs that train the same model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "config_yaml.h"
#include "tgmm/common.h"
#include "tgmm/config.h"

int tgmm_config_key_shapes_training(const char *key, const tgmm_config *cfg) {
  static const char *const other[] = {"eval.", "report.", "em.", "lloyd.", "spectral.", NULL};
  for (int i = 0; other[i]; i++)
    if (!strncmp(key, other[i], strlen(other[i]))) return 0;
  static const char *const none[] = {
      "distribute",       "tasks",            "ragged",                 "train.resume",
      "train.threads",    "train.run_dir",    "train.eval_every",       "train.checkpoint_every",
      "train.eval_tasks", "train.save_grads", "train.eval_baselines",   "train.keep_checkpoints",
      NULL};
  for (int i = 0; none[i]; i++)
    if (!strcmp(key, none[i])) return 0;
  static const char *const mamba[] = {"model.ssm_heads", "model.ssm_head_dim", "model.ssm_state",
                                      "model.ssm_groups", "model.conv_kernel", NULL};
  static const char *const transformer[] = {"model.n_head", "model.attention", "model.positions",
                                            "model.n_positions", NULL};
  int is_mamba = cfg && cfg->model.backbone == TGMM_BACKBONE_MAMBA2;
  const char *const *ignored = is_mamba ? transformer : mamba;
  for (int i = 0; cfg && ignored[i]; i++)
    if (!strcmp(key, ignored[i])) return 0;
  if (cfg && !is_mamba && cfg->model.positions == TGMM_POS_NONE && !strcmp(key, "model.n_positions"))
    return 0;
  return 1;
}

/* Keys added after the identity was introduced count only when set to another value than their
 * default (which gives the tasks of a config without them), so a run's identity stays. */
static int at_later_default(const char *key, const char *value) {
  static const char *const later[] = {"weights_prior", "dirichlet_alpha", "component_scale",
                                      "max_cosine", "N_min", "model.predict_scales", "train.loss", NULL};
  for (int i = 0; later[i]; i++)
    if (!strcmp(key, later[i]))
      for (int k = 0; k < cfg_nkeys; k++)
        if (!strcmp(cfg_keys[k].key, key)) return !strcmp(cfg_keys[k].def, value);
  return 0;
}

int tgmm_config_identity(const tgmm_config *cfg, char out[17]) {
  cy_doc doc;
  const cy_src src = {"resolved config", NULL};
  TGMM_TRY(cy_flatten(&src, cfg->text ? cfg->text : "", NULL, &doc));
  uint64_t h = 1469598103934665603ull; /* FNV-1a over "key=value\n" of the training keys */
  for (int i = 0; i < doc.n; i++) {
    if (!tgmm_config_key_shapes_training(doc.e[i].key, cfg)) continue;
    char *v = cy_value_text(&doc.e[i]);
    if (v && at_later_default(doc.e[i].key, v)) {
      free(v);
      continue;
    }
    const char *parts[4] = {doc.e[i].key, "=", v ? v : "", "\n"};
    for (int p = 0; p < 4; p++)
      for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    free(v);
  }
  cy_doc_free(&doc);
  snprintf(out, 17, "%016llx", (unsigned long long)h);
  return TGMM_OK;
}
