/* report_runs.c — the runs of a merged `tgmm report`: each results file of `tgmm eval` with its
 * attributes and its config flattened (section.key = value, resolved as tgmm reads it today), the
 * config keys in which the runs differ (paths, resources, bookkeeping and the report's own keys
 * never count), and what a run is called in titles and keys (a name, never a path; a short label
 * of its differing keys). Rank 0 only. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_impl.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"

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

const char *tgmm_run_lookup(const run *u, const char *key) {
  for (int i = 0; i < u->nk; i++)
    if (!strcmp(u->key[i], key)) return u->val[i];
  return NULL;
}

static int ignored(const char *key) { /* paths, resources, bookkeeping, the report's own keys */
  static const char *const IGN[] = {"train.run_dir",         "train.threads",    "train.resume",
                                    "eval.chunk",            "eval.grid",        "report.error_bars",
                                    "train.init_from",       "train.checkpoint_every",
                                    "train.keep_checkpoints", "train.eval_every", "train.eval_tasks",
                                    "train.save_grads",      "train.eval_baselines",
                                    "train.data",            "spectral.eigensolver",
                                    "spectral.scalapack_min_d", "distribute",
                                    "eval.save_predictions", "em.save_labels"};
  for (size_t i = 0; i < sizeof IGN / sizeof IGN[0]; i++)
    if (!strcmp(key, IGN[i])) return 1;
  return 0;
}

int tgmm_run_load(run *u, const char *path) {
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

void tgmm_runs_free(runset *rs) {
  for (int i = 0; i < rs->n; i++) {
    run *u = &rs->runs[i];
    tgmm_report_free(&u->r);
    free(u->config), free(u->version), free(u->commit), free(u->ckpt), free(u->key), free(u->val);
  }
  free(rs->runs), free(rs->dval);
}

/* The keys whose values differ between runs, in the first run's key order. */
void tgmm_runs_find_diff(runset *rs) {
  const run *u0 = &rs->runs[0];
  for (int i = 0; i < u0->nk && rs->ndiff < MAXDIFF; i++) {
    const char *k = u0->key[i], *v0 = u0->val[i];
    if (ignored(k)) continue;
    int differ = 0;
    for (int r = 1; r < rs->n && !differ; r++) {
      const char *v = tgmm_run_lookup(&rs->runs[r], k);
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
      const char *v = tgmm_run_lookup(&rs->runs[r], k);
      snprintf(rs->dval[r][rs->ndiff], 256, "%s", v ? v : "-");
    }
    rs->ndiff++;
  }
}

/* The last part of a path (trailing slashes ignored) into out, without a ".h5" ending. */
void tgmm_report_base_name(const char *path, char *out, size_t n) {
  char buf[4200];
  snprintf(buf, sizeof buf, "%s", path);
  size_t l = strlen(buf);
  while (l > 1 && buf[l - 1] == '/') buf[--l] = '\0';
  const char *b = strrchr(buf, '/');
  snprintf(out, n, "%s", b ? b + 1 : buf);
  l = strlen(out);
  if (l > 3 && !strcmp(out + l - 3, ".h5")) out[l - 3] = '\0';
}

/* The directory part of a path's name ("runs/he/d2/ckpt_00000100.h5" -> "d2"), or "". */
static void parent_name(const char *path, char *out, size_t n) {
  char buf[4200];
  snprintf(buf, sizeof buf, "%s", path);
  size_t l = strlen(buf);
  while (l > 1 && buf[l - 1] == '/') buf[--l] = '\0';
  char *b = strrchr(buf, '/');
  if (!b || b == buf) {
    snprintf(out, n, "%s", "");
    return;
  }
  *b = '\0';
  tgmm_report_base_name(buf, out, n);
}

void tgmm_run_name(const run *u, char *out, size_t n) {
  char name[256];
  int ck = u->ckpt && *u->ckpt;
  tgmm_report_base_name(ck ? u->ckpt : u->path, name, sizeof name);
  int generic = ck ? !strncmp(name, "ckpt_", 5) || !strcmp(name, "model")
                   : !strcmp(name, "eval") || !strcmp(name, "results");
  if (generic) { /* RUN/ckpt_00000100.h5, RUN/eval.h5: the run directory's name */
    char p[256];
    parent_name(ck ? u->ckpt : u->path, p, sizeof p);
    if (*p && strcmp(p, ".") && strcmp(p, "..")) snprintf(name, sizeof name, "%s", p);
  }
  if (u->has_step && u->step > 0) snprintf(out, n, "%s, step %lld", name, u->step);
  else snprintf(out, n, "%s", name);
}

/* A run's name without the step, as one word (spaces and '=' as '_'). */
static void id_of(const run *u, char *out, size_t n) {
  run v = *u;
  v.has_step = 0;
  tgmm_run_name(&v, out, n);
  for (char *p = out; *p; p++)
    if (*p == ' ' || *p == '=') *p = '_';
}

void tgmm_run_id(const runset *rs, int r, char *out, size_t n) {
  id_of(&rs->runs[r], out, n);
  for (int q = 0; q < rs->n; q++) { /* two runs of one name: their indices */
    char o[256];
    id_of(&rs->runs[q], o, sizeof o);
    if (q != r && !strcmp(o, out)) {
      snprintf(out, n, "run%d", r);
      return;
    }
  }
}

void tgmm_run_tag(const runset *rs, int r, char *out, size_t n) {
  if (rs->ndiff == 0 && rs->n > 1) { /* runs of one config (models differ): the run's name */
    tgmm_run_id(rs, r, out, n);
    return;
  }
  const char *keys[MAXDIFF];
  for (int d = 0; d < rs->ndiff; d++) keys[d] = rs->dcol[d];
  size_t len = 0;
  out[0] = '\0';
  for (int d = 0; d < rs->ndiff && len + 1 < n; d++) {
    char k[100];
    tgmm_report_key_short(rs->dcol[d], keys, rs->ndiff, k, sizeof k);
    int w = snprintf(out + len, n - len, "%s%s=%s", len ? " " : "", k, rs->dval[r][d]);
    len = w < 0 || (size_t)w >= n - len ? n - 1 : len + (size_t)w;
  }
}
