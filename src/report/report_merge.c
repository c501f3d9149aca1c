/* report_merge.c — `tgmm report --data A.h5 [--data B.h5 ...]`: one or several results files of
 * `tgmm eval` merged into one report. The config keys in which the runs differ (d, N, model
 * size, backbone, loss, ...; read from each file's `config` attribute) become columns (a key
 * that is also a grid key is named run.<key>); the papers' tables pivot the settings (rows:
 * every key but K; columns: K, methods side by side; mean ± sd and task counts); every report
 * starts with what produced it (command, date, tgmm version and commit, each run's checkpoint,
 * step, tasks per setting and differing keys); the plots' titles name the run (one file) or the
 * keys the runs differ in, never a path. The runs themselves (loading, differing keys, names):
 * report_runs.c; --rows (every row of every file for pandas): report_rows.c. Rank 0 only. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/out.h"
#include "tgmm/report.h"
#include "report_impl.h"

/* All runs' settings in one report: labels "<differing keys> <the file's label>" ("run=<id>
 * <the file's label>" for runs of one config). */
static int merge(const runset *rs, tgmm_report *m) {
  memset(m, 0, sizeof *m);
  for (int r = 0; r < rs->n; r++) m->ns += rs->runs[r].r.ns;
  m->label = tgmm_calloc((size_t)(m->ns ? m->ns : 1), 512);
  m->method = tgmm_calloc(32, 16);
  m->cell = tgmm_calloc((size_t)(m->ns ? m->ns : 1) * 32, sizeof(tgmm_report_cell));
  if (!m->label || !m->method || !m->cell) return TGMM_ENOMEM;
  int s = 0;
  for (int r = 0; r < rs->n; r++) {
    const tgmm_report *a = &rs->runs[r].r;
    int map[32];
    for (int j = 0; j < a->nm; j++) {
      int k = 0;
      while (k < m->nm && strcmp(m->method[k], a->method[j])) k++;
      if (k == m->nm) {
        if (m->nm == 32) return TGMM_EUSER;
        snprintf(m->method[m->nm++], 16, "%s", a->method[j]);
      }
      map[j] = k;
    }
    char id[256] = ""; /* runs of one config: told apart by their ids, never pooled */
    if (rs->ndiff == 0 && rs->n > 1) tgmm_run_id(rs, r, id, sizeof id);
    for (int i = 0; i < a->ns; i++, s++) {
      int len = *id ? snprintf(m->label[s], 512, "run=%.200s", id) : 0;
      for (int d = 0; d < rs->ndiff && len < 511; d++) {
        len += snprintf(m->label[s] + len, 512 - (size_t)len, "%s%s=%s", len ? " " : "",
                        rs->dcol[d], rs->dval[r][d]);
        if (len > 511) len = 511; /* truncated: the label is for display */
      }
      if ((strcmp(a->label[i], "(base config)") || !len) && len < 511)
        snprintf(m->label[s] + len, 512 - (size_t)len, "%s%s", len ? " " : "", a->label[i]);
      for (int k = 0; k < 32; k++) { /* methods a file lacks: no tasks (NaN) */
        tgmm_report_cell *cl = &m->cell[s * 32 + k];
        for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) cl->mean[c] = cl->sd[c] = NAN;
      }
      for (int j = 0; j < a->nm; j++) m->cell[s * 32 + map[j]] = a->cell[i * 32 + j];
    }
  }
  return TGMM_OK;
}

static void md_cell(FILE *f, const tgmm_report_cell *cl, int c) {
  if (!cl->n_ok[c]) {
    if (cl->n_other[c]) fprintf(f, " – (%d not ok) |", cl->n_other[c]);
    else fprintf(f, " – |");
    return;
  }
  if (isfinite(cl->sd[c])) fprintf(f, " %.3g ± %.2g (%d", cl->mean[c], cl->sd[c], cl->n_ok[c]);
  else fprintf(f, " %.3g (%d", cl->mean[c], cl->n_ok[c]);
  if (cl->n_other[c]) fprintf(f, "; %d not ok", cl->n_other[c]);
  fprintf(f, ") |");
}

static void tex_str(FILE *f, const char *s) {
  for (; *s; s++) {
    if (strchr("_&%$#{}", *s)) fputc('\\', f);
    fputc(*s, f);
  }
}

/* The papers' tables: rows = combinations of every key but K, columns = K values x methods. */
static void pivot(const tgmm_report *m, FILE *md, FILE *tex) {
  tgmm_report_keys k;
  if (tgmm_report_keys_parse(m, &k) != TGMM_OK) return;
  int kc = -1;
  for (int g = 0; g < k.nkey; g++)
    if (!strcmp(k.key[g], "K")) kc = g;
  int *row = tgmm_calloc((size_t)(m->ns ? m->ns : 1), sizeof(int));
  int *col = tgmm_calloc((size_t)(m->ns ? m->ns : 1), sizeof(int));
  int *rep = tgmm_calloc((size_t)(m->ns ? m->ns : 1), sizeof(int)); /* first setting of a row */
  char(*cv)[64] = tgmm_calloc((size_t)(m->ns ? m->ns : 1), 64);
  if (kc < 0) {
    fprintf(md, "\n(The settings have no grid key K: see the tables per setting above.)\n");
    goto done;
  }
  if (!row || !col || !rep || !cv) goto done;
  int nr = 0, nc = 0;
  for (int s = 0; s < m->ns; s++) {
    int c = 0;
    while (c < nc && strcmp(cv[c], k.val[s][kc])) c++;
    if (c == nc) snprintf(cv[nc++], 64, "%s", k.val[s][kc]);
    col[s] = c;
    int r = 0;
    for (; r < nr; r++) {
      int same = 1;
      for (int g = 0; g < k.nkey && same; g++) same = g == kc || !strcmp(k.val[rep[r]][g], k.val[s][g]);
      if (same) break;
    }
    if (r == nr) rep[nr++] = s;
    row[s] = r;
  }
  static const int metrics[] = {0, 1, 2, 3, 6};
  for (int q = 0; q < 5; q++) {
    int c = metrics[q];
    if (q == 4 && !tgmm_report_has_metric(m, c)) break;
    fprintf(md, "\n### %s by K (mean ± sd over tasks (tasks))\n\n|", tgmm_report_metric_title(c));
    for (int g = 0; g < k.nkey; g++)
      if (g != kc) fprintf(md, " %s |", k.key[g]);
    for (int x = 0; x < nc; x++)
      for (int j = 0; j < m->nm; j++) fprintf(md, " K=%s %s |", cv[x], m->method[j]);
    fprintf(md, "\n|");
    for (int g = 0; g < k.nkey - 1 + nc * m->nm; g++) fprintf(md, "---|");
    fprintf(md, "\n");
    fprintf(tex, "\\begin{table}[ht]\n\\centering\\small\n\\caption{%s (mean $\\pm$ sd over "
                 "tasks; tasks in parentheses) by K; methods side by side.}\n\\begin{tabular}{",
            tgmm_report_metric_title(c));
    for (int g = 0; g < k.nkey - 1; g++) fprintf(tex, "l");
    for (int x = 0; x < nc * m->nm; x++) fprintf(tex, "r");
    fprintf(tex, "}\n\\hline\n");
    for (int g = 0; g < k.nkey - 1; g++) fprintf(tex, " &");
    for (int x = 0; x < nc; x++) {
      fprintf(tex, "%s\\multicolumn{%d}{c}{$K = ", x || k.nkey > 1 ? " " : "", m->nm);
      tex_str(tex, cv[x]);
      fprintf(tex, "$}%s", x + 1 < nc ? " &" : " \\\\\n");
    }
    int first = 1;
    for (int g = 0; g < k.nkey; g++)
      if (g != kc) fprintf(tex, "%s", first ? "" : " & "), tex_str(tex, k.key[g]), first = 0;
    for (int x = 0; x < nc; x++)
      for (int j = 0; j < m->nm; j++) fprintf(tex, "%s", first ? "" : " & "), tex_str(tex, m->method[j]), first = 0;
    fprintf(tex, " \\\\\n\\hline\n");
    for (int r = 0; r < nr; r++) {
      fprintf(md, "|");
      first = 1;
      for (int g = 0; g < k.nkey; g++)
        if (g != kc) {
          fprintf(md, " %s |", k.val[rep[r]][g]);
          fprintf(tex, "%s", first ? "" : " & "), tex_str(tex, k.val[rep[r]][g]), first = 0;
        }
      for (int x = 0; x < nc; x++) {
        int s = 0;
        while (s < m->ns && !(row[s] == r && col[s] == x)) s++;
        for (int j = 0; j < m->nm; j++) {
          fprintf(tex, "%s", first ? "" : " & ");
          first = 0;
          if (s == m->ns) {
            fprintf(md, " – |");
            fprintf(tex, "--");
            continue;
          }
          const tgmm_report_cell *cl = &m->cell[s * 32 + j];
          md_cell(md, cl, c);
          if (cl->n_ok[c]) fprintf(tex, "$%.3g \\pm %.2g$ (%d)", cl->mean[c], cl->sd[c], cl->n_ok[c]);
          else fprintf(tex, "--");
        }
      }
      fprintf(md, "\n");
      fprintf(tex, " \\\\\n");
    }
    fprintf(tex, "\\hline\n\\end{tabular}\n\\end{table}\n\n");
  }
done:
  free(row), free(col), free(rep), free(cv);
  tgmm_report_keys_free(&k);
}

/* What produced the report, as Markdown (and LaTeX comments). */
static void provenance(const runset *rs, const tgmm_cli *cli, FILE *md, FILE *tex) {
  char cmd[8192];
  int len = snprintf(cmd, sizeof cmd, "tgmm report");
  for (int i = 0; i < cli->n_data && len < (int)sizeof cmd; i++)
    len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --data %s", cli->datas[i]);
  if (cli->out && len < (int)sizeof cmd) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --out %s", cli->out);
  if (cli->rows && len < (int)sizeof cmd) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --rows %s", cli->rows);
  for (int i = 0; i < cli->n_overrides && len < (int)sizeof cmd; i++)
    len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", cli->overrides[i]);
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
  fprintf(md, "# tgmm report\n\nProduced by `%s` on %s with tgmm %s (commit %s).\n\n", cmd, date,
          TGMM_VERSION, tgmm_git_commit());
  fprintf(tex, "%% produced by: %s\n%% on %s with tgmm %s (commit %s)\n", cmd, date, TGMM_VERSION,
          tgmm_git_commit());
  if (rs->n > 1) {
    fprintf(md, "%d runs; they differ in:", rs->n);
    for (int d = 0; d < rs->ndiff; d++) fprintf(md, "%s `%s`", d ? "," : "", rs->dkey[d]);
    fprintf(md, "%s.\n\n", rs->ndiff ? "" : " no config key (the same config)");
  }
  fprintf(md, "| run | results file | checkpoint | step | tasks per setting | settings | written by |");
  for (int d = 0; d < rs->ndiff; d++) fprintf(md, " %s |", rs->dcol[d]);
  fprintf(md, "\n|---|---|---|---|---|---|---|");
  for (int d = 0; d < rs->ndiff; d++) fprintf(md, "---|");
  fprintf(md, "\n");
  for (int r = 0; r < rs->n; r++) {
    const run *u = &rs->runs[r];
    fprintf(md, "| %d | %s | %s | ", r, u->path, u->ckpt && *u->ckpt ? u->ckpt : "(none)");
    if (u->has_step) fprintf(md, "%lld |", u->step);
    else fprintf(md, "(not stored) |");
    fprintf(md, " %d | %d | tgmm %s (%s) |", u->tasks, u->r.ns, u->version ? u->version : "?",
            u->commit ? u->commit : "?");
    for (int d = 0; d < rs->ndiff; d++) fprintf(md, " %s |", rs->dval[r][d]);
    fprintf(md, "\n");
    fprintf(tex, "%% run %d: %s, checkpoint %s\n", r, u->path, u->ckpt && *u->ckpt ? u->ckpt : "(none)");
  }
  fprintf(tex, "\n");
}

/* tgmm against each run's model.n_layer beside em@c / lloyd@c (report_depth.c): the table on md,
 * PREFIX.depth.png with a prefix. */
static int depth_view(const runset *rs, FILE *md, const char *prefix, const char *subtitle) {
  const tgmm_report **reps = tgmm_calloc((size_t)rs->n, sizeof *reps);
  int *nl = tgmm_calloc((size_t)rs->n, sizeof(int)), made = 0;
  int rc = reps && nl ? TGMM_OK : TGMM_ENOMEM;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) {
    const char *v = tgmm_run_lookup(&rs->runs[r], "model.n_layer"); /* files without model_config */
    reps[r] = &rs->runs[r].r;
    nl[r] = rs->runs[r].model_layers > 0 ? rs->runs[r].model_layers : v ? atoi(v) : 0;
  }
  if (rc == TGMM_OK) rc = tgmm_report_depth(rs->n, reps, nl, md, prefix, subtitle, &made);
  (void)made; /* the files are named when the report is moved into place (report_stage.c) */
  free(reps), free(nl);
  return rc;
}

/* PREFIX.rate.png: every line named by its run's differing keys (short names). */
static int rate_plot(const runset *rs, const tgmm_cli *cli, const char *subtitle) {
  char(*tag)[160] = tgmm_calloc((size_t)rs->n, 160);
  const char **tp = tgmm_calloc((size_t)rs->n, sizeof(char *));
  int rc = tag && tp ? TGMM_OK : TGMM_ENOMEM, made = 0;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) tgmm_run_tag(rs, r, tag[r], 160), tp[r] = tag[r];
  if (rc == TGMM_OK)
    rc = tgmm_report_rate_plot(rs->n, (const char *const *)cli->datas, tp, cli->out, subtitle, &made);
  (void)made;
  free(tag), free(tp);
  return rc;
}

/* The plots' subtitle, never a path: one run's name, or "3 runs differing in n_layer, lr". */
static void subtitle_of(const runset *rs, char *out, size_t n) {
  if (rs->n == 1) {
    tgmm_run_name(&rs->runs[0], out, n);
    return;
  }
  const char *keys[MAXDIFF];
  for (int d = 0; d < rs->ndiff; d++) keys[d] = rs->dcol[d];
  size_t len = (size_t)snprintf(out, n, "%d runs %s", rs->n, rs->ndiff ? "differing in" : "of one config");
  for (int d = 0; d < rs->ndiff && len + 1 < n; d++) {
    char k[100];
    tgmm_report_key_short(rs->dcol[d], keys, rs->ndiff, k, sizeof k);
    int w = snprintf(out + len, n - len, "%s %s", d ? "," : "", k);
    len = w < 0 || (size_t)w >= n - len ? n - 1 : len + (size_t)w;
  }
}

int tgmm_report_files(const tgmm_cli *cli, int ci95) {
  runset rs;
  memset(&rs, 0, sizeof rs);
  rs.n = cli->n_data;
  rs.runs = tgmm_calloc((size_t)rs.n, sizeof(run));
  rs.dval = tgmm_calloc((size_t)rs.n, sizeof *rs.dval);
  int rc = rs.runs && rs.dval ? TGMM_OK : TGMM_ENOMEM;
  for (int i = 0; i < rs.n && rc == TGMM_OK; i++) rc = tgmm_run_load(&rs.runs[i], cli->datas[i]);
  if (rc != TGMM_OK) {
    tgmm_runs_free(&rs);
    return rc;
  }
  if (rs.n > 1) tgmm_runs_find_diff(&rs);
  tgmm_report m;
  rc = merge(&rs, &m);
  static const int main_metrics[] = {0, 1, 2, 3, 6};
  int vm = tgmm_report_verdict_metric(&m); /* with --out the console shows its table alone */
  if (rc == TGMM_OK) tgmm_report_markdown(&m, cli->out ? &vm : main_metrics, cli->out ? 1 : 4 + tgmm_report_has_metric(&m, 6), stdout), tgmm_report_verdict(&m, stdout);
  if (rc == TGMM_OK) rc = depth_view(&rs, stdout, NULL, NULL);
  if (rc == TGMM_OK && cli->out) {
    char *head = NULL, *tail = NULL, *thead = NULL, *ttail = NULL, sub[300];
    subtitle_of(&rs, sub, sizeof sub);
    size_t n1, n2, n3, n4;
    int drc = TGMM_OK;
    FILE *h = open_memstream(&head, &n1), *t = open_memstream(&tail, &n2);
    FILE *th = open_memstream(&thead, &n3), *tt = open_memstream(&ttail, &n4);
    if (h && t && th && tt) {
      provenance(&rs, cli, h, th);
      fprintf(t, "\n## The papers' tables\n");
      pivot(&m, t, tt);
      drc = depth_view(&rs, t, cli->out, sub);
    }
    if (h) fclose(h);
    if (t) fclose(t);
    if (th) fclose(th);
    if (tt) fclose(tt);
    rc = drc != TGMM_OK ? drc
         : head && tail && thead && ttail
             ? tgmm_report_write_files(&m, cli->out, ci95, sub, head, tail, thead, ttail)
             : TGMM_ENOMEM;
    free(head), free(tail), free(thead), free(ttail);
    if (rc == TGMM_OK) rc = rate_plot(&rs, cli, sub);
  }
  if (rc == TGMM_OK && cli->rows) rc = tgmm_runs_write_rows(&rs, cli->rows);
  tgmm_report_free(&m);
  tgmm_runs_free(&rs);
  return rc;
}
