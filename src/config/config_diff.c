/* config_diff.c — tgmm_config_diff (include/tgmm/config.h): the keys whose values differ
 * between two resolved config texts, each flattened by config_yaml.c; tgmm_config_diff_training
 * counts only the keys that shape a training (the resume check of a checkpoint against the run's
 * config). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"
#include "tgmm/config.h"

static int as_number(const char *s, double *x) {
  if (!s[0] || strspn(s, "0123456789+-.eE") != strlen(s)) return 0;
  char *end;
  *x = strtod(s, &end);
  return *end == 0 && isfinite(*x);
}

static int same_value(const cy_entry *a, const cy_entry *b) {
  if (a->is_seq != b->is_seq || a->nv != b->nv) return 0;
  for (int i = 0; i < a->nv; i++) {
    double x, y;
    const char *s = a->v[i].text, *t = b->v[i].text;
    if (as_number(s, &x) && as_number(t, &y)) {
      if (x != y) return 0;
    } else if (strcmp(s, t)) {
      return 0;
    }
  }
  return 1;
}

static const cy_entry *find(const cy_doc *d, const char *key) {
  for (int i = d->n - 1; i >= 0; i--)
    if (!strcmp(d->e[i].key, key)) return &d->e[i];
  return NULL;
}

/* `only`: the config whose training keys alone count (tgmm_config_diff_training), or NULL. */
static void add_key(char *out, int out_len, int *count, const char *key,
                    const char *const exempt[], const tgmm_config *only) {
  for (int i = 0; exempt && exempt[i]; i++)
    if (!strcmp(exempt[i], key)) return;
  if (only && !tgmm_config_key_shapes_training(key, only)) return;
  if (out && out_len > 0) {
    size_t used = strlen(out);
    snprintf(out + used, (size_t)out_len - used, "%s%s", *count ? ", " : "", key);
  }
  (*count)++;
}

static int diff(const char *text_a, const char *text_b, const char *const exempt[],
                const tgmm_config *only, char *out, int out_len) {
  if (out && out_len > 0) out[0] = 0;
  cy_doc a, b;
  cy_src sa = {"config A", NULL}, sb = {"config B", NULL};
  if (cy_flatten(&sa, text_a ? text_a : "", NULL, &a)) return -1;
  if (cy_flatten(&sb, text_b ? text_b : "", NULL, &b)) {
    cy_doc_free(&a);
    return -1;
  }
  int count = 0;
  for (int i = 0; i < a.n; i++) {
    if (find(&a, a.e[i].key) != &a.e[i]) continue; /* repeated key: the last one counts */
    const cy_entry *o = find(&b, a.e[i].key);
    if (!o || !same_value(&a.e[i], o)) add_key(out, out_len, &count, a.e[i].key, exempt, only);
  }
  for (int i = 0; i < b.n; i++)
    if (!find(&a, b.e[i].key) && find(&b, b.e[i].key) == &b.e[i])
      add_key(out, out_len, &count, b.e[i].key, exempt, only);
  cy_doc_free(&a);
  cy_doc_free(&b);
  return count;
}

int tgmm_config_diff(const char *text_a, const char *text_b, const char *const exempt[], char *out,
                     int out_len) {
  return diff(text_a, text_b, exempt, NULL, out, out_len);
}

int tgmm_config_diff_training(const char *text_a, const char *text_b, const tgmm_config *cfg,
                              const char *const exempt[], char *out, int out_len) {
  return diff(text_a, text_b, exempt, cfg, out, out_len);
}
