/* nn_par.c — a small persistent thread pool for the layers (see include/tgmm/nn.h).
 * The caller takes part in every job; items are handed out by an atomic counter. OpenBLAS runs
 * single-threaded inside the items, so there is exactly one busy thread per core and no
 * spinning BLAS threads while the memory-bound passes run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "tgmm/nn.h"

struct nn_par {
  int n;     /* threads including the caller */
  int fixed; /* split into fixed-size blocks (nn_par_create_fixed) */
  pthread_t *tid;
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  unsigned long gen;
  int quit, active;
  void (*fn)(void *, int, int);
  void *arg;
  int nitems, next;
};

static void work(nn_par *p, int tid) {
  for (;;) {
    int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    if (i >= p->nitems) break;
    p->fn(p->arg, i, tid);
  }
}

typedef struct {
  nn_par *p;
  int tid;
} worker_arg;

static void *worker(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  nn_par *p = wa.p;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
    if (p->quit) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    work(p, wa.tid);
    pthread_mutex_lock(&p->mu);
    if (--p->active == 0) pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
}

nn_par *nn_par_create(int nthreads) {
  if (nthreads <= 1) return NULL;
  nn_par *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->tid = calloc((size_t)nthreads, sizeof(pthread_t));
  if (!p->tid) {
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  p->n = 1;
  for (int t = 1; t < nthreads; t++) {
    worker_arg *wa = malloc(sizeof *wa);
    if (!wa) break;
    wa->p = p;
    wa->tid = t;
    if (pthread_create(&p->tid[t], NULL, worker, wa) != 0) {
      free(wa);
      break;
    }
    p->n++;
  }
  return p;
}

nn_par *nn_par_create_fixed(int nthreads) {
  nn_par *p = nthreads > 1 ? nn_par_create(nthreads) : NULL;
  if (!p && nthreads <= 1) {
    p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = 1;
  }
  if (p) p->fixed = 1;
  return p;
}

int nn_par_blocks(const nn_par *p, size_t n, size_t unit) {
  if (!p || !p->fixed) return nn_par_threads(p);
  size_t nb = (n + unit - 1) / unit;
  return nb < 1 ? 1 : (int)nb;
}

void nn_par_free(nn_par *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int t = 1; t < p->n; t++) pthread_join(p->tid[t], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  free(p->tid);
  free(p);
}

int nn_par_threads(const nn_par *p) { return p ? p->n : 1; }

void nn_par_run(nn_par *p, void (*fn)(void *, int, int), void *arg, int n) {
  if (!p || p->n <= 1 || n <= 1) {
    for (int i = 0; i < n; i++) fn(arg, i, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->nitems = n;
  p->next = 0;
  p->active = p->n - 1;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  work(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->active > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
