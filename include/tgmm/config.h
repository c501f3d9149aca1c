/* config.h — the run configuration: one schema (names, types, defaults, ranges) for every command.
 *
 * Sources, in order: built-in defaults, the YAML file, then `key=value` overrides (nested keys
 * with dots, lists as `K=[2,3,4,5]`). Every error (malformed YAML, unknown key, wrong type,
 * out-of-range value) prints one message naming the file, line, column and key, and the loader
 * returns TGMM_EUSER. The key names are a contract with job scripts, sweeps and users: never rename one; README.md lists all. */
#ifndef TGMM_CONFIG_H
#define TGMM_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#define TGMM_MAX_LIST 32 /* longest list value (K, pt.a, eval.methods) */
#define TGMM_MAX_STR 512 /* longest string value */
#define TGMM_MAX_GRID 8  /* keys of eval.grid */
#define TGMM_MAX_CONFIGS 8 /* config files given to one command (later ones override earlier) */
#define TGMM_MAX_SWEEP 12  /* keys of a sweep block */
#define TGMM_MAX_VARIANTS 16    /* entries of eval.variants */
#define TGMM_MAX_VARIANT_SET 8  /* settings of one variant */

/* A method variant (eval.variants, or built in: src/config/config_variants.c): a named column of
 * `tgmm eval` that runs `method` with some method keys (em.*, lloyd.*, spectral.*) changed on top
 * of each setting's config, e.g. em_kpp10 = em with em.init = kmeans++, em.restarts = 10. */
typedef struct {
  char name[16];   /* the column's name: <method>_<suffix> (at most 15 characters) */
  char method[16]; /* the method it varies: em, lloyd, spectral, oracle, tgmm_em */
  int n;           /* settings */
  char set[TGMM_MAX_VARIANT_SET][96]; /* "key=value", value canonical YAML */
} tgmm_variant;

/* The `sweep:` block of an experiment config: the runs of a study (see include/tgmm/sweep.h).
 * Not part of the resolved config (a run does not depend on its siblings): it never enters
 * cfg->text, checkpoints, results or resume checks. */
typedef enum { TGMM_SWEEP_GRID, TGMM_SWEEP_ZIP, TGMM_SWEEP_SET } tgmm_sweep_kind;
typedef struct {
  char name[128]; /* sweep.name: run-name template with {key} placeholders ("" = derived) */
  int n;          /* axes */
  struct {
    char key[64];              /* a config key (or eval.grid.KEY) */
    tgmm_sweep_kind kind;      /* grid: Cartesian product; zip: lists taken together; set: a value */
    int nv;                    /* values (set: 1, the {key} template) */
    char vals[TGMM_MAX_LIST][64]; /* canonical YAML text of each value */
  } ax[TGMM_MAX_SWEEP];
} tgmm_sweep;

typedef enum {
  TGMM_FAMILY_ISOTROPIC,
  TGMM_FAMILY_ANISOTROPIC,
  TGMM_FAMILY_MEAN_SHIFT,
  TGMM_FAMILY_PHASE_TRANSITION
} tgmm_family;
typedef enum { TGMM_WEIGHTS_UNIFORM, TGMM_WEIGHTS_DIRICHLET } tgmm_weights_prior;
typedef enum { TGMM_ATTN_CAUSAL, TGMM_ATTN_BIDIRECTIONAL } tgmm_attention;
typedef enum { TGMM_POS_LEARNED, TGMM_POS_NONE } tgmm_positions;
typedef enum { TGMM_BACKBONE_TRANSFORMER, TGMM_BACKBONE_MAMBA2 } tgmm_backbone;
typedef enum { TGMM_HEAD_MIXTURE, TGMM_HEAD_LABELS, TGMM_HEAD_BOTH } tgmm_head;
typedef enum { TGMM_SCHED_CONSTANT, TGMM_SCHED_COSINE } tgmm_schedule;
typedef enum { TGMM_RESUME_AUTO, TGMM_RESUME_NEVER, TGMM_RESUME_RESTART } tgmm_resume;
typedef enum { TGMM_MATCH_CANONICAL, TGMM_MATCH_HUNGARIAN } tgmm_matching;
typedef enum { TGMM_LOSS_PARAMS, TGMM_LOSS_NLL } tgmm_loss;
typedef enum { TGMM_INIT_RANDOM, TGMM_INIT_KMEANSPP, TGMM_INIT_TRUTH } tgmm_init;
typedef enum {
  TGMM_COV_IDENTITY,
  TGMM_COV_SPHERICAL,
  TGMM_COV_DIAG,
  TGMM_COV_FULL
} tgmm_covariance;
typedef enum { TGMM_EIG_AUTO, TGMM_EIG_LAPACK, TGMM_EIG_SCALAPACK } tgmm_eigensolver;
typedef enum { TGMM_DIST_TASKS, TGMM_DIST_SAMPLES } tgmm_distribute;

typedef struct {
  /* task family */
  int64_t seed;               /* seed: 0 .. 2^32-1 (Philox key) */
  int d;                      /* d: dimension (phase_transition: derived from pt.b, pt.n) */
  int K[TGMM_MAX_LIST];       /* K: component counts of the task family, e.g. [2,3,4,5] */
  int nK;                     /* number of entries of K */
  int N;                      /* N: samples per task (max; training N_i ~ U{N/2..N}) */
  tgmm_family family;         /* family */
  double sigma_p;             /* sigma_p: mean-shift noise scale */
  double mean_scale;          /* mean_scale: means ~ U[-5 mean_scale, 5 mean_scale]^d */
  /* Lee et al.'s family and the like (defaults: the paper's family, bit for bit) */
  tgmm_weights_prior weights_prior; /* weights_prior: uniform (U[0.2, 0.8], normalised) or dirichlet */
  double dirichlet_alpha;     /* dirichlet_alpha: the Dirichlet's concentration (every component) */
  double component_scale;     /* component_scale: standard deviation of every component (isotropic,
                                 mean_shift; anisotropic: multiplies its scales) */
  double max_cosine;          /* max_cosine: the means' filter (redraw while a pairwise cosine is
                                 >= it); 1: no filter */
  int N_min;                  /* N_min: training (and ragged) tasks have N_i ~ U{N_min..N}; 0: ceil(N/2) */
  double pt_a[TGMM_MAX_LIST]; /* pt.a: phase-transition a values (one read-out each) */
  int n_pt_a;
  double pt_b; /* pt.b */
  int pt_n;    /* pt.n */
  int64_t tasks; /* tasks: number of tasks written by `gen` */
  bool ragged;   /* ragged: `gen` draws N_i ~ U{N/2..N} instead of exactly N */

  struct {
    int n_positions, n_embd, n_layer, n_head, n_task_embd;
    tgmm_attention attention;
    tgmm_positions positions;
    /* model.backbone and the mamba2 keys (ignored by the transformer) */
    tgmm_backbone backbone;
    int ssm_heads, ssm_head_dim, ssm_state, ssm_groups, conv_kernel;
    tgmm_head head; /* model.head: mixture read-out, per-sample label logits, or both */
    bool predict_scales; /* model.predict_scales: the mixture read-out predicts standard deviations */
  } model;

  struct {
    int64_t steps;
    int batch_size; /* tasks per K per step */
    double lr, weight_decay;
    tgmm_schedule schedule;
    int64_t warmup, checkpoint_every, eval_every;
    int keep_checkpoints; /* newest checkpoints kept (0: all) */
    char run_dir[TGMM_MAX_STR];
    tgmm_resume resume;
    bool deterministic;
    int chunk;   /* tasks per chunk in bitwise mode */
    int threads; /* OpenBLAS threads per rank; 0 = cores in the affinity mask */
    double clip; /* global gradient-norm clip; 0 = off */
    bool save_grads;
    int eval_tasks; /* held-out tasks per K for eval_every */
    double beta1, beta2, eps;
    tgmm_matching matching;            /* loss: canonical order or Hungarian-matched */
    tgmm_loss loss;                    /* mixture loss: the paper's parameter loss or the nll */
    char init_from[TGMM_MAX_STR];      /* exported model / checkpoint to start from ("" none) */
    bool eval_baselines;               /* held-out evaluation also fits EM and spectral */
    char data[TGMM_MAX_STR]; /* training's task file (--data, made absolute; "" = generated) */
  } train;

  struct tgmm_em_keys {
    tgmm_init init;
    int restarts, max_iter;
    double tol;
    tgmm_covariance covariance;
    double reg_covar;
    bool save_labels; /* tgmm em: /labels and /resp per sample */
  } em;

  struct tgmm_lloyd_keys {
    tgmm_init init;
    int max_iter;
  } lloyd;

  struct tgmm_spectral_keys {
    int restarts, iters;
    tgmm_eigensolver eigensolver;
    int scalapack_min_d;
  } spectral;

  tgmm_distribute distribute;

  struct {
    int tasks_per_setting;
    char methods[TGMM_MAX_LIST][32];
    int n_methods;
    int chunk; /* tasks per work unit handed to a rank */
    bool save_predictions; /* /pred_weights, /pred_means (/pred_scales) in the results file */
    int iterations[TGMM_MAX_LIST]; /* eval.iterations: EM/Lloyd truncation counts ([] off) */
    int n_iterations;
    /* eval.grid: a map from a config key to the list of its values; the settings are the
     * Cartesian product (first key slowest). Values are canonical YAML scalars. */
    struct {
      char key[64];
      int n;
      char vals[TGMM_MAX_LIST][64];
    } grid[TGMM_MAX_GRID];
    int n_grid;
    /* eval.variants: a map from a variant's name to its method and settings, e.g.
     * {em_kpp5: {method: em, em.init: kmeans++, em.restarts: 5}}; the built-in variants
     * (tgmm_config_variant) need no entry. A later config text that sets any eval.variants key
     * replaces the whole map (as eval.grid). */
    tgmm_variant variants[TGMM_MAX_VARIANTS];
    int n_variants;
  } eval;

  struct {
    int error_bars; /* 0: sd over tasks, 1: ci95 (95% interval of the mean) */
  } report;

  tgmm_sweep sweep; /* the file's sweep block (n = 0: none) */

  /* The resolved configuration as YAML text (every key, final values); owned, NUL-terminated.
   * Printed at start by rank 0 and stored in every output file. */
  char *text;
} tgmm_config;

/* Fill cfg with the built-in defaults (the paper's setting). cfg->text is NULL afterwards. */
void tgmm_config_defaults(tgmm_config *cfg);

/* Load: defaults, then the YAML file at `path` (NULL = none), then the overrides
 * ("key=value" strings). Validates every value and every cross-key constraint, resolves derived
 * values (phase_transition's d and N), and builds cfg->text. Prints the error and returns
 * TGMM_EUSER on any problem. Pure: no MPI, no files written. */
int tgmm_config_load(tgmm_config *cfg, const char *path, int n_overrides,
                     char *const overrides[/* n_overrides */]);

/* Read a config file into a malloc'd NUL-terminated string (local; the error, printed by this
 * process, names the file). `tgmm` reads the file on rank 0 only and broadcasts the text
 * (src/config/cli.c), then every rank parses it with tgmm_config_load_string under the file's
 * name, so messages still point to file:line. */
int tgmm_config_read_file(const char *path, char **text /* out, malloc'd */);

/* Parse YAML text from memory (`name` is used in messages in place of a file name). */
int tgmm_config_load_string(tgmm_config *cfg, const char *name, const char *yaml, int n_overrides,
                            char *const overrides[/* n_overrides */]);
/* The same for a command that builds no model (gen): the model.* keys are read and checked one by
 * one, but not against the data keys (model.n_positions >= N and the like). */
int tgmm_config_load_string_no_model(tgmm_config *cfg, const char *name, const char *yaml,
                                     int n_overrides, char *const overrides[]);

/* Several config texts, each applied on top of the ones before it (a laptop overlay on a paper
 * config, say): a key set again by a later text replaces the earlier value; a later text that
 * sets any eval.grid key replaces the whole grid, and one with a sweep block the whole sweep.
 * no_model as in tgmm_config_load_string_no_model. */
int tgmm_config_load_strings(tgmm_config *cfg, int n_texts, const char *const names[/* n_texts */],
                             const char *const texts[/* n_texts */], int n_overrides,
                             char *const overrides[/* n_overrides */], int no_model);

void tgmm_config_free(tgmm_config *cfg);

/* Number of task classes: len(K), or len(pt.a) for phase_transition. */
int tgmm_config_nclass(const tgmm_config *cfg);
/* K of class c (always 2 for phase_transition). */
int tgmm_config_class_K(const tgmm_config *cfg, int c);
/* Largest K of the family. */
int tgmm_config_Kmax(const tgmm_config *cfg);
/* The family's K when every class has the same one (a data file without /K has it), else 0. */
int tgmm_config_single_K(const tgmm_config *cfg);

/* Keys whose values differ between two resolved configs, ignoring those in `exempt`
 * (NULL-terminated list of key names). Writes a comma-separated list to out (size out_len);
 * returns the number of differing keys (keys present in one text only count; numbers compare by
 * value, so 1e-4 == 0.0001), or -1 with a message when a text is not a YAML map. */
int tgmm_config_diff(const char *text_a, const char *text_b, const char *const exempt[], char *out,
                     int out_len);

/* The same, counting only the keys for which tgmm_config_key_shapes_training(key, cfg) is 1
 * (and not in `exempt`): the resume check, where evaluation, report, baseline, gen and
 * bookkeeping keys may change freely. */
int tgmm_config_diff_training(const char *text_a, const char *text_b, const tgmm_config *cfg,
                              const char *const exempt[], char *out, int out_len);

/* 1 if `key` shapes what a training computes (the tasks it sees, model, loss, optimizer, seed,
 * train.steps); 0 for evaluation, report, baseline, gen and bookkeeping keys (cadence,
 * retention, threads, where it runs) and for the keys the chosen backbone ignores. */
int tgmm_config_key_shapes_training(const char *key, const tgmm_config *cfg /* or NULL */);
/* The run's identity: 16 hex digits hashing the values of the keys that shape training (two
 * configs with the same identity train the same model). */
int tgmm_config_identity(const tgmm_config *cfg, char out[17]);

/* The variant called `name`: an eval.variants entry, else a built-in one (em_kpp, em_kpp10,
 * em_diag, em_kpp10_diag, lloyd_kpp, tgmm_em_kpp; README "Method variants"); NULL when `name` is no variant. */
const tgmm_variant *tgmm_config_variant(const tgmm_config *cfg, const char *name);
/* The methods a column of eval.methods may name beside the variants, '|'-separated. */
extern const char tgmm_config_methods[];

/* 1 if `key` holds a list (K, pt.a, eval.methods), 0 if a scalar, -1 if unknown. */
int tgmm_config_key_is_list(const char *key);

/* The schema as a Markdown table (key, type, default, allowed values, meaning): README's
 * config reference and `tgmm --keys`. */
void tgmm_config_print_reference(FILE *f);

#endif
