/* report_write.c — the files of a report: PREFIX.md (the per-setting tables and the verdict),
 * PREFIX.csv (every metric, long format), PREFIX.tex (one table per metric) and the plots
 * (report_plot.c), under a staging prefix: report_stage.c moves all of them into place, or
 * removes all (an earlier report under the final prefix is never touched by a failed one).
 * Rank 0 only. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/out.h"
#include "tgmm/report.h"

static void write_csv(const tgmm_report *r, FILE *f) {
  fprintf(f, "setting,label,method,metric,mean,sd,n_ok,n_other,median\n");
  for (int s = 0; s < r->ns; s++)
    for (int j = 0; j < r->nm; j++)
      for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
        const tgmm_report_cell *cl = tgmm_report_at(r, s, j);
        fprintf(f, "%d,\"%s\",%s,%s,%.17g,%.17g,%d,%d,%.17g\n", s, r->label[s], r->method[j],
                tgmm_report_metric_name[c], cl->mean[c], cl->sd[c], cl->n_ok[c], cl->n_other[c],
                cl->median[c]);
      }
}

static void tex_escape(const char *s, FILE *f) {
  for (; *s; s++) {
    if (strchr("_&%$#{}", *s)) fputc('\\', f);
    fputc(*s, f);
  }
}

static void write_tex(const tgmm_report *r, FILE *f) {
  for (int c = 0; c < 4; c++) {
    fprintf(f, "\\begin{table}[ht]\n\\centering\\small\n\\caption{%s per setting: mean $\\pm$ sd over "
               "tasks.}\n\\begin{tabular}{l", tgmm_report_metric_title(c));
    for (int j = 0; j < r->nm; j++) fprintf(f, "r");
    fprintf(f, "}\n\\hline\nsetting");
    for (int j = 0; j < r->nm; j++) fprintf(f, " & %s", r->method[j]);
    fprintf(f, " \\\\\n\\hline\n");
    for (int s = 0; s < r->ns; s++) {
      tex_escape(r->label[s], f);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = tgmm_report_at(r, s, j);
        if (!cl->n_ok[c] || !isfinite(cl->mean[c])) fprintf(f, " & n/a");
        else if (!isfinite(cl->sd[c])) fprintf(f, " & $%.3g$", cl->mean[c]);
        else fprintf(f, " & $%.3g \\pm %.2g$", cl->mean[c], cl->sd[c]);
      }
      fprintf(f, " \\\\\n");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n\\end{table}\n\n");
  }
}

int tgmm_report_write_files(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle,
                             const char *md_head, const char *md_tail, const char *tex_head,
                             const char *tex_tail) {
  static const char *const ext[] = {"md", "csv", "tex"};
  int all[TGMM_REPORT_NMETRIC], nall = 0; /* l2_scales only when some row has it */
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++)
    if (c != 6 || tgmm_report_has_metric(r, c)) all[nall++] = c;
  for (int e = 0; e < 3; e++) {
    char path[4200];
    snprintf(path, sizeof path, "%s.%s", prefix, ext[e]);
    tgmm_out o;
    FILE *f = tgmm_out_text(&o, path); /* <path>.tmp, renamed when complete */
    int rc = f ? TGMM_OK : TGMM_EIO;
    if (f && e == 0) {
      fputs(md_head ? md_head : "", f);
      fprintf(f, "\n## Per setting\n");
      tgmm_report_markdown(r, all, nall, f), tgmm_report_no_values_md(r, all, nall, f);
      tgmm_report_verdict(r, f);
      fputs(md_tail ? md_tail : "", f);
    }
    if (f && e == 1) write_csv(r, f);
    if (f && e == 2) fputs(tex_head ? tex_head : "", f), write_tex(r, f), fputs(tex_tail ? tex_tail : "", f);
    if (f) rc = tgmm_out_commit(&o); /* checks every write (a full disk shows here) */
    if (rc != TGMM_OK) return rc; /* the caller removes what was staged (report_stage.c) */
  }
  return tgmm_report_plot(r, prefix, ci95, subtitle);
}
