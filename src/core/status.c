/* status.c — the one-line error message behind dlm_status. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char dlm_msg[2048];

/* The message is one line whatever it quotes: a field from a file may hold a
 * newline or a terminal escape; control characters become '?'. */
static void one_line(char *m)
{
    for (; *m; m++)
        if ((unsigned char)*m < 0x20 || *m == 0x7f) *m = '?';
}

dlm_status dlm_error(dlm_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dlm_msg, sizeof dlm_msg, fmt, ap);
    va_end(ap);
    one_line(dlm_msg);
    return s;
}

dlm_status dlm_error_context(dlm_status s, const char *fmt, ...)
{
    char old[sizeof dlm_msg];
    va_list ap;
    memcpy(old, dlm_msg, sizeof old);
    va_start(ap, fmt);
    int k = vsnprintf(dlm_msg, sizeof dlm_msg, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k + 2 < sizeof dlm_msg) {
        size_t room = sizeof dlm_msg - (size_t)k;
        dlm_msg[k] = ':';
        dlm_msg[k + 1] = ' ';
        memcpy(dlm_msg + k + 2, old, room - 2);
        dlm_msg[sizeof dlm_msg - 1] = '\0';
    }
    one_line(dlm_msg);
    return s;
}

const char *dlm_errmsg(void) { return dlm_msg; }

const char *dlm_status_name(dlm_status s)
{
    switch (s) {
    case DLM_OK: return "success";
    case DLM_EINVAL: return "invalid argument";
    case DLM_ERANGE: return "value out of range";
    case DLM_EPARSE: return "malformed input";
    case DLM_EIO: return "input/output error";
    case DLM_ENOMEM: return "out of host memory";
    case DLM_ENOGPU: return "no usable GPU";
    case DLM_EGPU: return "GPU library error";
    case DLM_EGPUOOM: return "out of GPU memory";
    case DLM_ENUMERIC: return "numerical error";
    case DLM_EUNSUPPORTED: return "not supported";
    case DLM_EINTERNAL: return "internal error";
    }
    return "unknown status";
}

int dlm_exit_code(dlm_status s)
{
    switch (s) {
    case DLM_OK: return 0;
    case DLM_EINVAL: case DLM_ERANGE: case DLM_EPARSE:
    case DLM_ENOGPU: case DLM_EUNSUPPORTED:
    case DLM_EIO: /* a missing, unreadable or directory input; an unwritable output */
        return 2;
    default:
        return 1;
    }
}
