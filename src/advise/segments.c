/* segments.c — checkpointable blocks and stages from module names (segments.h). */
#include "segments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the prefix of `name` up to and including its first all-digit
 * component ("layer1.0.conv1" -> 8, "layer1.0"), 0 if none; *stage gets the
 * length of the part before that component ("layer1" -> 6). */
static size_t block_prefix(const char *name, size_t *stage)
{
    const char *c = name;
    while (*c) {
        const char *e = strchr(c, '.');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        int digits = len > 0;
        for (size_t i = 0; i < len; i++)
            if (c[i] < '0' || c[i] > '9') digits = 0;
        /* only a component that is followed by more: the container's child */
        if (digits && e && c > name) {
            *stage = (size_t)(c - name) - 1;
            return (size_t)(c - name) + len;
        }
        if (!e) break;
        c = e + 1;
    }
    *stage = 0;
    return 0;
}

dlm_status dlm_segments_find(const dlm_graph *g, dlm_seg_kind kind, dlm_segment **out, int *n)
{
    *out = NULL;
    *n = 0;
    dlm_segment *s = malloc((size_t)(g->n_ops ? g->n_ops : 1) * sizeof *s);
    if (!s) return dlm_error(DLM_ENOMEM, "out of memory");
    int k = 0;
    char cur[64] = "";
    for (int o = 0; o < g->n_ops; o++) {
        size_t stage, len = block_prefix(g->ops[o].name, &stage);
        if (kind == DLM_SEG_STAGE) len = stage;
        if (len == 0 || len >= sizeof cur) {
            cur[0] = '\0';
            continue;
        }
        if (cur[0] && strlen(cur) == len && !strncmp(cur, g->ops[o].name, len) && k > 0 &&
            s[k - 1].ops.last == o - 1) {
            s[k - 1].ops.last = o;
            continue;
        }
        memcpy(cur, g->ops[o].name, len);
        cur[len] = '\0';
        s[k].ops.first = s[k].ops.last = o;
        snprintf(s[k].name, sizeof s[k].name, "%s", cur);
        k++;
    }
    if (k == 0) {
        free(s);
        return DLM_OK;
    }
    *out = s;
    *n = k;
    return DLM_OK;
}
