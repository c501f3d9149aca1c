/* dataset.h — the reader of task dataset files, the layout `tgmm gen` writes
 * (src/tasks/dataset.c).
 *
 * Layout (README.md "Dataset files"): /x float64 [S, d] all samples of all tasks concatenated;
 * /z int32 [S]; /offsets int64 [T+1]; /K int32 [T]; /weights float64 [T, Kmax];
 * /means float64 [T, Kmax, d]; /scales float64 [T, Kmax, d]. Only /x and /offsets are
 * required; /K defaults to Kmax from the config; the truth datasets are optional. Root
 * attributes (config, seed, world_size, version, git_commit) are never required by readers. */
#ifndef TGMM_DATASET_H
#define TGMM_DATASET_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "tgmm/task.h"

/* A task dataset file opened for reading. */
typedef struct {
  hid_t file;
  char path[4096];
  int64_t T, S;   /* tasks, samples */
  int d, Kmax;
  int64_t *offsets; /* [T+1] */
  int32_t *K;       /* [T] */
  int has_z, has_weights, has_means, has_scales;
} tgmm_dataset;

/* Open and validate the layout (shapes consistent, offsets non-decreasing from 0 to S,
 * 1 <= K <= Kmax). `default_K` is used when /K is absent (< 1: a file without /K is an error
 * asking for K=[k]; pass tgmm_config_single_K). Errors name the file and dataset. */
int tgmm_dataset_open(tgmm_dataset *ds, const char *path, MPI_Comm comm, int default_K);
/* Read task t wholly (x, z if present, truth if present) into *task (allocates). Local. */
int tgmm_dataset_read_task(const tgmm_dataset *ds, int64_t t, tgmm_task *task);
/* The truth of task t that the file holds: weights [K], means [K, d], scales [K, d] (a NULL
 * pointer or a dataset the file lacks is skipped). Local. */
int tgmm_dataset_read_truth(const tgmm_dataset *ds, int64_t t, double *w, double *m, double *s);
/* Read samples row0..row0+n-1 of /x (and /z if z != NULL and present). Local. */
int tgmm_dataset_read_samples(const tgmm_dataset *ds, int64_t row0, int64_t n,
                              double *x /* [n, d] */, int32_t *z /* [n] or NULL */);
void tgmm_dataset_close(tgmm_dataset *ds);

#endif
