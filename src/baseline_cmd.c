/* baseline_cmd.c — `tgmm em`, `tgmm lloyd`, `tgmm spectral`: the baselines on a dataset file.
 *
 * distribute=tasks: rank r fits the tasks of its contiguous share of the samples (task
 * boundaries at S*r/size), each task alone (MPI_COMM_SELF). distribute=samples: every task is
 * fitted by all ranks together, each holding a contiguous hyperslab of the task's rows of /x;
 * EM/Lloyd reduce their statistics and the spectral method its moments over all ranks.
 * Output (one row per task, written collectively into "<out>.tmp", renamed on success):
 * /weights [T,Kmax], /means [T,Kmax,d], /scales [T,Kmax,d] (EM with spherical/diag/full),
 * /loglik, /iterations, /seconds, /status ("ok", "not_applicable", "failed") [T], and with the
 * truth in the input: /l2_means, /l2_weights, /accuracy, /misclustering [T]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/em.h"
#include "tgmm/h5io.h"
#include "tgmm/metrics.h"
#include "tgmm/spectral.h"

typedef enum { M_EM, M_LLOYD, M_SPECTRAL } method_t;
static const char *method_name[] = {"em", "lloyd", "spectral"};
enum { ST_OK, ST_NA, ST_FAILED };
static const char *status_name[] = {"ok", "not_applicable", "failed"};

/* Results of this rank's rows of the output. */
typedef struct {
  int64_t t0, nt; /* first task, number of tasks this rank writes */
  int Kmax, d;
  double *weights, *means, *scales; /* [nt, Kmax(, d)] */
  double *loglik, *seconds, *l2m, *l2w, *acc, *mis; /* [nt] */
  int32_t *iters;
  const char **status;
} results;

static void results_free(results *r) {
  free(r->weights), free(r->means), free(r->scales), free(r->loglik), free(r->seconds);
  free(r->l2m), free(r->l2w), free(r->acc), free(r->mis), free(r->iters), free((void *)r->status);
}

static int results_alloc(results *r, int64_t t0, int64_t nt, int Kmax, int d) {
  memset(r, 0, sizeof *r);
  r->t0 = t0, r->nt = nt, r->Kmax = Kmax, r->d = d;
  size_t n = (size_t)(nt > 0 ? nt : 1), kd = (size_t)Kmax * d;
  r->weights = tgmm_calloc(n * Kmax, sizeof(double));
  r->means = tgmm_calloc(n * kd, sizeof(double));
  r->scales = tgmm_calloc(n * kd, sizeof(double));
  double **v[] = {&r->loglik, &r->seconds, &r->l2m, &r->l2w, &r->acc, &r->mis};
  int ok = r->weights && r->means && r->scales;
  for (int i = 0; i < 6; i++) ok = (*v[i] = tgmm_calloc(n, sizeof(double))) && ok;
  r->iters = tgmm_calloc(n, sizeof(int32_t));
  r->status = tgmm_calloc(n, sizeof(char *));
  return ok && r->iters && r->status ? TGMM_OK : TGMM_ENOMEM;
}

/* One task's data as this rank sees it. */
typedef struct {
  int64_t id, row0; /* task id; global index (within the task) of this rank's first row */
  int64_t n;        /* local rows */
  int K, d;
  double *x;    /* [n, d] */
  int32_t *z;   /* [n] or NULL */
  double *tw, *tm, *ts; /* truth [K], [K,d], [K,d] or NULL */
} local_task;

static void lt_free(local_task *t) {
  free(t->x), free(t->z), free(t->tw), free(t->tm), free(t->ts);
  memset(t, 0, sizeof *t);
}

static int read_truth_row(const tgmm_dataset *ds, const char *name, int64_t t, size_t len,
                          double **out) {
  double *buf = tgmm_malloc(sizeof(double) * len);
  if (!buf) return TGMM_ENOMEM;
  int rc = tgmm_h5_read_rows(ds->file, ds->path, name, H5T_NATIVE_DOUBLE, (hsize_t)t, 1, buf);
  if (rc != TGMM_OK) {
    free(buf);
    return rc;
  }
  *out = buf;
  return TGMM_OK;
}

/* Read rows [lo, hi) (fractions r/size of the task) of task t plus its truth. */
static int lt_read(const tgmm_dataset *ds, int64_t t, int part, int nparts, local_task *lt) {
  memset(lt, 0, sizeof *lt);
  int64_t N = ds->offsets[t + 1] - ds->offsets[t];
  lt->id = t, lt->K = ds->K[t], lt->d = ds->d;
  lt->row0 = N * part / nparts;
  lt->n = N * (part + 1) / nparts - lt->row0;
  size_t n = (size_t)(lt->n > 0 ? lt->n : 1), d = (size_t)ds->d, Km = (size_t)ds->Kmax;
  lt->x = tgmm_malloc(sizeof(double) * n * d);
  if (!lt->x) return TGMM_ENOMEM;
  if (ds->has_z && !(lt->z = tgmm_malloc(sizeof(int32_t) * n))) return TGMM_ENOMEM;
  if (lt->n > 0)
    TGMM_TRY(tgmm_dataset_read_samples(ds, ds->offsets[t] + lt->row0, lt->n, lt->x, lt->z));
  if (ds->has_weights) TGMM_TRY(read_truth_row(ds, "/weights", t, Km, &lt->tw));
  if (ds->has_means) TGMM_TRY(read_truth_row(ds, "/means", t, Km * d, &lt->tm));
  if (ds->has_scales) TGMM_TRY(read_truth_row(ds, "/scales", t, Km * d, &lt->ts));
  return TGMM_OK;
}

/* Covariance of the truth start from the true scales (standard deviations). */
static void truth_cov(const local_task *lt, tgmm_gmm *g) {
  int K = g->K, d = g->d;
  for (int k = 0; k < K; k++)
    for (int j = 0; j < d; j++) {
      double s = lt->ts ? lt->ts[(size_t)k * d + j] : 1.0, v = s * s;
      if (g->type == COV_SPHERICAL) g->cov[k] = (j ? g->cov[k] : 0) + v / d;
      if (g->type == COV_DIAG) g->cov[(size_t)k * d + j] = v;
      if (g->type == COV_FULL) g->cov[((size_t)k * d + j) * d + j] = v;
    }
}

/* EM with restarts; the best final log-likelihood is kept in *best. */
static int run_em(const tgmm_config *cfg, const local_task *lt, MPI_Comm comm, tgmm_gmm *best,
                  tgmm_em_result *bres, int *status) {
  tgmm_em_opts o = {cfg->em.covariance, cfg->em.max_iter, cfg->em.tol, cfg->em.reg_covar};
  tgmm_gmm g;
  TGMM_TRY(tgmm_gmm_alloc(&g, lt->K, lt->d, o.covariance));
  int restarts = cfg->em.init == INIT_TRUTH ? 1 : cfg->em.restarts, rc = TGMM_OK;
  double *m0 = tgmm_malloc(sizeof(double) * (size_t)lt->K * lt->d);
  if (!m0) rc = TGMM_ENOMEM;
  *status = ST_FAILED;
  bres->loglik = -INFINITY;
  for (int r = 0; r < restarts && rc == TGMM_OK; r++) {
    if (cfg->em.init == INIT_RANDOM) {
      tgmm_init_random(&g, (uint32_t)cfg->seed, lt->id, r);
    } else if (cfg->em.init == INIT_KMEANSPP) {
      rc = tgmm_kmeanspp(lt->x, lt->n, lt->row0, lt->d, lt->K, comm, (uint32_t)cfg->seed, lt->id,
                         r, m0);
      if (rc == TGMM_OK) rc = tgmm_init_from_means(lt->x, lt->n, comm, &o, m0, &g);
      if (rc == TGMM_ENUM) { /* degenerate start: this restart fails */
        rc = TGMM_OK;
        continue;
      }
    } else {
      memcpy(g.weights, lt->tw, sizeof(double) * lt->K);
      memcpy(g.means, lt->tm, sizeof(double) * (size_t)lt->K * lt->d);
      if (g.cov) {
        tgmm_gmm_unit_cov(&g);
        truth_cov(lt, &g);
      }
    }
    if (rc != TGMM_OK) break;
    tgmm_em_result res;
    int frc = tgmm_em_fit(lt->x, lt->n, comm, &o, &g, &res);
    if (frc == TGMM_ENUM) continue;
    if (frc != TGMM_OK) {
      rc = frc;
      break;
    }
    if (*status == ST_FAILED || res.loglik > bres->loglik) {
      *status = ST_OK;
      *bres = res;
      tgmm_gmm_copy(best, &g);
    }
  }
  free(m0);
  tgmm_gmm_free(&g);
  return rc;
}

static int run_lloyd(const tgmm_config *cfg, const local_task *lt, MPI_Comm comm, tgmm_gmm *g,
                     tgmm_em_result *res, int *status) {
  if (cfg->lloyd.init == INIT_RANDOM)
    tgmm_init_random(g, (uint32_t)cfg->seed, lt->id, 0);
  else if (cfg->lloyd.init == INIT_KMEANSPP)
    TGMM_TRY(tgmm_kmeanspp(lt->x, lt->n, lt->row0, lt->d, lt->K, comm, (uint32_t)cfg->seed,
                           lt->id, 0, g->means));
  else
    memcpy(g->means, lt->tm, sizeof(double) * (size_t)lt->K * lt->d);
  tgmm_lloyd_result lr;
  TGMM_TRY(tgmm_lloyd_fit(lt->x, lt->n, lt->d, lt->K, comm, cfg->lloyd.max_iter, g->means,
                          g->weights, &lr));
  res->iterations = lr.iterations;
  /* log-likelihood of the identity-covariance mixture (weights = cluster shares) */
  int empty = 0;
  for (int k = 0; k < g->K; k++) empty |= !(g->weights[k] > 0);
  res->loglik = empty ? -INFINITY : tgmm_gmm_loglik(lt->x, lt->n, comm, g);
  *status = ST_OK;
  return TGMM_OK;
}

static int run_spectral(const tgmm_config *cfg, const local_task *lt, MPI_Comm comm, int nranks,
                        tgmm_gmm *g, tgmm_em_result *res, int *status) {
  tgmm_spectral_opts o = {cfg->spectral.restarts, cfg->spectral.iters, TGMM_EIGH_LAPACK};
  if (cfg->spectral.eigensolver == EIG_SCALAPACK ||
      (cfg->spectral.eigensolver == EIG_AUTO && nranks > 1 && lt->d >= cfg->spectral.scalapack_min_d))
    o.solver = TGMM_EIGH_SCALAPACK;
  double *starts = tgmm_malloc(sizeof(double) * (size_t)lt->K * o.restarts * lt->K);
  if (!starts) return TGMM_ENOMEM;
  tgmm_spectral_starts((uint32_t)cfg->seed, lt->id, lt->K, o.restarts, starts);
  tgmm_spectral_status st;
  double s2 = 1;
  int rc = tgmm_spectral_fit(lt->x, lt->n, lt->d, lt->K, comm, &o, starts, g->weights, g->means,
                             &s2, &st);
  free(starts);
  TGMM_TRY(rc);
  *status = st == TGMM_SPECTRAL_OK ? ST_OK : st == TGMM_SPECTRAL_NA ? ST_NA : ST_FAILED;
  if (*status == ST_OK) { /* the fitted model: common variance sigma^2 */
    for (int k = 0; k < g->K; k++) g->cov[k] = s2 > 0 ? s2 : 1;
    res->loglik = tgmm_gmm_loglik(lt->x, lt->n, comm, g);
  }
  return TGMM_OK;
}

/* Truth metrics into met[4] = l2_means, l2_weights, accuracy, misclustering (NaN when the truth
 * is absent): alignment by means, then l2 errors; accuracy and misclustering from the confusion
 * matrix of true vs predicted labels, reduced over comm. */
static int task_metrics(const local_task *lt, const tgmm_gmm *g, MPI_Comm comm, double met[4]) {
  int K = lt->K, d = lt->d;
  met[0] = met[1] = met[2] = met[3] = NAN;
  if (!lt->tm) return TGMM_OK;
  int *perm = tgmm_malloc(sizeof(int) * (size_t)K), *as = tgmm_malloc(sizeof(int) * (size_t)K);
  int32_t *lab = tgmm_malloc(sizeof(int32_t) * (size_t)(lt->n > 0 ? lt->n : 1));
  double *conf = tgmm_calloc((size_t)K * K + 1, sizeof(double));
  double *cost = tgmm_malloc(sizeof(double) * (size_t)K * K);
  int rc = perm && as && lab && conf && cost ? TGMM_OK : TGMM_ENOMEM;
  if (rc == TGMM_OK) {
    tgmm_align(g->means, lt->tm, K, d, perm);
    met[0] = tgmm_l2_means(g->means, lt->tm, perm, K, d);
    if (lt->tw) met[1] = tgmm_l2_weights(g->weights, lt->tw, perm, K);
  }
  if (rc == TGMM_OK && lt->z) {
    rc = tgmm_gmm_labels(lt->x, lt->n, g, lab);
    for (int64_t j = 0; rc == TGMM_OK && j < lt->n; j++)
      if (lt->z[j] >= 0 && lt->z[j] < K) conf[(size_t)lt->z[j] * K + lab[j]] += 1;
    conf[(size_t)K * K] = (double)lt->n;
    MPI_Allreduce(MPI_IN_PLACE, conf, K * K + 1, MPI_DOUBLE, MPI_SUM, comm);
    double N = conf[(size_t)K * K], hit = 0;
    for (int k = 0; k < K; k++) hit += conf[(size_t)k * K + perm[k]];
    for (int a = 0; a < K * K; a++) cost[a] = -conf[a];
    double best = -tgmm_hungarian(cost, K, as);
    met[2] = N > 0 ? hit / N : NAN;
    met[3] = N > 0 ? 1 - best / N : NAN;
  }
  free(perm), free(as), free(lab), free(conf), free(cost);
  return rc;
}

/* Fit task t (on comm) and, if `store`, fill row i of R. */
static int fit_task(method_t m, const tgmm_config *cfg, const tgmm_dataset *ds, int64_t t,
                    MPI_Comm comm, int store, results *R, int64_t i) {
  int part, nparts;
  MPI_Comm_rank(comm, &part);
  MPI_Comm_size(comm, &nparts);
  double t_start = tgmm_now();
  local_task lt;
  int rc = lt_read(ds, t, part, nparts, &lt);
  rc = comm == MPI_COMM_SELF ? rc : tgmm_agree(rc);
  if (rc != TGMM_OK) {
    lt_free(&lt);
    return rc;
  }
  tgmm_covariance type = m == M_EM ? cfg->em.covariance : m == M_SPECTRAL ? COV_SPHERICAL : COV_IDENTITY;
  tgmm_gmm g;
  rc = tgmm_gmm_alloc(&g, lt.K, lt.d, type);
  tgmm_em_result res = {0, 0, NAN};
  int status = ST_FAILED;
  if (rc == TGMM_OK) {
    if (m == M_EM) rc = run_em(cfg, &lt, comm, &g, &res, &status);
    if (m == M_LLOYD) rc = run_lloyd(cfg, &lt, comm, &g, &res, &status);
    if (m == M_SPECTRAL) rc = run_spectral(cfg, &lt, comm, nparts, &g, &res, &status);
  }
  double met[4] = {NAN, NAN, NAN, NAN};
  if (rc == TGMM_OK && status == ST_OK) rc = task_metrics(&lt, &g, comm, met);
  if (rc == TGMM_OK && store) {
    int Km = R->Kmax, d = R->d, K = lt.K;
    R->status[i] = status_name[status];
    R->iters[i] = res.iterations;
    R->loglik[i] = status == ST_OK ? res.loglik : NAN;
    double *w = R->weights + (size_t)i * Km, *mu = R->means + (size_t)i * Km * d;
    double *sc = R->scales + (size_t)i * Km * d;
    if (status == ST_OK) {
      memcpy(w, g.weights, sizeof(double) * K);
      memcpy(mu, g.means, sizeof(double) * (size_t)K * d);
      tgmm_gmm_scales(&g, sc);
    } else {
      for (size_t a = 0; a < (size_t)K; a++) w[a] = NAN;
      for (size_t a = 0; a < (size_t)K * d; a++) mu[a] = sc[a] = NAN;
    }
    R->l2m[i] = met[0], R->l2w[i] = met[1], R->acc[i] = met[2], R->mis[i] = met[3];
    R->seconds[i] = tgmm_now() - t_start;
  }
  if (g.weights) tgmm_gmm_free(&g);
  lt_free(&lt);
  return rc;
}

static int write_results(hid_t f, method_t m, const tgmm_config *cfg, const tgmm_dataset *ds,
                         const results *R) {
  hsize_t T = (hsize_t)ds->T, Km = (hsize_t)R->Kmax, d = (hsize_t)R->d;
  hsize_t r0 = (hsize_t)R->t0, nr = (hsize_t)R->nt;
  hsize_t d1[1] = {T}, d2[2] = {T, Km}, d3[3] = {T, Km, d};
  TGMM_TRY(tgmm_h5_write_rows(f, "/weights", H5T_NATIVE_DOUBLE, 2, d2, r0, nr, R->weights));
  TGMM_TRY(tgmm_h5_write_rows(f, "/means", H5T_NATIVE_DOUBLE, 3, d3, r0, nr, R->means));
  if (m == M_EM && cfg->em.covariance != COV_IDENTITY)
    TGMM_TRY(tgmm_h5_write_rows(f, "/scales", H5T_NATIVE_DOUBLE, 3, d3, r0, nr, R->scales));
  TGMM_TRY(tgmm_h5_write_rows(f, "/loglik", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->loglik));
  TGMM_TRY(tgmm_h5_write_rows(f, "/iterations", H5T_NATIVE_INT32, 1, d1, r0, nr, R->iters));
  TGMM_TRY(tgmm_h5_write_rows(f, "/seconds", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->seconds));
  TGMM_TRY(tgmm_h5_write_strings(f, "/status", T, 16, r0, nr, R->status));
  if (ds->has_means) {
    TGMM_TRY(tgmm_h5_write_rows(f, "/l2_means", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->l2m));
    if (ds->has_weights)
      TGMM_TRY(tgmm_h5_write_rows(f, "/l2_weights", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->l2w));
    if (ds->has_z) {
      TGMM_TRY(tgmm_h5_write_rows(f, "/accuracy", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->acc));
      TGMM_TRY(tgmm_h5_write_rows(f, "/misclustering", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->mis));
    }
  }
  TGMM_TRY(tgmm_h5_write_meta(f, cfg, tgmm_mpi.size));
  hid_t root = f;
  TGMM_TRY(tgmm_h5_attr_str(root, "method", method_name[m]));
  TGMM_TRY(tgmm_h5_attr_str(root, "data", ds->path));
  return TGMM_OK;
}

/* Checks that need the dataset: the truth start needs /means and /weights. */
static int validate(method_t m, const tgmm_config *cfg, const tgmm_dataset *ds) {
  int truth = (m == M_EM && cfg->em.init == INIT_TRUTH) || (m == M_LLOYD && cfg->lloyd.init == INIT_TRUTH);
  if (truth && (!ds->has_means || (m == M_EM && !ds->has_weights))) {
    tgmm_error0("%s: %s.init=truth needs the true parameters, but dataset %s is missing", ds->path,
                method_name[m], !ds->has_means ? "/means" : "/weights");
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

static int run(method_t m, const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->data || !cli->out) {
    tgmm_error0("tgmm %s needs --data FILE.h5 and --out OUT.h5", method_name[m]);
    return TGMM_EUSER;
  }
  tgmm_dataset ds;
  int rc = tgmm_agree(tgmm_dataset_open(&ds, cli->data, tgmm_mpi.comm, tgmm_config_Kmax(cfg)));
  if (rc != TGMM_OK) return rc;
  rc = tgmm_agree(validate(m, cfg, &ds));
  int samples = cfg->distribute == DIST_SAMPLES;
  int64_t t0 = 0, t1 = ds.T;
  if (!samples) { /* contiguous share of the samples, cut at task boundaries */
    int64_t lo = ds.S * tgmm_mpi.rank / tgmm_mpi.size, hi = ds.S * (tgmm_mpi.rank + 1) / tgmm_mpi.size;
    while (t0 < ds.T && ds.offsets[t0] < lo) t0++;
    t1 = t0;
    while (t1 < ds.T && ds.offsets[t1] < hi) t1++;
    if (tgmm_mpi.rank == tgmm_mpi.size - 1) t1 = ds.T;
  }
  int writer = !samples || tgmm_mpi.rank == 0;
  results R;
  memset(&R, 0, sizeof R);
  if (rc == TGMM_OK)
    rc = tgmm_agree(results_alloc(&R, writer ? t0 : 0, writer ? t1 - t0 : 0, ds.Kmax, ds.d));
  tgmm_info("%s: %lld tasks, d = %d, distribute = %s over %d rank(s)", method_name[m],
            (long long)ds.T, ds.d, samples ? "samples" : "tasks", tgmm_mpi.size);
  double t_start = tgmm_now(), t_last = t_start;
  for (int64_t t = t0; rc == TGMM_OK && t < t1; t++) {
    rc = fit_task(m, cfg, &ds, t, samples ? tgmm_mpi.comm : MPI_COMM_SELF, writer, &R, t - t0);
    if (tgmm_now() - t_last > 5.0) {
      t_last = tgmm_now();
      double done = (double)(t + 1 - t0) / (double)(t1 - t0);
      tgmm_info("%s: %.0f%% of rank 0's tasks, %.0f s elapsed, ETA %.0f s", method_name[m],
                100 * done, t_last - t_start, (t_last - t_start) * (1 - done) / done);
    }
  }
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK) {
    tgmm_h5out out;
    rc = tgmm_agree(tgmm_h5_create(&out, cli->out, tgmm_mpi.comm));
    if (rc == TGMM_OK) {
      rc = tgmm_agree(write_results(out.file, m, cfg, &ds, &R));
      if (rc == TGMM_OK)
        rc = tgmm_agree(tgmm_h5_commit(&out));
      else
        tgmm_h5_abort(&out);
    }
  }
  if (rc == TGMM_OK)
    tgmm_info("%s: wrote %lld rows to %s in %.2f s", method_name[m], (long long)ds.T, cli->out,
              tgmm_now() - t_start);
  results_free(&R);
  tgmm_dataset_close(&ds);
  return rc;
}

int tgmm_cmd_em(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_EM, cli, cfg); }
int tgmm_cmd_lloyd(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_LLOYD, cli, cfg); }
int tgmm_cmd_spectral(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_SPECTRAL, cli, cfg); }
