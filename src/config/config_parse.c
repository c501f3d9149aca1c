/* config_parse.c — one config value against its schema row: the type and range checks with
 * messages naming file:line:column and key (cfg_parse_scalar), the error helper, the lookup of a
 * key and the message for an unknown one (with the nearest key). Used by config.c (the loader)
 * and config_variants.c; calls config_emit.c's and config_schema.c's helpers and config_yaml.c's
 * positions only. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "config_yaml.h"
#include "tgmm/common.h"

#define KEYS cfg_keys
#define NKEYS cfg_nkeys

int cfg_find_key(const char *key) {
  for (int i = 0; i < NKEYS; i++)
    if (!strcmp(KEYS[i].key, key)) return i;
  return -1;
}

const char *cfg_type_name(ktype t) {
  static const char *const names[] = {"an integer",      "a number",         "true or false",
                                      "a string",        "one of",           "a list of integers",
                                      "a list of numbers", "a list of strings"};
  return names[t];
}

/* "one of a, b, c" / "must be in [1, 64]" helpers */
static void choices_text(const char *choices, char *buf, size_t n) {
  snprintf(buf, n, "%s", choices);
  for (char *p = buf; *p; p++)
    if (*p == '|') *p = ',';
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", buf);
  size_t j = 0;
  for (const char *p = tmp; *p && j + 2 < n; p++) { /* "a,b" -> "a, b" */
    buf[j++] = *p;
    if (*p == ',') buf[j++] = ' ';
  }
  buf[j] = 0;
}

static int choice_index(const char *choices, const char *s) {
  size_t len = strlen(s);
  int idx = 0;
  for (const char *p = choices;; idx++) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == len && !strncmp(p, s, l)) return idx;
    if (!bar) return -1;
    p = bar + 1;
  }
}

static void range_text(const keydef *k, char *buf, size_t n) {
  char lo[40], hi[40];
  cfg_fmt_num(k->min, lo, sizeof lo);
  cfg_fmt_num(k->max, hi, sizeof hi);
  if (k->max == INF)
    snprintf(buf, n, k->min == GT0 ? "must be > 0" : "must be >= %s", lo);
  else
    snprintf(buf, n, "must be in %c%s, %s%c", k->min == GT0 ? '(' : '[', k->min == GT0 ? "0" : lo,
             k->max == LT1 ? "1" : hi, k->max == LT1 ? ')' : ']');
}

int cfg_user_error(const cy_src *src, int line, int col, const char *key, const char *fmt, ...) {
  char where[700], what[1200];
  cy_where(src, line, col, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  tgmm_error0("%s: key '%s': %s", where, key, what);
  return TGMM_EUSER;
}

static int as_number(const char *s, double *x) {
  if (!s[0] || strspn(s, "0123456789+-.eE") != strlen(s)) return 0;
  char *end;
  errno = 0;
  *x = strtod(s, &end);
  return *end == 0 && isfinite(*x);
}

/* 0: ok; 1: not an integer; 2: out of the int64 range. */
static int parse_int(const char *s, int64_t *v) {
  const char *p = s + (*s == '-' || *s == '+');
  if (*p && strspn(p, "0123456789") == strlen(p)) {
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE) return 2;
    *v = x;
    return 0;
  }
  double x;
  if (!as_number(s, &x)) return strspn(s, "0123456789+-.eE") == strlen(s) && *s ? 2 : 1;
  if (x != floor(x)) return 1;
  if (fabs(x) >= 9.2e18) return 2;
  *v = (int64_t)x;
  return 0;
}

/* Parse one scalar of key row `r` into dst (one element for lists). */
int cfg_parse_scalar(const keydef *k, const cy_src *src, const cy_scalar *s, void *dst,
                        size_t elem) {
  const char *t = s->text;
  char rng[96];
  range_text(k, rng, sizeof rng);
  if (cy_is_null(s) && k->type != T_STR && k->type != T_STRS)
    return cfg_user_error(src, s->line, s->col, k->key, "expected %s%s%s, got no value", cfg_type_name(k->type),
                      k->type == T_ENUM ? " " : "", k->type == T_ENUM ? k->choices : "");
  switch (k->type) {
  case T_INT:
  case T_INTS: {
    int64_t v = 0;
    int rc = s->quoted ? 1 : parse_int(t, &v);
    if (rc == 1)
      return cfg_user_error(src, s->line, s->col, k->key, "expected an integer, got '%s'%s", t,
                        s->quoted ? " (quoted: a string)" : "");
    if (rc == 2 || (double)v < k->min || (double)v > k->max)
      return cfg_user_error(src, s->line, s->col, k->key, "%s is out of range: %s", t, rng);
    if (elem == sizeof(int32_t)) {
      int32_t x = (int32_t)v;
      memcpy(dst, &x, sizeof x);
    } else {
      memcpy(dst, &v, sizeof v);
    }
    return 0;
  }
  case T_FLOAT:
  case T_FLOATS: {
    double x;
    if (s->quoted || !as_number(t, &x))
      return cfg_user_error(src, s->line, s->col, k->key, "expected a number, got '%s'%s", t,
                        s->quoted ? " (quoted: a string)" : "");
    if (x < k->min || x > k->max)
      return cfg_user_error(src, s->line, s->col, k->key, "%s is out of range: %s", t, rng);
    memcpy(dst, &x, sizeof x);
    return 0;
  }
  case T_BOOL: {
    bool b = !strcmp(t, "true");
    if (s->quoted || (!b && strcmp(t, "false")))
      return cfg_user_error(src, s->line, s->col, k->key, "expected true or false, got '%s'%s", t,
                        s->quoted ? " (quoted: a string)" : "");
    memcpy(dst, &b, sizeof b);
    return 0;
  }
  case T_ENUM: {
    int idx = choice_index(k->choices, t);
    if (idx < 0) {
      char ch[512];
      choices_text(k->choices, ch, sizeof ch);
      return cfg_user_error(src, s->line, s->col, k->key, "'%s' is not one of: %s", t, ch);
    }
    memcpy(dst, &idx, sizeof idx);
    return 0;
  }
  case T_STR:
  case T_STRS:
    if (!s->quoted && cy_is_null(s) && t[0])
      return cfg_user_error(src, s->line, s->col, k->key, "expected a string, got '%s' (null)", t);
    if (strlen(t) < (size_t)k->min)
      return cfg_user_error(src, s->line, s->col, k->key, "expected a non-empty string");
    if (strlen(t) >= elem)
      return cfg_user_error(src, s->line, s->col, k->key, "'%.40s...' is too long (at most %zu characters)", t,
                        elem - 1);
    if (k->choices && choice_index(k->choices, t) < 0) {
      char ch[512];
      choices_text(k->choices, ch, sizeof ch);
      return cfg_user_error(src, s->line, s->col, k->key, "'%s' is not one of: %s", t, ch);
    }
    memcpy(dst, t, strlen(t) + 1);
    return 0;
  }
  return TGMM_EFAIL;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 63 || lb > 63) return 99;
  int row[64];
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

int cfg_unknown_key(const cy_src *src, const cy_entry *e) {
  char pre[256];
  /* "d: {x: 1}" flattens to "d.x": the leaf key 'd' was given a map */
  for (const char *p = strchr(e->key, '.'); p; p = strchr(p + 1, '.')) {
    snprintf(pre, sizeof pre, "%.*s", (int)(p - e->key), e->key);
    int r = cfg_find_key(pre);
    if (r >= 0)
      return cfg_user_error(src, e->kline, e->kcol, pre, "expected %s, got a map", cfg_type_name(KEYS[r].type));
  }
  snprintf(pre, sizeof pre, "%s.", e->key);
  for (int i = 0; i < NKEYS; i++)
    if (!strncmp(KEYS[i].key, pre, strlen(pre)))
      return cfg_user_error(src, e->kline, e->kcol, e->key,
                        "a section, not a value: expected a map of keys such as '%s'", KEYS[i].key);
  int best = -1, bd = 1 << 20;
  const char *last = strrchr(e->key, '.');
  last = last ? last + 1 : e->key;
  for (int i = 0; i < NKEYS; i++) {
    int dist = edit_distance(e->key, KEYS[i].key);
    const char *kl = strrchr(KEYS[i].key, '.');
    if (kl && !strcmp(kl + 1, last)) dist = dist < 1 ? dist : 1; /* right name, wrong section */
    if (dist < bd) bd = dist, best = i;
  }
  int limit = (int)strlen(e->key) / 3;
  if (best >= 0 && bd <= (limit > 2 ? limit : 2))
    return cfg_user_error(src, e->kline, e->kcol, e->key, "unknown key (did you mean '%s'?)",
                      KEYS[best].key);
  return cfg_user_error(src, e->kline, e->kcol, e->key, "unknown key (README.md lists every key)");
}

