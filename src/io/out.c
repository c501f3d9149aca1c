/* out.c — the local atomic outputs (one process writes): text (tables, plot data and scripts),
 * serial HDF5 files, PNGs another program writes, each under "<path>.tmp" and renamed to its
 * real name only when whole (see include/tgmm/out.h); and the primitives of that
 * write-to-temporary-then-rename path that h5io.c shares (io_impl.h). */
#define _GNU_SOURCE
#include "tgmm/out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "io_impl.h"
#include "tgmm/common.h"

/* The one write-to-temporary-then-rename path: every output file is first written under
 * "<path>.tmp" (a name no reader takes for the real file) and renamed when complete. */
int tgmm_io_tmp_name(const char *path, char *dst, size_t dst_len, char *tmp, size_t tmp_len) {
  if (strlen(path) + 5 > dst_len || strlen(path) + 5 > tmp_len) return TGMM_EUSER;
  snprintf(dst, dst_len, "%s", path);
  snprintf(tmp, tmp_len, "%s.tmp", path);
  return TGMM_OK;
}

/* The system's reason for a failed write: errno if the library left one, else ENOSPC when the
 * file system of `path` has no free block left, else EIO. */
int tgmm_io_errno(int saved, const char *path) {
  if (saved != 0) return saved;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
  struct statvfs vfs;
  if (dir[0] && statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0) return ENOSPC;
  return EIO;
}

/* Give back what h5io.c reserved beyond the file's end (local, after the file is closed). */
void tgmm_io_release_space(const char *tmp) {
  int fd = open(tmp, O_WRONLY);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0)
    (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, 1 << 30);
  close(fd);
}

/* fsync of a file or directory by name; -1 when done (or when the file system cannot sync a
 * directory: EINVAL), else errno. */
static int sync_path(const char *path, int dir) {
  int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = fsync(fd) == 0 || errno == EINVAL ? -1 : errno;
  close(fd);
  return err;
}

/* The directory part of a path ("." for a bare name). */
static void dir_of(const char *path, char *dir, size_t len) {
  snprintf(dir, len, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, len, ".");
  else if (slash == dir) dir[1] = 0;
  else *slash = 0;
}

/* Durable: the temporary's data reach the disk before the rename, and the rename itself (the
 * directory) after it, so a node crash leaves the old file or the whole new one, never a
 * zero-length file under the real name. */
int tgmm_io_rename(const char *tmp, const char *path) {
  int e = sync_path(tmp, 0);
  if (e >= 0) {
    tgmm_error("cannot write %s: syncing %s to disk: %s", path, tmp, strerror(e));
    unlink(tmp);
    return TGMM_EIO;
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    tgmm_error("cannot rename %s to %s: %s", tmp, path, strerror(e));
    unlink(tmp);
    return e == EISDIR || e == ENOTDIR || e == EACCES || e == EPERM ? TGMM_EUSER : TGMM_EIO;
  }
  char dir[4200];
  dir_of(path, dir, sizeof dir);
  e = sync_path(dir, 1);
  if (e >= 0) {
    tgmm_error("cannot write %s: syncing its directory %s: %s", path, dir, strerror(e));
    return TGMM_EIO;
  }
  return TGMM_OK;
}

const char *tgmm_out_begin(tgmm_out *o, const char *path) {
  memset(o, 0, sizeof *o);
  o->h5 = H5I_INVALID_HID;
  if (tgmm_io_tmp_name(path, o->path, sizeof o->path, o->tmp, sizeof o->tmp) != TGMM_OK) {
    tgmm_error("output path too long: %s", path);
    o->tmp[0] = 0;
    return NULL;
  }
  return o->tmp;
}

FILE *tgmm_out_text(tgmm_out *o, const char *path) {
  if (!tgmm_out_begin(o, path)) return NULL;
  o->f = fopen(o->tmp, "w");
  if (!o->f) {
    int e = errno;
    tgmm_error("cannot write %s: %s", o->tmp, strerror(e));
    o->tmp[0] = 0;
  }
  return o->f;
}

hid_t tgmm_out_h5(tgmm_out *o, const char *path) {
  if (!tgmm_out_begin(o, path)) return H5I_INVALID_HID;
  errno = 0;
  H5E_BEGIN_TRY { o->h5 = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT); }
  H5E_END_TRY;
  if (o->h5 < 0) {
    int e = tgmm_io_errno(errno, o->tmp);
    tgmm_error("cannot create %s: %s", o->tmp, strerror(e));
    unlink(o->tmp); /* HDF5 may have created it before failing */
    o->tmp[0] = 0;
  }
  return o->h5;
}

/* A PNG another program wrote (gnuplot) is whole: it ends with the IEND chunk. Local. */
static int png_whole(const char *path) {
  static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  unsigned char tail[8];
  FILE *f = fopen(path, "rb");
  int ok = f && fseek(f, -8, SEEK_END) == 0 && fread(tail, 1, 8, f) == 8 &&
           memcmp(tail, iend, 8) == 0;
  if (f) fclose(f);
  return ok;
}

int tgmm_out_commit(tgmm_out *o) {
  int err = -1;
  size_t n = strlen(o->path);
  if (!o->f && o->h5 < 0 && o->tmp[0] && n > 4 && strcmp(o->path + n - 4, ".png") == 0 &&
      !png_whole(o->tmp))
    err = 0; /* written by gnuplot, which may not report a full disk */
  errno = 0;
  if (o->f && (ferror(o->f) || fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)) err = errno;
  if (o->f && fclose(o->f) != 0 && err < 0) err = errno;
  if (o->h5 >= 0) {
    herr_t e;
    errno = 0;
    H5E_BEGIN_TRY { e = H5Fclose(o->h5); }
    H5E_END_TRY;
    if (e < 0) err = errno;
  }
  o->f = NULL;
  o->h5 = H5I_INVALID_HID;
  if (!o->tmp[0]) return TGMM_EIO;
  if (err >= 0) {
    tgmm_error("cannot write %s: %s; its temporary %s is removed", o->path,
               strerror(tgmm_io_errno(err, o->tmp)), o->tmp);
    tgmm_out_abort(o);
    return TGMM_EIO;
  }
  tgmm_io_release_space(o->tmp);
  int rc = tgmm_io_rename(o->tmp, o->path);
  o->tmp[0] = 0;
  return rc;
}

void tgmm_out_abort(tgmm_out *o) {
  if (o->f) fclose(o->f);
  if (o->h5 >= 0) {
    H5E_BEGIN_TRY { H5Fclose(o->h5); }
    H5E_END_TRY;
  }
  o->f = NULL;
  o->h5 = H5I_INVALID_HID;
  if (o->tmp[0]) unlink(o->tmp);
  o->tmp[0] = 0;
}
