/* model_impl.h — private to the model module (model.c, model_tensor.c, model_pass.c,
 * model_ssm.c, model_labels.c): the tensor table (model_tensor.c), the Mamba2 backbone's hooks
 * (model_ssm.c) and the label head's (model_labels.c). */
#ifndef TGMM_MODEL_IMPL_H
#define TGMM_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "tgmm/config.h"
#include "tgmm/model.h"

/* Append tensor `name` [s0] (ndim 1) or [s0, s1] at *off of the buffers; returns its offset. */
size_t tgmm_model_add_tensor(tgmm_model *m, size_t *off, const char *name, int ndim, int s0,
                             int s1);

/* The mamba2 dimensions of cfg into dim (dim->ssm = 1); TGMM_EUSER when the shapes do not fit. */
int tgmm_ssm_dims(const tgmm_config *cfg, tgmm_model_dims *dim);
/* The backbone's state (layer offsets, activations) for dim; NULL when out of memory. */
struct tgmm_ssm *tgmm_ssm_new(const tgmm_model_dims *dim);
void tgmm_ssm_free(struct tgmm_ssm *s);
/* Its tensors (layers.L.*, norm_f.weight) from *off on; between the read-in and the read-outs. */
void tgmm_ssm_layout(tgmm_model *m, size_t *off);
/* Its initialisation (after the generic one of tgmm_model_init). */
void tgmm_ssm_init(tgmm_model *m, uint32_t seed);
/* m->a.h0 [T,C] -> the layers -> norm_f -> m->a.lnf [T,C] (m->a.T etc. are set). With targets
 * in b (a training pass) it also reserves what tgmm_ssm_backward needs. */
int tgmm_ssm_forward(tgmm_model *m, const tgmm_batch *b);
/* m->a.dlnf [T,C] -> m->a.dres = dL/dh0 [T,C] (overwritten); parameter gradients +=. */
void tgmm_ssm_backward(tgmm_model *m, const tgmm_batch *b);

/* Label head: m->a.lnf [T,C] -> m->a.lab [T,Kmax] logits. */
void tgmm_labels_fwd(tgmm_model *m);
/* The batch's label loss (sum of tgmm_label_loss over its tasks; needs b->z); the permutations
 * go to m->a.lmatch. */
double tgmm_labels_loss(tgmm_model *m, const tgmm_batch *b);
/* Backward of the label loss / norm with the forward's permutations: head gradients +=;
 * dL/d lnf into m->a.dlnf (accumulate: added to what the mixture read-out put there). */
void tgmm_labels_bwd(tgmm_model *m, const tgmm_batch *b, double norm, int accumulate);

#endif
