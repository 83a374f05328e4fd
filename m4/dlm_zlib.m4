# DLM_CHECK_ZLIB: zlib through pkg-config.  dlmem reads gzip-compressed CSV
# files with it (FILE.csv.gz wherever a CSV is read: the shipped probe rows
# under data/cudnn/, --workspaces FILE).  Without it (--without-zlib, or zlib
# not found) a .gz file named by the user is refused with one line saying why,
# and the shipped .csv.gz rows are not read: the predictions that need them
# then say which library workspaces are not known, as for any missing row.
AC_DEFUN([DLM_CHECK_ZLIB], [
  AC_ARG_WITH([zlib],
    [AS_HELP_STRING([--without-zlib], [build without reading .csv.gz files (no zlib)])],
    [], [with_zlib=auto])
  have_zlib=no
  AS_IF([test "x$with_zlib" != xno], [
    PKG_CHECK_MODULES([ZLIB], [zlib >= 1.2], [have_zlib=yes], [
      have_zlib=no
      AS_IF([test "x$with_zlib" = xyes],
        [AC_MSG_ERROR([--with-zlib given but zlib was not found by pkg-config: $ZLIB_PKG_ERRORS])])
    ])
  ])
  AS_IF([test "x$have_zlib" = xyes], [
    AC_DEFINE([HAVE_ZLIB], [1], [Define to 1 when zlib is available (.csv.gz files are read).])
    LIBS="$ZLIB_LIBS $LIBS"
    CPPFLAGS="$ZLIB_CFLAGS $CPPFLAGS"
    dlm_zlib_summary="yes ($($PKG_CONFIG --modversion zlib 2>/dev/null))"
  ], [
    dlm_zlib_summary="no (.csv.gz files, the shipped probe rows among them, are not read)"
  ])
])
