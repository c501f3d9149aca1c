/* report_depth.c — He et al.'s comparison in a merged `tgmm report`: the transformer's
 * misclustering rate against its depth (model.n_layer of each run, method tgmm) beside EM's and
 * Lloyd's against their iterations (the em@c and lloyd@c columns of eval.iterations), per grid
 * setting of the files (the setting labels, e.g. "K=[3] mean_scale=0.5"). A Markdown table
 * (mean ± sd over tasks (tasks)) and PREFIX.depth.png (.gp, .dat kept): one panel per setting, a
 * log2 x axis shared by layers and iterations, the oracle as a dashed level. Shown when some
 * file has em@c or lloyd@c columns. Baselines: from the first run that has them (the runs of a
 * depth sweep evaluate the same tasks). Rank 0 only. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/out.h"
#include "tgmm/report.h"

#define DV_MAX 32
#define C_MIS 3 /* misclustering in tgmm_report_metric_name */

typedef struct {
  int nl, nd, nc;
  char (*label)[512];       /* [nl] distinct setting labels */
  int depth[DV_MAX];        /* [nd] distinct n_layer, ascending */
  int count[DV_MAX];        /* [nc] distinct iteration counts, ascending */
  const tgmm_report_cell **tg, **em, **ll, **orc; /* [nl, nd] / [nl, nc] x 2 / [nl] or NULL */
} depth_view;

static void add_sorted(int *v, int *n, int x) {
  int i = 0;
  while (i < *n && v[i] < x) i++;
  if ((i < *n && v[i] == x) || *n == DV_MAX) return;
  memmove(v + i + 1, v + i, sizeof(int) * (size_t)(*n - i));
  v[i] = x;
  (*n)++;
}

static int method_of(const tgmm_report *r, const char *m) {
  for (int j = 0; j < r->nm; j++)
    if (!strcmp(r->method[j], m)) return j;
  return -1;
}

static int label_of(const tgmm_report *r, const char *l) {
  for (int s = 0; s < r->ns; s++)
    if (!strcmp(r->label[s], l)) return s;
  return -1;
}

/* The cell of method m at label l in the first run that has one. */
static const tgmm_report_cell *first_cell(int nrun, const tgmm_report *const *rep, const char *l,
                                          const char *m) {
  for (int r = 0; r < nrun; r++) {
    int s = label_of(rep[r], l), j = method_of(rep[r], m);
    if (s >= 0 && j >= 0) return &rep[r]->cell[s * 32 + j];
  }
  return NULL;
}

static int build(depth_view *v, int nrun, const tgmm_report *const *rep, const int *n_layer) {
  int total = 0;
  for (int r = 0; r < nrun; r++) {
    total += rep[r]->ns;
    for (int j = 0; j < rep[r]->nm; j++) {
      const char *at = strchr(rep[r]->method[j], '@');
      if (at && (!strncmp(rep[r]->method[j], "em@", 3) || !strncmp(rep[r]->method[j], "lloyd@", 6)))
        add_sorted(v->count, &v->nc, atoi(at + 1));
    }
    if (method_of(rep[r], "tgmm") >= 0 && n_layer[r] > 0) add_sorted(v->depth, &v->nd, n_layer[r]);
  }
  if (!v->nc) return TGMM_OK;
  v->label = tgmm_calloc((size_t)(total ? total : 1), 512);
  size_t n = (size_t)(total ? total : 1) * DV_MAX;
  v->tg = tgmm_calloc(n, sizeof *v->tg), v->em = tgmm_calloc(n, sizeof *v->em);
  v->ll = tgmm_calloc(n, sizeof *v->ll), v->orc = tgmm_calloc(n, sizeof *v->orc);
  if (!v->label || !v->tg || !v->em || !v->ll || !v->orc) return TGMM_ENOMEM;
  for (int r = 0; r < nrun; r++)
    for (int s = 0; s < rep[r]->ns; s++) {
      int l = 0;
      while (l < v->nl && strcmp(v->label[l], rep[r]->label[s])) l++;
      if (l == v->nl) snprintf(v->label[v->nl++], 512, "%s", rep[r]->label[s]);
    }
  for (int l = 0; l < v->nl; l++) {
    char m[32];
    for (int c = 0; c < v->nc; c++) {
      snprintf(m, sizeof m, "em@%d", v->count[c]);
      v->em[l * DV_MAX + c] = first_cell(nrun, rep, v->label[l], m);
      snprintf(m, sizeof m, "lloyd@%d", v->count[c]);
      v->ll[l * DV_MAX + c] = first_cell(nrun, rep, v->label[l], m);
    }
    v->orc[l] = first_cell(nrun, rep, v->label[l], "oracle");
    for (int d = 0; d < v->nd; d++)
      for (int r = 0; r < nrun && !v->tg[l * DV_MAX + d]; r++) {
        int s = label_of(rep[r], v->label[l]), j = method_of(rep[r], "tgmm");
        if (n_layer[r] == v->depth[d] && s >= 0 && j >= 0) v->tg[l * DV_MAX + d] = &rep[r]->cell[s * 32 + j];
      }
  }
  return TGMM_OK;
}

static void view_free(depth_view *v) {
  free(v->label), free(v->tg), free(v->em), free(v->ll), free(v->orc);
}

static void md_val(FILE *f, const tgmm_report_cell *cl) {
  if (!cl || !cl->n_ok[C_MIS]) fprintf(f, " – |");
  else if (isfinite(cl->sd[C_MIS]))
    fprintf(f, " %.3g ± %.2g (%d) |", cl->mean[C_MIS], cl->sd[C_MIS], cl->n_ok[C_MIS]);
  else fprintf(f, " %.3g (%d) |", cl->mean[C_MIS], cl->n_ok[C_MIS]);
}

static void write_md(const depth_view *v, FILE *md) {
  fprintf(md, "\n## Misclustering: transformer depth against EM and Lloyd iterations\n\n"
              "tgmm: one run per model.n_layer; em@c, lloyd@c: EM and Lloyd stopped after c "
              "iterations (eval.iterations) on the same tasks. Mean ± sd over tasks (tasks); – : "
              "none.\n\n| setting | layers | tgmm | iterations | em | lloyd |\n"
              "|---|---|---|---|---|---|\n");
  int rows = v->nd > v->nc ? v->nd : v->nc;
  for (int l = 0; l < v->nl; l++)
    for (int i = 0; i < rows; i++) {
      fprintf(md, "| %s |", i ? "" : v->label[l]);
      if (i < v->nd) fprintf(md, " %d |", v->depth[i]), md_val(md, v->tg[l * DV_MAX + i]);
      else fprintf(md, " | |");
      if (i < v->nc) {
        fprintf(md, " %d |", v->count[i]);
        md_val(md, v->em[l * DV_MAX + i]), md_val(md, v->ll[l * DV_MAX + i]);
      } else {
        fprintf(md, " | | |");
      }
      fprintf(md, "\n");
    }
}

static void dat_point(FILE *d, int x, const tgmm_report_cell *cl) {
  if (cl && cl->n_ok[C_MIS]) fprintf(d, "%d %.9g %d\n", x, cl->mean[C_MIS], cl->n_ok[C_MIS]);
  else fprintf(d, "%d ? 0\n", x);
}


/* PREFIX.depth.dat: per setting l, blocks 4l (tgmm by layers), 4l+1 (em), 4l+2 (lloyd), 4l+3
 * (the oracle's level at the ends of the x range). */
static int write_plot(const depth_view *v, const char *prefix, const char *subtitle) {
  char dat[4200], gp[4200], png[4200];
  snprintf(dat, sizeof dat, "%s.depth.dat", prefix);
  snprintf(gp, sizeof gp, "%s.depth.gp", prefix);
  snprintf(png, sizeof png, "%s.depth.png", prefix);
  int xs[2 * DV_MAX], nx = 0;
  for (int i = 0; i < v->nd; i++) add_sorted(xs, &nx, v->depth[i]);
  for (int i = 0; i < v->nc; i++) add_sorted(xs, &nx, v->count[i]);
  double x0 = xs[0], x1 = xs[nx - 1], ymax = 0;
  tgmm_out od;
  FILE *d = tgmm_out_text(&od, dat);
  if (!d) return TGMM_EUSER;
  fprintf(d, "# misclustering (mean over tasks) per setting: blocks tgmm by layers, em and lloyd "
             "by iterations, the oracle; columns x, mean ('?': none), tasks\n");
  for (int l = 0; l < v->nl; l++) {
    fprintf(d, "%s# %s: tgmm\n", l ? "\n\n" : "", v->label[l]);
    for (int i = 0; i < v->nd; i++) dat_point(d, v->depth[i], v->tg[l * DV_MAX + i]);
    fprintf(d, "\n\n# em\n");
    for (int i = 0; i < v->nc; i++) dat_point(d, v->count[i], v->em[l * DV_MAX + i]);
    fprintf(d, "\n\n# lloyd\n");
    for (int i = 0; i < v->nc; i++) dat_point(d, v->count[i], v->ll[l * DV_MAX + i]);
    fprintf(d, "\n\n# oracle\n");
    dat_point(d, (int)x0, v->orc[l]), dat_point(d, (int)x1, v->orc[l]);
  }
  for (int l = 0; l < v->nl; l++)
    for (int i = 0; i < DV_MAX; i++) {
      const tgmm_report_cell *c3[3] = {v->tg[l * DV_MAX + i], v->em[l * DV_MAX + i], v->ll[l * DV_MAX + i]};
      for (int k = 0; k < 3; k++)
        if (c3[k] && c3[k]->n_ok[C_MIS]) ymax = fmax(ymax, c3[k]->mean[C_MIS]);
    }
  TGMM_TRY(tgmm_out_commit(&od));
  int cols = v->nl < 3 ? v->nl : 3, rows = (v->nl + cols - 1) / cols;
  tgmm_out og;
  FILE *g = tgmm_out_text(&og, gp);
  if (!g) return TGMM_EUSER;
  fprintf(g, "# misclustering against depth (tgmm) and iterations (EM, Lloyd); rerun with: gnuplot ");
  tgmm_report_gp_comment(g, gp);
  int W = 80 + 420 * cols + 80 * (cols - 1) + 230, H = 75 + 300 * rows + 95 * (rows - 1) + 65;
  fprintf(g, "\nset terminal pngcairo size %d,%d noenhanced font 'sans,11'\n"
             "if (!exists('out')) out = ", W, H);
  tgmm_report_gp_quote(g, png);
  fprintf(g, "\nset output out\nset datafile missing '?'\nset grid\nset logscale x 2\n"
             "set xrange [%.6g:%.6g]\nset yrange [0:%.6g]\nset xtics (", x0 / 1.3, x1 * 1.3,
          ymax > 0 ? fmin(1.05, ymax * 1.15) : 1.0);
  for (int i = 0; i < nx; i++) fprintf(g, "%s'%d' %d", i ? ", " : "", xs[i], xs[i]);
  fprintf(g, ")\nset xlabel 'layers (tgmm) / iterations (EM, Lloyd)'\n"
             "set ylabel 'misclustering rate'\n"
             "set key at screen %.4f, screen %.4f left top vertical box opaque samplen 3 font ',10' "
             "Left reverse\n", (W - 218.0) / W, 1 - 75.0 / H);
  char title[1024];
  snprintf(title, sizeof title, "Misclustering: transformer depth vs EM / Lloyd iterations%s%s",
           subtitle && *subtitle ? " — " : "", subtitle ? subtitle : "");
  /* every panel the same size, the key in its own column at the right (never over the data) */
  fprintf(g, "set multiplot layout %d,%d margins screen %.4f, screen %.4f, screen %.4f, screen %.4f "
             "spacing screen %.4f, screen %.4f title ", rows, cols, 80.0 / W, (W - 230.0) / W,
          65.0 / H, 1 - 75.0 / H, 80.0 / W, 95.0 / H);
  tgmm_report_gp_quote(g, title);
  fprintf(g, "\n");
  for (int l = 0; l < v->nl; l++) {
    fprintf(g, "set title ");
    tgmm_report_gp_quote(g, v->label[l]);
    fprintf(g, "\n%s\nplot ", l ? "unset key" : "");
    tgmm_report_gp_quote(g, dat);
    fprintf(g, " index %d using 1:2 with linespoints lw 3 pt 5 lc rgb '#000000' title "
               "'tgmm (x: layers)', \\\n     ", 4 * l);
    tgmm_report_gp_quote(g, dat);
    fprintf(g, " index %d using 1:2 with linespoints lw 2 pt 7 lc rgb '#2171b5' title "
               "'EM (x: iterations)', \\\n     ", 4 * l + 1);
    tgmm_report_gp_quote(g, dat);
    fprintf(g, " index %d using 1:2 with linespoints lw 2 pt 9 lc rgb '#e6550d' title "
               "'Lloyd (x: iterations)', \\\n     ", 4 * l + 2);
    tgmm_report_gp_quote(g, dat);
    fprintf(g, " index %d using 1:2 with lines lw 2 dt 2 lc rgb '#636363' title 'oracle'\n", 4 * l + 3);
  }
  fprintf(g, "unset multiplot\n");
  TGMM_TRY(tgmm_out_commit(&og));
  return tgmm_report_gnuplot(gp, png);
}

int tgmm_report_depth(int nrun, const tgmm_report *const *reports, const int *n_layer, FILE *md,
                      const char *prefix, const char *subtitle, int *made) {
  depth_view v;
  memset(&v, 0, sizeof v);
  *made = 0;
  int rc = build(&v, nrun, reports, n_layer);
  if (rc == TGMM_OK && v.nc && v.nl) {
    if (md) write_md(&v, md);
    if (prefix && tgmm_report_has_gnuplot()) {
      rc = write_plot(&v, prefix, subtitle);
      *made = rc == TGMM_OK;
    }
  }
  view_free(&v);
  return rc;
}
