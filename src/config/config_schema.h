/* config_schema.h — private to the config module: the schema table (config_schema.c) and the
 * helpers the loader (config.c), the value parser (config_parse.c), the variants
 * (config_variants.c) and the emitter (config_emit.c) share. Calls go one way: config.c ->
 * config_variants.c -> config_emit.c, config_parse.c; config.c -> config_parse.c -> config_emit.c,
 * config_yaml.c, config_schema.c. */
#ifndef TGMM_CONFIG_SCHEMA_H
#define TGMM_CONFIG_SCHEMA_H

#include <stddef.h>

#include "config_yaml.h"
#include "tgmm/config.h"

typedef enum { T_INT, T_FLOAT, T_BOOL, T_STR, T_ENUM, T_INTS, T_FLOATS, T_STRS } ktype;

typedef struct {
  const char *key;             /* dotted name */
  ktype type;                  /* T_INT: int32 or int64 field (by size); T_ENUM: int-sized enum */
  size_t off, size, count_off; /* the field (lists: the whole array) and a list's count field */
  const char *def;             /* the default, as YAML text */
  double min, max;             /* numbers and list entries: the range; strings: min length */
  const char *choices;         /* T_ENUM and T_STRS: '|'-separated; an enum's value is the index */
  const char *doc;
} keydef;

/* The schema (config_schema.c): one row per key, in output order. */
#define CFG_MAX_KEYS 256
extern const keydef cfg_keys[];
extern const int cfg_nkeys;

#define INF HUGE_VAL
#define GT0 DBL_TRUE_MIN          /* as a minimum: the value must be > 0 */
#define LT1 0x1.fffffffffffffp-1 /* as a maximum: the value must be < 1 */

/* Shortest "%.*g" that reads back as x. */
void cfg_fmt_num(double x, char *buf, size_t n);
/* Name of choice idx of "a|b|c". */
void cfg_choice_name(const char *choices, int idx, char *buf, size_t n);
/* One value of key k (one list element for list keys) at p (elem bytes) as YAML text. */
void cfg_elem_text(const keydef *k, const void *p, size_t elem, char *buf, size_t n);
/* eval.methods and eval.variants (config_variants.c): every entry of eval.methods a method or a
 * variant, every variant of a known method and named <method>_<suffix>. 0, or 1 with the reason
 * in why. */
int cfg_check_methods(const tgmm_config *cfg, char *why, size_t n);
/* 1 if `name` may stand in eval.methods: a method, a built-in variant, or a name of the form
 * <method>_<suffix> (a variant of eval.variants, checked by cfg_check_methods). */
int cfg_method_plausible(const char *name);
extern const char cfg_methods_text[]; /* the methods and built-in variants, for messages */
/* config_parse.c: the schema row of `key` (-1: none); one scalar of key k into dst (elem bytes:
 * one list element for lists), checked (type, range, choices); the error message naming
 * file:line:col and key (returns TGMM_EUSER); an unknown key's message (nearest key); the type's
 * name ("an integer", ...). Messages print on rank 0. */
int cfg_find_key(const char *key);
const char *cfg_type_name(ktype t);
int cfg_parse_scalar(const keydef *k, const cy_src *src, const cy_scalar *s, void *dst, size_t elem);
int cfg_user_error(const cy_src *src, int line, int col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int cfg_unknown_key(const cy_src *src, const cy_entry *e);
/* config_variants.c: one eval.variants.<name>.<key> entry (method, or an em.*, lloyd.*,
 * spectral.* key and its value, checked like the key). */
int cfg_apply_variant(tgmm_config *cfg, const cy_src *src, const cy_entry *e);
/* cfg->text := the resolved config as YAML (config_emit.c). TGMM_ENOMEM on failure. */
int cfg_emit_text(tgmm_config *cfg);

#endif
