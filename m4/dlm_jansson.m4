# DLM_CHECK_JANSSON: jansson (Debian libjansson-dev) through pkg-config.
# dlmem reads HuggingFace config.json files with it (src/models/hfconfig.c).
# Why jansson: a strict parser that reports the line and column of an error,
# keeps integers exact in 64 bits, checks UTF-8 and refuses duplicate keys,
# with a small C API that has been stable for a decade, packaged in Debian.
# Without it (--without-jansson, or not found: the GPU machine has none)
# everything else builds, and reading a config.json says why it cannot.
AC_DEFUN([DLM_CHECK_JANSSON], [
  AC_ARG_WITH([jansson],
    [AS_HELP_STRING([--without-jansson], [build without JSON (no config.json models)])],
    [], [with_jansson=auto])
  have_jansson=no
  AS_IF([test "x$with_jansson" != xno], [
    PKG_CHECK_MODULES([JANSSON], [jansson >= 2.10], [have_jansson=yes], [
      have_jansson=no
      AS_IF([test "x$with_jansson" = xyes],
        [AC_MSG_ERROR([--with-jansson given but jansson was not found by pkg-config: $JANSSON_PKG_ERRORS])])
    ])
  ])
  AS_IF([test "x$have_jansson" = xyes], [
    AC_DEFINE([HAVE_JANSSON], [1], [Define to 1 when jansson is available (config.json models).])
    dnl the core library reads JSON and every program links it
    LIBS="$JANSSON_LIBS $LIBS"
    dlm_jansson_summary="yes ($($PKG_CONFIG --modversion jansson 2>/dev/null))"
  ], [
    dlm_jansson_summary="no (config.json models are refused; built-in models and network files only)"
  ])
  AM_CONDITIONAL([HAVE_JANSSON], [test "x$have_jansson" = xyes])
])
