/* config_schema.c — the schema of every config key (names, types, defaults, ranges, meaning)
 * and the small formatting helpers the loader (config.c) and the emitter (config_emit.c) share.
 * Both use this file; it uses neither. */
#include "config_schema.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLD(f) offsetof(tgmm_config, f), sizeof(((tgmm_config *)0)->f), 0
#define LST(f, n) offsetof(tgmm_config, f), sizeof(((tgmm_config *)0)->f), offsetof(tgmm_config, n)
#define BIG 1e15                 /* practical upper end of int64 counters */

/* The schema: adding a key is one row here plus its field in config.h. Output order = this order
 * (top-level keys first, then each section in order of first appearance). */
const keydef cfg_keys[] = {
    {"seed", T_INT, FLD(seed), "42", 0, 4294967295.0, NULL, "Philox key of every random stream"},
    {"d", T_INT, FLD(d), "8", 1, 100000, NULL, "dimension (phase_transition: derived)"},
    {"K", T_INTS, LST(K, nK), "[2, 3, 4, 5]", 1, 64, NULL, "component counts of the family"},
    {"N", T_INT, FLD(N), "128", 1, 1e9, NULL, "samples per task (training: U{N/2..N})"},
    {"family", T_ENUM, FLD(family), "isotropic", 0, 0,
     "isotropic|anisotropic|mean_shift|phase_transition", "task family"},
    {"sigma_p", T_FLOAT, FLD(sigma_p), "0", 0, INF, NULL, "mean-shift noise scale"},
    {"mean_scale", T_FLOAT, FLD(mean_scale), "1", GT0, INF, NULL,
     "means drawn from U[-5 mean_scale, 5 mean_scale]^d (not phase_transition)"},
    {"weights_prior", T_ENUM, FLD(weights_prior), "uniform", 0, 0, "uniform|dirichlet",
     "weights: K draws of U[0.2, 0.8] normalised (paper), or Dirichlet(dirichlet_alpha); sorted"},
    {"dirichlet_alpha", T_FLOAT, FLD(dirichlet_alpha), "1", GT0, INF, NULL,
     "weights_prior dirichlet: concentration of every component"},
    {"component_scale", T_FLOAT, FLD(component_scale), "1", GT0, INF, NULL,
     "standard deviation of every component (anisotropic: multiplies its scales)"},
    {"max_cosine", T_FLOAT, FLD(max_cosine), "0.8", GT0, 1, NULL,
     "means redrawn while two have cosine similarity >= this (1: no filter)"},
    {"N_min", T_INT, FLD(N_min), "0", 0, 1e9, NULL,
     "training (and ragged) tasks: N_i ~ U{N_min..N}; 0: U{ceil(N/2)..N}"},
    {"pt.a", T_FLOATS, LST(pt_a, n_pt_a), "[1.1]", GT0, INF, NULL, "phase-transition a values"},
    {"pt.b", T_FLOAT, FLD(pt_b), "0.1", GT0, INF, NULL, "phase transition: d = b n ln n"},
    {"pt.n", T_INT, FLD(pt_n), "128", 2, 1e9, NULL, "phase transition: n (= N)"},
    {"tasks", T_INT, FLD(tasks), "128", 1, BIG, NULL, "tasks written by gen"},
    {"ragged", T_BOOL, FLD(ragged), "false", 0, 0, NULL, "gen: N_i ~ U{N/2..N}"},
    {"model.n_positions", T_INT, FLD(model.n_positions), "4096", 1, 1e8, NULL, "position rows"},
    {"model.n_embd", T_INT, FLD(model.n_embd), "128", 1, 65536, NULL, "residual width"},
    {"model.n_layer", T_INT, FLD(model.n_layer), "12", 1, 1024, NULL, "transformer blocks"},
    {"model.n_head", T_INT, FLD(model.n_head), "4", 1, 1024, NULL, "attention heads"},
    {"model.n_task_embd", T_INT, FLD(model.n_task_embd), "128", 1, 65536, NULL, "K embedding"},
    {"model.attention", T_ENUM, FLD(model.attention), "causal", 0, 0, "causal|bidirectional",
     "attention mask"},
    {"model.positions", T_ENUM, FLD(model.positions), "learned", 0, 0, "learned|none",
     "position embeddings"},
    {"model.backbone", T_ENUM, FLD(model.backbone), "transformer", 0, 0, "transformer|mamba2",
     "backbone between read-in and read-outs"},
    {"model.head", T_ENUM, FLD(model.head), "mixture", 0, 0, "mixture|labels|both",
     "mixture read-out, per-sample labels (bidirectional attention suits it), or both"},
    {"model.predict_scales", T_BOOL, FLD(model.predict_scales), "false", 0, 0, NULL,
     "the mixture read-out also predicts every component's standard deviations (always in the "
     "anisotropic family): an isotropic family with unknown component_scale"},
    {"model.ssm_heads", T_INT, FLD(model.ssm_heads), "8", 1, 4096, NULL, "mamba2: SSM heads"},
    {"model.ssm_head_dim", T_INT, FLD(model.ssm_head_dim), "64", 1, 65536, NULL,
     "mamba2: width of a head"},
    {"model.ssm_state", T_INT, FLD(model.ssm_state), "16", 1, 4096, NULL, "mamba2: state size"},
    {"model.ssm_groups", T_INT, FLD(model.ssm_groups), "2", 1, 4096, NULL,
     "mamba2: B/C groups (divides ssm_heads)"},
    {"model.conv_kernel", T_INT, FLD(model.conv_kernel), "4", 1, 64, NULL,
     "mamba2: causal conv width"},
    {"train.steps", T_INT, FLD(train.steps), "10000", 0, BIG, NULL, "optimizer steps"},
    {"train.batch_size", T_INT, FLD(train.batch_size), "64", 1, 1e7, NULL, "tasks per K per step"},
    {"train.lr", T_FLOAT, FLD(train.lr), "1e-4", 0, INF, NULL, "AdamW learning rate"},
    {"train.weight_decay", T_FLOAT, FLD(train.weight_decay), "1e-4", 0, INF, NULL, "AdamW decay"},
    {"train.schedule", T_ENUM, FLD(train.schedule), "constant", 0, 0, "constant|cosine",
     "learning-rate schedule"},
    {"train.warmup", T_INT, FLD(train.warmup), "0", 0, BIG, NULL, "linear warm-up steps"},
    {"train.checkpoint_every", T_INT, FLD(train.checkpoint_every), "1000", 0, BIG, NULL,
     "steps between checkpoints (0: at the end only)"},
    {"train.keep_checkpoints", T_INT, FLD(train.keep_checkpoints), "3", 0, 1e9, NULL,
     "newest checkpoints kept in the run directory (0: all)"},
    {"train.eval_every", T_INT, FLD(train.eval_every), "0", 0, BIG, NULL, "0: never"},
    {"train.run_dir", T_STR, FLD(train.run_dir), "runs/default", 1, 0, NULL, "run directory"},
    {"train.resume", T_ENUM, FLD(train.resume), "auto", 0, 0, "auto|never|restart", "resume policy: auto continues the run of train.run_dir; never refuses a directory holding a run; restart moves that run to RUN_DIR/previous-N first"},
    {"train.deterministic", T_BOOL, FLD(train.deterministic), "false", 0, 0, NULL, "bitwise mode"},
    {"train.chunk", T_INT, FLD(train.chunk), "16", 1, 1e7, NULL, "tasks per chunk (bitwise)"},
    {"train.threads", T_INT, FLD(train.threads), "0", 0, 4096, NULL, "BLAS threads; 0: auto"},
    {"train.clip", T_FLOAT, FLD(train.clip), "0", 0, INF, NULL, "gradient-norm clip; 0: off"},
    {"train.save_grads", T_BOOL, FLD(train.save_grads), "false", 0, 0, NULL, "store gradients"},
    {"train.eval_tasks", T_INT, FLD(train.eval_tasks), "32", 1, 1e7, NULL, "held-out tasks per K"},
    {"train.matching", T_ENUM, FLD(train.matching), "canonical", 0, 0, "canonical|hungarian",
     "loss: canonical order (paper) or Hungarian-matched components (set loss)"},
    {"train.loss", T_ENUM, FLD(train.loss), "params", 0, 0, "params|nll",
     "mixture loss: params = the paper's (weights' cross-entropy + squared errors of means and "
     "scales); nll = mean negative log-likelihood of each task's samples under the predicted "
     "mixture (Lee et al. 2019; needs predicted scales unless component_scale is 1)"},
    {"train.init_from", T_STR, FLD(train.init_from), "", 0, 0, NULL,
     "start from the parameters of an exported model, a checkpoint or a run directory (its newest "
     "checkpoint); fresh optimizer"},
    {"train.eval_baselines", T_BOOL, FLD(train.eval_baselines), "false", 0, 0, NULL,
     "held-out evaluation also fits EM and spectral once (reference levels)"},
    {"train.data", T_STR, FLD(train.data), "", 0, 0, NULL,
     "training's task file (tgmm train --data sets it, as an absolute path; \"\": generated)"},
    {"train.beta1", T_FLOAT, FLD(train.beta1), "0.9", 0, LT1, NULL, "AdamW beta1"},
    {"train.beta2", T_FLOAT, FLD(train.beta2), "0.999", 0, LT1, NULL, "AdamW beta2"},
    {"train.eps", T_FLOAT, FLD(train.eps), "1e-8", GT0, INF, NULL, "AdamW epsilon"},
    {"em.init", T_ENUM, FLD(em.init), "random", 0, 0, "random|kmeans++|truth", "EM start"},
    {"em.restarts", T_INT, FLD(em.restarts), "1", 1, 1e6, NULL, "EM starts (best kept)"},
    {"em.max_iter", T_INT, FLD(em.max_iter), "100", 1, 1e9, NULL, "EM iterations"},
    {"em.tol", T_FLOAT, FLD(em.tol), "1e-7", 0, INF, NULL, "EM stop: mean log-lik change"},
    {"em.covariance", T_ENUM, FLD(em.covariance), "identity", 0, 0,
     "identity|spherical|diag|full", "EM covariance model"},
    {"em.reg_covar", T_FLOAT, FLD(em.reg_covar), "1e-6", 0, INF, NULL, "added to variances"},
    {"em.save_labels", T_BOOL, FLD(em.save_labels), "false", 0, 0, NULL,
     "tgmm em writes each sample's label /labels [S] and responsibilities /resp [S, Kmax]"},
    {"lloyd.init", T_ENUM, FLD(lloyd.init), "random", 0, 0, "random|kmeans++|truth", "start"},
    {"lloyd.max_iter", T_INT, FLD(lloyd.max_iter), "100", 1, 1e9, NULL, "Lloyd iterations"},
    {"spectral.restarts", T_INT, FLD(spectral.restarts), "10", 1, 1e6, NULL, "power restarts"},
    {"spectral.iters", T_INT, FLD(spectral.iters), "10", 1, 1e6, NULL, "power iterations"},
    {"spectral.eigensolver", T_ENUM, FLD(spectral.eigensolver), "auto", 0, 0,
     "auto|lapack|scalapack", "d x d eigensolver"},
    {"spectral.scalapack_min_d", T_INT, FLD(spectral.scalapack_min_d), "512", 1, 1e9, NULL,
     "auto: ScaLAPACK from this d"},
    {"distribute", T_ENUM, FLD(distribute), "tasks", 0, 0, "tasks|samples", "baseline split"},
    {"eval.tasks_per_setting", T_INT, FLD(eval.tasks_per_setting), "128", 1, 1e9, NULL,
     "evaluation tasks per grid point"},
    {"eval.chunk", T_INT, FLD(eval.chunk), "16", 1, 1e6, NULL, "tasks per work unit"},
    {"eval.methods", T_STRS, LST(eval.methods, eval.n_methods), "[tgmm, em, spectral, oracle]", 1,
     0, NULL, "columns: tgmm, em, spectral, oracle, lloyd, tgmm_plugin, tgmm_em (EM from TGMM's "
     "estimate), truth (the true parameters), or a variant (em_kpp, em_kpp10, em_diag, em_kpp10_diag, lloyd_kpp, "
     "tgmm_em_kpp, eval.variants)"},
    {"eval.iterations", T_INTS, LST(eval.iterations, eval.n_iterations), "[]", 1, 1e9, NULL,
     "EM and Lloyd truncated at each count: columns em@c, lloyd@c ([]: off)"},
    {"eval.save_predictions", T_BOOL, FLD(eval.save_predictions), "false", 0, 0, NULL,
     "store each row's fitted mixture"},
    {"report.error_bars", T_ENUM, FLD(report.error_bars), "sd", 0, 0, "sd|ci95",
     "plots' error bars: sd over tasks or the 95% interval of the mean"},
};
const int cfg_nkeys = (int)(sizeof cfg_keys / sizeof cfg_keys[0]);
_Static_assert(sizeof cfg_keys / sizeof cfg_keys[0] <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");
_Static_assert(sizeof(tgmm_family) == sizeof(int) && sizeof(tgmm_init) == sizeof(int) &&
                   sizeof(tgmm_weights_prior) == sizeof(int),
               "enum fields are stored as int");

/* Shortest "%.*g" that reads back as x. */
void cfg_fmt_num(double x, char *buf, size_t n) {
  if (x == floor(x) && fabs(x) < 1e17) {
    snprintf(buf, n, "%.0f", x);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, x);
    if (strtod(buf, NULL) == x) return;
  }
}

void cfg_choice_name(const char *choices, int idx, char *buf, size_t n) {
  const char *p = choices;
  for (int i = 0; i < idx && p; i++) {
    p = strchr(p, '|');
    if (p) p++;
  }
  if (!p) p = "?";
  const char *bar = strchr(p, '|');
  snprintf(buf, n, "%.*s", (int)(bar ? bar - p : (ptrdiff_t)strlen(p)), p);
}

