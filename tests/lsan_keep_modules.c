/* lsan_keep_modules.c — linked into sanitizer builds only (TGMM_SANITIZE).
 *
 * Open MPI loads its components (and HDF5 its plugins) with dlopen and unloads them with
 * dlclose at MPI_Finalize; their exit-time leaks then show as "<unknown module>" frames that no
 * LeakSanitizer suppression can name. Making dlclose a no-op keeps them mapped, so
 * tests/lsan.supp suppresses exactly those libraries while leak checking stays on for the
 * project's own code. */
int dlclose(void *handle);
int dlclose(void *handle) {
  (void)handle;
  return 0;
}
