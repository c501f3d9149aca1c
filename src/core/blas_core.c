/* blas_core.c — notice OpenBLAS's fallback kernels and use the best ones (see blas_core.h). */
#define _GNU_SOURCE
#include "tgmm/blas_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tgmm/common.h"

char *openblas_get_corename(void);

/* Marker set before re-executing: "FROM->TO" (the note after MPI_Init, and no second exec). */
#define MARK "TGMM_BLAS_COREFIX"

const char *tgmm_blas_core(void) {
  const char *c = openblas_get_corename();
  return c ? c : "unknown";
}

/* SIMD level of a core's kernels: 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512 (0: unknown name). */
static int level_of(const char *core) {
  static const struct { const char *name; int level; } table[] = {
      {"prescott", 1},   {"core2", 1},        {"penryn", 1},      {"dunnington", 1},
      {"nehalem", 1},    {"atom", 1},         {"opteron", 1},     {"barcelona", 1},
      {"bobcat", 1},     {"katmai", 1},       {"coppermine", 1},  {"northwood", 1},
      {"banias", 1},     {"sandybridge", 2},  {"bulldozer", 2},   {"piledriver", 2},
      {"steamroller", 2}, {"excavator", 2},   {"haswell", 3},     {"zen", 3},
      {"skylakex", 4},   {"cooperlake", 4},   {"sapphirerapids", 4}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcasecmp(core, table[i].name)) return table[i].level;
  return 0;
}

const char *tgmm_blas_core_best(void) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return "Prescott";
}

void tgmm_blas_core_fix(char **argv) {
  if (getenv("OPENBLAS_CORETYPE") || getenv(MARK)) return; /* the user's choice, or done */
  const char *fake = getenv("TGMM_TEST_FAKE_CORE");
  const char *now = fake && *fake ? fake : tgmm_blas_core(), *best = tgmm_blas_core_best();
  int lnow = level_of(now);
  if (lnow == 0 || lnow >= level_of(best)) return; /* unknown name, or already the best level */
  char mark[128];
  snprintf(mark, sizeof mark, "%s->%s", now, best);
  if (setenv("OPENBLAS_CORETYPE", best, 1) != 0 || setenv(MARK, mark, 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE"); /* exec failed: go on with the fallback (the note says so) */
  snprintf(mark, sizeof mark, "%s->(re-execution failed)", now);
  setenv(MARK, mark, 1);
}

void tgmm_blas_core_note(void) {
  const char *mark = getenv(MARK);
  if (!mark || tgmm_mpi.rank != 0) return;
  const char *arrow = strstr(mark, "->");
  if (!arrow) return;
  if (strstr(mark, "failed"))
    fprintf(stderr, "tgmm: note: OpenBLAS chose its fallback kernels (%.*s) for this CPU and "
            "tgmm could not re-execute itself; set OPENBLAS_CORETYPE=%s for full speed\n",
            (int)(arrow - mark), mark, tgmm_blas_core_best());
  else
    fprintf(stderr, "tgmm: note: OpenBLAS chose its fallback kernels (%.*s) for this CPU; using "
            "%s instead (OPENBLAS_CORETYPE=%s; set OPENBLAS_CORETYPE yourself to choose)\n",
            (int)(arrow - mark), mark, tgmm_blas_core(), tgmm_blas_core());
}

int tgmm_blas_core_agree(void) {
  char mine[32] = {0}, *all = NULL;
  snprintf(mine, sizeof mine, "%s", tgmm_blas_core());
  if (tgmm_mpi.rank == 0) all = tgmm_calloc((size_t)tgmm_mpi.size, sizeof mine);
  MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, all, (int)sizeof mine, MPI_CHAR, 0, tgmm_mpi.comm);
  int rc = TGMM_OK;
  for (int r = 1; tgmm_mpi.rank == 0 && all && r < tgmm_mpi.size && rc == TGMM_OK; r++)
    if (strcmp(all, all + (size_t)r * sizeof mine) != 0) {
      tgmm_error0("train.deterministic needs the same OpenBLAS kernels on every rank, but rank 0 "
                  "runs %s and rank %d runs %s: set OPENBLAS_CORETYPE to one value for all ranks",
                  all, r, all + (size_t)r * sizeof mine);
      rc = TGMM_EUSER;
    }
  free(all);
  MPI_Bcast(&rc, 1, MPI_INT, 0, tgmm_mpi.comm);
  return rc;
}
