/* report_merge.c — `tgmm report --data A.h5 [--data B.h5 ...]`: one or several results files of
 * `tgmm eval` merged into one report. The config keys in which the runs differ (d, N, model
 * size, backbone, loss, ...; read from each file's `config` attribute) become columns (a key
 * that is also a grid key is named run.<key>); the papers' tables pivot the settings (rows:
 * every key but K; columns: K, methods side by side; mean ± sd and task counts); every report
 * starts with what produced it (command, date, tgmm version and commit, each run's checkpoint,
 * step, tasks per setting and differing keys); --rows writes every row of every file for pandas.
 * Rank 0 only. */
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

#define MAXDIFF 8

typedef struct {
  const char *path;
  tgmm_report r;
  char *config, *version, *commit, *ckpt;
  long long step;
  int has_step, tasks, nk;
  int model_layers; /* model.n_layer of the evaluated model (its model_config), 0 if unknown */
  char (*key)[96], (*val)[256]; /* [nk] the flattened config */
} run;

typedef struct {
  int n;
  run *runs;
  int ndiff;
  char dkey[MAXDIFF][96];   /* differing config keys */
  char dcol[MAXDIFF][100];  /* their column names */
  char (*dval)[MAXDIFF][256]; /* [n] their values per run (spaces removed) */
} runset;

/* "section:\n  key: value" -> section.key = value (the emitted, resolved config's layout). */
static int flatten(run *u) {
  int cap = 16;
  for (const char *p = u->config; p && *p; p++) cap += *p == '\n';
  u->key = tgmm_calloc((size_t)cap, sizeof *u->key);
  u->val = tgmm_calloc((size_t)cap, sizeof *u->val);
  if (!u->key || !u->val) return TGMM_ENOMEM;
  char sect[96] = "";
  const char *p = u->config ? u->config : "";
  while (*p && u->nk < cap) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), p);
    p += len + (e ? 1 : 0);
    int ind = line[0] == ' ';
    char *k = line + strspn(line, " "), *c = strstr(k, ": ");
    if (!*k || *k == '#') continue;
    if (!c) {
      size_t kl = strlen(k);
      if (kl && k[kl - 1] == ':' && !ind) snprintf(sect, sizeof sect, "%.*s", (int)(kl - 1), k);
      continue;
    }
    *c = '\0';
    if (!ind) sect[0] = '\0';
    snprintf(u->key[u->nk], 96, "%s%s%s", ind ? sect : "", ind ? "." : "", k);
    const char *v = c + 2;
    int j = 0;
    for (; *v && j < 255; v++)
      if (*v != ' ' && *v != '"') u->val[u->nk][j++] = *v;
    u->nk++;
  }
  return TGMM_OK;
}

static const char *lookup(const run *u, const char *key) {
  for (int i = 0; i < u->nk; i++)
    if (!strcmp(u->key[i], key)) return u->val[i];
  return NULL;
}

static int ignored(const char *key) { /* paths, resources, bookkeeping, the report's own keys */
  static const char *const IGN[] = {"train.run_dir",         "train.threads",    "train.resume",
                                    "eval.chunk",            "eval.grid",        "report.error_bars",
                                    "train.init_from",       "train.checkpoint_every",
                                    "train.keep_checkpoints", "train.eval_every", "train.eval_tasks",
                                    "train.save_grads",      "train.eval_baselines"};
  for (size_t i = 0; i < sizeof IGN / sizeof IGN[0]; i++)
    if (!strcmp(key, IGN[i])) return 1;
  return 0;
}

static int load_run(run *u, const char *path) {
  memset(u, 0, sizeof *u);
  u->path = path;
  TGMM_TRY(tgmm_report_load(path, &u->r));
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  int rc = tgmm_h5_read_attr_str(f, "config", &u->config);
  if (rc == TGMM_OK) rc = tgmm_h5_read_attr_str(f, "version", &u->version);
  if (rc == TGMM_OK) rc = tgmm_h5_read_attr_str(f, "git_commit", &u->commit);
  if (rc == TGMM_OK) rc = tgmm_h5_read_attr_str(f, "checkpoint", &u->ckpt);
  char *mcfg = NULL; /* the evaluated model's config (files written before it lack it) */
  if (rc == TGMM_OK && H5Aexists(f, "model_config") > 0)
    rc = tgmm_h5_read_attr_str(f, "model_config", &mcfg);
  if (rc == TGMM_OK && H5Aexists(f, "step") > 0) { /* files written before it lack it */
    hid_t a = H5Aopen(f, "step", H5P_DEFAULT);
    u->has_step = a >= 0 && H5Aread(a, H5T_NATIVE_LLONG, &u->step) >= 0;
    if (a >= 0) H5Aclose(a);
  }
  H5Fclose(f);
  if (rc != TGMM_OK) {
    tgmm_error("%s: unreadable attributes (not a results file of tgmm eval?)", path);
    free(mcfg);
    return rc;
  }
  /* The config resolved as tgmm reads it today, so that a key the file predates counts as its
   * default rather than as a difference (the stored text as it is if it no longer loads). */
  tgmm_config c;
  memset(&c, 0, sizeof c);
  if (u->config && tgmm_config_load_string(&c, path, u->config, 0, NULL) == TGMM_OK && c.text) {
    char *t = strdup(c.text);
    if (t) free(u->config), u->config = t;
  }
  tgmm_config_free(&c);
  memset(&c, 0, sizeof c);
  if (mcfg && tgmm_config_load_string(&c, path, mcfg, 0, NULL) == TGMM_OK)
    u->model_layers = c.model.n_layer;
  tgmm_config_free(&c);
  free(mcfg);
  for (int s = 0; s < u->r.ns; s++)
    if (u->r.nm) {
      const tgmm_report_cell *cl = &u->r.cell[s * 32];
      int t = cl->n_ok[0] + cl->n_other[0];
      if (t > u->tasks) u->tasks = t;
    }
  return flatten(u);
}

static void free_runs(runset *rs) {
  for (int i = 0; i < rs->n; i++) {
    run *u = &rs->runs[i];
    tgmm_report_free(&u->r);
    free(u->config), free(u->version), free(u->commit), free(u->ckpt), free(u->key), free(u->val);
  }
  free(rs->runs), free(rs->dval);
}

/* The keys whose values differ between runs, in the first run's key order. */
static void find_diff(runset *rs) {
  const run *u0 = &rs->runs[0];
  for (int i = 0; i < u0->nk && rs->ndiff < MAXDIFF; i++) {
    const char *k = u0->key[i], *v0 = u0->val[i];
    if (ignored(k)) continue;
    int differ = 0;
    for (int r = 1; r < rs->n && !differ; r++) {
      const char *v = lookup(&rs->runs[r], k);
      differ = !v || strcmp(v, v0);
    }
    if (!differ) continue;
    int clash = 0; /* a grid key of the same name: the run's value is named run.<key> */
    for (int r = 0; r < rs->n && !clash; r++) {
      tgmm_report_keys gk;
      if (tgmm_report_keys_parse(&rs->runs[r].r, &gk) != TGMM_OK) continue;
      for (int g = 0; g < gk.nkey; g++) clash |= !strcmp(gk.key[g], k);
      tgmm_report_keys_free(&gk);
    }
    snprintf(rs->dkey[rs->ndiff], 96, "%s", k);
    snprintf(rs->dcol[rs->ndiff], 100, "%s%s", clash ? "run." : "", k);
    for (int r = 0; r < rs->n; r++) {
      const char *v = lookup(&rs->runs[r], k);
      snprintf(rs->dval[r][rs->ndiff], 256, "%s", v ? v : "-");
    }
    rs->ndiff++;
  }
}

/* All runs' settings in one report: labels "<differing keys> <the file's label>". */
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
    for (int i = 0; i < a->ns; i++, s++) {
      int len = 0;
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

static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}



/* One file's rows into the CSV. */
static int rows_of(const runset *rs, int r, const tgmm_report_keys *k, char (*gk)[64], int ng,
                   FILE *out) {
  const run *u = &rs->runs[r];
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(u->path, MPI_COMM_SELF, &f));
  hsize_t d[1] = {0};
  int rc = tgmm_h5_dims(f, u->path, "/setting", 1, H5T_INTEGER, d);
  hsize_t R = d[0];
  size_t n = (size_t)(R ? R : 1);
  int32_t *set = tgmm_malloc(n * sizeof(int32_t));
  int64_t *task = tgmm_malloc(n * sizeof(int64_t));
  char *meth = tgmm_malloc(n * 16), *st = tgmm_malloc(n * 16);
  double *col[TGMM_REPORT_NMETRIC] = {0}, *delta = tgmm_malloc(n * sizeof(double));
  int ok = set && task && meth && st && delta;
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) ok = (col[c] = tgmm_malloc(n * sizeof(double))) && ok;
  if (!ok) rc = TGMM_ENOMEM;
  if (rc == TGMM_OK && R) rc = tgmm_h5_read(f, u->path, "/setting", H5T_NATIVE_INT32, 1, &R, set);
  int has_task = tgmm_h5_exists(f, "/task");
  if (rc == TGMM_OK && R && has_task) rc = tgmm_h5_read(f, u->path, "/task", H5T_NATIVE_INT64, 1, &R, task);
  if (rc == TGMM_OK && R) rc = tgmm_h5_read_strings(f, u->path, "/method", R, 16, meth);
  if (rc == TGMM_OK && R) rc = tgmm_h5_read_strings(f, u->path, "/status", R, 16, st);
  for (int c = 0; c < TGMM_REPORT_NMETRIC && rc == TGMM_OK && R; c++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", tgmm_report_metric_name[c]);
    if (c == 6 && !tgmm_h5_exists(f, name)) /* a file written before l2_scales */
      for (hsize_t i = 0; i < R; i++) col[c][i] = NAN;
    else
      rc = tgmm_h5_read(f, u->path, name, H5T_NATIVE_DOUBLE, 1, &R, col[c]);
  }
  if (rc == TGMM_OK && R && tgmm_h5_exists(f, "/delta"))
    rc = tgmm_h5_read(f, u->path, "/delta", H5T_NATIVE_DOUBLE, 1, &R, delta);
  else if (delta) /* a file written before /delta */
    for (hsize_t i = 0; i < R; i++) delta[i] = NAN;
  H5Fclose(f);
  int gidx[64];
  for (int g = 0; g < ng; g++) {
    gidx[g] = -1;
    for (int j = 0; j < k->nkey; j++)
      if (!strcmp(k->key[j], gk[g])) gidx[g] = j;
  }
  for (hsize_t i = 0; i < R && rc == TGMM_OK; i++) {
    int s = set[i];
    if (s < 0 || s >= u->r.ns) {
      tgmm_error("%s: row %llu: setting %d out of range", u->path, (unsigned long long)i, s);
      rc = TGMM_EUSER;
      break;
    }
    fprintf(out, "%d,", r);
    csv_str(out, u->path);
    fprintf(out, ",%d,%lld,%.16s,%.16s", s, has_task ? (long long)task[i] : (long long)i,
            meth + 16 * i, st + 16 * i);
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      if (isfinite(col[c][i])) fprintf(out, ",%.17g", col[c][i]);
      else fprintf(out, ",");
    }
    if (isfinite(delta[i])) fprintf(out, ",%.17g", delta[i]);
    else fprintf(out, ",");
    for (int g = 0; g < ng; g++) {
      fputc(',', out);
      if (gidx[g] >= 0) csv_str(out, k->val[s][gidx[g]]);
    }
    for (int q = 0; q < rs->ndiff; q++) fputc(',', out), csv_str(out, rs->dval[r][q]);
    fputc('\n', out);
  }
  free(set), free(task), free(meth), free(st), free(delta);
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) free(col[c]);
  return rc;
}

/* --rows: one line per (run, setting, task, method); columns named plainly for pandas (delta:
 * the task's /delta, empty when NaN or for a file written before it). */
static int write_rows(const runset *rs, const char *path) {
  tgmm_report_keys *k = tgmm_calloc((size_t)rs->n, sizeof *k);
  char gk[64][64];
  int ng = 0, rc = k ? TGMM_OK : TGMM_ENOMEM;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) {
    rc = tgmm_report_keys_parse(&rs->runs[r].r, &k[r]);
    for (int g = 0; rc == TGMM_OK && g < k[r].nkey; g++) {
      int j = 0;
      while (j < ng && strcmp(gk[j], k[r].key[g])) j++;
      if (j == ng && ng < 64) snprintf(gk[ng++], 64, "%s", k[r].key[g]);
    }
  }
  tgmm_out o;
  FILE *f = rc == TGMM_OK ? tgmm_out_text(&o, path) : NULL;
  if (rc == TGMM_OK && !f) rc = TGMM_EUSER;
  if (rc == TGMM_OK) {
    fprintf(f, "run,file,setting,task,method,status");
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) fprintf(f, ",%s", tgmm_report_metric_name[c]);
    fprintf(f, ",delta");
    for (int g = 0; g < ng; g++) fputc(',', f), csv_str(f, gk[g]);
    for (int q = 0; q < rs->ndiff; q++) fputc(',', f), csv_str(f, rs->dcol[q]);
    fputc('\n', f);
    for (int r = 0; r < rs->n && rc == TGMM_OK; r++) rc = rows_of(rs, r, &k[r], gk, ng, f);
    if (rc == TGMM_OK) rc = tgmm_out_commit(&o);
    else tgmm_out_abort(&o);
  }
  for (int r = 0; k && r < rs->n; r++) tgmm_report_keys_free(&k[r]);
  free(k);
  if (rc == TGMM_OK) tgmm_info("report: wrote %s (every row, for pandas.read_csv)", path);
  return rc;
}

/* tgmm against each run's model.n_layer beside em@c / lloyd@c (report_depth.c): the table on md,
 * PREFIX.depth.png with a prefix. */
static int depth_view(const runset *rs, FILE *md, const char *prefix, const char *subtitle) {
  const tgmm_report **reps = tgmm_calloc((size_t)rs->n, sizeof *reps);
  int *nl = tgmm_calloc((size_t)rs->n, sizeof(int)), made = 0;
  int rc = reps && nl ? TGMM_OK : TGMM_ENOMEM;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) {
    const char *v = lookup(&rs->runs[r], "model.n_layer"); /* files without model_config */
    reps[r] = &rs->runs[r].r;
    nl[r] = rs->runs[r].model_layers > 0 ? rs->runs[r].model_layers : v ? atoi(v) : 0;
  }
  if (rc == TGMM_OK) rc = tgmm_report_depth(rs->n, reps, nl, md, prefix, subtitle, &made);
  (void)made; /* the files are named when the report is moved into place (report_stage.c) */
  free(reps), free(nl);
  return rc;
}

/* PREFIX.rate.png: tgmm's lines named by each run's differing keys. */
static int rate_plot(const runset *rs, const tgmm_cli *cli, const char *subtitle) {
  char(*tag)[512] = tgmm_calloc((size_t)rs->n, 512);
  const char **tp = tgmm_calloc((size_t)rs->n, sizeof(char *));
  int rc = tag && tp ? TGMM_OK : TGMM_ENOMEM, made = 0;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) {
    int len = 0;
    for (int d = 0; d < rs->ndiff && len < 500; d++)
      len += snprintf(tag[r] + len, 512 - (size_t)len, "%s%s=%s", len ? " " : "", rs->dcol[d],
                      rs->dval[r][d]);
    tp[r] = tag[r];
  }
  if (rc == TGMM_OK)
    rc = tgmm_report_rate_plot(rs->n, (const char *const *)cli->datas, tp, cli->out, subtitle, &made);
  (void)made;
  free(tag), free(tp);
  return rc;
}

int tgmm_report_files(const tgmm_cli *cli, int ci95) {
  runset rs;
  memset(&rs, 0, sizeof rs);
  rs.n = cli->n_data;
  rs.runs = tgmm_calloc((size_t)rs.n, sizeof(run));
  rs.dval = tgmm_calloc((size_t)rs.n, sizeof *rs.dval);
  int rc = rs.runs && rs.dval ? TGMM_OK : TGMM_ENOMEM;
  for (int i = 0; i < rs.n && rc == TGMM_OK; i++) rc = load_run(&rs.runs[i], cli->datas[i]);
  if (rc != TGMM_OK) {
    free_runs(&rs);
    return rc;
  }
  if (rs.n > 1) find_diff(&rs);
  tgmm_report m;
  rc = merge(&rs, &m);
  static const int main_metrics[] = {0, 1, 2, 3, 6};
  int vm = tgmm_report_verdict_metric(&m); /* with --out the console shows its table alone */
  if (rc == TGMM_OK) tgmm_report_markdown(&m, cli->out ? &vm : main_metrics, cli->out ? 1 : 4 + tgmm_report_has_metric(&m, 6), stdout), tgmm_report_verdict(&m, stdout);
  if (rc == TGMM_OK) rc = depth_view(&rs, stdout, NULL, NULL);
  if (rc == TGMM_OK && cli->out) {
    char *head = NULL, *tail = NULL, *thead = NULL, *ttail = NULL, sub[64];
    snprintf(sub, sizeof sub, "%d run%s", rs.n, rs.n > 1 ? "s" : "");
    size_t n1, n2, n3, n4;
    int drc = TGMM_OK;
    FILE *h = open_memstream(&head, &n1), *t = open_memstream(&tail, &n2);
    FILE *th = open_memstream(&thead, &n3), *tt = open_memstream(&ttail, &n4);
    if (h && t && th && tt) {
      provenance(&rs, cli, h, th);
      fprintf(t, "\n## The papers' tables\n");
      pivot(&m, t, tt);
      drc = depth_view(&rs, t, cli->out, rs.n > 1 ? sub : cli->data);
    }
    if (h) fclose(h);
    if (t) fclose(t);
    if (th) fclose(th);
    if (tt) fclose(tt);
    rc = drc != TGMM_OK ? drc
         : head && tail && thead && ttail
             ? tgmm_report_write_files(&m, cli->out, ci95, rs.n > 1 ? sub : cli->data, head, tail, thead, ttail)
             : TGMM_ENOMEM;
    free(head), free(tail), free(thead), free(ttail);
    if (rc == TGMM_OK) rc = rate_plot(&rs, cli, rs.n > 1 ? sub : cli->data);
  }
  if (rc == TGMM_OK && cli->rows) rc = write_rows(&rs, cli->rows);
  tgmm_report_free(&m);
  free_runs(&rs);
  return rc;
}
