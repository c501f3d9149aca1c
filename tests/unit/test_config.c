/* test_config.c — config schema, loading, every error kind (with file:line:col), overrides,
 * cross-key checks, resolved-text round trip, diff. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "tgmm/common.h"
#include "tgmm/config.h"

/* ---- helpers: a temp dir with file.yaml, stderr capture ---- */

static char g_dir[256];

static int setup_dir(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/tgmm_test_config_XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes `text` to DIR/file.yaml and returns the path (static buffer). */
static const char *write_yaml(const char *text) {
  static char path[300];
  snprintf(path, sizeof path, "%s/file.yaml", g_dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

typedef struct {
  int saved, fd;
  char path[300];
} capture;

static void cap_begin(capture *c) {
  fflush(stderr);
  snprintf(c->path, sizeof c->path, "%s/stderr.txt", g_dir);
  FILE *f = fopen(c->path, "w");
  assert_non_null(f);
  fclose(f);
  c->fd = open(c->path, O_WRONLY | O_TRUNC);
  assert_true(c->fd >= 0);
  c->saved = dup(2);
  dup2(c->fd, 2);
}

/* Restores stderr; returns what was written (static buffer) and echoes it for the log. */
static const char *cap_end(capture *c) {
  static char buf[8192];
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  close(c->fd);
  FILE *f = fopen(c->path, "r");
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  fprintf(stderr, "    [captured] %s", buf);
  return buf;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Load file.yaml (text) with overrides; expect TGMM_EUSER and exactly one message that contains
 * every NULL-terminated needle. */
static void expect_error(const char *yaml, int n_ov, char *const ov[], ...) {
  tgmm_config cfg;
  capture c;
  cap_begin(&c);
  int rc = tgmm_config_load(&cfg, yaml ? write_yaml(yaml) : NULL, n_ov, ov);
  const char *err = cap_end(&c);
  assert_int_equal(rc, TGMM_EUSER);
  assert_null(cfg.text);
  assert_int_equal(count_lines(err), 1);
  assert_non_null(strstr(err, "tgmm: error: "));
  va_list ap;
  va_start(ap, ov);
  for (const char *needle; (needle = va_arg(ap, const char *));) {
    if (!strstr(err, needle)) fprintf(stderr, "missing: %s\n", needle);
    assert_non_null(strstr(err, needle));
  }
  va_end(ap);
  tgmm_config_free(&cfg);
}

static void load_ok(tgmm_config *cfg, const char *yaml, int n_ov, char *const ov[]) {
  int rc = tgmm_config_load(cfg, yaml ? write_yaml(yaml) : NULL, n_ov, ov);
  assert_int_equal(rc, 0);
  assert_non_null(cfg->text);
}

/* ---- tests ---- */

static void test_defaults(void **state) {
  (void)state;
  tgmm_config c;
  capture cp;
  cap_begin(&cp);
  tgmm_config_defaults(&c); /* every row's default parses and is in range: nothing printed */
  assert_string_equal(cap_end(&cp), "");
  assert_null(c.text);
  assert_int_equal(c.seed, 42);
  assert_int_equal(c.d, 8);
  assert_int_equal(c.nK, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(c.K[i], i + 2);
  assert_int_equal(c.N, 128);
  assert_int_equal(c.family, TGMM_FAMILY_ISOTROPIC);
  assert_true(c.sigma_p == 0.0);
  assert_int_equal(c.n_pt_a, 1);
  assert_true(c.pt_a[0] == 1.1);
  assert_true(c.pt_b == 0.1);
  assert_int_equal(c.pt_n, 128);
  assert_int_equal(c.tasks, 128);
  assert_false(c.ragged);
  assert_int_equal(c.model.n_positions, 4096);
  assert_int_equal(c.model.n_embd, 128);
  assert_int_equal(c.model.n_layer, 12);
  assert_int_equal(c.model.n_head, 4);
  assert_int_equal(c.model.n_task_embd, 128);
  assert_int_equal(c.model.attention, TGMM_ATTN_CAUSAL);
  assert_int_equal(c.model.positions, TGMM_POS_LEARNED);
  assert_int_equal(c.train.steps, 10000);
  assert_int_equal(c.train.batch_size, 64);
  assert_true(c.train.lr == 1e-4);
  assert_true(c.train.weight_decay == 1e-4);
  assert_int_equal(c.train.schedule, TGMM_SCHED_CONSTANT);
  assert_int_equal(c.train.warmup, 0);
  assert_int_equal(c.train.checkpoint_every, 1000);
  assert_int_equal(c.train.eval_every, 0);
  assert_string_equal(c.train.run_dir, "runs/default");
  assert_int_equal(c.train.resume, TGMM_RESUME_AUTO);
  assert_false(c.train.deterministic);
  assert_int_equal(c.train.chunk, 16);
  assert_int_equal(c.train.threads, 0);
  assert_true(c.train.clip == 0.0);
  assert_false(c.train.save_grads);
  assert_int_equal(c.train.eval_tasks, 32);
  assert_true(c.train.beta1 == 0.9);
  assert_true(c.train.beta2 == 0.999);
  assert_true(c.train.eps == 1e-8);
  assert_int_equal(c.em.init, TGMM_INIT_RANDOM);
  assert_int_equal(c.em.restarts, 1);
  assert_int_equal(c.em.max_iter, 100);
  assert_true(c.em.tol == 1e-7);
  assert_int_equal(c.em.covariance, TGMM_COV_IDENTITY);
  assert_true(c.em.reg_covar == 1e-6);
  assert_int_equal(c.lloyd.init, TGMM_INIT_RANDOM);
  assert_int_equal(c.lloyd.max_iter, 100);
  assert_int_equal(c.spectral.restarts, 10);
  assert_int_equal(c.spectral.iters, 10);
  assert_int_equal(c.spectral.eigensolver, TGMM_EIG_AUTO);
  assert_int_equal(c.spectral.scalapack_min_d, 512);
  assert_int_equal(c.distribute, TGMM_DIST_TASKS);
  assert_int_equal(c.eval.tasks_per_setting, 128);
  assert_int_equal(c.eval.n_methods, 4);
  assert_string_equal(c.eval.methods[0], "tgmm");
  assert_string_equal(c.eval.methods[3], "oracle");
  assert_int_equal(tgmm_config_nclass(&c), 4);
  assert_int_equal(tgmm_config_class_K(&c, 2), 4);
  assert_int_equal(tgmm_config_Kmax(&c), 5);

  /* no file, no overrides: the defaults, with the text */
  tgmm_config l;
  load_ok(&l, NULL, 0, NULL);
  assert_int_equal(l.d, 8);
  assert_non_null(strstr(l.text, "K: [2, 3, 4, 5]\n"));
  assert_non_null(strstr(l.text, "model:\n  n_positions: 4096\n"));
  assert_non_null(strstr(l.text, "  run_dir: \"runs/default\"\n"));
  assert_non_null(strstr(l.text, "  methods: [tgmm, em, spectral, oracle]\n"));
  assert_non_null(strstr(l.text, "  lr: 0.0001\n"));
  assert_non_null(strstr(l.text, "  init: random\n"));
  tgmm_config_free(&l);
  assert_null(l.text);
}

static void test_load_file(void **state) {
  (void)state;
  tgmm_config c;
  load_ok(&c,
          "# a comment\n"
          "seed: 7\n"
          "d: 32\n"
          "K: [2, 5]\n"
          "N: 64\n"
          "family: anisotropic\n"
          "model:\n"
          "  n_embd: 64\n"
          "  n_layer: 4\n"
          "  attention: bidirectional\n"
          "  positions: none\n"
          "train:\n"
          "  lr: 3e-4\n"
          "  run_dir: 'runs/x y'\n"
          "  deterministic: true\n"
          "  steps: 1e5\n"
          "em: {init: kmeans++, covariance: full}\n"
          "eval.methods:\n"
          "  - em\n"
          "  - lloyd\n",
          0, NULL);
  assert_int_equal(c.seed, 7);
  assert_int_equal(c.d, 32);
  assert_int_equal(c.nK, 2);
  assert_int_equal(c.K[1], 5);
  assert_int_equal(c.N, 64);
  assert_int_equal(c.family, TGMM_FAMILY_ANISOTROPIC);
  assert_int_equal(c.model.n_embd, 64);
  assert_int_equal(c.model.n_layer, 4);
  assert_int_equal(c.model.attention, TGMM_ATTN_BIDIRECTIONAL);
  assert_int_equal(c.model.positions, TGMM_POS_NONE);
  assert_true(c.train.lr == 3e-4);
  assert_string_equal(c.train.run_dir, "runs/x y");
  assert_true(c.train.deterministic);
  assert_int_equal(c.train.steps, 100000);
  assert_int_equal(c.em.init, TGMM_INIT_KMEANSPP);
  assert_int_equal(c.em.covariance, TGMM_COV_FULL);
  assert_int_equal(c.eval.n_methods, 2);
  assert_string_equal(c.eval.methods[1], "lloyd");
  assert_int_equal(tgmm_config_Kmax(&c), 5);
  assert_non_null(strstr(c.text, "  init: kmeans++\n"));
  tgmm_config_free(&c);

  /* no config file at all is the defaults; an empty one is an error (a typo'd or truncated
   * file must not run silently on the defaults) */
  load_ok(&c, NULL, 0, NULL);
  assert_int_equal(c.d, 8);
  tgmm_config_free(&c);
  expect_error("", 0, NULL, "file.yaml", "an empty config", NULL);
  expect_error("# only comments\n\n", 0, NULL, "file.yaml", "an empty config", NULL);
}

/* Hostile input: deep nesting is refused at its line (no stack overflow), a large map is read
 * in linear time (its duplicate check too), an encoding error is reported where it stands. */
static void test_hostile_yaml(void **state) {
  (void)state;
  enum { DEEP = 5000 };
  char *deep = malloc(6 * DEEP + 32);
  assert_non_null(deep);
  char *p = deep + sprintf(deep, "d: 8\nx: ");
  for (int i = 0; i < DEEP; i++) p += sprintf(p, "{a: ");
  p += sprintf(p, "1");
  for (int i = 0; i < DEEP; i++) *p++ = '}';
  strcpy(p, "\n");
  expect_error(deep, 0, NULL, "file.yaml:2:", "nested deeper than 64 levels", NULL);
  free(deep);
  /* 200,000 keys with one duplicate at the end: found (the time is printed, not judged here: the
   * check is a hash set, was quadratic and took minutes) */
  enum { MANY = 200000 };
  char *big = malloc((size_t)MANY * 24 + 64);
  assert_non_null(big);
  p = big + sprintf(big, "eval:\n  grid:\n");
  for (int i = 0; i < MANY; i++) p += sprintf(p, "    k%d: [1]\n", i);
  sprintf(p, "    k17: [2]\n");
  double t0 = tgmm_now();
  expect_error(big, 0, NULL, "file.yaml:200003:", "eval.grid.k17", "duplicate key", NULL);
  double dt = tgmm_now() - t0;
  print_message("200,000 keys read in %.2f s\n", dt);
  free(big);
  expect_error("d: 8\nN: \xff 64\n", 0, NULL, "file.yaml:2:4:", "not valid UTF-8", NULL);
  expect_error("d: 8\nseed: 1\nN: 64 \xc3\n", 0, NULL, "file.yaml:3:", "not valid UTF-8", NULL);
}

static void test_error_malformed(void **state) {
  (void)state;
  expect_error("d: 8\nN: 64\nK: [2, 3\nseed: 1\n", 0, NULL, "file.yaml:4:", "malformed YAML", NULL);
  expect_error("d: 8\nN: 64\nmodel: n_embd: 3\n", 0, NULL, "file.yaml:3:14:", "malformed YAML",
               "mapping values are not allowed", NULL);
  expect_error("d: 8\nN: 64\n\tseed: 3\n", 0, NULL, "file.yaml:3:", "malformed YAML", NULL);
  expect_error("d: 8\nN: 64\n---\nseed: 3\n", 0, NULL, "file.yaml:3:1:", "more than one", NULL);
  expect_error("d: &x 8\nN: 64\nseed: *x\n", 0, NULL, "file.yaml:3:7:", "key 'seed'", "alias",
               NULL);
  expect_error("d: 8\n\nK: [2, [3]]\n", 0, NULL, "file.yaml:3:8:", "key 'K'", NULL);
}

static void test_error_unknown(void **state) {
  (void)state;
  expect_error("d: 8\nN: 64\nmodle:\n  n_embd: 64\n", 0, NULL, "file.yaml:4:3:",
               "key 'modle.n_embd'", "unknown key", "did you mean 'model.n_embd'", NULL);
  expect_error("d: 8\nN: 64\nn_embd: 64\n", 0, NULL, "file.yaml:3:1:", "key 'n_embd'",
               "did you mean 'model.n_embd'", NULL);
  expect_error("d: 8\nN: 64\nfoo_bar_baz: 1\n", 0, NULL, "file.yaml:3:1:", "key 'foo_bar_baz'",
               "unknown key", NULL);
  expect_error("d: 8\nN: 64\nmodel: 5\n", 0, NULL, "file.yaml:3:1:", "key 'model'", "section",
               NULL);
  expect_error("N: 64\nd:\n  x: 1\n", 0, NULL, "file.yaml:3:3:", "key 'd'",
               "expected an integer, got a map", NULL);
}

static void test_error_type(void **state) {
  (void)state;
  expect_error("d: 8\nmodel:\n  n_embd: abc\n", 0, NULL, "file.yaml:3:11:", "key 'model.n_embd'",
               "expected an integer, got 'abc'", NULL);
  expect_error("d: 8\nN: 64\nd2: 1\n", 0, NULL, "file.yaml:3:1:", "unknown key", NULL);
  expect_error("seed: 1\nd: 2.5\n", 0, NULL, "file.yaml:2:4:", "key 'd'", "expected an integer",
               NULL);
  expect_error("seed: 1\nd: '8'\n", 0, NULL, "file.yaml:2:4:", "key 'd'", "expected an integer",
               NULL);
  expect_error("seed: 1\n\ntrain:\n  lr: fast\n", 0, NULL, "file.yaml:4:7:", "key 'train.lr'",
               "expected a number, got 'fast'", NULL);
  expect_error("seed: 1\nragged: yes\n", 0, NULL, "file.yaml:2:9:", "key 'ragged'",
               "expected true or false, got 'yes'", NULL);
  expect_error("seed: 1\nd: [1, 2]\n", 0, NULL, "file.yaml:2:4:", "key 'd'", "got a list", NULL);
  expect_error("seed: 1\nK: 3\n", 0, NULL, "file.yaml:2:4:", "key 'K'",
               "expected a list of integers", NULL);
  expect_error("seed: 1\nd:\n", 0, NULL, "file.yaml:2:", "key 'd'", "no value", NULL);
  expect_error("seed: 1\npt:\n  a: [1.5, x]\n", 0, NULL, "file.yaml:3:12:", "key 'pt.a'",
               "expected a number, got 'x'", NULL);
  expect_error("seed: 1\nK: [2, 3, 3]\n", 0, NULL, "file.yaml:2:11:", "key 'K'", "twice", NULL);
  expect_error("seed: 1\nK: []\n", 0, NULL, "file.yaml:2:4:", "key 'K'", "1 to 32 entries", NULL);
  expect_error("seed: 1\ntrain: {run_dir: ''}\n", 0, NULL, "file.yaml:2:", "train.run_dir",
               "non-empty", NULL);
}

static void test_error_range(void **state) {
  (void)state;
  expect_error("d: 8\nN: 64\nK: [2, 3, 99]\n", 0, NULL, "file.yaml:3:11:", "key 'K'",
               "99 is out of range: must be in [1, 64]", NULL);
  expect_error("N: 64\nd: 0\n", 0, NULL, "file.yaml:2:4:", "key 'd'",
               "must be in [1, 100000]", NULL);
  expect_error("N: 64\nseed: 4294967296\n", 0, NULL, "file.yaml:2:7:", "key 'seed'",
               "[0, 4294967295]", NULL);
  expect_error("N: 64\nd: 99999999999999999999999\n", 0, NULL, "file.yaml:2:4:", "key 'd'",
               "out of range", NULL);
  expect_error("N: 64\nsigma_p: -1\n", 0, NULL, "file.yaml:2:10:", "key 'sigma_p'",
               "must be >= 0", NULL);
  expect_error("N: 64\npt: {a: [1.1, 0]}\n", 0, NULL, "file.yaml:2:15:", "key 'pt.a'",
               "must be > 0", NULL);
  expect_error("N: 64\ntrain:\n  beta2: 1\n", 0, NULL, "file.yaml:3:10:", "key 'train.beta2'",
               "must be in [0, 1)", NULL);
}

static void test_error_enum_dup_top(void **state) {
  (void)state;
  expect_error("d: 8\nN: 64\nfamily: gaussian\n", 0, NULL, "file.yaml:3:9:", "key 'family'",
               "'gaussian' is not one of: isotropic, anisotropic, mean_shift, phase_transition",
               NULL);
  expect_error("d: 8\nN: 64\neval: {methods: [em, magic]}\n", 0, NULL, "file.yaml:3:22:",
               "key 'eval.methods'", "'magic' is not one of", NULL);
  expect_error("d: 8\nN: 64\nd: 9\n", 0, NULL, "file.yaml:3:1:", "key 'd'", "duplicate key", NULL);
  expect_error("model:\n  n_embd: 64\nmodel.n_embd: 32\n", 0, NULL, "file.yaml:3:1:",
               "key 'model.n_embd'", "duplicate key", NULL);
  expect_error("model:\n  n_embd: 64\nd: 3\nmodel:\n  n_layer: 2\n", 0, NULL, "file.yaml:4:1:",
               "key 'model'", "duplicate key", NULL);
  expect_error("- 1\n- 2\n", 0, NULL, "file.yaml:1:1:", "top level must be a map", NULL);
  expect_error("just text\n", 0, NULL, "file.yaml:1:1:", "top level must be a map", NULL);
  char path[300];
  snprintf(path, sizeof path, "%s/missing.yaml", g_dir);
  tgmm_config c;
  capture cp;
  cap_begin(&cp);
  int rc = tgmm_config_load(&c, path, 0, NULL);
  const char *err = cap_end(&cp);
  assert_int_equal(rc, TGMM_EUSER);
  assert_non_null(strstr(err, "missing.yaml: cannot read"));
}

static void test_overrides(void **state) {
  (void)state;
  char *ov[] = {"d=16",          "model.n_embd=64",   "K=[2,3]",       "ragged=true",
                "train.lr=1e-3", "pt.a=[1.1,2.0]",    "seed=9",        "train.run_dir=runs/a b",
                "em.init=truth", "model={n_layer: 2}", "train.eps=1E-6", "eval.methods=[tgmm]"};
  tgmm_config c;
  load_ok(&c, "d: 4\nseed: 3\nmodel:\n  n_embd: 256\n", 12, ov);
  assert_int_equal(c.d, 16);
  assert_int_equal(c.seed, 9);
  assert_int_equal(c.model.n_embd, 64);
  assert_int_equal(c.model.n_layer, 2);
  assert_int_equal(c.nK, 2);
  assert_int_equal(c.K[0], 2);
  assert_int_equal(c.K[1], 3);
  assert_true(c.ragged);
  assert_true(c.train.lr == 1e-3);
  assert_true(c.train.eps == 1e-6);
  assert_int_equal(c.n_pt_a, 2);
  assert_true(c.pt_a[0] == 1.1 && c.pt_a[1] == 2.0);
  assert_string_equal(c.train.run_dir, "runs/a b");
  assert_int_equal(c.em.init, TGMM_INIT_TRUTH);
  assert_int_equal(c.eval.n_methods, 1);
  tgmm_config_free(&c);

  /* later overrides win; without a file */
  char *ov2[] = {"d=3", "d=5"};
  load_ok(&c, NULL, 2, ov2);
  assert_int_equal(c.d, 5);
  tgmm_config_free(&c);
}

static void test_bad_overrides(void **state) {
  (void)state;
  char *a[] = {"d=abc"};
  expect_error(NULL, 1, a, "command line: argument 'd=abc': key 'd': expected an integer, got 'abc'",
               NULL);
  char *b[] = {"K=[2,3"};
  expect_error(NULL, 1, b, "command line: argument 'K=[2,3'", "malformed YAML", NULL);
  char *c[] = {"modl.n_embd=3"};
  expect_error(NULL, 1, c, "command line: argument 'modl.n_embd=3'", "unknown key",
               "did you mean 'model.n_embd'", NULL);
  char *d[] = {"seed"};
  expect_error(NULL, 1, d, "command line: argument 'seed'", "key=value", NULL);
  char *e[] = {"=3"};
  expect_error(NULL, 1, e, "command line: argument '=3'", NULL);
  char *f[] = {"K=[2,70]"};
  expect_error(NULL, 1, f, "command line: argument 'K=[2,70]'", "key 'K'", "must be in [1, 64]",
               NULL);
  char *g[] = {"ragged=1"};
  expect_error(NULL, 1, g, "argument 'ragged=1'", "expected true or false", NULL);
  char *h[] = {"d="};
  expect_error(NULL, 1, h, "argument 'd='", "no value", NULL);
  /* a file error wins over overrides (the file is read first) */
  char *i[] = {"d=abc"};
  expect_error("N: 64\nseed: x\n", 1, i, "file.yaml:2:7:", "key 'seed'", NULL);
}

static void test_cross_key(void **state) {
  (void)state;
  expect_error("d: 8\nN: 64\nmodel:\n  n_embd: 130\n", 0, NULL, "file.yaml:4:3:",
               "key 'model.n_embd'", "not a multiple of model.n_head = 4", NULL);
  char *ov[] = {"model.n_head=3"};
  expect_error("d: 8\nmodel:\n  n_embd: 128\n", 1, ov, "command line: argument 'model.n_head=3'",
               "not a multiple", NULL);
  expect_error("d: 8\nN: 5000\n", 0, NULL, "file.yaml:2:1:", "key 'N'", "raise model.n_positions",
               NULL);
  expect_error("d: 8\nmodel: {n_positions: 100}\n", 0, NULL, "file.yaml:2:9:",
               "key 'model.n_positions'", "raise model.n_positions", NULL);
  expect_error("family: phase_transition\npt:\n  b: 100\n  n: 100000\n", 0, NULL, "file.yaml:4:3:",
               "key 'pt.n'", "phase_transition derives d", NULL);

  /* no learned positions: N may exceed n_positions */
  tgmm_config c;
  load_ok(&c, "N: 5000\nmodel: {positions: none}\n", 0, NULL);
  tgmm_config_free(&c);

  /* phase transition: d and N derived; explicit d / N draw a note, not an error */
  load_ok(&c, "family: phase_transition\npt: {a: [1.1, 2, 4], b: 0.1, n: 128}\n", 0, NULL);
  assert_int_equal(c.d, 62); /* floor(0.1 * 128 * ln 128) = floor(62.1) */
  assert_int_equal(c.N, 128);
  assert_int_equal(c.nK, 1);
  assert_int_equal(c.K[0], 2);
  assert_int_equal(tgmm_config_nclass(&c), 3);
  assert_int_equal(tgmm_config_class_K(&c, 2), 2);
  assert_int_equal(tgmm_config_Kmax(&c), 2);
  tgmm_config_free(&c);
  capture cp;
  cap_begin(&cp);
  int rc = tgmm_config_load(&c, write_yaml("family: phase_transition\nd: 8\nN: 64\n"), 0, NULL);
  const char *err = cap_end(&cp);
  assert_int_equal(rc, 0);
  assert_int_equal(c.d, 62);
  assert_int_equal(c.N, 128);
  assert_non_null(strstr(err, "note: "));
  assert_non_null(strstr(err, "file.yaml:2:1: d = 8 is ignored"));
  assert_non_null(strstr(err, "N = 64 is ignored"));
  assert_null(strstr(err, "error"));
  tgmm_config_free(&c);

  /* model.backbone: the other backbone's keys draw one note; mamba2's shapes must fit; the
   * transformer's n_embd / n_head and positions checks do not apply to mamba2 */
  cap_begin(&cp);
  rc = tgmm_config_load(&c, write_yaml("N: 5000\nmodel: {backbone: mamba2, n_embd: 130, "
                                       "n_head: 3, attention: bidirectional}\n"), 0, NULL);
  err = cap_end(&cp);
  assert_int_equal(rc, 0);
  assert_int_equal(c.model.backbone, TGMM_BACKBONE_MAMBA2);
  assert_non_null(strstr(err, "note: model.n_head, model.attention are ignored by "
                              "model.backbone = mamba2"));
  cap_begin(&cp); /* the resolved text (every key set) loads again without the note */
  tgmm_config c2;
  rc = tgmm_config_load_string(&c2, "resolved", c.text, 0, NULL);
  err = cap_end(&cp);
  assert_int_equal(rc, 0);
  assert_null(strstr(err, "note"));
  tgmm_config_free(&c2);
  tgmm_config_free(&c);
  cap_begin(&cp);
  rc = tgmm_config_load(&c, write_yaml("model: {ssm_heads: 6}\n"), 0, NULL);
  err = cap_end(&cp);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "note: model.ssm_heads is ignored by model.backbone = transformer"));
  tgmm_config_free(&c);
  expect_error("model: {backbone: mamba2, ssm_heads: 6, ssm_groups: 4}\n", 0, NULL,
               "file.yaml:1:41:", "key 'model.ssm_groups'",
               "model.ssm_heads = 6 is not a multiple of model.ssm_groups = 4", NULL);
  /* train.loss = nll scores the mixture's density: unit variances need component_scale 1 */
  expect_error("component_scale: 0.3\ntrain: {loss: nll}\n", 0, NULL, "file.yaml:2:",
               "key 'train.loss'", "component_scale = 0.3: set model.predict_scales: true", NULL);
  expect_error("train: {loss: nll}\nmodel: {head: labels}\n", 0, NULL, "key 'model.head'",
               "model.head = labels does not have", NULL);
  load_ok(&c, "component_scale: 0.3\ntrain: {loss: nll}\nmodel: {predict_scales: true}\n", 0, NULL);
  assert_int_equal(c.train.loss, TGMM_LOSS_NLL);
  tgmm_config_free(&c);
  load_ok(&c, "train: {loss: nll}\n", 0, NULL); /* the paper's family: unit variances */
  tgmm_config_free(&c);
}

static void same_config(const tgmm_config *a, const tgmm_config *b) {
  tgmm_config x = *a, y = *b;
  x.text = y.text = NULL;
  assert_memory_equal(&x, &y, sizeof x);
  assert_string_equal(a->text, b->text);
}

static void roundtrip(const char *yaml, int n_ov, char *const ov[]) {
  tgmm_config a, b;
  load_ok(&a, yaml, n_ov, ov);
  assert_int_equal(tgmm_config_load_string(&b, "resolved", a.text, 0, NULL), 0);
  same_config(&a, &b);
  assert_int_equal(tgmm_config_diff(a.text, b.text, NULL, NULL, 0), 0);
  tgmm_config_free(&a);
  tgmm_config_free(&b);
}

static void test_text_roundtrip(void **state) {
  (void)state;
  roundtrip(NULL, 0, NULL);
  char *ov[] = {"train.lr=0.1",        "train.weight_decay=0.3333333333333333", "sigma_p=1e-300",
                "pt.a=[1.1, 2.2, 11]", "train.run_dir=odd \"dir\"\\x:y #z",     "family=mean_shift",
                "seed=4294967295",     "train.steps=999999999999",              "em.tol=6.02214076e23",
                "train.clip=2.5"};
  roundtrip("model: {n_embd: 64, n_head: 8}\n", 10, ov);
  roundtrip("family: phase_transition\npt: {a: [1.1, 3, 11], n: 300}\n", 0, NULL);
  /* the text is plain YAML with nested maps and flow lists */
  tgmm_config a;
  load_ok(&a, NULL, 10, ov);
  assert_non_null(strstr(a.text, "train:\n  steps: 999999999999\n"));
  assert_non_null(strstr(a.text, "  lr: 0.1\n"));
  assert_non_null(strstr(a.text, "pt:\n  a: [1.1, 2.2, 11]\n  b: 0.1\n"));
  assert_non_null(strstr(a.text, "seed: 4294967295\n"));
  tgmm_config_free(&a);
}

static void test_grid(void **state) {
  (void)state;
  tgmm_config a;
  load_ok(&a, "eval:\n  grid:\n    K: [2, 3]\n    sigma_p: [0, 0.5, 1e-3]\n    family: [isotropic, mean_shift]\n",
          0, NULL);
  assert_int_equal(a.eval.n_grid, 3);
  assert_string_equal(a.eval.grid[0].key, "K");
  assert_int_equal(a.eval.grid[1].n, 3);
  assert_string_equal(a.eval.grid[1].vals[2], "0.001");
  assert_string_equal(a.eval.grid[2].vals[1], "mean_shift");
  assert_non_null(strstr(a.text, "  grid: {K: [2, 3], sigma_p: [0, 0.5, 0.001], family: [isotropic, mean_shift]}\n"));
  tgmm_config_free(&a);
  /* an override replaces one grid key; the text round-trips */
  char *ov[] = {"eval.grid.K=[4,5]"};
  roundtrip("eval: {grid: {K: [2, 3], N: [32, 64]}}\n", 1, ov);
  load_ok(&a, "eval: {grid: {K: [2, 3], N: [32, 64]}}\n", 1, ov);
  assert_non_null(strstr(a.text, "grid: {K: [4, 5], N: [32, 64]}"));
  tgmm_config_free(&a);
  roundtrip(NULL, 0, NULL); /* grid: {} */
  /* errors name the line and the key */
  expect_error("seed: 1\neval:\n  grid:\n    N: [32, -1]\n", 0, NULL, "file.yaml:4:", "'N'", "out of range", NULL);
  expect_error("eval:\n  grid:\n    train.lr: [1]\n", 0, NULL, "file.yaml:3:", "cannot be a grid key", NULL);
  expect_error("eval:\n  grid:\n    N: 32\n", 0, NULL, "file.yaml:3:", "expected a list", NULL);
  expect_error("eval:\n  grid:\n    frob: [1]\n", 0, NULL, "file.yaml:3:", "eval.grid.frob", NULL);
}

static void test_diff(void **state) {
  (void)state;
  tgmm_config a, b;
  char *ova[] = {"train.lr=1e-3", "train.steps=10"};
  char *ovb[] = {"train.lr=2e-3", "train.steps=20", "model.n_layer=3", "train.run_dir=elsewhere"};
  load_ok(&a, NULL, 2, ova);
  load_ok(&b, NULL, 4, ovb);
  char out[256];
  const char *const exempt[] = {"train.steps", "train.resume", "train.threads", "train.run_dir",
                                NULL};
  int n = tgmm_config_diff(a.text, b.text, exempt, out, sizeof out);
  assert_int_equal(n, 2);
  assert_string_equal(out, "model.n_layer, train.lr");
  n = tgmm_config_diff(a.text, b.text, NULL, out, sizeof out);
  assert_int_equal(n, 4);
  assert_int_equal(tgmm_config_diff(a.text, a.text, NULL, out, sizeof out), 0);
  assert_string_equal(out, "");
  /* numeric spelling does not matter; a missing key does */
  assert_int_equal(tgmm_config_diff("a: 1e-4\nb: [1, 2]\n", "a: 0.0001\nb: [1.0, 2]\n", NULL, out,
                                    sizeof out),
                   0);
  assert_int_equal(tgmm_config_diff("a: 1\nm: {x: 2}\n", "a: 1\n", NULL, out, sizeof out), 1);
  assert_string_equal(out, "m.x");
  assert_int_equal(tgmm_config_diff("a: 1\n", "a: 1\nz: [3]\n", NULL, out, sizeof out), 1);
  assert_string_equal(out, "z");
  capture cp;
  cap_begin(&cp);
  n = tgmm_config_diff("- 1\n", "a: 1\n", NULL, out, sizeof out);
  const char *err = cap_end(&cp);
  assert_int_equal(n, -1);
  assert_non_null(strstr(err, "config A:1:1: the top level must be a map"));
  tgmm_config_free(&a);
  tgmm_config_free(&b);
}

/* The resume check counts only the keys that shape training (and not the exempt ones). */
static void test_diff_training(void **state) {
  (void)state;
  tgmm_config a, b;
  char *ova[] = {"train.steps=10", "seed=1"};
  char *ovb[] = {"train.steps=20", "eval.tasks_per_setting=3", "report.error_bars=ci95",
                 "em.restarts=4", "lloyd.max_iter=9", "spectral.restarts=2", "tasks=7",
                 "train.checkpoint_every=3", "train.keep_checkpoints=1", "model.ssm_heads=16",
                 "train.data=/x.h5", "train.lr=3e-3", "seed=2"};
  load_ok(&a, NULL, 2, ova);
  load_ok(&b, NULL, 13, ovb);
  char out[256];
  const char *const exempt[] = {"train.steps", NULL};
  assert_int_equal(tgmm_config_diff_training(a.text, b.text, &b, exempt, out, sizeof out), 3);
  assert_string_equal(out, "seed, train.lr, train.data");
  assert_int_equal(tgmm_config_diff_training(a.text, b.text, &b, NULL, out, sizeof out), 4);
  assert_int_equal(tgmm_config_diff(a.text, b.text, exempt, out, sizeof out), 12);
  tgmm_config_free(&a);
  tgmm_config_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diff_training),
      cmocka_unit_test(test_defaults),        cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_error_malformed), cmocka_unit_test(test_error_unknown),
      cmocka_unit_test(test_hostile_yaml),
      cmocka_unit_test(test_error_type),      cmocka_unit_test(test_error_range),
      cmocka_unit_test(test_error_enum_dup_top), cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_bad_overrides),   cmocka_unit_test(test_cross_key),
      cmocka_unit_test(test_text_roundtrip),  cmocka_unit_test(test_diff),
      cmocka_unit_test(test_grid),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
