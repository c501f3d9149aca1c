# Registers every test with CTest. Labels: unit (cmocka), mpi (tgmm under mpirun, 1-3 ranks),
# faults (tests/faults: full disk, hostile input),
# reference (Debian /usr/bin/python3 with numpy/scipy/sklearn/torch), slurm (one-node Slurm).
tgmm_require_pkg(CMOCKA cmocka libcmocka-dev)

set(TGMM_LSAN_SUPP ${CMAKE_SOURCE_DIR}/tests/lsan.supp)
set(TGMM_TEST_ENV
    "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" "OMPI_MCA_rmaps_base_oversubscribe=1"
    "PMIX_MCA_psec=native"
    "OPENBLAS_NUM_THREADS=1" "TGMM_BIN=$<TARGET_FILE:tgmm>" "TGMM_SRC=${CMAKE_SOURCE_DIR}"
    "TGMM_BUILD=${CMAKE_BINARY_DIR}"
    "TGMM_SANITIZE=$<BOOL:${TGMM_SANITIZE}>"
    "LSAN_OPTIONS=suppressions=${TGMM_LSAN_SUPP}:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

# Test tools: tests/tools/<name>.c -> executable <name> in the build directory (small C drivers
# that reference tests call, e.g. to run the Hungarian algorithm on matrices from Python).
file(GLOB TGMM_TEST_TOOLS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/tools/*.c)
foreach(src ${TGMM_TEST_TOOLS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${TGMM_WARN})
  target_link_libraries(${name} PRIVATE tgmmcore)
endforeach()

# Unit tests: tests/unit/test_<name>.c -> executable test_<name>.
file(GLOB TGMM_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${TGMM_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${TGMM_WARN})
  target_link_libraries(${name} PRIVATE tgmmcore PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit ENVIRONMENT "${TGMM_TEST_ENV}" TIMEOUT 600)
endforeach()

# MPI and CLI tests: tests/mpi/test_<name>.sh, run with bash from the build directory.
file(GLOB TGMM_MPI_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/mpi/test_*.sh)
foreach(src ${TGMM_MPI_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME mpi.${name} COMMAND bash ${src} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  # exit 77 = skipped (the strace, memory and timing tests in the sanitizer build)
  set_tests_properties(mpi.${name} PROPERTIES LABELS mpi ENVIRONMENT "${TGMM_TEST_ENV}" TIMEOUT 900
                       SKIP_RETURN_CODE 77)
endforeach()

# Fault tests: tests/faults/test_<name>.sh (full disk, hostile input, mistyped outputs). Label
# faults; they run in both builds (a test skips its timing-dependent parts under the sanitizers).
file(GLOB TGMM_FAULT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/faults/test_*.sh)
foreach(src ${TGMM_FAULT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME faults.${name} COMMAND bash ${src} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(faults.${name} PROPERTIES LABELS faults ENVIRONMENT "${TGMM_TEST_ENV}"
                       TIMEOUT 600 SKIP_RETURN_CODE 77)
endforeach()

# Reference tests: tests/reference/test_<name>.py under Debian's /usr/bin/python3.
file(GLOB TGMM_REF_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/reference/test_*.py)
foreach(src ${TGMM_REF_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME reference.${name} COMMAND /usr/bin/python3 ${src} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(reference.${name} PROPERTIES LABELS reference ENVIRONMENT "${TGMM_TEST_ENV}" TIMEOUT 900)
endforeach()

# Slurm tests: tests/slurm/test_<name>.sh.
file(GLOB TGMM_SLURM_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/slurm/test_*.sh)
foreach(src ${TGMM_SLURM_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME slurm.${name} COMMAND bash ${src} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(slurm.${name} PROPERTIES LABELS slurm ENVIRONMENT "${TGMM_TEST_ENV}" TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()

# The slowest tests start first (a clean clone has no CTest cost data, and -j2 would otherwise
# leave one core idle at the end): seconds measured in the sanitizer build, 2026-12-07.
foreach(pair "mpi.test_reproduce_local 400" "mpi.test_readme_commands 300" "mpi.test_report 210"
             "faults.test_full_disk 125" "reference.test_torch_loader 110" "faults.test_hostile 105"
             "mpi.test_train_resume 90" "mpi.test_train_ranks 90" "mpi.test_he 85"
             "faults.test_integrity 80" "mpi.test_paper_configs 80")
  string(REPLACE " " ";" pair "${pair}")
  list(GET pair 0 t)
  list(GET pair 1 c)
  set_tests_properties(${t} PROPERTIES COST ${c})
endforeach()
