/* model_tensor.c — the model's tensor table: named views (name, shape, offset) on the one
 * parameter buffer. model.c and model_ssm.c append the tensors of their layouts; checkpoints and
 * tests look them up by name. */
#include <stdio.h>
#include <string.h>

#include "model_impl.h"
#include "tgmm/model.h"

size_t tgmm_model_add_tensor(tgmm_model *m, size_t *off, const char *name, int ndim, int s0,
                             int s1) {
  tgmm_tensor *t = &m->tensors[m->ntensors++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->ndim = ndim;
  t->shape[0] = s0;
  t->shape[1] = ndim > 1 ? s1 : 1;
  t->shape[2] = 1;
  t->numel = (size_t)s0 * (size_t)t->shape[1];
  t->off = *off;
  *off += t->numel;
  return t->off;
}

const tgmm_tensor *tgmm_model_find(const tgmm_model *m, const char *name) {
  for (int i = 0; i < m->ntensors; i++)
    if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
  return NULL;
}
