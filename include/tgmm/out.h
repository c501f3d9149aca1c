/* out.h — the local atomic outputs (src/io/out.c): a file one process writes alone is written
 * under "<path>.tmp" and renamed to <path> only when whole, so a failed or killed run never
 * leaves a half-written file under the real name (the parallel files of include/tgmm/h5io.h take
 * the same path). Local: no MPI communication. */
#ifndef TGMM_OUT_H
#define TGMM_OUT_H

#include <hdf5.h>
#include <stdio.h>

/* A file one process writes alone: text (report tables, plot data), a serial HDF5 file (the
 * run's metrics.h5), or a file another program writes (gnuplot's PNG: give it the temporary name
 * tgmm_out_begin returns). Every output of tgmm reaches its real name
 * only through tgmm_out_commit or tgmm_h5_commit. */
typedef struct {
  char path[4096];
  char tmp[4200]; /* "" once committed or aborted */
  FILE *f;
  hid_t h5;
} tgmm_out;
/* The temporary name to write (NULL, with a message, if the path is too long). */
const char *tgmm_out_begin(tgmm_out *o, const char *path);
/* Begin and open the temporary file as text / as a new serial HDF5 file (NULL / negative with a
 * message on failure). */
FILE *tgmm_out_text(tgmm_out *o, const char *path);
hid_t tgmm_out_h5(tgmm_out *o, const char *path);
/* Close what was opened and rename to the real name (on failure the temporary is removed). */
int tgmm_out_commit(tgmm_out *o);
/* Close and remove the temporary file. */
void tgmm_out_abort(tgmm_out *o);

#endif
