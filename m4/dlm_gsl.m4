# DLM_CHECK_GSL: GSL through pkg-config.  The reconciler (fits, dlmem reconcile,
# dlmem audit, dlmem report) needs it; the analytic calculator and the GPU runtime
# do not, so --without-gsl builds the rest (as on the GPU machine, which has none).
AC_DEFUN([DLM_CHECK_GSL], [
  AC_ARG_WITH([gsl],
    [AS_HELP_STRING([--without-gsl], [build without the reconciler (no GSL)])],
    [], [with_gsl=auto])
  have_gsl=no
  AS_IF([test "x$with_gsl" != xno], [
    PKG_CHECK_MODULES([GSL], [gsl >= 2.0], [have_gsl=yes], [
      have_gsl=no
      AS_IF([test "x$with_gsl" = xyes],
        [AC_MSG_ERROR([--with-gsl given but GSL was not found by pkg-config: $GSL_PKG_ERRORS])])
    ])
  ])
  AS_IF([test "x$have_gsl" = xyes], [
    AC_DEFINE([HAVE_GSL], [1], [Define to 1 when GSL is available (the reconciler is built).])
    dlm_gsl_summary="yes ($($PKG_CONFIG --modversion gsl 2>/dev/null))"
  ], [
    dlm_gsl_summary="no (dlmem reconcile, audit and report are not built)"
  ])
  AM_CONDITIONAL([HAVE_GSL], [test "x$have_gsl" = xyes])
])
