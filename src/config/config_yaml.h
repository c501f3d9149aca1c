/* config_yaml.h — private to config.c, config_diff.c, config_yaml.c: YAML text -> flat list of
 * dotted keys.
 *
 * A document (or one override value) is read with libyaml's event API; nested maps flatten to
 * dotted keys ("model: {n_embd: 8}" -> "model.n_embd"); a leaf is one scalar or one sequence of
 * scalars. Positions are 1-based. Structural errors (malformed YAML, aliases, nested lists, a
 * key repeated in one map, a top level that is not a map) are printed here (tgmm_error0). */
#ifndef TGMM_CONFIG_YAML_H
#define TGMM_CONFIG_YAML_H

#include <stddef.h>

typedef struct {
  char *text;
  int quoted; /* single- or double-quoted, or a block scalar: always a string */
  int line, col;
} cy_scalar;

typedef struct {
  char *key;   /* dotted */
  int is_seq;  /* 1: a sequence (v[0..nv-1]); 0: one scalar (v[0]) */
  cy_scalar *v;
  int nv;
  int kline, kcol; /* where the key stands */
  int vline, vcol; /* where the value starts */
} cy_entry;

typedef struct {
  cy_entry *e;
  int n, cap;
} cy_doc;

/* Where messages point: a named text ("file.yaml:L:C") or a command-line argument. */
typedef struct {
  const char *name; /* file name, or a label for in-memory text */
  const char *arg;  /* non-NULL: the whole "key=value" argument; positions are not printed */
} cy_src;

/* Flatten `text`. prefix == NULL: a whole document whose top level must be a map (an empty
 * document gives no entries). prefix != NULL: one value (scalar, sequence or map) for the key
 * `prefix`; an empty text is a null scalar. Returns 0 or TGMM_EUSER (message printed). */
int cy_flatten(const cy_src *src, const char *text, const char *prefix, cy_doc *out);
void cy_doc_free(cy_doc *d);

/* "name:L:C" or "command line: argument 'k=v'". */
void cy_where(const cy_src *src, int line, int col, char *buf, size_t n);

/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
int cy_is_null(const cy_scalar *s);

/* The value as text, "v" or "[a, b]" (for messages); malloc'ed, NULL when out of memory. */
char *cy_value_text(const cy_entry *e);

#endif
