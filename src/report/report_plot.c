/* report_plot.c — the plots of `tgmm report`: PREFIX.<metric>.png with the gnuplot script
 * PREFIX.<metric>.gp and its data PREFIX.<metric>.dat kept beside it (rerun `gnuplot
 * PREFIX.<metric>.gp` after editing it). x: the grid key with the most distinct values (numbers
 * on a numeric axis, logarithmic when they span a decade; other values as categories); one panel
 * per combination of the other grid keys; one line per method with error bars (sd over tasks or
 * the 95% interval of the mean), each method's markers offset a little so that lines at a bound
 * (accuracy 1, error 0) stay visible; a logarithmic y axis when the means (all > 0) span a factor 20.
 * And what every plot of the report shares (the rate, depth and learning-curve plots too): the
 * methods' colours, gnuplot's string quoting and the gnuplot run. Rank 0 only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tgmm/common.h"
#include "tgmm/out.h"
#include "tgmm/report.h"

static int is_number(const char *s, double *x) {
  char *end;
  *x = strtod(s, &end);
  return *s && !*end && isfinite(*x);
}

/* Two-sided 97.5% quantile of Student's t with df degrees of freedom. */
static double t975(int df) {
  static const double T[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                             2.262, 2.228,  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110,
                             2.101, 2.093,  2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
                             2.052, 2.048,  2.045, 2.042};
  if (df < 1) return NAN;
  if (df <= 30) return T[df];
  return 1.960 + 2.4 / df; /* within 0.002 of the exact quantile above 30 */
}

double tgmm_report_errbar(const tgmm_report_cell *cl, int c, int ci95) {
  int n = cl->n_ok[c];
  if (n < 2 || !isfinite(cl->sd[c])) return 0;
  return ci95 ? t975(n - 1) * cl->sd[c] / sqrt((double)n) : cl->sd[c];
}

typedef struct {
  int nx, np, xkey, numeric, logx;
  double *xv;          /* [nx] numeric x values (or indices) */
  char (*xs)[64];      /* [nx] x labels */
  char (*pl)[512];     /* [np] panel titles */
  int *sx, *sp;        /* [ns] x index and panel of each setting */
} layout;

static void layout_free(layout *L) { free(L->xv), free(L->xs), free(L->pl), free(L->sx), free(L->sp); }

static int find_or_add(char (*list)[64], int *n, const char *v) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(list[i], v)) return i;
  snprintf(list[*n], 64, "%s", v);
  return (*n)++;
}

static int make_layout(const tgmm_report *r, const tgmm_report_keys *k, layout *L) {
  memset(L, 0, sizeof *L);
  size_t ns = (size_t)(r->ns ? r->ns : 1);
  L->xv = tgmm_calloc(ns, sizeof(double));
  L->xs = tgmm_calloc(ns, 64);
  L->pl = tgmm_calloc(ns, 512);
  L->sx = tgmm_calloc(ns, sizeof(int));
  L->sp = tgmm_calloc(ns, sizeof(int));
  char(*tmp)[64] = tgmm_calloc(ns, 64);
  if (!L->xv || !L->xs || !L->pl || !L->sx || !L->sp || !tmp) {
    free(tmp);
    return TGMM_ENOMEM;
  }
  L->xkey = -1;
  int best = 0;
  for (int g = 0; g < k->nkey; g++) { /* x: the key with the most distinct values */
    int n = 0;
    for (int s = 0; s < r->ns; s++) find_or_add(tmp, &n, k->val[s][g]);
    if (n > best) best = n, L->xkey = g;
  }
  free(tmp);
  for (int s = 0; s < r->ns; s++) {
    const char *xv = L->xkey >= 0 ? k->val[s][L->xkey] : r->label[s];
    char xl[64];
    snprintf(xl, sizeof xl, "%s", xv);
    L->sx[s] = find_or_add(L->xs, &L->nx, xl);
    char pt[512] = "";
    int len = 0;
    for (int g = 0; g < k->nkey; g++)
      if (g != L->xkey)
        len += snprintf(pt + len, sizeof pt - (size_t)len, "%s%s=%s", len ? ", " : "", k->key[g],
                        k->val[s][g]);
    int p = 0;
    while (p < L->np && strcmp(L->pl[p], pt)) p++;
    if (p == L->np) snprintf(L->pl[L->np++], 512, "%s", pt);
    L->sp[s] = p;
  }
  L->numeric = L->xkey >= 0;
  for (int i = 0; i < L->nx && L->numeric; i++) L->numeric = is_number(L->xs[i], &L->xv[i]);
  if (!L->numeric)
    for (int i = 0; i < L->nx; i++) L->xv[i] = i;
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < L->nx; i++) lo = fmin(lo, L->xv[i]), hi = fmax(hi, L->xv[i]);
  L->logx = L->numeric && lo > 0 && hi / lo >= 10;
  return TGMM_OK;
}

/* gnuplot's own quoting, with no shell anywhere: single-quoted (nothing inside is substituted,
 * not even `backquotes`; a quote is doubled), and a control character such as a newline, which
 * would end gnuplot's line, joined as a double-quoted octal escape: 'a'."\012".'b'. */
void tgmm_report_gp_quote(FILE *g, const char *s) {
  fputc('\'', g);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f) fprintf(g, "'.\"\\%03o\".'", c);
    else if (c == '\'') fputs("''", g);
    else fputc(c, g);
  }
  fputc('\'', g);
}

void tgmm_report_gp_comment(FILE *g, const char *s) {
  for (; *s; s++) fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, g);
}

/* Wait for the child (the signals that stop tgmm stop it too); its exit status, or -1. */
static int wait_child(pid_t pid) {
  int status = 0;
  for (;;) {
    if (waitpid(pid, &status, 0) == pid) break;
    if (errno != EINTR) return -1;
    if (tgmm_stop_signal) kill(pid, SIGTERM);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* gnuplot runs with no shell between: argv {gnuplot, -e, "out = TMP; load GP"} (both paths in
 * gnuplot's quoting), stdin, stdout and stderr /dev/null. */
int tgmm_report_gnuplot(const char *gp, const char *png) {
  tgmm_out op;
  const char *tmp = tgmm_out_begin(&op, png);
  if (!tmp) return TGMM_EUSER;
  char *cmd = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&cmd, &len);
  if (!m) return TGMM_ENOMEM;
  fputs("out = ", m), tgmm_report_gp_quote(m, tmp), fputs("; load ", m), tgmm_report_gp_quote(m, gp);
  fclose(m);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd < 3; fd++)
    posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  char *argv[] = {"gnuplot", "-e", cmd, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  int st = err == 0 ? wait_child(pid) : -1;
  free(cmd);
  if (st != 0) {
    if (err) tgmm_error("report: cannot run gnuplot on %s: %s", gp, strerror(err));
    else tgmm_error("report: gnuplot failed on %s (exit status %d)", gp, st);
    tgmm_out_abort(&op);
    return TGMM_EFAIL;
  }
  return tgmm_out_commit(&op);
}

int tgmm_report_method_family(const char *name) {
  if (!strncmp(name, "em", 2) && (name[2] == '\0' || name[2] == '@' || name[2] == '_')) return 1;
  if (!strncmp(name, "lloyd", 5)) return 2;
  return 0;
}

/* A shade between light (t = 0) and dark (t = 1) of a colour: "#rrggbb". */
static void shade(double t, const int lo[3], const int hi[3], char out[8]) {
  int c[3];
  for (int k = 0; k < 3; k++) c[k] = (int)lround(lo[k] + t * (hi[k] - lo[k]));
  snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

void tgmm_report_method_colour(const char *const *names, int n, int j, char out[8]) {
  static const int blue_lo[3] = {0x9e, 0xca, 0xe1}, blue_hi[3] = {0x08, 0x30, 0x6b};
  static const int orange_lo[3] = {0xfd, 0xbe, 0x85}, orange_hi[3] = {0x8c, 0x2d, 0x04};
  static const int green_lo[3] = {0xa1, 0xd9, 0x9b}, green_hi[3] = {0x00, 0x2c, 0x0f};
  static const char *const other[] = {"#7b3294", "#e7298a", "#66a61e", "#a6761d", "#e6ab02"};
  const char *nm = names[j];
  int fam = tgmm_report_method_family(nm), tg = !strncmp(nm, "tgmm", 4), idx = 0, cnt = 0, oth = 0;
  for (int t = 0; t < n; t++) {
    int f = tgmm_report_method_family(names[t]), g = !strncmp(names[t], "tgmm", 4);
    int same = fam ? f == fam : tg && g;
    if (same && t < j) idx++;
    cnt += same;
    oth += t < j && !f && !g && strcmp(names[t], "oracle");
  }
  double t = cnt > 1 ? (double)idx / (cnt - 1) : 1.0;
  if (fam == 1) shade(cnt > 1 ? 0.15 + 0.85 * t : 0.8, blue_lo, blue_hi, out);
  else if (fam == 2) shade(cnt > 1 ? 0.15 + 0.85 * t : 0.8, orange_lo, orange_hi, out);
  else if (tg && cnt > 1) shade(0.3 + 0.7 * t, green_lo, green_hi, out);
  else if (tg) snprintf(out, 8, "#000000");
  else if (!strcmp(nm, "oracle")) snprintf(out, 8, "#636363");
  else snprintf(out, 8, "%s", other[oth % 5]);
}

/* What the data of a metric's plot spans: means (> 0: lo, hi), bars (ylo, yhi), whether a mean
 * is <= 0, and which method has a value in which panel (has [np, 32]). */
typedef struct {
  double lo, hi, ylo, yhi;
  int nonpos;
  char *has;
} plot_span;

/* PREFIX.<metric>.dat: one block per panel, a line per x value, per method mean, bar, tasks. */
static int write_dat(const tgmm_report *r, const layout *L, int c, int ci95, const char *dat,
                     plot_span *sp) {
  tgmm_out od;
  FILE *d = tgmm_out_text(&od, dat);
  if (!d) return TGMM_EUSER;
  fprintf(d, "# %s: one block per panel (gnuplot 'index'); x, x label, then per method: mean, "
             "error bar (%s), tasks\n# methods:", tgmm_report_metric_title(c),
          ci95 ? "95% interval of the mean" : "sd over tasks");
  for (int j = 0; j < r->nm; j++) fprintf(d, " %s", r->method[j]);
  fprintf(d, "\n");
  sp->lo = INFINITY, sp->hi = 0, sp->ylo = INFINITY, sp->yhi = -INFINITY; /* means > 0; bars */
  sp->nonpos = 0;
  sp->has = tgmm_calloc((size_t)L->np * 32, 1); /* [np, 32]: a method has a value in a panel */
  if (!sp->has) {
    tgmm_out_abort(&od);
    return TGMM_ENOMEM;
  }
  for (int p = 0; p < L->np; p++) {
    fprintf(d, "%s# panel %d: %s\n", p ? "\n\n" : "", p, L->pl[p][0] ? L->pl[p] : "(all settings)");
    for (int i = 0; i < L->nx; i++) {
      int s = 0;
      while (s < r->ns && !(L->sx[s] == i && L->sp[s] == p)) s++;
      fprintf(d, "%.9g \"%s\"", L->xv[i], L->xs[i]);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = s < r->ns ? &r->cell[s * 32 + j] : NULL;
        if (!cl || !isfinite(cl->mean[c])) {
          fprintf(d, " ? ? 0");
          continue;
        }
        double m = cl->mean[c];
        double e = tgmm_report_errbar(cl, c, ci95);
        sp->has[p * 32 + j] = 1;
        if (m > 0) sp->lo = fmin(sp->lo, m), sp->hi = fmax(sp->hi, m);
        else sp->nonpos = 1;
        sp->ylo = fmin(sp->ylo, m - e), sp->yhi = fmax(sp->yhi, m + e);
        fprintf(d, " %.9g %.9g %d", m, e, cl->n_ok[c]);
      }
      fprintf(d, "\n");
    }
  }
  return tgmm_out_commit(&od);
}

/* The script's terminal, labels, tics, the ranges shared by every panel and the multiplot. */
static void gp_axes(FILE *g, const tgmm_report_keys *k, const layout *L, int c, const char *gp,
                    const char *png, const char *ttl, const plot_span *sp) {
  int logy = !sp->nonpos && sp->hi > 0 && sp->hi / sp->lo >= 20;
  int cols = (int)ceil(sqrt((double)L->np)), rows = (L->np + cols - 1) / cols;
  size_t tl = 0; /* panels wide enough for their titles */
  for (int p = 0; p < L->np; p++) tl = strlen(L->pl[p]) > tl ? strlen(L->pl[p]) : tl;
  int pw = (int)(7 * tl + 40) > 460 ? (int)(7 * tl + 40) : 460;
  if (pw > 1000) pw = 1000;
  int W = L->np == 1 ? 1000 : 120 + pw * cols, H = L->np == 1 ? 620 : 110 + 340 * rows;
  fprintf(g, "# %s; rerun with: gnuplot ", tgmm_report_metric_title(c));
  tgmm_report_gp_comment(g, gp), fprintf(g, " (or gnuplot -e \"out='other.png'\" ");
  tgmm_report_gp_comment(g, gp), fprintf(g, ")\n");
  fprintf(g, "set terminal pngcairo size %d,%d noenhanced font 'sans,11'\n"
             "if (!exists('out')) out = ", W, H);
  tgmm_report_gp_quote(g, png);
  fprintf(g, "\nset output out\nset datafile missing '?'\nset grid\nset border lw 1\n"
             "set offsets 0, 0, graph 0.08, graph 0.08\nset lmargin 10\nset rmargin 3\n");
  fprintf(g, "set xlabel ");
  tgmm_report_gp_quote(g, L->xkey >= 0 ? k->key[L->xkey] : "setting");
  fprintf(g, "\nset ylabel ");
  tgmm_report_gp_quote(g, tgmm_report_metric_title(c));
  fprintf(g, "\nset xtics (");
  for (int i = 0; i < L->nx; i++) {
    fprintf(g, "%s", i ? ", " : "");
    tgmm_report_gp_quote(g, L->xs[i]);
    fprintf(g, " %.9g", L->xv[i]);
  }
  fprintf(g, ")%s\n", !L->numeric && L->nx > 6 ? " rotate by 30 right" : "");
  if (L->logx) fprintf(g, "set logscale x 2\n");
  { /* one x range for every panel, with room for the offset markers */
    double x0 = L->xv[0], x1 = L->xv[0];
    for (int i = 1; i < L->nx; i++) x0 = fmin(x0, L->xv[i]), x1 = fmax(x1, L->xv[i]);
    double dx = L->nx > 1 ? (L->logx ? log(x1 / x0) : x1 - x0) / (L->nx - 1) : 1;
    if (L->logx) fprintf(g, "set xrange [%.9g:%.9g]\n", x0 / exp(0.4 * dx), x1 * exp(0.4 * dx));
    else fprintf(g, "set xrange [%.9g:%.9g]\n", x0 - 0.4 * dx, x1 + 0.4 * dx);
  }
  /* one y range for every panel, so that panels compare at a glance */
  if (logy)
    fprintf(g, "set logscale y\nset format y '%%g'\nset yrange [%.6g:%.6g]\n", sp->lo / 3,
            sp->yhi * 8);
  else if (isfinite(sp->ylo) && sp->yhi > sp->ylo)
    fprintf(g, "set yrange [%.6g:%.6g]\n", sp->ylo - 0.06 * (sp->yhi - sp->ylo),
            sp->yhi + 0.3 * (sp->yhi - sp->ylo));
  else if (!isfinite(sp->ylo)) /* no value at all (e.g. a truth metric of data without truth) */
    fprintf(g, "set yrange [0:1]\n");
  if (L->np > 1) {
    fprintf(g, "set multiplot layout %d,%d title ", rows, cols);
    tgmm_report_gp_quote(g, ttl);
    fprintf(g, "\n");
  }
}

/* One plot command per panel: a line per method with a value there, markers offset per method. */
static void gp_panels(FILE *g, const tgmm_report *r, const layout *L, const char *dat,
                      const char *ttl, const plot_span *sp) {
  /* offsets of the methods' markers: a share of the x spacing (a factor on a log axis) */
  double span = L->nx > 1 ? (L->logx ? log(L->xv[L->nx - 1] / L->xv[0]) : L->xv[L->nx - 1] - L->xv[0]) / (L->nx - 1) : 1;
  if (!isfinite(span) || span <= 0) span = 1;
  int keyed = 0;
  for (int p = 0; p < L->np; p++) {
    fprintf(g, "set title ");
    tgmm_report_gp_quote(g, L->np > 1 ? L->pl[p] : ttl);
    int any = 0;
    for (int j = 0; j < r->nm; j++) any |= sp->has[p * 32 + j];
    /* the key once, in the first panel with data */
    fprintf(g, "\n%s", any && !keyed ? "set key top left box opaque samplen 2\n" : "unset key\n");
    keyed |= any;
    if (!any) { /* nothing to draw here (e.g. a metric an older file lacks): an empty panel */
      fprintf(g, "set label 1 'no data' at graph 0.5,0.5 center\nplot NaN notitle\nunset label 1\n");
      continue;
    }
    fprintf(g, "plot ");
    int first = 1;
    /* markers offset by 0.06 of the x spacing per method, 0.5 of it in all at most */
    double step = r->nm > 1 && 0.06 * (r->nm - 1) > 0.5 ? 0.5 / (r->nm - 1) : 0.06;
    const char *names[32];
    for (int j = 0; j < r->nm; j++) names[j] = r->method[j];
    for (int j = 0; j < r->nm; j++) {
      if (!sp->has[p * 32 + j]) continue; /* a series without points is an error to gnuplot */
      double off = step * span * (j - (r->nm - 1) / 2.0);
      char col[8];
      tgmm_report_method_colour(names, r->nm, j, col);
      fprintf(g, "%s", first ? "" : ", \\\n     ");
      first = 0;
      tgmm_report_gp_quote(g, dat);
      if (L->logx)
        fprintf(g, " index %d using ($1*%.6g):%d:%d", p, exp(off), 3 + 3 * j, 4 + 3 * j);
      else
        fprintf(g, " index %d using ($1+%.6g):%d:%d", p, off, 3 + 3 * j, 4 + 3 * j);
      fprintf(g, " with yerrorlines lw 2 pt %d ps 1.2 lc rgb '%s' title ", 5 + 2 * (j % 4), col);
      tgmm_report_gp_quote(g, r->method[j]);
    }
    fprintf(g, "\n");
  }
  if (L->np > 1) fprintf(g, "unset multiplot\n");
}

/* PREFIX.<metric>.dat, .gp and .png of metric c. */
static int plot_metric(const tgmm_report *r, const tgmm_report_keys *k, const layout *L, int c,
                       const char *prefix, int ci95, const char *subtitle) {
  char dat[4200], gp[4200], png[4200];
  const char *what = tgmm_report_metric_name[c];
  if (snprintf(png, sizeof png, "%s.%s.png", prefix, what) >= (int)sizeof png) {
    tgmm_error("report: output prefix too long: %s", prefix);
    return TGMM_EUSER;
  }
  snprintf(dat, sizeof dat, "%s.%s.dat", prefix, what);
  snprintf(gp, sizeof gp, "%s.%s.gp", prefix, what);
  plot_span sp = {0};
  int rc = write_dat(r, L, c, ci95, dat, &sp);
  if (rc != TGMM_OK) {
    free(sp.has);
    return rc;
  }
  tgmm_out og;
  FILE *g = tgmm_out_text(&og, gp);
  if (!g) {
    free(sp.has);
    return TGMM_EUSER;
  }
  char ttl[1024];
  snprintf(ttl, sizeof ttl, "%s by %s (mean; bars: %s)%s%s", tgmm_report_metric_title(c),
           L->xkey >= 0 ? k->key[L->xkey] : "setting",
           ci95 ? "95% interval of the mean" : "sd over tasks", subtitle && *subtitle ? " — " : "",
           subtitle ? subtitle : "");
  gp_axes(g, k, L, c, gp, png, ttl, &sp);
  gp_panels(g, r, L, dat, ttl, &sp);
  free(sp.has);
  TGMM_TRY(tgmm_out_commit(&og));
  return tgmm_report_gnuplot(gp, png);
}

int tgmm_report_plot(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle) {
  if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
    tgmm_info("report: gnuplot not found (apt-get install gnuplot-nox): no PNG plots");
    return TGMM_OK;
  }
  tgmm_report_keys k;
  layout L;
  memset(&L, 0, sizeof L);
  int rc = tgmm_report_keys_parse(r, &k);
  if (rc == TGMM_OK) rc = make_layout(r, &k, &L);
  static const int metrics[] = {0, 1, 2, 3, 6};
  for (int q = 0; q < 5 && rc == TGMM_OK; q++)
    if (q < 4 || tgmm_report_has_metric(r, metrics[q]))
      rc = plot_metric(r, &k, &L, metrics[q], prefix, ci95, subtitle);
  layout_free(&L);
  tgmm_report_keys_free(&k);
  return rc;
}
