# DLM_CHECK_FUZZ — finds clang for `make fuzz` (libFuzzer harnesses in tests/fuzz/).
# Optional: without clang everything else builds; `make fuzz` then says so.
# Sets CLANG (precious: CLANG=clang-17 ./configure) and dlm_fuzz_summary.
AC_DEFUN([DLM_CHECK_FUZZ], [
  AC_ARG_VAR([CLANG], [clang for `make fuzz' (libFuzzer harnesses)])
  AC_CHECK_PROGS([CLANG], [clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14], [])
  AS_IF([test -n "$CLANG"],
        [dlm_fuzz_summary="make fuzz with $CLANG"],
        [dlm_fuzz_summary="no clang: make fuzz unavailable"])
])
