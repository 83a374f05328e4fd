/* fuzz.h — shared by dlmem's libFuzzer harnesses (tests/fuzz/README.md).
 *
 * Each harness defines LLVMFuzzerTestOneInput(data, size).  dlmem's readers
 * take paths, so the input is written to a private temporary file first.  A
 * harness may only return 0: a crash, a sanitizer report, a leak or a
 * timeout is the finding.  dlmem's own invariant checks are asserted with
 * fuzz_require(), which aborts (a finding) when library code broke a promise
 * of the README (one error line, a status, no output on failure). */
#ifndef DLM_FUZZ_H
#define DLM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_paths[4][512];

static inline void fuzz_cleanup(void)
{
    for (int i = 0; i < 4; i++)
        if (fuzz_paths[i][0]) remove(fuzz_paths[i]);
}

/* Writes data to this process's temporary file `name` (removed at exit);
 * returns its path. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static int k, registered;
    if (!registered) registered = !atexit(fuzz_cleanup);
    char *p = fuzz_paths[k++ % 4];
    const char *tmp = getenv("TMPDIR");
    snprintf(p, sizeof fuzz_paths[0], "%s/dlmem-fuzz-%ld-%s", tmp && *tmp ? tmp : "/tmp",
             (long)getpid(), name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", p);
        abort();
    }
    return p;
}

/* A broken promise is a finding. */
#define fuzz_require(cond, what)                                                  \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz: %s (%s:%d): %s\n", what, __FILE__, __LINE__,   \
                    dlm_errmsg());                                                \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* A failure's message: one line, naming something. */
static inline void fuzz_check_error(dlm_status st)
{
    const char *m = dlm_errmsg();
    fuzz_require(st != DLM_OK, "status");
    fuzz_require(m[0] != '\0', "an error without a message");
    fuzz_require(strchr(m, '\n') == NULL, "an error message of more than one line");
    fuzz_require(dlm_exit_code(st) == 1 || dlm_exit_code(st) == 2, "exit code");
}

#endif
