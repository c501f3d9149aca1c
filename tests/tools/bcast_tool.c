/* bcast_tool.c — drives tgmm_bcast_bytes for tests/mpi/test_bcast.sh:
 *   bcast_tool BYTES [PIECE]
 * Rank 0 fills BYTES bytes with a pattern, broadcasts them in pieces of PIECE bytes (0: the
 * default, 2^30), and every rank checks every byte; exit 0 when all ranks agree. Also
 * broadcasts a text with tgmm_bcast_text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

static unsigned char pattern(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  tgmm_mpi.comm = MPI_COMM_WORLD;
  MPI_Comm_rank(tgmm_mpi.comm, &tgmm_mpi.rank);
  MPI_Comm_size(tgmm_mpi.comm, &tgmm_mpi.size);
  size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
  size_t piece = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
  unsigned char *buf = malloc(n ? n : 1);
  int bad = !buf;
  if (buf && tgmm_mpi.rank == 0)
    for (size_t i = 0; i < n; i++) buf[i] = pattern(i);
  else if (buf)
    memset(buf, 0, n);
  if (!bad) tgmm_bcast_bytes(buf, n, 0, tgmm_mpi.comm, piece);
  for (size_t i = 0; !bad && i < n; i++) bad = buf[i] != pattern(i);
  free(buf);
  char *text = tgmm_mpi.rank == 0 ? strdup("d: 8\nK: [2, 3]\n") : NULL;
  if (tgmm_bcast_text(&text, 0, tgmm_mpi.comm) != TGMM_OK || !text ||
      strcmp(text, "d: 8\nK: [2, 3]\n") != 0)
    bad = 1;
  free(text);
  int all = 0;
  MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_MAX, tgmm_mpi.comm);
  if (tgmm_mpi.rank == 0) printf("%zu bytes in pieces of %zu: %s\n", n, piece, all ? "DIFFER" : "identical");
  MPI_Finalize();
  return all ? 1 : 0;
}
