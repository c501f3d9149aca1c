/* report.h — results files of `tgmm eval` turned into tables (Markdown, CSV, LaTeX) and plots
 * (PNG through gnuplot when it is installed), on the summaries of include/tgmm/results.h.
 * Rank 0 only; no MPI communication. */
#ifndef TGMM_REPORT_H
#define TGMM_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "tgmm/cli.h"
#include "tgmm/results.h"

/* With methods tgmm and em: per setting, whether TGMM's mean l2 error of means is below EM's,
 * with spectral's and the oracle's beside it, in plain words (Markdown list). */
void tgmm_report_verdict(const tgmm_report *r, FILE *f);
/* The metric the verdict compares: 0 (l2 error of means), or 3 (misclustering) when tgmm has
 * no l2 values (a label-head model). */
int tgmm_report_verdict_metric(const tgmm_report *r);

/* Learning curves of a training run (RUN_DIR/metrics.h5): PREFIX.loss.png, PREFIX.heldout.png
 * with their .gp and .dat (PREFIX NULL: RUN_DIR/curves) and the last held-out evaluation
 * against EM and spectral on stdout. */
int tgmm_report_curves(const char *run_dir, const char *prefix);

/* The grid keys of a report's settings, parsed from their labels ("K=[2] N=64"): nkey keys in
 * label order and each setting's values (one-element lists bare: "[2]" -> "2"); nkey = 0 when
 * the labels do not share one key=value structure. val [ns][TGMM_REPORT_MAXKEY]. */
#define TGMM_REPORT_MAXKEY 16
typedef struct {
  int nkey;
  char key[TGMM_REPORT_MAXKEY][64];
  char (*val)[TGMM_REPORT_MAXKEY][64];
} tgmm_report_keys;
int tgmm_report_keys_parse(const tgmm_report *r, tgmm_report_keys *k);
void tgmm_report_keys_free(tgmm_report_keys *k);
/* Whether method j has no value of metric c in any setting: 1 with why it has none in why ("label
 * head", "no scales estimated", "3 not ok", "not evaluated"), 0 when it has a value somewhere. */
int tgmm_report_no_values(const tgmm_report *r, int j, int c, char *why, size_t n);
/* A Markdown list of the (method, metric) of metrics[] without any value and why (nothing when
 * every method has values). */
void tgmm_report_no_values_md(const tgmm_report *r, const int *metrics, int nmetric, FILE *f);
/* A config key as the plots show it: its last part ("model.n_layer" -> "n_layer") unless another
 * of keys[0..nkey-1] ends the same way (then the whole key). */
void tgmm_report_key_short(const char *key, const char *const *keys, int nkey, char *out, size_t n);
/* Plain-words title of metric c ("l2 error of means"). */
const char *tgmm_report_metric_title(int c);
/* Error bar of metric c in a cell: the sd over tasks, or (ci95) the half-width of the 95%
 * interval of the mean (Student's t); 0 with fewer than 2 tasks. */
double tgmm_report_errbar(const tgmm_report_cell *cl, int c, int ci95);

/* PREFIX.<metric>.png for l2_means, l2_weights, accuracy, misclustering, each with its gnuplot
 * script PREFIX.<metric>.gp and data PREFIX.<metric>.dat (kept). x: the grid key with the most
 * distinct values; one panel per combination of the other keys; one line per method with error
 * bars (ci95: 95% interval of the mean, else sd; on a log y axis always the 95% interval, cut at
 * the axis' positive bottom); a linear y axis from 0 (rates: bars clipped to [0, 1]); the key
 * outside the panels, naming a method without values. subtitle: added to the titles (a run's
 * name, never a path; may be NULL).
 * Without gnuplot: a note, no plots, TGMM_OK. */
int tgmm_report_plot(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle);

/* What every plot of the report shares (report_plot.c): s as a gnuplot string expression that
 * gnuplot takes literally (single quotes, control characters joined as "\ooo"); running script
 * gp with no shell (fork and exec of gnuplot, the paths in gnuplot's quoting), whose PNG (the
 * script's variable `out`) goes to a temporary name first and becomes png only when gnuplot
 * succeeds (TGMM_EFAIL naming the script otherwise). */
void tgmm_report_gp_quote(FILE *g, const char *s);
/* s in a script's comment line: control characters (a newline would end the comment) as '?'. */
void tgmm_report_gp_comment(FILE *g, const char *s);
int tgmm_report_gnuplot(const char *gp, const char *png);
/* The last part of a path (trailing slashes ignored) into out, without a ".h5" ending. */
void tgmm_report_base_name(const char *path, char *out, size_t n);
/* 1 when an executable gnuplot is on PATH (a search of PATH's directories; no shell). */
int tgmm_report_has_gnuplot(void);

/* Write PREFIX.md (md_head, the per-setting tables and verdict, md_tail), PREFIX.csv (every
 * metric, long format), PREFIX.tex (tex_head, one table environment per metric, tex_tail) and the
 * plots (tgmm_report_plot). Heads and tails may be NULL. */
int tgmm_report_write_files(const tgmm_report *r, const char *prefix, int ci95, const char *subtitle,
                            const char *md_head, const char *md_tail, const char *tex_head,
                            const char *tex_tail);

/* PREFIX.rate.png (.gp, .dat kept): misclustering against delta (the results files' /delta),
 * in quantile bins, one line per method, beside the minimax rate exp(-delta^2/8); log y axis
 * (src/report/report_rate.c); every bin drawn (rate 0 on the bottom edge, a bin without tasks a
 * gap). tags [nfile] (NULL: none) name each file's lines (a merged report: the run's differing
 * keys); a baseline's lines of several files become one only when their data are the same.
 * Files without /delta are left out; *made = 0 when no file has a usable row or gnuplot is
 * missing. */
int tgmm_report_rate_plot(int nfile, const char *const *paths, const char *const *tags,
                          const char *prefix, const char *subtitle, int *made);

/* The colour of method j of names[0..n-1] in the plots ("#rrggbb"; report_plot.c): em@c and
 * lloyd@c shades of blue and of orange (light for few iterations), tgmm black (shades of green
 * for the tgmm lines of several runs), the oracle grey, others fixed distinct colours. */
void tgmm_report_method_colour(const char *const *names, int n, int j, char out[8]);
/* The family of a method: 1 em and em@c (not the oracle), 2 lloyd and lloyd@c, 0 the others. */
int tgmm_report_method_family(const char *name);

/* He et al.'s comparison (src/report/report_depth.c): misclustering of tgmm against each run's
 * depth n_layer[r] (0: unknown) beside EM's and Lloyd's against their iterations (columns em@c,
 * lloyd@c), per setting label: a Markdown table on md (NULL: none) and, with prefix,
 * PREFIX.depth.png (.gp, .dat). Nothing (*made = 0) when no report has em@c or lloyd@c. */
int tgmm_report_depth(int nrun, const tgmm_report *const *reports, const int *n_layer, FILE *md,
                      const char *prefix, const char *subtitle, int *made);

/* `tgmm report --data A.h5 [--data B.h5 ...] [--out PREFIX] [--rows ROWS.csv]` (rank 0): the
 * files merged (src/report/report_merge.c); tables on stdout, files with --out, rows with
 * --rows. */
int tgmm_report_files(const tgmm_cli *cli, int ci95);

/* report_stage.c: a report all or none. Its files are written under st->prefix, in a hidden
 * staging directory beside the final prefix (same base name), and moved to their real names by
 * tgmm_report_stage_commit once all are written (the staging part taken out of every path the
 * scripts and tables hold; an earlier report's files the new one lacks removed); a failure or a
 * signal (tgmm_stop_signal) removes the staging directory instead, leaving any earlier report
 * as it was. Rank 0 only. */
typedef struct {
  char mark[48];        /* ".tgmm-report-PID" */
  char dir[4300];       /* DIR/MARK */
  char final_dir[4200]; /* DIR ("." for a bare prefix) */
  char prefix[4400];    /* DIR/MARK/BASE: what the report writes */
  int active;
} tgmm_report_stage;
int tgmm_report_stage_begin(tgmm_report_stage *st, const char *final_prefix);
int tgmm_report_stage_commit(tgmm_report_stage *st, const char *final_prefix);
void tgmm_report_stage_abort(tgmm_report_stage *st);

#endif
