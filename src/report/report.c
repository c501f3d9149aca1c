/* report.c — what a report says about a results summary in words: the verdict (where TGMM
 * beats EM), the titles of the metrics, and the grid keys of its settings (parsed from their
 * labels) that the tables and plots arrange it by. Rank 0 only. */
#define _GNU_SOURCE
#include "tgmm/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"

const char *tgmm_report_metric_title(int c) {
  static const char *const T[TGMM_REPORT_NMETRIC] = {
      "l2 error of means", "l2 error of weights", "clustering accuracy",
      "misclustering rate",  "mean log-likelihood", "seconds per task", "l2 error of scales"};
  return c >= 0 && c < TGMM_REPORT_NMETRIC ? T[c] : "?";
}

int tgmm_report_keys_parse(const tgmm_report *r, tgmm_report_keys *k) {
  memset(k, 0, sizeof *k);
  k->val = tgmm_calloc((size_t)(r->ns ? r->ns : 1), sizeof *k->val);
  if (!k->val) return TGMM_ENOMEM;
  for (int s = 0; s < r->ns; s++) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", r->label[s]);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
      char *eq = strchr(tok, '=');
      if (!eq || n == TGMM_REPORT_MAXKEY) goto unparsed;
      *eq = '\0';
      if (s == 0) snprintf(k->key[n], sizeof k->key[n], "%s", tok);
      else if (n >= k->nkey || strcmp(k->key[n], tok)) goto unparsed;
      tgmm_report_bare_value(eq + 1, k->val[s][n], sizeof k->val[s][n]);
      n++;
    }
    if (s == 0) k->nkey = n;
    else if (n != k->nkey) goto unparsed;
  }
  return TGMM_OK;
unparsed: /* labels without a common key=value structure: the settings are categories */
  k->nkey = 0;
  return TGMM_OK;
}

void tgmm_report_keys_free(tgmm_report_keys *k) {
  free(k->val);
  memset(k, 0, sizeof *k);
}

/* The verdict of one paired comparison: 1 TGMM lower (better: the verdict metrics are errors),
 * -1 the method lower, 0 no significant difference (p >= 0.05) or no pairs. */
static int verdict_sign(const tgmm_report_pair *p) {
  if (p->n < 1 || !(p->p < 0.05)) return 0;
  return p->r_minus > p->r_plus ? 1 : p->r_plus > p->r_minus ? -1 : 0;
}

/* "TGMM beats EM (TGMM - EM = -0.012 [-0.031, 0.006], p = 0.035; lower on 27 of 64 tasks,
 * higher on 28)" */
static void verdict_phrase(FILE *f, const tgmm_report_pair *p, const char *name) {
  int v = verdict_sign(p);
  if (v > 0) fprintf(f, "TGMM beats %s", name);
  else if (v < 0) fprintf(f, "%s beats TGMM", name);
  else fprintf(f, "no significant difference from %s", name);
  fprintf(f, " (TGMM - %s = %.3g [%.3g, %.3g], p = %.3g; TGMM lower on %d of %d tasks, higher on %d)",
          name, p->mean, p->lo, p->hi, p->p, p->lower, p->n, p->higher);
}

int tgmm_report_verdict_metric(const tgmm_report *r) {
  for (int j = 0; j < r->nm; j++)
    if (!strcmp(r->method[j], "tgmm"))
      for (int s = 0; s < r->ns; s++)
        if (tgmm_report_at(r, s, j)->n_ok[0]) return 0;
  int any = 0;
  for (int j = 0; j < r->nm; j++) any |= !strcmp(r->method[j], "tgmm");
  return any ? 3 : 0;
}

void tgmm_report_verdict(const tgmm_report *r, FILE *f) {
  int t = -1, e = -1, sp = -1, o = -1, e1 = -1, emax = 0; /* em, or em@c of the largest c */
  for (int j = 0; j < r->nm; j++) {
    if (!strcmp(r->method[j], "tgmm")) t = j;
    if (!strcmp(r->method[j], "em")) e = j;
    if (!strcmp(r->method[j], "spectral")) sp = j;
    if (!strcmp(r->method[j], "oracle")) o = j;
    int it = !strncmp(r->method[j], "em@", 3) ? atoi(r->method[j] + 3) : 0;
    if (it > emax) emax = it, e1 = j;
  }
  char ename[24] = "EM";
  if (e < 0 && e1 >= 0) e = e1, snprintf(ename, sizeof ename, "EM@%d", emax);
  if (t < 0 || e < 0) return;
  int c = tgmm_report_verdict_metric(r);
  fprintf(f, "\nWhere TGMM beats %s (%s, paired over the tasks of each setting: the mean of TGMM - "
          "%s per task with its 95%% interval, and the two-sided Wilcoxon signed-rank p; a verdict "
          "needs p < 0.05):\n\n", ename, c ? "misclustering rate" : "l2 error of means", ename);
  int count[2][3] = {{0}}, unpaired = 0; /* [EM, spectral][TGMM beats, no difference, X beats] */
  for (int s = 0; s < r->ns; s++) {
    const tgmm_report_cell *ce = tgmm_report_at(r, s, e);
    fprintf(f, "- %s: ", r->label[s]);
    if (ce->vs_tgmm[c].n < 1) {
      unpaired++;
      fprintf(f, "no paired tasks (means only: TGMM %.3g, %s %.3g; no verdict)",
              tgmm_report_at(r, s, t)->mean[c], ename, ce->mean[c]);
    } else {
      verdict_phrase(f, &ce->vs_tgmm[c], ename);
      count[0][1 - verdict_sign(&ce->vs_tgmm[c])]++;
    }
    if (sp >= 0 && tgmm_report_at(r, s, sp)->vs_tgmm[c].n > 0) {
      const tgmm_report_pair *q = &tgmm_report_at(r, s, sp)->vs_tgmm[c];
      int v = verdict_sign(q);
      count[1][1 - v]++;
      fprintf(f, "; %s (p = %.3g)", v > 0 ? "beats spectral" : v < 0 ? "spectral beats TGMM"
                                                               : "no significant difference from spectral", q->p);
    }
    if (o >= 0) fprintf(f, "; oracle (statistical floor) %.3g", tgmm_report_at(r, s, o)->mean[c]);
    fprintf(f, "\n");
  }
  fprintf(f, "\nTGMM beats %s in %d of %d settings (Wilcoxon p < 0.05); %s beats TGMM in %d; no "
          "significant difference in %d", ename, count[0][0], r->ns, ename, count[0][2], count[0][1]);
  if (unpaired) fprintf(f, "; %d without paired tasks", unpaired);
  fprintf(f, ".\n");
  if (sp >= 0 && count[1][0] + count[1][1] + count[1][2])
    fprintf(f, "TGMM beats spectral in %d of %d settings; spectral beats TGMM in %d; no significant "
            "difference in %d.\n", count[1][0], r->ns, count[1][2], count[1][1]);
  fflush(f);
}

int tgmm_report_no_values(const tgmm_report *r, int j, int c, char *why, size_t n) {
  int other = 0, labels = 0;
  for (int s = 0; s < r->ns; s++) {
    const tgmm_report_cell *cl = tgmm_report_at(r, s, j);
    if (cl->n_ok[c] && isfinite(cl->mean[c])) return 0;
    other += cl->n_other[c];
    labels |= cl->n_ok[3] > 0;
  }
  if (!strncmp(r->method[j], "tgmm", 4) && labels && (c == 0 || c == 1 || c == 4 || c == 6))
    snprintf(why, n, "label head");
  else if (c == 6) snprintf(why, n, "no scales estimated");
  else if (other) snprintf(why, n, "%d not ok", other);
  else snprintf(why, n, "not evaluated");
  return 1;
}

void tgmm_report_no_values_md(const tgmm_report *r, const int *metrics, int nmetric, FILE *f) {
  int any = 0;
  for (int q = 0; q < nmetric; q++)
    for (int j = 0; j < r->nm; j++) {
      char why[64];
      if (!tgmm_report_no_values(r, j, metrics[q], why, sizeof why)) continue;
      if (!any++) fprintf(f, "\nMethods without values (n/a in the tables; named in the plots' keys, "
                             "no line drawn):\n\n");
      fprintf(f, "- %s: no %s (%s%s)\n", r->method[j], tgmm_report_metric_name[metrics[q]], why,
              strcmp(why, "label head") ? "" : ": the model predicts each sample's label, not the "
                                               "mixture's means, weights or scales");
    }
}

void tgmm_report_key_short(const char *key, const char *const *keys, int nkey, char *out, size_t n) {
  const char *dot = strrchr(key, '.'), *leaf = dot ? dot + 1 : key;
  int clash = 0;
  for (int g = 0; g < nkey && dot; g++) {
    if (!strcmp(keys[g], key)) continue;
    const char *d = strrchr(keys[g], '.');
    clash |= !strcmp(d ? d + 1 : keys[g], leaf);
  }
  snprintf(out, n, "%s", clash ? key : leaf);
}
