/* config_yaml.c — YAML text -> flat dotted keys (libyaml event API; see config_yaml.h). */
#define _GNU_SOURCE
#include "config_yaml.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tgmm/common.h"

void cy_where(const cy_src *src, int line, int col, char *buf, size_t n) {
  if (src->arg)
    snprintf(buf, n, "command line: argument '%s'", src->arg);
  else
    snprintf(buf, n, "%s:%d:%d", src->name, line, col);
}

int cy_is_null(const cy_scalar *s) {
  if (s->quoted) return 0;
  const char *t = s->text;
  return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

void cy_doc_free(cy_doc *d) {
  for (int i = 0; i < d->n; i++) {
    for (int j = 0; j < d->e[i].nv; j++) free(d->e[i].v[j].text);
    free(d->e[i].v);
    free(d->e[i].key);
  }
  free(d->e);
  d->e = NULL;
  d->n = d->cap = 0;
}

/* Deepest nesting of maps accepted (the schema needs 2; the reader recurses once a level). */
#define CY_MAX_DEPTH 64

typedef struct {
  const cy_src *src;
  const char *text; /* the whole input (positions of encoding errors) */
  yaml_parser_t p;
  cy_doc *doc;
} ctx;

static int oom(void) {
  tgmm_error("out of memory while reading the config");
  return TGMM_ENOMEM;
}

/* "key.name" (or "name" at the top level), malloc'ed; NULL when out of memory. Not asprintf:
 * the sanitizer build suppresses leaks under libc's vasprintf (see tests/lsan.supp). */
static char *join_key(const char *key, const char *name) {
  size_t a = key ? strlen(key) + 1 : 0, b = strlen(name);
  char *s = malloc(a + b + 1);
  if (!s) return NULL;
  if (key) {
    memcpy(s, key, a - 1);
    s[a - 1] = '.';
  }
  memcpy(s + a, name, b + 1);
  return s;
}

static int err_at(const ctx *c, yaml_mark_t m, const char *key, const char *what) {
  char where[1024];
  cy_where(c->src, (int)m.line + 1, (int)m.column + 1, where, sizeof where);
  if (key)
    tgmm_error0("%s: key '%s': %s", where, key, what);
  else
    tgmm_error0("%s: %s", where, what);
  return TGMM_EUSER;
}

/* Line and column (0-based) of byte `off` of the input. */
static yaml_mark_t mark_of_offset(const char *text, size_t off) {
  yaml_mark_t m = {off, 0, 0};
  for (size_t i = 0; i < off && text[i]; i++) {
    if (text[i] == '\n') m.line++, m.column = 0;
    else if (((unsigned char)text[i] & 0xC0) != 0x80) m.column++; /* count characters */
  }
  return m;
}

/* Next event; on a libyaml error prints "malformed YAML" at libyaml's mark (for an encoding
 * error, at the offending byte: libyaml gives only its offset). */
static int next(ctx *c, yaml_event_t *ev) {
  if (yaml_parser_parse(&c->p, ev)) return 0;
  if (c->p.error == YAML_READER_ERROR) {
    char what[512];
    snprintf(what, sizeof what, "not valid UTF-8 text: %s (byte 0x%02x)",
             c->p.problem ? c->p.problem : "error", (unsigned)(c->p.problem_value & 0xff));
    return err_at(c, mark_of_offset(c->text, c->p.problem_offset), NULL, what);
  }
  char what[512];
  if (c->p.context)
    snprintf(what, sizeof what, "malformed YAML: %s %s", c->p.problem ? c->p.problem : "error",
             c->p.context);
  else
    snprintf(what, sizeof what, "malformed YAML: %s", c->p.problem ? c->p.problem : "error");
  return err_at(c, c->p.problem_mark, NULL, what);
}

static const char *kind_name(yaml_event_type_t t) {
  switch (t) {
  case YAML_SEQUENCE_START_EVENT: return "a list";
  case YAML_MAPPING_START_EVENT: return "a map";
  case YAML_ALIAS_EVENT: return "an alias";
  default: return "a scalar";
  }
}

static int push_scalar(cy_entry *e, const yaml_event_t *ev) {
  cy_scalar *v = realloc(e->v, (size_t)(e->nv + 1) * sizeof *v);
  if (!v) return oom();
  e->v = v;
  cy_scalar *s = &v[e->nv];
  s->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
  if (!s->text) return oom();
  s->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
              ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
  s->line = (int)ev->start_mark.line + 1;
  s->col = (int)ev->start_mark.column + 1;
  e->nv++;
  return 0;
}

static cy_entry *new_entry(ctx *c, const char *key, yaml_mark_t km, yaml_mark_t vm) {
  cy_doc *d = c->doc;
  if (d->n == d->cap) {
    int cap = d->cap ? 2 * d->cap : 32;
    cy_entry *e = realloc(d->e, (size_t)cap * sizeof *e);
    if (!e) return NULL;
    d->e = e;
    d->cap = cap;
  }
  cy_entry *e = &d->e[d->n];
  memset(e, 0, sizeof *e);
  e->key = strdup(key);
  if (!e->key) return NULL;
  d->n++;
  e->kline = (int)km.line + 1;
  e->kcol = (int)km.column + 1;
  e->vline = (int)vm.line + 1;
  e->vcol = (int)vm.column + 1;
  return e;
}

/* The keys of one map, for the duplicate check in linear time: an open-addressing hash set of
 * borrowed names (they live in the events, freed after the check). */
typedef struct {
  char **slot;
  size_t cap, n;
} keyset;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* 1 if `name` was already in the set, 0 if added, -1 when out of memory. */
static int keyset_add(keyset *k, const char *name) {
  if (2 * (k->n + 1) > k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 64;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < k->cap; i++)
      if (k->slot[i]) {
        size_t j = hash_str(k->slot[i]) & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = k->slot[i];
      }
    free(k->slot);
    k->slot = slot;
    k->cap = cap;
  }
  size_t j = hash_str(name) & (k->cap - 1);
  for (; k->slot[j]; j = (j + 1) & (k->cap - 1))
    if (!strcmp(k->slot[j], name)) return 1;
  if (!(k->slot[j] = strdup(name))) return -1;
  k->n++;
  return 0;
}

static void keyset_free(keyset *k) {
  for (size_t i = 0; i < k->cap; i++) free(k->slot[i]);
  free(k->slot);
}

/* One node whose first event is *ev (owned by the caller), the value of `key`, `depth` maps
 * deep. */
static int node(ctx *c, yaml_event_t *ev, const char *key, yaml_mark_t km, int depth) {
  int rc = 0;
  if (ev->type == YAML_ALIAS_EVENT) return err_at(c, ev->start_mark, key, "aliases are not supported");
  if (ev->type == YAML_SCALAR_EVENT) {
    cy_entry *e = new_entry(c, key, km, ev->start_mark);
    if (!e) return oom();
    return push_scalar(e, ev);
  }
  if (ev->type == YAML_SEQUENCE_START_EVENT) {
    cy_entry *e = new_entry(c, key, km, ev->start_mark);
    if (!e) return oom();
    e->is_seq = 1;
    for (;;) {
      yaml_event_t it;
      if ((rc = next(c, &it))) return rc;
      if (it.type == YAML_SEQUENCE_END_EVENT) {
        yaml_event_delete(&it);
        return 0;
      }
      if (it.type == YAML_SCALAR_EVENT) {
        rc = push_scalar(e, &it);
      } else {
        char what[128];
        snprintf(what, sizeof what, "list entries must be numbers or strings, got %s",
                 kind_name(it.type));
        rc = err_at(c, it.start_mark, key, what);
      }
      yaml_event_delete(&it);
      if (rc) return rc;
    }
  }
  if (ev->type != YAML_MAPPING_START_EVENT)
    return err_at(c, ev->start_mark, key, "unexpected YAML element");
  if (depth >= CY_MAX_DEPTH) {
    char what[128];
    snprintf(what, sizeof what, "maps nested deeper than %d levels", CY_MAX_DEPTH);
    return err_at(c, ev->start_mark, key, what);
  }
  /* A map: keys flatten under `key`. Keys seen in this map, for the duplicate check. */
  keyset seen = {NULL, 0, 0};
  for (;;) {
    yaml_event_t k, v;
    if ((rc = next(c, &k))) break;
    if (k.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&k);
      break;
    }
    if (k.type != YAML_SCALAR_EVENT || k.data.scalar.length == 0) {
      char what[128];
      snprintf(what, sizeof what, "map keys must be names, got %s",
               k.type == YAML_SCALAR_EVENT ? "an empty key" : kind_name(k.type));
      rc = err_at(c, k.start_mark, key, what);
      yaml_event_delete(&k);
      break;
    }
    const char *name = (const char *)k.data.scalar.value;
    char *full = join_key(key, name);
    if (!full) {
      yaml_event_delete(&k);
      rc = oom();
      break;
    }
    int dup = keyset_add(&seen, name);
    if (dup < 0) rc = oom();
    if (dup > 0) rc = err_at(c, k.start_mark, full, "duplicate key");
    if (!rc && !(rc = next(c, &v))) {
      rc = node(c, &v, full, k.start_mark, depth + 1);
      yaml_event_delete(&v);
    }
    free(full);
    yaml_event_delete(&k);
    if (rc) break;
  }
  keyset_free(&seen);
  return rc;
}

int cy_flatten(const cy_src *src, const char *text, const char *prefix, cy_doc *out) {
  ctx c = {.src = src, .text = text, .doc = out};
  memset(out, 0, sizeof *out);
  if (!yaml_parser_initialize(&c.p)) return oom();
  yaml_parser_set_input_string(&c.p, (const unsigned char *)text, strlen(text));
  yaml_event_t ev;
  int rc = 0, docs = 0;
  for (;;) {
    if ((rc = next(&c, &ev))) break;
    yaml_event_type_t t = ev.type;
    if (t == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    if (t == YAML_DOCUMENT_START_EVENT && docs++ > 0) {
      rc = err_at(&c, ev.start_mark, NULL, "more than one YAML document (a second '---')");
    } else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT &&
               t != YAML_DOCUMENT_END_EVENT) {
      if (!prefix && t != YAML_MAPPING_START_EVENT) {
        char what[160];
        snprintf(what, sizeof what, "the top level must be a map of keys (key: value), got %s",
                 kind_name(t));
        rc = err_at(&c, ev.start_mark, NULL, what);
      } else {
        rc = node(&c, &ev, prefix, ev.start_mark, 0);
      }
    }
    yaml_event_delete(&ev);
    if (rc) break;
  }
  if (!rc && prefix && docs == 0) { /* "key=" : an empty value is a null scalar */
    yaml_mark_t m = {0, 0, 0};
    yaml_event_t e0;
    memset(&e0, 0, sizeof e0);
    e0.type = YAML_SCALAR_EVENT;
    e0.data.scalar.value = (yaml_char_t *)"";
    e0.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    cy_entry *e = new_entry(&c, prefix, m, m);
    rc = e ? push_scalar(e, &e0) : oom();
  }
  yaml_parser_delete(&c.p);
  if (rc) cy_doc_free(out);
  return rc;
}

/* ---- values ---- */

char *cy_value_text(const cy_entry *e) {
  size_t n = 3;
  for (int i = 0; i < e->nv; i++) n += strlen(e->v[i].text) + 2;
  char *s = malloc(n);
  if (!s) return NULL;
  s[0] = 0;
  if (e->is_seq) strcat(s, "[");
  for (int i = 0; i < e->nv; i++) {
    if (i) strcat(s, ", ");
    strcat(s, e->v[i].text);
  }
  if (e->is_seq) strcat(s, "]");
  return s;
}
