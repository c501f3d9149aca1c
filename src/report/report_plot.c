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

/* The grid keys as a list of strings (tgmm_report_key_short). */
static const char *const *keyp(const tgmm_report_keys *k) {
  static const char *p[TGMM_REPORT_MAXKEY];
  for (int g = 0; g < k->nkey; g++) p[g] = k->key[g];
  return p;
}

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
      if (g != L->xkey) {
        char kn[64];
        tgmm_report_key_short(k->key[g], keyp(k), k->nkey, kn, sizeof kn);
        len += snprintf(pt + len, sizeof pt - (size_t)len, "%s%s=%s", len ? ", " : "", kn,
                        k->val[s][g]);
      }
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

/* PATH searched directory by directory for an executable gnuplot (an empty entry is ".").
 * No shell. */
int tgmm_report_has_gnuplot(void) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  for (const char *p = path;;) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    char file[4200];
    if (n < sizeof file - 9) {
      if (n) snprintf(file, sizeof file, "%.*s/gnuplot", (int)n, p);
      else snprintf(file, sizeof file, "./gnuplot");
      if (access(file, X_OK) == 0) return 1;
    }
    if (!colon) return 0;
    p = colon + 1;
  }
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

/* What the data of a metric's plot spans and how its y axis is drawn: the means > 0 (lo, hi),
 * whether a mean is <= 0, which method has a value in which panel (has [np, 32]); a log axis
 * (logy) when the means (all > 0) span a factor 20, else a linear one from 0 (every plotted
 * metric is >= 0; the rates accuracy and misclustering end at 1); the range [ybot, ytop]; on a
 * log axis whether a bar's lower end is below ybot (clipped there). */
typedef struct {
  double lo, hi, ybot, ytop;
  int nonpos, logy, rate, clipped;
  char *has;
} plot_span;

/* The cell of method j at x index i of panel p, or NULL. */
static const tgmm_report_cell *cell_at(const tgmm_report *r, const layout *L, int p, int i, int j) {
  for (int s = 0; s < r->ns; s++)
    if (L->sx[s] == i && L->sp[s] == p) return tgmm_report_at(r, s, j);
  return NULL;
}

/* The bar drawn: on a log axis the 95% interval of the mean (an sd bar reaches below 0 there,
 * which a log axis cannot show), else the configured one. */
static double bar_of(const tgmm_report_cell *cl, int c, int ci95, int logy) {
  return tgmm_report_errbar(cl, c, logy ? 1 : ci95);
}

static int scan(const tgmm_report *r, const layout *L, int c, int ci95, plot_span *sp) {
  sp->lo = INFINITY, sp->hi = 0, sp->nonpos = 0, sp->rate = c == 2 || c == 3;
  sp->has = tgmm_calloc((size_t)L->np * 32, 1);
  if (!sp->has) return TGMM_ENOMEM;
  for (int p = 0; p < L->np; p++)
    for (int i = 0; i < L->nx; i++)
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = cell_at(r, L, p, i, j);
        if (!cl || !isfinite(cl->mean[c])) continue;
        double m = cl->mean[c];
        sp->has[p * 32 + j] = 1;
        if (m > 0) sp->lo = fmin(sp->lo, m), sp->hi = fmax(sp->hi, m);
        else sp->nonpos = 1;
      }
  sp->logy = !sp->nonpos && sp->hi > 0 && sp->hi / sp->lo >= 20;
  double top = 0, low = INFINITY; /* the bars' ends (low: the lowest lower end > 0) */
  for (int p = 0; p < L->np; p++)
    for (int i = 0; i < L->nx; i++)
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = cell_at(r, L, p, i, j);
        if (!cl || !isfinite(cl->mean[c])) continue;
        double m = cl->mean[c], e = bar_of(cl, c, ci95, sp->logy);
        top = fmax(top, fmax(m, m + e));
        if (m - e > 0) low = fmin(low, m - e);
      }
  if (sp->logy) { /* lower ends far below the smallest mean clipped at the axis (lo / 10) */
    sp->ybot = fmin(sp->lo / 1.5, fmax(isfinite(low) ? low / 1.3 : 0, sp->lo / 10));
    sp->ytop = sp->rate ? fmin(fmin(top, 1) * 1.5, 1.05) : top * 1.5; /* a rate's bars end at 1 */
    for (int p = 0; p < L->np; p++)
      for (int i = 0; i < L->nx; i++)
        for (int j = 0; j < r->nm; j++) {
          const tgmm_report_cell *cl = cell_at(r, L, p, i, j);
          if (cl && isfinite(cl->mean[c]) && cl->mean[c] - bar_of(cl, c, ci95, 1) < sp->ybot) sp->clipped = 1;
        }
  } else { /* from 0; a constant series still gets a range */
    if (sp->rate) top = fmin(top, 1);
    sp->ybot = 0;
    sp->ytop = top > 0 ? top * 1.1 : 1;
    if (sp->rate && sp->ytop > 1) sp->ytop = 1.05;
  }
  return TGMM_OK;
}

/* PREFIX.<metric>.dat: one block per panel, a line per x value, per method mean, bar, tasks. */
static int write_dat(const tgmm_report *r, const layout *L, int c, int ci95, const char *dat,
                     const plot_span *sp) {
  tgmm_out od;
  FILE *d = tgmm_out_text(&od, dat);
  if (!d) return TGMM_EUSER;
  fprintf(d, "# %s: one block per panel (gnuplot 'index'); x, x label, then per method: mean, "
             "error bar (%s), tasks\n# methods:", tgmm_report_metric_title(c),
          sp->logy ? "95% interval of the mean: the y axis is logarithmic"
                   : ci95 ? "95% interval of the mean" : "sd over tasks");
  for (int j = 0; j < r->nm; j++) fprintf(d, " %s", r->method[j]);
  fprintf(d, "\n");
  for (int p = 0; p < L->np; p++) {
    fprintf(d, "%s# panel %d: %s\n", p ? "\n\n" : "", p, L->pl[p][0] ? L->pl[p] : "(all settings)");
    for (int i = 0; i < L->nx; i++) {
      fprintf(d, "%.9g \"%s\"", L->xv[i], L->xs[i]);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = cell_at(r, L, p, i, j);
        if (!cl || !isfinite(cl->mean[c])) fprintf(d, " ? ? 0");
        else fprintf(d, " %.9g %.9g %d", cl->mean[c], bar_of(cl, c, ci95, sp->logy), cl->n_ok[c]);
      }
      fprintf(d, "\n");
    }
  }
  return tgmm_out_commit(&od);
}

/* Pixel geometry of a metric's figure: panels of pw x ph in cols x rows, the key in a column of
 * width kw right of them (never over the data). */
typedef struct {
  int cols, rows, pw, ph, kw, W, H, left, bottom, top, gapx, gapy;
} geometry;

static geometry make_geometry(const layout *L, int keylen) {
  geometry G;
  G.cols = (int)ceil(sqrt((double)L->np)), G.rows = (L->np + G.cols - 1) / G.cols;
  size_t tl = 0; /* panels wide enough for their titles */
  for (int p = 0; p < L->np; p++) tl = strlen(L->pl[p]) > tl ? strlen(L->pl[p]) : tl;
  G.pw = L->np == 1 ? 720 : (int)(7 * tl + 20) > 400 ? (int)(7 * tl + 20) : 400;
  if (G.pw > 900) G.pw = 900;
  G.ph = L->np == 1 ? 470 : 290;
  G.kw = 7 * keylen + 100 > 180 ? 7 * keylen + 100 : 180;
  G.left = 80, G.gapx = 80, G.top = L->np == 1 ? 50 : 75, G.gapy = 95; /* one panel: no panel title */
  G.bottom = !L->numeric && L->nx > 6 ? 110 : 65;
  G.W = G.left + G.cols * G.pw + (G.cols - 1) * G.gapx + G.kw;
  G.H = G.top + G.rows * G.ph + (G.rows - 1) * G.gapy + G.bottom;
  return G;
}

/* The script's terminal, labels, tics, the ranges shared by every panel and the multiplot
 * (margins in screen units, so that every panel has the same size and the key its column). */
static void gp_axes(FILE *g, const tgmm_report_keys *k, const layout *L, int c, const char *gp,
                    const char *png, const char *ttl, const plot_span *sp, const geometry *G) {
  fprintf(g, "# %s; rerun with: gnuplot ", tgmm_report_metric_title(c));
  tgmm_report_gp_comment(g, gp), fprintf(g, " (or gnuplot -e \"out='other.png'\" ");
  tgmm_report_gp_comment(g, gp), fprintf(g, ")\n");
  fprintf(g, "set terminal pngcairo size %d,%d noenhanced font 'sans,11'\n"
             "if (!exists('out')) out = ", G->W, G->H);
  tgmm_report_gp_quote(g, png);
  fprintf(g, "\nset output out\nset datafile missing '?'\nset grid\nset border lw 1\n");
  char xk[64];
  if (L->xkey >= 0) tgmm_report_key_short(k->key[L->xkey], keyp(k), k->nkey, xk, sizeof xk);
  fprintf(g, "set xlabel ");
  tgmm_report_gp_quote(g, L->xkey >= 0 ? xk : "setting");
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
  if (sp->logy) fprintf(g, "set logscale y\nset format y '%%g'\n");
  fprintf(g, "set yrange [%.6g:%.6g]\n", sp->ybot, sp->ytop);
  double W = G->W, H = G->H;
  fprintf(g, "set multiplot layout %d,%d margins screen %.4f, screen %.4f, screen %.4f, screen %.4f "
             "spacing screen %.4f, screen %.4f title ", G->rows, G->cols, G->left / W,
          (W - G->kw) / W, G->bottom / H, 1 - G->top / H, G->gapx / W, G->gapy / H);
  tgmm_report_gp_quote(g, ttl);
  fprintf(g, "\n");
}

/* The key, in the first panel with data: at the right of the panels, with a line per method
 * without any value in this plot ("tgmm: no l2_means (label head)"). */
static void gp_key(FILE *g, const geometry *G) {
  fprintf(g, "set key at screen %.4f, screen %.4f left top vertical box opaque samplen 2 Left "
             "reverse\n", (G->W - G->kw + 12) / (double)G->W, 1 - G->top / (double)G->H);
}

static void gp_notes(FILE *g, const tgmm_report *r, int c) {
  for (int j = 0; j < r->nm; j++) {
    char why[64], note[128];
    if (!tgmm_report_no_values(r, j, c, why, sizeof why)) continue;
    snprintf(note, sizeof note, "%s: no %s (%s)", r->method[j], tgmm_report_metric_name[c], why);
    fprintf(g, ", \\\n     keyentry with lines lc rgb '#ffffff' title ");
    tgmm_report_gp_quote(g, note);
  }
}

/* One plot command per panel: a line per method with a value there, markers offset per method;
 * bars clipped at 0 (and at 1 for a rate) on a linear axis, at the axis' bottom on a log one. */
static void gp_panels(FILE *g, const tgmm_report *r, const layout *L, int c, const char *dat,
                      const plot_span *sp, const geometry *G) {
  /* offsets of the methods' markers: a share of the x spacing (a factor on a log axis) */
  double span = L->nx > 1 ? (L->logx ? log(L->xv[L->nx - 1] / L->xv[0]) : L->xv[L->nx - 1] - L->xv[0]) / (L->nx - 1) : 1;
  if (!isfinite(span) || span <= 0) span = 1;
  int keyed = 0;
  for (int p = 0; p < L->np; p++) {
    char pt[1024]; /* the panel's title, with the methods that have values elsewhere only */
    int len = snprintf(pt, sizeof pt, "%s", L->pl[p]), miss = 0;
    for (int j = 0; j < r->nm && len < (int)sizeof pt - 40; j++) {
      int elsewhere = 0;
      for (int q = 0; q < L->np; q++) elsewhere |= sp->has[q * 32 + j];
      if (!elsewhere || sp->has[p * 32 + j]) continue;
      len += snprintf(pt + len, sizeof pt - (size_t)len, "%s%s", miss++ ? ", " : len ? " (no values: " : "(no values: ", r->method[j]);
    }
    if (miss) snprintf(pt + len, sizeof pt - (size_t)len, ")");
    fprintf(g, "set title ");
    tgmm_report_gp_quote(g, pt);
    int any = 0;
    for (int j = 0; j < r->nm; j++) any |= sp->has[p * 32 + j];
    fprintf(g, "\n");
    int keyhere = any && !keyed; /* the key once, in the first panel with data */
    if (keyhere) gp_key(g, G);
    else fprintf(g, "unset key\n");
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
    char lo[64], hi[64];
    if (sp->logy) snprintf(lo, sizeof lo, "%.6g", sp->ybot);
    else snprintf(lo, sizeof lo, "0");
    snprintf(hi, sizeof hi, "%s", sp->rate ? "1" : "");
    for (int j = 0; j < r->nm; j++) {
      if (!sp->has[p * 32 + j]) continue; /* a series without points is an error to gnuplot */
      double off = step * span * (j - (r->nm - 1) / 2.0);
      char col[8];
      tgmm_report_method_colour(names, r->nm, j, col);
      fprintf(g, "%s", first ? "" : ", \\\n     ");
      first = 0;
      tgmm_report_gp_quote(g, dat);
      int m = 3 + 3 * j, e = 4 + 3 * j;
      if (L->logx) fprintf(g, " index %d using ($1*%.6g):%d", p, exp(off), m);
      else fprintf(g, " index %d using ($1+%.6g):%d", p, off, m);
      fprintf(g, ":($%d-$%d > %s ? $%d-$%d : %s)", m, e, lo, m, e, lo);
      if (*hi) fprintf(g, ":($%d+$%d < %s ? $%d+$%d : %s)", m, e, hi, m, e, hi);
      else fprintf(g, ":($%d+$%d)", m, e);
      fprintf(g, " with yerrorlines lw 2 pt %d ps 1.2 lc rgb '%s' title ", 5 + 2 * (j % 4), col);
      tgmm_report_gp_quote(g, r->method[j]);
    }
    if (keyhere) gp_notes(g, r, c);
    fprintf(g, "\n");
  }
  fprintf(g, "unset multiplot\n");
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
  int rc = scan(r, L, c, ci95, &sp);
  if (rc == TGMM_OK) rc = write_dat(r, L, c, ci95, dat, &sp);
  tgmm_out og;
  FILE *g = rc == TGMM_OK ? tgmm_out_text(&og, gp) : NULL;
  if (!g) {
    free(sp.has);
    return rc == TGMM_OK ? TGMM_EUSER : rc;
  }
  int keylen = 0; /* the key's longest line: a method, or a note on a method without values */
  for (int j = 0; j < r->nm; j++) {
    char why[64];
    int n = (int)strlen(r->method[j]);
    if (tgmm_report_no_values(r, j, c, why, sizeof why)) n += (int)(strlen(what) + strlen(why) + 8);
    keylen = n > keylen ? n : keylen;
  }
  geometry G = make_geometry(L, keylen);
  char ttl[1024], xk[64];
  if (L->xkey >= 0) tgmm_report_key_short(k->key[L->xkey], keyp(k), k->nkey, xk, sizeof xk);
  snprintf(ttl, sizeof ttl, "%s by %s (mean; bars: %s)%s%s", tgmm_report_metric_title(c),
           L->xkey >= 0 ? xk : "setting",
           sp.logy ? sp.clipped ? "95% interval of the mean, cut at the bottom edge"
                                : "95% interval of the mean"
           : ci95 ? "95% interval of the mean" : "sd over tasks",
           subtitle && *subtitle ? " — " : "", subtitle ? subtitle : "");
  gp_axes(g, k, L, c, gp, png, ttl, &sp, &G);
  gp_panels(g, r, L, c, dat, &sp, &G);
  free(sp.has);
  TGMM_TRY(tgmm_out_commit(&og));
  return tgmm_report_gnuplot(gp, png);
}

int tgmm_report_plot(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle) {
  if (!tgmm_report_has_gnuplot()) {
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
