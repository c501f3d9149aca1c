/* report_stage.c — a report is all or none: its files (tables, plots with their scripts and
 * data) are written into a hidden staging directory beside the final ones, DIR/.tgmm-report-PID/,
 * under the final base name, and moved to their real names only when the whole report is
 * written; a failed or interrupted report removes the staging directory, and an earlier complete
 * report under the same prefix stays untouched until the new one replaces it. The scripts and
 * tables name the final paths (the staging part of every path they hold is taken out before
 * the move). Rank 0 only. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tgmm/common.h"
#include "tgmm/report.h"

int tgmm_report_stage_begin(tgmm_report_stage *st, const char *final_prefix) {
  memset(st, 0, sizeof *st);
  const char *slash = strrchr(final_prefix, '/');
  size_t dl = slash ? (size_t)(slash - final_prefix) : 0;
  snprintf(st->mark, sizeof st->mark, ".tgmm-report-%ld", (long)getpid());
  if (strlen(final_prefix) + sizeof st->mark + 4 > sizeof st->prefix) {
    tgmm_error("report: output prefix too long: %s", final_prefix);
    return TGMM_EUSER;
  }
  if (slash) snprintf(st->final_dir, sizeof st->final_dir, "%.*s", (int)(dl ? dl : 1), final_prefix);
  else snprintf(st->final_dir, sizeof st->final_dir, ".");
  if (slash) snprintf(st->dir, sizeof st->dir, "%.*s/%s", (int)dl, final_prefix, st->mark);
  else snprintf(st->dir, sizeof st->dir, "%s", st->mark);
  snprintf(st->prefix, sizeof st->prefix, "%s/%s", st->dir, slash ? slash + 1 : final_prefix);
  if (mkdir(st->dir, 0777) != 0) {
    int e = errno;
    tgmm_error("report: cannot create the staging directory %s: %s", st->dir, strerror(e));
    return e == ENOSPC || e == EIO || e == EDQUOT ? TGMM_EIO : TGMM_EUSER;
  }
  st->active = 1;
  return TGMM_OK;
}

void tgmm_report_stage_abort(tgmm_report_stage *st) {
  if (!st->active) return;
  DIR *d = opendir(st->dir);
  struct dirent *e;
  char p[sizeof st->dir + 300];
  while (d && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", st->dir, e->d_name);
    unlink(p);
  }
  if (d) closedir(d);
  rmdir(st->dir);
  st->active = 0;
}

/* Take "MARK/" out of a text file (the scripts and tables name the final paths). */
static int unstage_text(const char *path, const char *mark) {
  FILE *f = fopen(path, "rb");
  if (!f) return TGMM_EIO;
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  int c;
  while (m && (c = fgetc(f)) != EOF) fputc(c, m);
  fclose(f);
  if (!m) return TGMM_ENOMEM;
  fclose(m);
  char pat[80];
  size_t pl = (size_t)snprintf(pat, sizeof pat, "%s/", mark);
  if (!memmem(buf, len, pat, pl)) {
    free(buf);
    return TGMM_OK;
  }
  f = fopen(path, "wb");
  int rc = f ? TGMM_OK : TGMM_EIO;
  for (size_t i = 0; f && i < len;) {
    char *hit = memmem(buf + i, len - i, pat, pl);
    size_t n = hit ? (size_t)(hit - (buf + i)) : len - i;
    if (fwrite(buf + i, 1, n, f) != n) rc = TGMM_EIO;
    i += n + (hit ? pl : 0);
  }
  if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = TGMM_EIO;
  if (f && fclose(f) != 0) rc = TGMM_EIO;
  free(buf);
  return rc;
}

static int is_text(const char *name) {
  static const char *const ext[] = {".gp", ".md", ".tex", ".csv", ".dat", NULL};
  size_t n = strlen(name);
  for (int i = 0; ext[i]; i++)
    if (n > strlen(ext[i]) && !strcmp(name + n - strlen(ext[i]), ext[i])) return 1;
  return 0;
}

/* Pass 1 (fix = 1): the staging part out of every text file; pass 2: every file to its real
 * name. *count: files moved. */
static int each_file(tgmm_report_stage *st, int fix, int *count) {
  DIR *d = opendir(st->dir);
  if (!d) return TGMM_EIO;
  struct dirent *e;
  int rc = TGMM_OK;
  char from[sizeof st->dir + 300], to[sizeof st->final_dir + 300];
  while (rc == TGMM_OK && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".tmp")) continue;
    snprintf(from, sizeof from, "%s/%s", st->dir, e->d_name);
    snprintf(to, sizeof to, "%s/%s", st->final_dir, e->d_name);
    if (fix && is_text(e->d_name)) rc = unstage_text(from, st->mark);
    if (!fix && rename(from, to) != 0) {
      tgmm_error("report: cannot move %s to %s: %s", from, to, strerror(errno));
      rc = TGMM_EIO;
    }
    if (!fix && rc == TGMM_OK) (*count)++;
  }
  closedir(d);
  if (rc != TGMM_OK && fix) tgmm_error("report: cannot finish %s: %s", from, strerror(errno));
  return rc;
}

/* An earlier report's files under the final prefix that the new report does not have (a plot
 * it no longer makes): removed once the new report is complete, so the set is the new one. */
static void remove_stale(const tgmm_report_stage *st, const char *final_prefix) {
  static const char *const extra[] = {"rate", "depth", "loss", "heldout"};
  static const char *const tab[] = {"md", "csv", "tex"}, *const plot[] = {"png", "gp", "dat"};
  char fin[4400], stg[4500];
  for (int c = 0; c < TGMM_REPORT_NMETRIC + 4 + 1; c++)
    for (int k = 0; k < 3; k++) {
      const char *what = c < TGMM_REPORT_NMETRIC ? tgmm_report_metric_name[c]
                         : c < TGMM_REPORT_NMETRIC + 4 ? extra[c - TGMM_REPORT_NMETRIC] : NULL;
      int a = what ? snprintf(fin, sizeof fin, "%s.%s.%s", final_prefix, what, plot[k])
                   : snprintf(fin, sizeof fin, "%s.%s", final_prefix, tab[k]);
      int b = what ? snprintf(stg, sizeof stg, "%s.%s.%s", st->prefix, what, plot[k])
                   : snprintf(stg, sizeof stg, "%s.%s", st->prefix, tab[k]);
      if (a >= (int)sizeof fin || b >= (int)sizeof stg) continue;
      if (access(stg, F_OK) != 0 && access(fin, F_OK) == 0) unlink(fin);
    }
}

int tgmm_report_stage_commit(tgmm_report_stage *st, const char *final_prefix) {
  if (!st->active) return TGMM_OK;
  int n = 0, rc = tgmm_stop_signal ? TGMM_EFAIL : each_file(st, 1, &n);
  if (rc == TGMM_OK && tgmm_stop_signal) rc = TGMM_EFAIL;
  if (rc == TGMM_OK) remove_stale(st, final_prefix);
  if (rc == TGMM_OK) rc = each_file(st, 0, &n);
  if (rc == TGMM_OK) {
    int fd = open(st->final_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) (void)fsync(fd), close(fd);
    if (n) tgmm_info("report: wrote %d files %s.* (all of the report's, replacing any earlier ones)",
                     n, final_prefix);
  } else if (tgmm_stop_signal) {
    tgmm_error("report: stopped by a signal; nothing of this report is left");
  }
  tgmm_report_stage_abort(st);
  return rc;
}
