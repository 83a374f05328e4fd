/* driver.c — runs a libFuzzer harness over files without libFuzzer, so that
 * `make check` (gcc, and the ASan + UBSan build) replays the seed corpus and
 * every earlier finding (tests/fuzz/regress/) through the same code.
 *
 * usage: fuzz_X FILE-OR-FOLDER...   (prints TAP: one line per input) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int one(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("not ok %d - %s: cannot open\n", ++n, path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0, k;
    uint8_t *buf = malloc(cap);
    while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (!buf) {
        printf("not ok %d - %s: out of memory\n", ++n, path);
        return 1;
    }
    fprintf(stderr, "replaying %s\n", path); /* named on stderr if it aborts */
    LLVMFuzzerTestOneInput(buf, len); /* a finding aborts the process: TAP sees it */
    free(buf);
    printf("ok %d - %s (%zu bytes)\n", ++n, path, len);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            printf("not ok %d - %s: missing\n", ++n, argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            bad += one(argv[i]);
            continue;
        }
        DIR *d = opendir(argv[i]);
        char **names = NULL;
        int m = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char **nn = realloc(names, (size_t)(m + 1) * sizeof *nn);
            if (!nn) break;
            names = nn;
            size_t L = strlen(argv[i]) + strlen(e->d_name) + 2;
            if (!(names[m] = malloc(L))) break;
            snprintf(names[m++], L, "%s/%s", argv[i], e->d_name);
        }
        if (d) closedir(d);
        qsort(names, (size_t)m, sizeof *names, cmp);
        for (int k = 0; k < m; k++) {
            bad += one(names[k]);
            free(names[k]);
        }
        free(names);
    }
    printf("1..%d\n", n);
    return bad != 0;
}
