# DLM_CHECK_JANSSON: jansson through pkg-config.  dlmem writes every JSON document
# (--format json) with it and reads HuggingFace config.json files with it
# (src/models/hfconfig.c: a strict parser that names the line and column of an
# error, keeps integers exact in 64 bits, checks UTF-8 and refuses duplicate keys).
# Everything else builds without it (the GPU machine has none): --without-jansson,
# or jansson not found, gives a dlmem that refuses --format json and config.json
# models with one line saying why and keeps table and CSV output.
AC_DEFUN([DLM_CHECK_JANSSON], [
  AC_ARG_WITH([jansson],
    [AS_HELP_STRING([--without-jansson], [build without JSON output (no jansson)])],
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
    AC_DEFINE([HAVE_JANSSON], [1], [Define to 1 when jansson is available (JSON output is built).])
    dnl the core library writes JSON, and every program links it: one place for all
    LIBS="$JANSSON_LIBS $LIBS"
    dlm_jansson_summary="yes ($($PKG_CONFIG --modversion jansson 2>/dev/null))"
  ], [
    dlm_jansson_summary="no (--format json is refused; table and CSV output only)"
  ])
  AM_CONDITIONAL([HAVE_JANSSON], [test "x$have_jansson" = xyes])
])
