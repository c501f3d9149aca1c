/* report_curves.c — `tgmm report --data RUN_DIR`: learning curves of a training run from its
 * metrics.h5 (see include/tgmm/runlog.h): PREFIX.loss.png (the loss and each of its terms
 * against steps) and PREFIX.heldout.png (held-out l2 error of means per K against steps — the
 * misclustering rate for a model without a mixture read-out, model.head = labels — with
 * EM's and spectral's levels on the same tasks as dashed and dotted lines of the same colour when
 * the run stored them: train.eval_baselines). The gnuplot scripts (.gp) and data (.dat) stay
 * beside the PNGs so that a plot can be restyled. Rank 0 only. */
#define _GNU_SOURCE
#include "tgmm/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/out.h"

typedef struct {
  hsize_t n, ne, nc;
  int64_t *step, *estep; /* [n], [ne] */
  double *loss[4];       /* [n]: loss, loss_weights, loss_means, loss_scales */
  double *l2;            /* [ne, nc] held-out l2 of means (mis: misclustering) */
  int mis;               /* the run has no l2 of means (label head): misclustering instead */
  int32_t *K;            /* [nc] */
  double ref[2][64];     /* EM, spectral levels per class (NaN: not stored) */
  int has_ref;
} curves;

static void curves_free(curves *c) {
  free(c->step), free(c->estep), free(c->l2), free(c->K);
  for (int j = 0; j < 4; j++) free(c->loss[j]);
}

/* Dataset `name` into a new buffer, after its shape is checked: nd dimensions, each of the size
 * in want (TGMM_H5_ANY: any); *n its first dimension. */
static int read_vec(hid_t f, const char *path, const char *name, hid_t type, int nd,
                    const hsize_t *want, hsize_t *n, void **buf, size_t elem) {
  hsize_t d[2] = {0, 0};
  TGMM_TRY(tgmm_h5_shape(f, path, name, H5Tget_class(type), nd, want, d));
  *n = d[0];
  size_t cnt = (size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1);
  *buf = tgmm_malloc(elem * (cnt ? cnt : 1));
  if (!*buf) return TGMM_ENOMEM;
  return tgmm_h5_read(f, path, name, type, nd, d, *buf);
}

static int load(const char *path, curves *c) {
  static const hsize_t ANY[1] = {TGMM_H5_ANY};
  static const char *const LOSS[4] = {"/loss", "/loss_weights", "/loss_means", "/loss_scales"};
  memset(c, 0, sizeof *c);
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  hsize_t n;
  int rc = read_vec(f, path, "/step", H5T_NATIVE_INT64, 1, ANY, &c->n, (void **)&c->step, sizeof(int64_t));
  for (int j = 0; j < 4 && rc == TGMM_OK; j++) {
    rc = read_vec(f, path, LOSS[j], H5T_NATIVE_DOUBLE, 1, &c->n, &n, (void **)&c->loss[j], sizeof(double));
    if (rc == TGMM_OK && n != c->n) rc = TGMM_EUSER;
  }
  if (rc == TGMM_OK && tgmm_h5_exists(f, "/eval/step")) {
    rc = read_vec(f, path, "/eval/step", H5T_NATIVE_INT64, 1, ANY, &c->ne, (void **)&c->estep, sizeof(int64_t));
    if (rc == TGMM_OK)
      rc = read_vec(f, path, "/eval/K", H5T_NATIVE_INT32, 1, ANY, &c->nc, (void **)&c->K, sizeof(int32_t));
    if (rc == TGMM_OK && c->nc > 64) rc = TGMM_EUSER;
    if (rc == TGMM_OK)
      rc = read_vec(f, path, "/eval/l2_means", H5T_NATIVE_DOUBLE, 2, (hsize_t[]){c->ne, c->nc}, &n, (void **)&c->l2, sizeof(double));
    int finite = 0;
    for (hsize_t i = 0; rc == TGMM_OK && i < c->ne * c->nc; i++) finite |= isfinite(c->l2[i]);
    if (rc == TGMM_OK && !finite && c->ne > 0 && tgmm_h5_exists(f, "/eval/misclustering")) {
      free(c->l2);
      c->l2 = NULL;
      c->mis = 1;
      rc = read_vec(f, path, "/eval/misclustering", H5T_NATIVE_DOUBLE, 2, (hsize_t[]){c->ne, c->nc}, &n, (void **)&c->l2,
                    sizeof(double));
    }
  }
  const char *metric = c->mis ? "misclustering" : "l2_means";
  for (int r = 0; r < 2 && rc == TGMM_OK; r++) {
    char ref[96];
    snprintf(ref, sizeof ref, "/eval/baselines/%s/%s", r ? "spectral" : "em", metric);
    for (int k = 0; k < 64; k++) c->ref[r][k] = NAN;
    if (!tgmm_h5_exists(f, ref)) continue;
    double *v = NULL;
    rc = read_vec(f, path, ref, H5T_NATIVE_DOUBLE, 1, ANY, &n, (void **)&v, sizeof(double));
    if (rc == TGMM_OK && n == c->nc) {
      memcpy(c->ref[r], v, sizeof(double) * (size_t)n);
      c->has_ref = 1;
    }
    free(v);
  }
  H5Fclose(f);
  if (rc != TGMM_OK) tgmm_error("%s: not a metrics file of tgmm train (or a damaged one)", path);
  return rc;
}

/* PREFIX.what.ext, written through h5io's temporary-then-rename path (o); the real name in path. */
static FILE *open_out(tgmm_out *o, const char *prefix, const char *what, const char *ext,
                      char *path, size_t n) {
  if (snprintf(path, n, "%s.%s.%s", prefix, what, ext) >= (int)n) {
    tgmm_error("report: output prefix too long: %s", prefix);
    return NULL;
  }
  return tgmm_out_text(o, path);
}

/* Run a committed script into PREFIX.what.png (tgmm_report_gnuplot). */
static int run_gnuplot(const char *gp, const char *prefix, const char *what) {
  char png[4200];
  if (snprintf(png, sizeof png, "%s.%s.png", prefix, what) >= (int)sizeof png) {
    tgmm_error("report: output prefix too long: %s", prefix);
    return TGMM_EUSER;
  }
  return tgmm_report_gnuplot(gp, png);
}

static const char *PNG_HEAD = "set terminal pngcairo size 1000,620 noenhanced font 'sans,12'\n"
                              "set grid\nset key outside right top box\nset logscale y\nset format y '%g'\n";

static int plot_loss(const curves *c, const char *prefix, const char *title) {
  char dat[4200], gp[4200];
  tgmm_out od, og;
  FILE *d = open_out(&od, prefix, "loss", "dat", dat, sizeof dat);
  if (!d) return TGMM_EUSER;
  /* the loss's running mean over a centred window of w steps (a trend through the noise of
   * small batches) */
  hsize_t w = c->n / 100 > 1 ? c->n / 100 : 1;
  fprintf(d, "# step loss loss_weights loss_means loss_scales loss_mean_%llu_steps\n",
          (unsigned long long)w);
  double sum = 0.0;
  hsize_t lo = 0, hi = 0; /* the window [lo, hi) */
  for (hsize_t i = 0; i < c->n; i++) {
    hsize_t a = i >= w / 2 ? i - w / 2 : 0, b = i + (w + 1) / 2 < c->n ? i + (w + 1) / 2 : c->n;
    for (; hi < b; hi++) sum += c->loss[0][hi];
    for (; lo < a; lo++) sum -= c->loss[0][lo];
    fprintf(d, "%lld %.9g %.9g %.9g %.9g %.9g\n", (long long)c->step[i], c->loss[0][i],
            c->loss[1][i], c->loss[2][i], c->loss[3][i], sum / (double)(hi - lo));
  }
  TGMM_TRY(tgmm_out_commit(&od));
  int scales = 0, mix = 0, lab = 0; /* the terms present: mixture (and scales), labels */
  int nll = c->n > 0; /* train.loss = nll: the first term is the whole loss, the others are 0 */
  for (hsize_t i = 0; i < c->n; i++) {
    double parts = c->loss[1][i] + c->loss[2][i] + c->loss[3][i];
    scales |= c->loss[3][i] > 0;
    mix |= parts > 0;
    lab |= c->loss[0][i] - parts > 1e-6 * fabs(c->loss[0][i]);
    nll &= c->loss[2][i] == 0.0 && c->loss[3][i] == 0.0 && c->loss[1][i] == c->loss[0][i];
  }
  FILE *g = open_out(&og, prefix, "loss", "gp", gp, sizeof gp);
  if (!g) return TGMM_EUSER;
  char png[4300], ttl[4300];
  snprintf(png, sizeof png, "%s.loss.png", prefix);
  snprintf(ttl, sizeof ttl, "training loss: %s", title);
  fprintf(g, "%sif (!exists('out')) out = ", PNG_HEAD);
  tgmm_report_gp_quote(g, png), fprintf(g, "\nset output out\nset title "), tgmm_report_gp_quote(g, ttl);
  if (nll) { /* a negative log-likelihood may be negative: no log scale, no terms */
    fprintf(g, "\nunset logscale y\nset xlabel 'training step'\nset ylabel 'negative "
               "log-likelihood per sample (mean over the step)'\nplot ");
    tgmm_report_gp_quote(g, dat);
    fprintf(g, " using 1:2 with lines lc rgb '#b0b0b0' title 'loss (train.loss = nll)', '' using "
               "1:6 with lines lw 3 lc rgb '#000000' title 'running mean of %llu steps'\n",
            (unsigned long long)w);
  } else {
    fprintf(g, "\nset xlabel 'training step'\nset ylabel 'loss (per task, mean over the step)'\nplot ");
    tgmm_report_gp_quote(g, dat);
    char trend[160] = "";
    if (w > 1)
      snprintf(trend, sizeof trend, ", '' using 1:6 with lines lw 3 lc rgb '#000000' title 'loss, "
               "running mean of %llu steps'", (unsigned long long)w);
    fprintf(g, " using 1:2 with lines lw 2 title 'loss%s'%s%s%s%s\n",
            lab && !mix ? " (label cross-entropy)" : "",
            mix ? ", '' using 1:3 with lines title 'cross-entropy of weights', "
                  "'' using 1:4 with lines title 'MSE of means'" : "",
            scales ? ", '' using 1:5 with lines title 'MSE of scales'" : "",
            lab && mix ? ", '' using 1:($2-$3-$4-$5) with lines title 'label cross-entropy'" : "",
            trend);
  }
  TGMM_TRY(tgmm_out_commit(&og));
  return run_gnuplot(gp, prefix, "loss");
}

static int plot_heldout(const curves *c, const char *prefix, const char *title) {
  char dat[4200], gp[4200];
  tgmm_out od, og;
  FILE *d = open_out(&od, prefix, "heldout", "dat", dat, sizeof dat);
  if (!d) return TGMM_EUSER;
  const char *what = c->mis ? "misclustering rate" : "l2 error of means";
  fprintf(d, "# step");
  for (hsize_t k = 0; k < c->nc; k++) fprintf(d, " %s_K%d", c->mis ? "misclustering" : "l2_means", c->K[k]);
  fprintf(d, "\n");
  for (hsize_t i = 0; i < c->ne; i++) {
    fprintf(d, "%lld", (long long)c->estep[i]);
    for (hsize_t k = 0; k < c->nc; k++) fprintf(d, " %.9g", c->l2[i * c->nc + k]);
    fprintf(d, "\n");
  }
  TGMM_TRY(tgmm_out_commit(&od));
  FILE *g = open_out(&og, prefix, "heldout", "gp", gp, sizeof gp);
  if (!g) return TGMM_EUSER;
  char png[4300], ttl[4400];
  snprintf(png, sizeof png, "%s.heldout.png", prefix);
  snprintf(ttl, sizeof ttl, "held-out %s: %s%s", what, title,
           c->has_ref ? " (dashed: EM, dotted: spectral, same tasks)" : "");
  fprintf(g, "%sif (!exists('out')) out = ", PNG_HEAD);
  tgmm_report_gp_quote(g, png), fprintf(g, "\nset output out\nset title "), tgmm_report_gp_quote(g, ttl);
  fprintf(g, "\nset xlabel 'training step'\nset ylabel '%s (mean over held-out tasks)'\n", what);
  if (c->mis) { /* a rate: a linear axis from 0 (0 is a rate like any other), to 1 at most */
    double top = 0;
    for (hsize_t i = 0; i < c->ne * c->nc; i++)
      if (isfinite(c->l2[i])) top = fmax(top, c->l2[i]);
    for (int r = 0; r < 2; r++)
      for (hsize_t k = 0; k < c->nc; k++)
        if (isfinite(c->ref[r][k])) top = fmax(top, c->ref[r][k]);
    fprintf(g, "unset logscale y\nset yrange [0:%.6g]\n", top > 0 ? fmin(1.05, top * 1.1) : 1.0);
  }
  fprintf(g, "plot ");
  for (hsize_t k = 0; k < c->nc; k++)
    fprintf(g, "%s", k ? ", " : ""), tgmm_report_gp_quote(g, dat),
    fprintf(g, " using 1:%d with linespoints lw 2 pt 7 ps 0.6 lc %d title 'TGMM, K = %d'",
            (int)k + 2, (int)k + 1, c->K[k]);
  for (int r = 0; r < 2; r++)
    for (hsize_t k = 0; k < c->nc; k++)
      if (isfinite(c->ref[r][k]))
        fprintf(g, ", %.9g with lines dt %d lw 1.5 lc %d title '%s, K = %d'", c->ref[r][k],
                r ? 3 : 2, (int)k + 1, r ? "spectral" : "EM", c->K[k]);
      else if (c->has_ref) /* a reference the run stored for other K only: said, not left out */
        fprintf(g, ", keyentry with lines lc rgb '#ffffff' title '%s, K = %d: no value'",
                r ? "spectral" : "EM", c->K[k]);
  fprintf(g, "\n");
  TGMM_TRY(tgmm_out_commit(&og));
  return run_gnuplot(gp, prefix, "heldout");
}

/* The last evaluation against the references, as a Markdown table on stdout. */
static void print_last(const curves *c) {
  if (c->ne == 0) {
    printf("no held-out evaluations in this run (train.eval_every = 0)\n");
    return;
  }
  hsize_t i = c->ne - 1;
  printf("held-out %s after %lld steps\n\n| K | TGMM | EM | spectral |\n|---|---|---|---|\n",
         c->mis ? "misclustering rate" : "l2 error of means", (long long)c->estep[i]);
  for (hsize_t k = 0; k < c->nc; k++)
    printf("| %d | %.4g | %.4g | %.4g |\n", c->K[k], c->l2[i * c->nc + k], c->ref[0][k], c->ref[1][k]);
}

/* "runs/he/d2/" -> "run d2" */
static void run_name(const char *run_dir, char *out, size_t n) {
  char base[200];
  tgmm_report_base_name(run_dir, base, sizeof base);
  snprintf(out, n, "run %s", base);
}

int tgmm_report_curves(const char *run_dir, const char *prefix) {
  char path[4200], def[4200];
  snprintf(path, sizeof path, "%s/metrics.h5", run_dir);
  if (!prefix) {
    snprintf(def, sizeof def, "%s/curves", run_dir);
    prefix = def;
  }
  curves c;
  int rc = load(path, &c);
  if (rc == TGMM_OK) print_last(&c);
  if (rc == TGMM_OK && !tgmm_report_has_gnuplot()) {
    tgmm_info("report: gnuplot not found (apt-get install gnuplot-nox): no PNG plots");
  } else if (rc == TGMM_OK) {
    char name[256]; /* the titles name the run (its directory's name), never a path */
    run_name(run_dir, name, sizeof name);
    rc = plot_loss(&c, prefix, name);
    if (rc == TGMM_OK && c.ne > 0) rc = plot_heldout(&c, prefix, name);
  }
  curves_free(&c);
  return rc;
}
