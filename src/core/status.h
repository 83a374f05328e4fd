/* status.h — how dlmem's library code reports failure.
 *
 * Every library function returns a dlm_status; DLM_OK is success.  On failure
 * it records one line of text (what went wrong and where) that main() prints
 * before it exits.  Library code never exits and never aborts.
 */
#ifndef DLM_STATUS_H
#define DLM_STATUS_H

typedef enum dlm_status {
    DLM_OK = 0,
    DLM_EINVAL,       /* an argument, option or value is invalid (usage error) */
    DLM_ERANGE,       /* a value is outside its valid range (usage error) */
    DLM_EPARSE,       /* a file's content is malformed (file and line named) */
    DLM_EIO,          /* a file could not be opened, read or written */
    DLM_ENOMEM,       /* host memory allocation failed */
    DLM_ENOGPU,       /* no usable GPU, or dlmem was built without CUDA */
    DLM_EGPU,         /* a CUDA, cuDNN or cuBLAS call failed */
    DLM_EGPUOOM,      /* the GPU ran out of memory */
    DLM_ENUMERIC,     /* a numerical routine (GSL) failed */
    DLM_EUNSUPPORTED, /* asked for something this build or model cannot do */
    DLM_EINTERNAL     /* a broken invariant: a bug in dlmem */
} dlm_status;

/* Records the message (printf format) and returns s, so that code can write
 * `return dlm_error(DLM_EINVAL, "unknown model '%s'", name);`. */
dlm_status dlm_error(dlm_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message recorded by the last dlm_error() ("" if none). */
const char *dlm_errmsg(void);

/* Prefixes the recorded message with context ("reading x.csv: ..."), returns s. */
dlm_status dlm_error_context(dlm_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short name of a status ("invalid argument", ...). */
const char *dlm_status_name(dlm_status s);

/* The process exit code for a status: 2 for usage and input errors
 * (EINVAL, ERANGE, EPARSE, EIO, ENOGPU, EUNSUPPORTED: what the user gave or the
 * files and devices the user named), 1 for internal failures (ENOMEM, EGPU,
 * EGPUOOM, ENUMERIC, EINTERNAL), 0 for OK. */
int dlm_exit_code(dlm_status s);

/* Evaluate a call returning dlm_status; return from the caller on failure. */
#define DLM_TRY(expr)                                                         \
    do {                                                                      \
        dlm_status dlm_try_s_ = (expr);                                       \
        if (dlm_try_s_ != DLM_OK) return dlm_try_s_;                          \
    } while (0)

#endif
