/* sweep.c — the runs of a config's sweep block: Cartesian product of the grid axes, the zip
 * lists as one more axis, set templates and run names filled from each run's values. */
#include "tgmm/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

/* Axis sizes: the grid keys, then (if any) the zip group. Returns the number of axes. */
static int axes(const tgmm_sweep *sw, int size[TGMM_MAX_SWEEP], int *zip_n) {
  int na = 0;
  *zip_n = 0;
  for (int a = 0; a < sw->n; a++) {
    if (sw->ax[a].kind == TGMM_SWEEP_GRID) size[na++] = sw->ax[a].nv;
    if (sw->ax[a].kind == TGMM_SWEEP_ZIP) {
      if (*zip_n && *zip_n != sw->ax[a].nv) return -1;
      *zip_n = sw->ax[a].nv;
    }
  }
  if (*zip_n) size[na++] = *zip_n;
  return na;
}

/* The value index of axis key a in run i. */
static void indices(const tgmm_sweep *sw, long i, int idx[TGMM_MAX_SWEEP]) {
  int size[TGMM_MAX_SWEEP], zip_n;
  int na = axes(sw, size, &zip_n);
  int pos[TGMM_MAX_SWEEP];
  for (int k = na - 1; k >= 0; k--) { /* first axis slowest */
    pos[k] = (int)(i % size[k]);
    i /= size[k];
  }
  int g = 0;
  for (int a = 0; a < sw->n; a++) {
    idx[a] = 0;
    if (sw->ax[a].kind == TGMM_SWEEP_GRID) idx[a] = pos[g++];
  }
  for (int a = 0; a < sw->n; a++)
    if (sw->ax[a].kind == TGMM_SWEEP_ZIP) idx[a] = pos[na - 1];
}

static const char *value_of(const tgmm_sweep *sw, const int idx[], const char *key, size_t kl) {
  for (int a = 0; a < sw->n; a++)
    if (sw->ax[a].kind != TGMM_SWEEP_SET && strlen(sw->ax[a].key) == kl &&
        !strncmp(sw->ax[a].key, key, kl))
      return sw->ax[a].vals[idx[a]];
  return NULL;
}

/* Fill {KEY} placeholders of tmpl with run idx's values. */
static int fill(const tgmm_sweep *sw, const int idx[], const char *tmpl, char *out, size_t n,
                const char *what) {
  size_t o = 0;
  for (const char *p = tmpl; *p; p++) {
    const char *piece = p;
    size_t len = 1;
    if (*p == '{') {
      const char *end = strchr(p, '}');
      const char *v = end ? value_of(sw, idx, p + 1, (size_t)(end - p - 1)) : NULL;
      if (!v) {
        tgmm_error0("sweep.%s: '%s': {%.*s} is not a key of sweep.grid or sweep.zip", what, tmpl,
                    end ? (int)(end - p - 1) : (int)strlen(p + 1), p + 1);
        return TGMM_EUSER;
      }
      piece = v, len = strlen(v);
      p = end;
    }
    if (o + len >= n) {
      tgmm_error0("sweep.%s: '%s' gives a value longer than %zu characters", what, tmpl, n - 1);
      return TGMM_EUSER;
    }
    memcpy(out + o, piece, len);
    o += len;
  }
  out[o] = 0;
  return TGMM_OK;
}

/* A run name is a directory name: letters, digits and . _ + - = only, not starting with '.'. */
static void clean_name(char *s) {
  for (char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("._+-=", *p)))
      *p = '_';
  if (s[0] == '.') s[0] = '_';
}

int tgmm_sweep_run_at(const tgmm_sweep *sw, long i, const char *fallback, tgmm_sweep_run *run) {
  memset(run, 0, sizeof *run);
  int idx[TGMM_MAX_SWEEP];
  indices(sw, i, idx);
  for (int a = 0; a < sw->n; a++) {
    char v[160];
    if (sw->ax[a].kind == TGMM_SWEEP_SET)
      TGMM_TRY(fill(sw, idx, sw->ax[a].vals[0], v, sizeof v, "set"));
    else
      snprintf(v, sizeof v, "%s", sw->ax[a].vals[idx[a]]);
    if ((size_t)snprintf(run->ov[run->n_ov], sizeof run->ov[0], "%s=%s", sw->ax[a].key, v) >=
        sizeof run->ov[0]) {
      tgmm_error0("sweep: the override %s=%s is too long", sw->ax[a].key, v);
      return TGMM_EUSER;
    }
    run->n_ov++;
  }
  if (sw->name[0]) {
    TGMM_TRY(fill(sw, idx, sw->name, run->name, sizeof run->name, "name"));
  } else {
    for (int a = 0; a < sw->n; a++) {
      if (sw->ax[a].kind == TGMM_SWEEP_SET) continue;
      const char *dot = strrchr(sw->ax[a].key, '.');
      size_t o = strlen(run->name);
      snprintf(run->name + o, sizeof run->name - o, "%s%s%s", o ? "_" : "",
               dot ? dot + 1 : sw->ax[a].key, sw->ax[a].vals[idx[a]]);
    }
    if (!run->name[0]) snprintf(run->name, sizeof run->name, "%s", fallback);
  }
  clean_name(run->name);
  return TGMM_OK;
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

long tgmm_sweep_count(const tgmm_sweep *sw) {
  int size[TGMM_MAX_SWEEP], zip_n;
  int na = axes(sw, size, &zip_n);
  if (na < 0) {
    tgmm_error0("sweep.zip: its lists must have the same length");
    return -1;
  }
  long n = 1;
  for (int k = 0; k < na; k++) {
    n *= size[k];
    if (n > TGMM_SWEEP_MAX_RUNS) {
      tgmm_error0("sweep: more than %d runs", TGMM_SWEEP_MAX_RUNS);
      return -1;
    }
  }
  /* every name distinct (two runs in one directory would mix) */
  char(*names)[256] = malloc((size_t)n * sizeof *names);
  tgmm_sweep_run *run = malloc(sizeof *run);
  int rc = names && run ? TGMM_OK : TGMM_ENOMEM;
  for (long i = 0; rc == TGMM_OK && i < n; i++) {
    rc = tgmm_sweep_run_at(sw, i, "run", run);
    if (rc == TGMM_OK) memcpy(names[i], run->name, sizeof names[i]);
  }
  if (rc == TGMM_OK) qsort(names, (size_t)n, sizeof *names, cmp_name);
  for (long i = 1; rc == TGMM_OK && i < n; i++)
    if (!strcmp(names[i], names[i - 1])) {
      tgmm_error0("sweep: two runs are named '%s' (every swept key must appear in sweep.name)",
                  names[i]);
      rc = TGMM_EUSER;
    }
  free(names);
  free(run);
  return rc == TGMM_OK ? n : -1;
}
