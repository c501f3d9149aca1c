/* outpath.h — validation of a command's output paths before any work is done.
 *
 * A mistyped --out must fail at once, not after hours of computation, and must never replace
 * an input. tgmm_outpath_check is collective over tgmm_mpi.comm: rank 0 alone looks (stat(),
 * no file is opened), prints the error and broadcasts the result, so every rank returns the same
 * code (TGMM_EUSER for a bad path). */
#ifndef TGMM_OUTPATH_H
#define TGMM_OUTPATH_H

/* Check the outputs `prefix` + suffixes[i] (i < n_suffixes; a single "" suffix for a plain
 * --out FILE) of the option `opt` (for messages, e.g. "--out"):
 *  - the path is not empty and fits tgmm's path buffers;
 *  - its directory exists, is a directory and is writable;
 *  - it is not an existing directory;
 *  - neither it nor its temporary "<path>.tmp" is any of inputs[0..n_inputs-1] (NULL entries
 *    are skipped), compared by device and inode, so a symlink or a second name is caught.
 * A stale temporary "<path>.tmp" left by a killed run is named in a warning (it is replaced). */
int tgmm_outpath_check(const char *opt, const char *prefix, const char *const *suffixes,
                       int n_suffixes, const char *const *inputs /* [n_inputs] */, int n_inputs);

/* Every output of the command line, checked as above before the command runs: --out (for
 * report the files PREFIX.* it writes; with --data RUN_DIR and no --out, RUN_DIR/curves.*),
 * against every input: the config file, --data (a run directory's metrics.h5) and the checkpoint
 * that --checkpoint resolves to (a run directory's newest). Collective. */
int tgmm_outpath_check_cli(const char *command, const char *config_path, const char *out,
                           const char *data, const char *checkpoint);

#endif
