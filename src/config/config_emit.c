/* config_emit.c — the resolved config as YAML text (cfg->text) and the schema as a Markdown
 * table (`tgmm --keys`, README's config reference). */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_schema.h"
#include "tgmm/common.h"

#define KEYS cfg_keys
#define NKEYS cfg_nkeys
/* ---- resolved text ---- */

typedef struct {
  char *s;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (m < 0) {
      b->oom = 1;
      return;
    }
    if (b->s && b->n + (size_t)m < b->cap) {
      b->n += (size_t)m;
      return;
    }
    size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)m;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

static void emit_str(sbuf *b, const char *s) {
  static const char *const reserved[] = {"true", "false", "yes", "no", "on", "off", "null", NULL};
  int plain = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
  for (const char *p = s; *p && plain; p++)
    plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+", *p) != NULL;
  for (int i = 0; reserved[i] && plain; i++) plain = strcasecmp(s, reserved[i]) != 0;
  if (plain) {
    sb_printf(b, "%s", s);
    return;
  }
  sb_printf(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      sb_printf(b, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      sb_printf(b, "\\x%02x", *p);
    else
      sb_printf(b, "%c", *p);
  }
  sb_printf(b, "\"");
}

/* One scalar (a list element for list keys) of key k at p, elem bytes. */
static void emit_elem(sbuf *b, const keydef *k, const char *p, size_t elem) {
  char num[40];
  switch (k->type) {
  case T_INT:
  case T_INTS: {
    int64_t v;
    if (elem == sizeof(int32_t)) {
      int32_t x;
      memcpy(&x, p, sizeof x);
      v = x;
    } else {
      memcpy(&v, p, sizeof v);
    }
    sb_printf(b, "%lld", (long long)v);
    break;
  }
  case T_FLOAT:
  case T_FLOATS: {
    double x;
    memcpy(&x, p, sizeof x);
    cfg_fmt_num(x, num, sizeof num);
    sb_printf(b, "%s", num);
    break;
  }
  case T_BOOL: sb_printf(b, "%s", *(const bool *)p ? "true" : "false"); break;
  case T_ENUM: {
    int idx;
    memcpy(&idx, p, sizeof idx);
    char name[64];
    cfg_choice_name(k->choices, idx, name, sizeof name);
    sb_printf(b, "%s", name);
    break;
  }
  case T_STR:
  case T_STRS: emit_str(b, p); break;
  }
}

static void emit_value(sbuf *b, const keydef *k, const tgmm_config *cfg) {
  const char *p = (const char *)cfg + k->off;
  bool list = k->type == T_INTS || k->type == T_FLOATS || k->type == T_STRS;
  int n = 1;
  if (list) {
    memcpy(&n, (const char *)cfg + k->count_off, sizeof n);
    sb_printf(b, "[");
  }
  size_t elem = list ? k->size / TGMM_MAX_LIST : k->size;
  for (int i = 0; i < n; i++, p += elem) {
    if (i) sb_printf(b, ", ");
    emit_elem(b, k, p, elem);
  }
  if (list) sb_printf(b, "]");
}

void cfg_elem_text(const keydef *k, const void *p, size_t elem, char *buf, size_t n) {
  sbuf b = {0};
  emit_elem(&b, k, p, elem);
  snprintf(buf, n, "%s", b.s && !b.oom ? b.s : "?");
  free(b.s);
}

/* eval.grid as a flow map: {K: [2, 3], N: [32, 64]} */
static void emit_grid(sbuf *b, const tgmm_config *cfg, int indent) {
  sb_printf(b, "%*sgrid: {", indent, "");
  for (int g = 0; g < cfg->eval.n_grid; g++) {
    sb_printf(b, "%s%s: [", g ? ", " : "", cfg->eval.grid[g].key);
    for (int i = 0; i < cfg->eval.grid[g].n; i++)
      sb_printf(b, "%s%s", i ? ", " : "", cfg->eval.grid[g].vals[i]);
    sb_printf(b, "]");
  }
  sb_printf(b, "}\n");
}

/* eval.variants (only when some are defined) as a flow map:
 * {em_kpp5: {method: em, em.init: kmeans++, em.restarts: 5}} */
static void emit_variants(sbuf *b, const tgmm_config *cfg, int indent) {
  if (!cfg->eval.n_variants) return;
  sb_printf(b, "%*svariants: {", indent, "");
  for (int v = 0; v < cfg->eval.n_variants; v++) {
    const tgmm_variant *var = &cfg->eval.variants[v];
    sb_printf(b, "%s%s: {method: %s", v ? ", " : "", var->name, var->method);
    for (int i = 0; i < var->n; i++) {
      const char *eq = strchr(var->set[i], '=');
      sb_printf(b, ", %.*s: %s", (int)(eq - var->set[i]), var->set[i], eq + 1);
    }
    sb_printf(b, "}");
  }
  sb_printf(b, "}\n");
}

/* Keys under `prefix` (e.g. "" or "model."): leaves first, then each sub-section. */
static void emit_section(sbuf *b, const tgmm_config *cfg, const char *prefix, int indent) {
  size_t pl = strlen(prefix);
  for (int i = 0; i < NKEYS; i++) {
    if (strncmp(KEYS[i].key, prefix, pl)) continue;
    const char *rest = KEYS[i].key + pl;
    if (strchr(rest, '.')) continue;
    sb_printf(b, "%*s%s: ", indent, "", rest);
    emit_value(b, &KEYS[i], cfg);
    sb_printf(b, "\n");
  }
  if (!strcmp(prefix, "eval.")) emit_grid(b, cfg, indent), emit_variants(b, cfg, indent);
  for (int i = 0; i < NKEYS; i++) {
    if (strncmp(KEYS[i].key, prefix, pl)) continue;
    const char *rest = KEYS[i].key + pl, *dot = strchr(rest, '.');
    if (!dot) continue;
    char sub[256];
    snprintf(sub, sizeof sub, "%s%.*s.", prefix, (int)(dot - rest), rest);
    int first = 1;
    for (int j = 0; j < i && first; j++) first = strncmp(KEYS[j].key, sub, strlen(sub)) != 0;
    if (!first) continue;
    sb_printf(b, "%*s%.*s:\n", indent, "", (int)(dot - rest), rest);
    emit_section(b, cfg, sub, indent + 2);
  }
}


int cfg_emit_text(tgmm_config *cfg) {
  sbuf b = {0};
  emit_section(&b, cfg, "", 0);
  if (b.oom) {
    free(b.s);
    tgmm_error("out of memory writing the resolved config");
    return TGMM_ENOMEM;
  }
  cfg->text = b.s;
  return TGMM_OK;
}

/* ---------- reference (README's config table, `tgmm --keys`) ---------- */

static void ref_range_text(const keydef *k, char *buf, size_t n) {
  buf[0] = '\0';
  if (k->choices) { /* a|b|c -> `a`, `b`, `c` (a '|' would split the Markdown cell) */
    size_t o = 0;
    for (const char *c = k->choices; *c && o + 8 < n; c++) {
      if (c == k->choices || c[-1] == '|') buf[o++] = '`';
      if (*c == '|') {
        o += (size_t)snprintf(buf + o, n - o, "`, ");
      } else {
        buf[o++] = *c;
      }
    }
    snprintf(buf + o, n - o, "`");
  } else if (k->type == T_INT || k->type == T_FLOAT || k->type == T_INTS || k->type == T_FLOATS) {
    char lo[32], hi[32];
    if (k->min == GT0) snprintf(lo, sizeof lo, "> 0");
    else snprintf(lo, sizeof lo, ">= %.10g", k->min);
    if (k->max == INF) hi[0] = '\0';
    else if (k->max == LT1) snprintf(hi, sizeof hi, ", < 1");
    else snprintf(hi, sizeof hi, ", <= %.10g", k->max);
    snprintf(buf, n, "%s%s", lo, hi);
  }
}

void tgmm_config_print_reference(FILE *f) {
  fprintf(f, "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n");
  for (int i = 0; i < NKEYS; i++) {
    const keydef *k = &KEYS[i];
    static const char *const tn[] = {"int", "float", "bool", "string", "enum", "int list",
                                     "float list", "string list"};
    char range[128];
    ref_range_text(k, range, sizeof range);
    fprintf(f, "| `%s` | %s | `%s` | %s | %s |\n", k->key, tn[k->type], k->def, range, k->doc);
  }
}

int tgmm_config_key_is_list(const char *key) {
  for (int i = 0; i < NKEYS; i++)
    if (!strcmp(KEYS[i].key, key))
      return KEYS[i].type == T_INTS || KEYS[i].type == T_FLOATS || KEYS[i].type == T_STRS;
  return -1;
}
