/* blas_core.h — run at the machine's real BLAS speed.
 *
 * A distribution OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPU model; on a CPU
 * it does not know (e.g. Debian 12's 0.3.21 on Sapphire Rapids) it falls back to its oldest
 * kernels (Prescott, SSE3): sgemm runs 4-5x slower. tgmm compares the core OpenBLAS chose with the
 * CPU's features and, when the choice is a fallback and the user has not set OPENBLAS_CORETYPE,
 * sets OPENBLAS_CORETYPE to the best core the features allow (SkylakeX for AVX-512, Haswell for
 * AVX2 + FMA, Sandybridge for AVX) and re-executes itself before MPI_Init, so that it works the
 * same under mpirun, srun or no launcher. A value the user set is never overridden (that is also
 * how to turn this off: e.g. OPENBLAS_CORETYPE=Prescott).
 * The core name is stored in every output file (attribute `openblas_core`). */
#ifndef TGMM_BLAS_CORE_H
#define TGMM_BLAS_CORE_H

/* Call first in main, before MPI_Init: may replace the process (execv of /proc/self/exe with the
 * same arguments). Returns only when no re-execution is needed or possible.
 * Test hook: TGMM_TEST_FAKE_CORE=NAME makes the check believe OpenBLAS chose NAME. */
void tgmm_blas_core_fix(char **argv);

/* The core OpenBLAS runs ("SkylakeX", "Haswell", ...). */
const char *tgmm_blas_core(void);

/* The best core the CPU's features allow ("SkylakeX", "Haswell", "Sandybridge" or "Prescott"). */
const char *tgmm_blas_core_best(void);

/* After MPI_Init: rank 0 says once that the kernels were replaced (and why). */
void tgmm_blas_core_note(void);

/* Collective: TGMM_OK when every rank runs the same core; otherwise a message naming the cores
 * and TGMM_EUSER on every rank (bitwise mode needs the same kernels everywhere). */
int tgmm_blas_core_agree(void);

#endif
