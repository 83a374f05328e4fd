# DLM_CHECK_CUDA: --with-cuda[=DIR] (default /usr/local/cuda).  Probes nvcc, the
# headers cuda_runtime.h, cublas_v2.h and cudnn.h and the libraries cudart, cublas
# and cudnn.  cuDNN is looked for beside the toolkit, under --with-cudnn=DIR, and
# in the Debian/Ubuntu multiarch folders (/usr/include/x86_64-linux-gnu), as on the
# GPU machine.  Without them the measuring runtime is not built; everything else is.
AC_DEFUN([DLM_CHECK_CUDA], [
  AC_ARG_WITH([cuda],
    [AS_HELP_STRING([--with-cuda@<:@=DIR@:>@],
      [CUDA Toolkit prefix (default /usr/local/cuda); --without-cuda skips the GPU runtime])],
    [], [with_cuda=auto])
  AC_ARG_WITH([cudnn],
    [AS_HELP_STRING([--with-cudnn=DIR], [cuDNN prefix (include/ and lib/ or lib64/ under it)])],
    [], [with_cudnn=auto])
  AC_ARG_VAR([NVCC], [CUDA compiler (default DIR/bin/nvcc)])
  AC_ARG_VAR([NVCC_ARCH_FLAGS], [nvcc -gencode flags (default: sm_80, sm_90 and compute_90 PTX)])
  have_cuda=no
  dlm_cuda_summary="no"
  CUDA_CPPFLAGS=""; CUDA_LDFLAGS=""; CUDA_LIBS=""
  AS_CASE(["$with_cuda"],
    [no], [dlm_cuda_summary="no (--without-cuda)"],
    [yes|auto], [cuda_dir=/usr/local/cuda],
    [cuda_dir="$with_cuda"])
  AS_IF([test "x$with_cuda" != xno], [
    dlm_cuda_missing=""
    AS_IF([test -z "$NVCC"], [AC_PATH_PROG([NVCC], [nvcc], [], [$cuda_dir/bin$PATH_SEPARATOR$PATH])])
    AS_IF([test -z "$NVCC"], [dlm_cuda_missing="$dlm_cuda_missing nvcc"])
    dlm_inc="-I$cuda_dir/include"
    dlm_libdirs=""
    for d in "$cuda_dir/lib64" "$cuda_dir/lib" "$cuda_dir/targets/x86_64-linux/lib"; do
      AS_IF([test -d "$d"], [dlm_libdirs="$dlm_libdirs -L$d"])
    done
    AS_IF([test "x$with_cudnn" != xauto && test "x$with_cudnn" != xyes], [
      dlm_inc="$dlm_inc -I$with_cudnn/include"
      for d in "$with_cudnn/lib64" "$with_cudnn/lib"; do
        AS_IF([test -d "$d"], [dlm_libdirs="$dlm_libdirs -L$d"])
      done
    ])
    for d in /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu; do
      AS_IF([test -f "$d/cudnn.h" && test ! -f "$cuda_dir/include/cudnn.h"], [dlm_inc="$dlm_inc -I$d"])
    done
    for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu; do
      AS_IF([ls "$d"/libcudnn.so* >/dev/null 2>&1], [dlm_libdirs="$dlm_libdirs -L$d"])
    done
    dlm_save_CPPFLAGS="$CPPFLAGS"; dlm_save_LDFLAGS="$LDFLAGS"; dlm_save_LIBS="$LIBS"
    CPPFLAGS="$CPPFLAGS $dlm_inc"; LDFLAGS="$LDFLAGS $dlm_libdirs"
    AC_CHECK_HEADER([cuda_runtime.h], [], [dlm_cuda_missing="$dlm_cuda_missing cuda_runtime.h"])
    AC_CHECK_HEADER([cublas_v2.h], [], [dlm_cuda_missing="$dlm_cuda_missing cublas_v2.h"])
    AC_CHECK_HEADER([cudnn.h], [], [dlm_cuda_missing="$dlm_cuda_missing cudnn.h"])
    AC_CHECK_LIB([cudart], [cudaGetDeviceCount], [:], [dlm_cuda_missing="$dlm_cuda_missing libcudart"])
    AC_CHECK_LIB([cublas], [cublasCreate_v2], [:], [dlm_cuda_missing="$dlm_cuda_missing libcublas"], [-lcudart])
    AC_CHECK_LIB([cublasLt], [cublasLtCreate], [:], [dlm_cuda_missing="$dlm_cuda_missing libcublasLt"], [-lcudart])
    AC_CHECK_LIB([cudnn], [cudnnCreate], [:], [dlm_cuda_missing="$dlm_cuda_missing libcudnn"], [-lcudart])
    CPPFLAGS="$dlm_save_CPPFLAGS"; LDFLAGS="$dlm_save_LDFLAGS"; LIBS="$dlm_save_LIBS"
    AS_IF([test -z "$dlm_cuda_missing"], [
      have_cuda=yes
      CUDA_CPPFLAGS="$dlm_inc"
      CUDA_LDFLAGS="$dlm_libdirs"
      dnl The libraries are found at run time too, without LD_LIBRARY_PATH.
      for d in $dlm_libdirs; do CUDA_LDFLAGS="$CUDA_LDFLAGS -Wl,-rpath,${d#-L}"; done
      CUDA_LIBS="-lcudnn -lcublasLt -lcublas -lcudart -lstdc++"
      AS_IF([test -z "$NVCC_ARCH_FLAGS"],
        [NVCC_ARCH_FLAGS="-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90"])
      dlm_cuda_summary="yes ($cuda_dir; nvcc $NVCC)"
      AC_DEFINE([HAVE_CUDA], [1], [Define to 1 when the CUDA runtime (dlmem measure) is built.])
    ], [
      AS_IF([test "x$with_cuda" != xauto],
        [AC_MSG_ERROR([--with-cuda=$with_cuda: missing$dlm_cuda_missing])])
      dlm_cuda_summary="no (missing$dlm_cuda_missing; dlmem measure is not built)"
    ])
  ])
  AC_SUBST([CUDA_CPPFLAGS])
  AC_SUBST([CUDA_LDFLAGS])
  AC_SUBST([CUDA_LIBS])
  AM_CONDITIONAL([HAVE_CUDA], [test "x$have_cuda" = xyes])
])
