# DLM_CHECK_SANITIZERS: --enable-sanitizers builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (errors abort, so a test that trips one fails).
AC_DEFUN([DLM_CHECK_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers],
      [build with -fsanitize=address,undefined (for tests and CI)])],
    [], [enable_sanitizers=no])
  DLM_SAN_FLAGS=""
  dlm_sanitizers_summary="off"
  AS_IF([test "x$enable_sanitizers" = xyes], [
    dlm_san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    dlm_save_CFLAGS="$CFLAGS"; dlm_save_LDFLAGS="$LDFLAGS"
    CFLAGS="$CFLAGS $dlm_san"; LDFLAGS="$LDFLAGS $dlm_san"
    AC_MSG_CHECKING([whether $CC accepts $dlm_san])
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [return 0;])],
      [AC_MSG_RESULT([yes])],
      [AC_MSG_RESULT([no]); AC_MSG_ERROR([--enable-sanitizers: $CC cannot build with $dlm_san])])
    CFLAGS="$dlm_save_CFLAGS"; LDFLAGS="$dlm_save_LDFLAGS"
    DLM_SAN_FLAGS="$dlm_san"
    dlm_sanitizers_summary="address, undefined"
  ])
  AC_SUBST([DLM_SAN_FLAGS])
  AM_CONDITIONAL([DLM_SANITIZERS], [test "x$enable_sanitizers" = xyes])
])
