/* io_impl.h — private to the io part (out.c, h5io.c): the primitives of the one
 * write-to-temporary-then-rename path, defined in out.c. Local. */
#ifndef TGMM_IO_IMPL_H
#define TGMM_IO_IMPL_H

#include <hdf5.h>
#include <mpi.h>
#include <stddef.h>

/* dst = path, tmp = "<path>.tmp"; TGMM_EUSER when either does not fit. */
int tgmm_io_tmp_name(const char *path, char *dst, size_t dst_len, char *tmp, size_t tmp_len);
/* The system's reason for a failed write of `path`: `saved` (errno) if not 0, else ENOSPC when
 * its file system has no free block left, else EIO. */
int tgmm_io_errno(int saved, const char *path);
/* Give back the space reserved beyond the end of the file `tmp` (after it is closed). */
void tgmm_io_release_space(const char *tmp);
/* Rename tmp to path (on failure the temporary is removed: TGMM_EUSER or TGMM_EIO, printed). */
int tgmm_io_rename(const char *tmp, const char *path);

/* The MPI-IO file access list of every parallel file (h5io.c; close with H5Pclose). */
hid_t tgmm_io_mpio_fapl(MPI_Comm comm);

#endif
