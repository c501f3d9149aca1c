/* checkpoint.h — checkpoints and exported models: write, read, the newest of a run directory,
 * the config check on resume, export. Files: RUN_DIR/ckpt_<step, 8 digits>.h5, written as
 * <path>.tmp and renamed (a crash never leaves a torn one). Layout: /params/<name>,
 * /adam_m/<name>, /adam_v/<name> float32 in PyTorch's names and shapes, /grads/<name> with
 * train.save_grads, /step [1] int64; root attributes config, seed, world_size, version,
 * git_commit, loss. An exported model holds /params only, with the attributes plus
 * exported_from and step.
 *
 * Every function is collective over tgmm_mpi.comm; rank 0 alone opens a file to read or write
 * it (or lists a directory) and broadcasts what it found, so a job opens a checkpoint once,
 * whatever its rank count. */
#ifndef TGMM_CHECKPOINT_H
#define TGMM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "tgmm/config.h"
#include "tgmm/model.h"

/* Write a checkpoint: rank 0 alone opens and writes the file (every rank holds the same state);
 * every rank returns its result. */
int tgmm_checkpoint_write(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                          int64_t step, int save_grads, double loss);
/* Read /params (and /adam_m, /adam_v when `moments`) and /step into a model created with the
 * same dimensions; a missing tensor or a shape mismatch is a user error naming the dataset.
 * Collective: rank 0 alone opens and reads the file, the others receive it by broadcast. */
int tgmm_checkpoint_read(const char *path, tgmm_model *m, int moments, int64_t *step);

/* --checkpoint ARG: a file as given, or a run directory's newest checkpoint (collective: rank 0
 * looks at the file system and broadcasts). */
int tgmm_checkpoint_resolve(const char *arg, char *out, size_t out_len);
/* The config stored in a checkpoint or exported model, resolved: a key missing from the stored
 * text (written by an older version) counts as its default. Collective: rank 0 opens the file
 * and broadcasts the text; every rank parses it. */
int tgmm_checkpoint_config(const char *path, tgmm_config *cfg);
/* That config, and a model of its dimensions with the file's parameters (no moments).
 * Collective (one process opens the file); on failure nothing is left allocated. */
int tgmm_checkpoint_load_model(const char *path, tgmm_config *cfg, tgmm_model *m, int64_t *step);
/* An exported model (collective): /params/<name> (float32, PyTorch shapes) and the root
 * attributes of every output file (config, version, ...) plus exported_from and step; no
 * optimizer state. tgmm eval --checkpoint and train.init_from read it like a checkpoint. */
int tgmm_checkpoint_export(const char *path, const tgmm_model *m, const tgmm_config *cfg,
                           const char *source, int64_t step);

/* Highest step among DIR/ckpt_<step>.h5 (eight digits below 10^8, more above; -1 if none;
 * temporary and set-aside files never match).
 * Collective: rank 0 reads the directory and broadcasts. */
int tgmm_checkpoint_latest(const char *dir, int64_t *step);
/* The same among the checkpoints of step < below (below < 0: all), for a fallback. */
int tgmm_checkpoint_newest_below(const char *dir, int64_t below, int64_t *step);
/* Resume's check of the checkpoint of `step` at `path`: its stored config parses, its run
 * identity (tgmm_config_identity) is cfg's, and every tensor with the moments and /step reads
 * back whole and finite into m (created with cfg's dimensions; its contents are then the
 * file's). A message names the file and what is wrong; *other_run = 1 when the file is fine but
 * belongs to another run (never to be skipped). Collective (rank 0 reads). */
int tgmm_checkpoint_verify(const char *path, const tgmm_config *cfg, tgmm_model *m, int64_t step,
                           int *other_run);
/* Rename a damaged checkpoint PATH to PATH.damaged (kept for a post-mortem; no checkpoint name)
 * with a warning. Collective (rank 0 renames). */
int tgmm_checkpoint_set_aside(const char *path);
/* train.keep_checkpoints: remove all but the newest `keep` checkpoints of DIR (by step; keep <= 0
 * keeps all). Call only after the newest is complete and renamed into place. A checkpoint that
 * cannot be removed is a warning, not an error. Collective: rank 0 lists and removes. */
int tgmm_checkpoint_prune(const char *dir, int keep);
/* "RUN_DIR/ckpt_<step, 8 digits (more from 10^8)>.h5" */
void tgmm_checkpoint_path(const char *run_dir, int64_t step, char *out, size_t out_len);

/* Collective: the config stored in the checkpoint at `path` (resolved over the defaults) must
 * equal cfg except for the keys in `exempt` (NULL-terminated); otherwise one message from rank 0
 * names the differing keys (`what_may_change` lists the exempt keys for the user) and
 * TGMM_EUSER. */
int tgmm_checkpoint_check_config(const char *path, const tgmm_config *cfg,
                                 const char *const exempt[], const char *what_may_change);

#endif
