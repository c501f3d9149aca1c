/* report.c — `tgmm report`: a results file of `tgmm eval` -> Markdown, CSV and LaTeX tables and
 * PNG plots (gnuplot). Rank 0 does the work; other ranks only agree on the exit code. */
#define _GNU_SOURCE
#include "tgmm/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"

const char *const tgmm_report_metric_name[TGMM_REPORT_NMETRIC] = {
    "l2_means", "l2_weights", "accuracy", "misclustering", "loglik", "seconds", "l2_scales"};


typedef struct {
  hsize_t R, S;
  int32_t *setting;
  char (*method)[16], (*status)[16];
  double *col[TGMM_REPORT_NMETRIC];
} rows;

static void rows_free(rows *w) {
  free(w->setting), free(w->method), free(w->status);
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) free(w->col[c]);
}

static int read_rows(hid_t f, const char *path, rows *w, tgmm_report *r) {
  hsize_t d[1];
  TGMM_TRY(tgmm_h5_dims(f, path, "/setting", 1, H5T_INTEGER, d));
  w->R = d[0];
  TGMM_TRY(tgmm_h5_dims(f, path, "/settings/label", 1, H5T_STRING, d));
  w->S = d[0];
  size_t R = (size_t)(w->R ? w->R : 1);
  w->setting = tgmm_malloc(sizeof(int32_t) * R);
  w->method = tgmm_malloc(16 * R);
  w->status = tgmm_malloc(16 * R);
  r->label = tgmm_calloc((size_t)(w->S ? w->S : 1), 512);
  int ok = w->setting && w->method && w->status && r->label;
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) ok = (w->col[c] = tgmm_malloc(sizeof(double) * R)) && ok;
  if (!ok) return TGMM_ENOMEM;
  TGMM_TRY(tgmm_h5_read_all(f, path, "/setting", H5T_NATIVE_INT32, w->setting));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/method", w->R, 16, (char *)w->method));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/status", w->R, 16, (char *)w->status));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/settings/label", w->S, 512, (char *)r->label));
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", tgmm_report_metric_name[c]);
    if (c == 6 && !tgmm_h5_exists(f, name)) { /* a file written before l2_scales */
      for (hsize_t i = 0; i < w->R; i++) w->col[c][i] = NAN;
      continue;
    }
    TGMM_TRY(tgmm_h5_dims(f, path, name, 1, H5T_FLOAT, d));
    if (d[0] != w->R) {
      tgmm_error("%s: dataset %s has %llu rows, /setting has %llu", path, name,
                 (unsigned long long)d[0], (unsigned long long)w->R);
      return TGMM_EUSER;
    }
    TGMM_TRY(tgmm_h5_read_all(f, path, name, H5T_NATIVE_DOUBLE, w->col[c]));
  }
  return TGMM_OK;
}

static int method_index(tgmm_report *r, const char *m) {
  for (int j = 0; j < r->nm; j++)
    if (!strcmp(r->method[j], m)) return j;
  if (r->nm == 32) return -1;
  snprintf(r->method[r->nm], 16, "%s", m);
  return r->nm++;
}

/* Mean and sd per (setting, method, metric). */
static int aggregate(const rows *w, tgmm_report *r, const char *path) {
  r->ns = (int)w->S;
  r->method = tgmm_calloc(32, 16);
  double *sum = tgmm_calloc((size_t)r->ns * 32 * TGMM_REPORT_NMETRIC * 2, sizeof(double));
  r->cell = tgmm_calloc((size_t)(r->ns ? r->ns : 1) * 32, sizeof(tgmm_report_cell));
  if (!r->method || !sum || !r->cell) {
    free(sum);
    return TGMM_ENOMEM;
  }
  for (hsize_t i = 0; i < w->R; i++) {
    int s = w->setting[i], j = method_index(r, w->method[i]);
    if (s < 0 || s >= r->ns || j < 0) {
      tgmm_error("%s: row %llu: setting %d or method '%s' out of range", path,
                 (unsigned long long)i, s, w->method[i]);
      free(sum);
      return TGMM_EUSER;
    }
    tgmm_report_cell *cl = &r->cell[s * 32 + j];
    double *sm = sum + ((size_t)s * 32 + j) * TGMM_REPORT_NMETRIC * 2;
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      double v = w->col[c][i];
      if (strcmp(w->status[i], "ok") || !isfinite(v)) {
        cl->n_other[c]++;
        continue;
      }
      cl->n_ok[c]++;
      sm[2 * c] += v, sm[2 * c + 1] += v * v;
    }
  }
  for (int a = 0; a < r->ns * 32; a++)
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      tgmm_report_cell *cl = &r->cell[a];
      double s1 = sum[(size_t)a * TGMM_REPORT_NMETRIC * 2 + 2 * c];
      double s2 = sum[(size_t)a * TGMM_REPORT_NMETRIC * 2 + 2 * c + 1];
      int n = cl->n_ok[c];
      cl->mean[c] = n ? s1 / n : NAN;
      cl->sd[c] = n > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / n) / (n - 1))) : NAN;
    }
  free(sum);
  return TGMM_OK;
}

int tgmm_report_from_sums(tgmm_report *r, int ns, int nm, const char (*label)[512],
                          const char *const *methods, const double *sums) {
  memset(r, 0, sizeof *r);
  if (nm > 32) return TGMM_EUSER;
  r->ns = ns;
  r->nm = nm;
  r->label = tgmm_calloc((size_t)(ns ? ns : 1), 512);
  r->method = tgmm_calloc(32, 16);
  r->cell = tgmm_calloc((size_t)(ns ? ns : 1) * 32, sizeof(tgmm_report_cell));
  if (!r->label || !r->method || !r->cell) return TGMM_ENOMEM;
  for (int s = 0; s < ns; s++) memcpy(r->label[s], label[s], 512);
  for (int j = 0; j < nm; j++) snprintf(r->method[j], 16, "%s", methods[j]);
  for (int s = 0; s < ns; s++)
    for (int j = 0; j < nm; j++)
      for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
        const double *sm = sums + (((size_t)s * nm + j) * TGMM_REPORT_NMETRIC + c) * 4;
        tgmm_report_cell *cl = &r->cell[s * 32 + j];
        int n = (int)sm[0];
        cl->n_ok[c] = n;
        cl->n_other[c] = (int)sm[1];
        cl->mean[c] = n ? sm[2] / n : NAN;
        cl->sd[c] = n > 1 ? sqrt(fmax(0, (sm[3] - sm[2] * sm[2] / n) / (n - 1))) : NAN;
      }
  return TGMM_OK;
}

int tgmm_report_load(const char *path, tgmm_report *r) {
  memset(r, 0, sizeof *r);
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  rows w;
  memset(&w, 0, sizeof w);
  int rc = read_rows(f, path, &w, r);
  if (rc == TGMM_OK) rc = aggregate(&w, r, path);
  rows_free(&w);
  H5Fclose(f);
  return rc;
}

void tgmm_report_free(tgmm_report *r) {
  free(r->label), free(r->method), free(r->cell);
  memset(r, 0, sizeof *r);
}

int tgmm_report_has_metric(const tgmm_report *r, int c) {
  for (int a = 0; a < r->ns * 32; a++)
    if (r->cell[a].n_ok[c]) return 1;
  return 0;
}

static const tgmm_report_cell *cell(const tgmm_report *r, int s, int j) { return &r->cell[s * 32 + j]; }

void tgmm_report_markdown(const tgmm_report *r, const int *metrics, int nmetric, FILE *f) {
  for (int q = 0; q < nmetric; q++) {
    int c = metrics[q];
    fprintf(f, "\n%s (mean ± sd over tasks; [n] = tasks not ok or not finite)\n\n| setting |",
            tgmm_report_metric_name[c]);
    for (int j = 0; j < r->nm; j++) fprintf(f, " %s |", r->method[j]);
    fprintf(f, "\n|---|");
    for (int j = 0; j < r->nm; j++) fprintf(f, "---|");
    fprintf(f, "\n");
    for (int s = 0; s < r->ns; s++) {
      fprintf(f, "| %s |", r->label[s]);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = cell(r, s, j);
        if (!cl->n_ok[c] || !isfinite(cl->mean[c])) fprintf(f, " n/a"); /* e.g. the parameter metrics of a label-head model */
        else if (!isfinite(cl->sd[c])) fprintf(f, " %.4g", cl->mean[c]);
        else fprintf(f, " %.4g ± %.2g", cl->mean[c], cl->sd[c]);
        if (cl->n_other[c]) fprintf(f, " [%d]", cl->n_other[c]);
        fprintf(f, " |");
      }
      fprintf(f, "\n");
    }
  }
  fflush(f);
}

void tgmm_report_verdict(const tgmm_report *r, FILE *f) {
  int t = -1, e = -1, sp = -1, o = -1, e1 = -1, emax = 0; /* em, or em@c of the largest c */
  for (int j = 0; j < r->nm; j++) {
    if (!strcmp(r->method[j], "tgmm")) t = j;
    if (!strcmp(r->method[j], "em")) e = j;
    if (!strcmp(r->method[j], "spectral")) sp = j;
    if (!strcmp(r->method[j], "oracle")) o = j;
    int it = !strncmp(r->method[j], "em@", 3) ? atoi(r->method[j] + 3) : 0;
    if (it > emax) emax = it, e1 = j;
  }
  char ename[24] = "EM";
  if (e < 0 && e1 >= 0) e = e1, snprintf(ename, sizeof ename, "EM@%d", emax);
  if (t < 0 || e < 0) return;
  int wins = 0, c = 0; /* l2 error of the means; misclustering for a label-head model */
  for (int s = 0; s < r->ns; s++)
    if (cell(r, s, t)->n_ok[0]) c = -1;
  c = c < 0 ? 0 : 3;
  fprintf(f, "\nWhere TGMM beats %s (mean %s over the tasks of each setting):\n\n", ename,
          c ? "misclustering rate" : "l2 error of means");
  for (int s = 0; s < r->ns; s++) {
    double a = cell(r, s, t)->mean[c], b = cell(r, s, e)->mean[c];
    int win = a < b;
    wins += win;
    fprintf(f, "- %s: %s %s %s: TGMM %.3g vs %s %.3g", r->label[s], win ? "TGMM" : ename,
            "beats", win ? ename : "TGMM", a, ename, b);
    if (b > 0) fprintf(f, " (TGMM's error is %.2fx %s's)", a / b, ename);
    if (sp >= 0) fprintf(f, "; spectral %.3g", cell(r, s, sp)->mean[c]);
    if (o >= 0) fprintf(f, "; oracle (statistical floor) %.3g", cell(r, s, o)->mean[c]);
    fprintf(f, "\n");
  }
  fprintf(f, "\nTGMM beats %s in %d of %d settings.\n", ename, wins, r->ns);
  fflush(f);
}

static void write_csv(const tgmm_report *r, FILE *f) {
  fprintf(f, "setting,label,method,metric,mean,sd,n_ok,n_other\n");
  for (int s = 0; s < r->ns; s++)
    for (int j = 0; j < r->nm; j++)
      for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
        const tgmm_report_cell *cl = cell(r, s, j);
        fprintf(f, "%d,\"%s\",%s,%s,%.17g,%.17g,%d,%d\n", s, r->label[s], r->method[j],
                tgmm_report_metric_name[c], cl->mean[c], cl->sd[c], cl->n_ok[c], cl->n_other[c]);
      }
}

static void tex_escape(const char *s, FILE *f) {
  for (; *s; s++) {
    if (strchr("_&%$#{}", *s)) fputc('\\', f);
    fputc(*s, f);
  }
}

static void write_tex(const tgmm_report *r, FILE *f) {
  for (int c = 0; c < 4; c++) {
    fprintf(f, "\\begin{table}[ht]\n\\centering\\small\n\\caption{%s per setting: mean $\\pm$ sd over "
               "tasks.}\n\\begin{tabular}{l", tgmm_report_metric_title(c));
    for (int j = 0; j < r->nm; j++) fprintf(f, "r");
    fprintf(f, "}\n\\hline\nsetting");
    for (int j = 0; j < r->nm; j++) fprintf(f, " & %s", r->method[j]);
    fprintf(f, " \\\\\n\\hline\n");
    for (int s = 0; s < r->ns; s++) {
      tex_escape(r->label[s], f);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = cell(r, s, j);
        if (!cl->n_ok[c] || !isfinite(cl->mean[c])) fprintf(f, " & n/a");
        else if (!isfinite(cl->sd[c])) fprintf(f, " & $%.3g$", cl->mean[c]);
        else fprintf(f, " & $%.3g \\pm %.2g$", cl->mean[c], cl->sd[c]);
      }
      fprintf(f, " \\\\\n");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n\\end{table}\n\n");
  }
}

/* Remove what a failed report wrote: the tables and every metric's plot, data and script. */
static void remove_outputs(const char *prefix) {
  static const char *const ext[] = {"md", "csv", "tex"};
  char path[4300];
  for (int k = 0; k < 3; k++) {
    snprintf(path, sizeof path, "%s.%s", prefix, ext[k]);
    remove(path);
  }
  for (int c = 0; c <= TGMM_REPORT_NMETRIC + 1; c++) /* every metric, the rate and depth plots */
    for (int k = 0; k < 3; k++) {
      static const char *const pe[] = {"png", "gp", "dat"};
      const char *what = c < TGMM_REPORT_NMETRIC ? tgmm_report_metric_name[c]
                         : c == TGMM_REPORT_NMETRIC ? "rate" : "depth";
      snprintf(path, sizeof path, "%s.%s.%s", prefix, what, pe[k]);
      remove(path);
    }
}

int tgmm_report_write_files(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle,
                             const char *md_head, const char *md_tail, const char *tex_head,
                             const char *tex_tail) {
  static const char *const ext[] = {"md", "csv", "tex"};
  int all[TGMM_REPORT_NMETRIC], nall = 0; /* l2_scales only when some row has it */
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++)
    if (c != 6 || tgmm_report_has_metric(r, c)) all[nall++] = c;
  for (int e = 0; e < 3; e++) {
    char path[4200];
    snprintf(path, sizeof path, "%s.%s", prefix, ext[e]);
    tgmm_out o;
    FILE *f = tgmm_out_text(&o, path); /* <path>.tmp, renamed when complete */
    int rc = f ? TGMM_OK : TGMM_EIO;
    if (f && e == 0) {
      fputs(md_head ? md_head : "", f);
      fprintf(f, "\n## Per setting\n");
      tgmm_report_markdown(r, all, nall, f), tgmm_report_verdict(r, f);
      fputs(md_tail ? md_tail : "", f);
    }
    if (f && e == 1) write_csv(r, f);
    if (f && e == 2) fputs(tex_head ? tex_head : "", f), write_tex(r, f), fputs(tex_tail ? tex_tail : "", f);
    if (f) rc = tgmm_out_commit(&o); /* checks every write (a full disk shows here) */
    if (rc != TGMM_OK) { /* all the tables and plots or none */
      remove_outputs(prefix);
      return rc;
    }
  }
  int rc = tgmm_report_plot(r, prefix, ci95, subtitle);
  if (rc != TGMM_OK) remove_outputs(prefix);
  return rc;
}

int tgmm_cmd_report(const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->data) {
    tgmm_error0("tgmm report needs --data RESULTS.h5 (a file written by tgmm eval) or --data "
                "RUN_DIR (a training run: learning curves)");
    return TGMM_EUSER;
  }
  int rc = TGMM_OK;
  struct stat st;
  if (stat(cli->data, &st) == 0 && S_ISDIR(st.st_mode) && cli->n_data == 1 && !cli->rows)
    return /* a run directory: learning curves */ tgmm_agree(tgmm_mpi.rank == 0 ? tgmm_report_curves(cli->data, cli->out) : TGMM_OK);
  if (tgmm_mpi.rank == 0) {
    rc = tgmm_report_files(cli, cfg->report.error_bars == 1);
    if (rc == TGMM_OK && cli->out)
      tgmm_info("report: wrote %s.md, %s.csv, %s.tex and %s.<metric>.png (.gp, .dat)", cli->out,
                cli->out, cli->out, cli->out);
  }
  return tgmm_agree(rc);
}
