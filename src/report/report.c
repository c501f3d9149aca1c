/* report.c — what a report says about a results summary in words: the verdict (where TGMM
 * beats EM), the titles of the metrics, and the grid keys of its settings (parsed from their
 * labels) that the tables and plots arrange it by. Rank 0 only. */
#define _GNU_SOURCE
#include "tgmm/report.h"

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
  int wins = 0, c = 0; /* l2 error of the means; misclustering for a label-head model */
  for (int s = 0; s < r->ns; s++)
    if (tgmm_report_at(r, s, t)->n_ok[0]) c = -1;
  c = c < 0 ? 0 : 3;
  fprintf(f, "\nWhere TGMM beats %s (mean %s over the tasks of each setting):\n\n", ename,
          c ? "misclustering rate" : "l2 error of means");
  for (int s = 0; s < r->ns; s++) {
    double a = tgmm_report_at(r, s, t)->mean[c], b = tgmm_report_at(r, s, e)->mean[c];
    int win = a < b;
    wins += win;
    fprintf(f, "- %s: %s %s %s: TGMM %.3g vs %s %.3g", r->label[s], win ? "TGMM" : ename,
            "beats", win ? ename : "TGMM", a, ename, b);
    if (b > 0) fprintf(f, " (TGMM's error is %.2fx %s's)", a / b, ename);
    if (sp >= 0) fprintf(f, "; spectral %.3g", tgmm_report_at(r, s, sp)->mean[c]);
    if (o >= 0) fprintf(f, "; oracle (statistical floor) %.3g", tgmm_report_at(r, s, o)->mean[c]);
    fprintf(f, "\n");
  }
  fprintf(f, "\nTGMM beats %s in %d of %d settings.\n", ename, wins, r->ns);
  fflush(f);
}
