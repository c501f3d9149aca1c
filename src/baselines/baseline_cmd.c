/* baseline_cmd.c — `tgmm em`, `tgmm lloyd`, `tgmm spectral`: the baselines on a dataset file.
 *
 * distribute=tasks: rank r fits the tasks of its contiguous share of the samples (task
 * boundaries at S*r/size), each task alone (MPI_COMM_SELF). distribute=samples: every task is
 * fitted by all ranks together, each holding a contiguous hyperslab of the task's rows of /x;
 * EM/Lloyd reduce their statistics and the spectral method its moments over all ranks.
 * Output (one row per task, written collectively into "<out>.tmp", renamed on success):
 * /weights [T,Kmax], /means [T,Kmax,d], /scales [T,Kmax,d] (EM with spherical/diag/full),
 * /loglik, /iterations, /seconds, /status ("ok", "not_applicable", "failed"), /K (int32: the
 * task's component count), /task (int64: its index in the dataset file) [T], and with the
 * truth in the input: /l2_means, /l2_weights, /accuracy, /misclustering [T]; with
 * em.save_labels (tgmm em, distribute=tasks) per sample, in the rows of the input's /x: /labels
 * int32 [S] (the most responsible component; -1 for a task not ok) and /resp [S, Kmax]
 * (responsibilities, 0 beyond the task's K). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/baseline.h"
#include "tgmm/commands.h"
#include "tgmm/common.h"
#include "tgmm/dataset.h"
#include "tgmm/em.h"
#include "tgmm/h5io.h"

typedef enum { M_EM, M_LLOYD, M_SPECTRAL } method_t;
static const char *method_name[] = {"em", "lloyd", "spectral"};

/* Results of this rank's rows of the output. */
typedef struct {
  int64_t t0, nt; /* first task, number of tasks this rank writes */
  int Kmax, d;
  double *weights, *means, *scales; /* [nt, Kmax(, d)] */
  double *loglik, *seconds, *l2m, *l2w, *acc, *mis; /* [nt] */
  int32_t *iters;
  const char **status;
  int64_t s0, ns;   /* em.save_labels: first sample row, rows (of the tasks this rank writes) */
  int32_t *labels;  /* [ns] or NULL */
  double *resp;     /* [ns, Kmax] or NULL */
} results;

static void results_free(results *r) {
  free(r->weights), free(r->means), free(r->scales), free(r->loglik), free(r->seconds);
  free(r->l2m), free(r->l2w), free(r->acc), free(r->mis), free(r->iters), free((void *)r->status);
  free(r->labels), free(r->resp);
}

/* em.save_labels: room for the per-sample labels and responsibilities of rows [s0, s0 + ns). */
static int results_alloc_labels(results *r, int64_t s0, int64_t ns) {
  r->s0 = s0, r->ns = ns;
  size_t n = (size_t)(ns > 0 ? ns : 1);
  r->labels = tgmm_malloc(sizeof(int32_t) * n);
  r->resp = tgmm_malloc(sizeof(double) * n * (size_t)r->Kmax);
  return r->labels && r->resp ? TGMM_OK : TGMM_ENOMEM;
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

/* Task t's rows of the per-sample outputs: the fit's posterior, or -1 / NaN when not ok. */
static int store_labels(const tgmm_dataset *ds, int64_t t, const local_task *lt, const tgmm_gmm *g,
                        int ok, results *R) {
  int64_t off = ds->offsets[t] - R->s0;
  int32_t *lab = R->labels + off;
  double *resp = R->resp + (size_t)off * R->Kmax;
  if (ok) return tgmm_gmm_posterior(lt->x, lt->n, g, lab, resp, R->Kmax);
  for (int64_t i = 0; i < lt->n; i++) lab[i] = -1;
  for (size_t i = 0; i < (size_t)lt->n * R->Kmax; i++) resp[i] = NAN;
  return TGMM_OK;
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

/* Read rows [lo, hi) (fractions r/size of the task) of task t plus its truth. */
static int lt_read(const tgmm_dataset *ds, int64_t t, int part, int nparts, local_task *lt) {
  memset(lt, 0, sizeof *lt);
  int64_t N = ds->offsets[t + 1] - ds->offsets[t];
  lt->id = t, lt->K = ds->K[t], lt->d = ds->d;
  lt->row0 = N * part / nparts;
  lt->n = N * (part + 1) / nparts - lt->row0;
  size_t n = (size_t)(lt->n > 0 ? lt->n : 1), kd = (size_t)lt->K * ds->d;
  lt->x = tgmm_malloc(sizeof(double) * n * (size_t)ds->d);
  if (!lt->x) return TGMM_ENOMEM;
  if (ds->has_z && !(lt->z = tgmm_malloc(sizeof(int32_t) * n))) return TGMM_ENOMEM;
  if (lt->n > 0)
    TGMM_TRY(tgmm_dataset_read_samples(ds, ds->offsets[t] + lt->row0, lt->n, lt->x, lt->z));
  if (ds->has_weights && !(lt->tw = tgmm_malloc(sizeof(double) * (size_t)lt->K)))
    return TGMM_ENOMEM;
  if (ds->has_means && !(lt->tm = tgmm_malloc(sizeof(double) * kd))) return TGMM_ENOMEM;
  if (ds->has_scales && !(lt->ts = tgmm_malloc(sizeof(double) * kd))) return TGMM_ENOMEM;
  return tgmm_dataset_read_truth(ds, t, lt->tw, lt->tm, lt->ts);
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
  static const tgmm_method bm[] = {TGMM_METHOD_EM, TGMM_METHOD_LLOYD, TGMM_METHOD_SPECTRAL};
  tgmm_method meth = m == M_EM && cfg->em.init == TGMM_INIT_TRUTH ? TGMM_METHOD_ORACLE : bm[m];
  tgmm_local_task view = {lt.id, lt.row0, lt.n, lt.K, lt.d, lt.x, lt.z, lt.tw, lt.tm, lt.ts};
  tgmm_gmm g;
  rc = tgmm_gmm_alloc(&g, lt.K, lt.d, tgmm_method_covariance(meth, cfg));
  tgmm_fit_row row = {TGMM_STATUS_FAILED, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  if (rc == TGMM_OK) rc = tgmm_baseline_fit(meth, cfg, &view, comm, &g, &row);
  if (rc == TGMM_OK && store) {
    int Km = R->Kmax, d = R->d, K = lt.K, ok = row.status == TGMM_STATUS_OK;
    R->status[i] = tgmm_status_name[row.status];
    R->iters[i] = row.iterations;
    R->loglik[i] = row.loglik;
    double *w = R->weights + (size_t)i * Km, *mu = R->means + (size_t)i * Km * d;
    double *sc = R->scales + (size_t)i * Km * d;
    if (ok) {
      memcpy(w, g.weights, sizeof(double) * K);
      memcpy(mu, g.means, sizeof(double) * (size_t)K * d);
      tgmm_gmm_scales(&g, sc);
    } else {
      for (size_t a = 0; a < (size_t)K; a++) w[a] = NAN;
      for (size_t a = 0; a < (size_t)K * d; a++) mu[a] = sc[a] = NAN;
    }
    if (R->labels) rc = store_labels(ds, t, &lt, &g, ok, R);
    R->l2m[i] = row.l2_means, R->l2w[i] = row.l2_weights;
    R->acc[i] = row.accuracy, R->mis[i] = row.misclustering;
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
  if (m == M_EM && cfg->em.covariance != TGMM_COV_IDENTITY)
    TGMM_TRY(tgmm_h5_write_rows(f, "/scales", H5T_NATIVE_DOUBLE, 3, d3, r0, nr, R->scales));
  TGMM_TRY(tgmm_h5_write_rows(f, "/loglik", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->loglik));
  TGMM_TRY(tgmm_h5_write_rows(f, "/iterations", H5T_NATIVE_INT32, 1, d1, r0, nr, R->iters));
  TGMM_TRY(tgmm_h5_write_rows(f, "/seconds", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->seconds));
  TGMM_TRY(tgmm_h5_write_strings(f, "/status", T, 16, r0, nr, R->status));
  TGMM_TRY(tgmm_h5_write_rows(f, "/K", H5T_NATIVE_INT32, 1, d1, r0, nr, ds->K + r0));
  int64_t *task = tgmm_malloc(sizeof(int64_t) * (nr ? nr : 1));
  for (hsize_t i = 0; task && i < nr; i++) task[i] = (int64_t)(r0 + i);
  int rc = task ? tgmm_h5_write_rows(f, "/task", H5T_NATIVE_INT64, 1, d1, r0, nr, task) : TGMM_ENOMEM;
  free(task);
  TGMM_TRY(rc);
  if (ds->has_means) {
    TGMM_TRY(tgmm_h5_write_rows(f, "/l2_means", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->l2m));
    if (ds->has_weights)
      TGMM_TRY(tgmm_h5_write_rows(f, "/l2_weights", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->l2w));
    if (ds->has_z) {
      TGMM_TRY(tgmm_h5_write_rows(f, "/accuracy", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->acc));
      TGMM_TRY(tgmm_h5_write_rows(f, "/misclustering", H5T_NATIVE_DOUBLE, 1, d1, r0, nr, R->mis));
    }
  }
  if (R->labels) {
    hsize_t S = (hsize_t)ds->S, ds1[1] = {S}, ds2[2] = {S, Km};
    TGMM_TRY(tgmm_h5_write_rows(f, "/labels", H5T_NATIVE_INT32, 1, ds1, (hsize_t)R->s0,
                                (hsize_t)R->ns, R->labels));
    TGMM_TRY(tgmm_h5_write_rows(f, "/resp", H5T_NATIVE_DOUBLE, 2, ds2, (hsize_t)R->s0,
                                (hsize_t)R->ns, R->resp));
  }
  TGMM_TRY(tgmm_h5_write_meta(f, cfg, tgmm_mpi.size));
  hid_t root = f;
  TGMM_TRY(tgmm_h5_attr_str(root, "method", method_name[m]));
  TGMM_TRY(tgmm_h5_attr_str(root, "data", ds->path));
  return TGMM_OK;
}

/* Checks that need the dataset: the truth start needs /means and /weights. */
static int validate(method_t m, const tgmm_config *cfg, const tgmm_dataset *ds) {
  int truth = (m == M_EM && cfg->em.init == TGMM_INIT_TRUTH) || (m == M_LLOYD && cfg->lloyd.init == TGMM_INIT_TRUTH);
  if (truth && (!ds->has_means || (m == M_EM && !ds->has_weights))) {
    tgmm_error0("%s: %s.init=truth needs the true parameters, but dataset %s is missing", ds->path,
                method_name[m], !ds->has_means ? "/means" : "/weights");
    return TGMM_EUSER;
  }
  if (m == M_EM && cfg->em.save_labels && cfg->distribute == TGMM_DIST_SAMPLES) {
    tgmm_error0("em.save_labels = true needs distribute = tasks (each task's samples on one rank)");
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

/* Rank 0: mean ± sd of the metrics in the written file, and how many rows were not ok. */
static void print_summary(method_t m, const char *path, int64_t T) {
  hid_t f;
  if (tgmm_mpi.rank != 0 || T <= 0 || tgmm_h5_open_read(path, MPI_COMM_SELF, &f) != TGMM_OK) return;
  static const char *const names[] = {"l2_means", "l2_weights", "accuracy", "misclustering", "loglik"};
  double *v = tgmm_malloc(sizeof(double) * (size_t)T);
  char *st = tgmm_malloc(16 * (size_t)T);
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_size(mt, 16);
  if (v && st && tgmm_h5_read(f, path, "/status", mt, 1, (hsize_t[]){(hsize_t)T}, st) == TGMM_OK) {
    int64_t bad = 0;
    for (int64_t t = 0; t < T; t++) bad += strncmp(st + 16 * t, "ok", 16) != 0;
    fprintf(stdout, "%s: %lld tasks, %lld ok, %lld failed or not applicable\n", method_name[m],
            (long long)T, (long long)(T - bad), (long long)bad);
    for (int c = 0; c < 5; c++) {
      char name[32];
      snprintf(name, sizeof name, "/%s", names[c]);
      if (!tgmm_h5_exists(f, name) || tgmm_h5_read(f, path, name, H5T_NATIVE_DOUBLE, 1, (hsize_t[]){(hsize_t)T}, v)) continue;
      double s1 = 0, s2 = 0;
      int64_t n = 0;
      for (int64_t t = 0; t < T; t++)
        if (isfinite(v[t]) && !strncmp(st + 16 * t, "ok", 16)) s1 += v[t], s2 += v[t] * v[t], n++;
      double mean = n ? s1 / n : NAN, sd = n > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / n) / (n - 1))) : NAN;
      if (n > 1)
        fprintf(stdout, "  %-14s %.4g ± %.2g  (mean ± sd over %lld tasks)\n", names[c], mean, sd, (long long)n);
      else if (n == 1)
        fprintf(stdout, "  %-14s %.4g  (1 task)\n", names[c], mean);
    }
    fflush(stdout);
  }
  H5Tclose(mt);
  free(v), free(st);
  H5Fclose(f);
}

static int run(method_t m, const tgmm_cli *cli, const tgmm_config *cfg) {
  if (!cli->data || !cli->out) {
    tgmm_error0("tgmm %s needs --data FILE.h5 and --out OUT.h5", method_name[m]);
    return TGMM_EUSER;
  }
  tgmm_dataset ds;
  int rc = tgmm_agree(tgmm_dataset_open(&ds, cli->data, tgmm_mpi.comm, tgmm_config_single_K(cfg)));
  if (rc != TGMM_OK) return rc;
  rc = tgmm_agree(validate(m, cfg, &ds));
  int samples = cfg->distribute == TGMM_DIST_SAMPLES;
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
  if (rc == TGMM_OK && m == M_EM && cfg->em.save_labels)
    rc = tgmm_agree(results_alloc_labels(&R, ds.offsets[t0], ds.offsets[t1] - ds.offsets[t0]));
  tgmm_info("%s: %lld tasks, d = %d, distribute = %s over %d rank(s)", method_name[m],
            (long long)ds.T, ds.d, samples ? "samples" : "tasks", tgmm_mpi.size);
  double t_start = tgmm_now(), t_last = t_start;
  for (int64_t t = t0; rc == TGMM_OK && t < t1; t++) {
    rc = fit_task(m, cfg, &ds, t, samples ? tgmm_mpi.comm : MPI_COMM_SELF, writer, &R, t - t0);
    tgmm_progress(method_name[m], t_start, &t_last, (double)(t + 1 - t0) / (double)(t1 - t0));
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
  if (rc == TGMM_OK) {
    tgmm_info("%s: wrote %lld rows to %s in %.2f s", method_name[m], (long long)ds.T, cli->out,
              tgmm_now() - t_start);
    print_summary(m, cli->out, ds.T);
  }
  results_free(&R);
  tgmm_dataset_close(&ds);
  return rc;
}

int tgmm_cmd_em(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_EM, cli, cfg); }
int tgmm_cmd_lloyd(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_LLOYD, cli, cfg); }
int tgmm_cmd_spectral(const tgmm_cli *cli, const tgmm_config *cfg) { return run(M_SPECTRAL, cli, cfg); }
