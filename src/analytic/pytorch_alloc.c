/* pytorch_alloc.c — PyTorch's caching allocator, simulated (see pytorch_alloc.h). */
#include "pytorch_alloc.h"

#include <stdlib.h>

enum { POOL_SMALL, POOL_LARGE };

typedef struct pa_block {
    int64_t off, size;
    int seg;
    int prev, next; /* neighbours in the segment, -1 at the ends */
    int fpos;       /* index in its pool's free list, -1 when handed out */
    int pool;
} pa_block;

struct dlm_palloc {
    pa_block *b;
    int cap, n;         /* block records; records [0, n) have been used */
    int *spare;         /* recycled record indices */
    int n_spare;
    int *freel[2];      /* free blocks per pool */
    int64_t *fsize[2];  /* their sizes, alongside (the best-fit scan reads only these) */
    int n_free[2];
    int n_seg;
    int64_t allocated, reserved;
};

int64_t dlm_palloc_round(int64_t bytes)
{
    if (bytes < DLM_PA_MIN_BLOCK) return DLM_PA_MIN_BLOCK;
    return (bytes + DLM_PA_MIN_BLOCK - 1) / DLM_PA_MIN_BLOCK * DLM_PA_MIN_BLOCK;
}

int64_t dlm_palloc_segment_size(int64_t rounded)
{
    if (rounded <= DLM_PA_SMALL_SIZE) return DLM_PA_SMALL_BUFFER;
    if (rounded < DLM_PA_MIN_LARGE_ALLOC) return DLM_PA_LARGE_BUFFER;
    return (rounded + DLM_PA_ROUND_LARGE - 1) / DLM_PA_ROUND_LARGE * DLM_PA_ROUND_LARGE;
}

dlm_status dlm_palloc_alloc(int max_mallocs, dlm_palloc **out)
{
    dlm_palloc *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a) return dlm_error(DLM_ENOMEM, "out of memory");
    /* Each malloc adds at most two records (a new segment's block and a split
     * remainder); merges only recycle. */
    a->cap = 2 * (max_mallocs > 0 ? max_mallocs : 1) + 2;
    a->b = malloc((size_t)a->cap * sizeof *a->b);
    a->spare = malloc((size_t)a->cap * sizeof *a->spare);
    a->freel[0] = malloc((size_t)a->cap * sizeof(int));
    a->freel[1] = malloc((size_t)a->cap * sizeof(int));
    a->fsize[0] = malloc((size_t)a->cap * sizeof(int64_t));
    a->fsize[1] = malloc((size_t)a->cap * sizeof(int64_t));
    if (!a->b || !a->spare || !a->freel[0] || !a->freel[1] || !a->fsize[0] || !a->fsize[1]) {
        dlm_palloc_free(a);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    *out = a;
    return DLM_OK;
}

void dlm_palloc_free(dlm_palloc *a)
{
    if (!a) return;
    free(a->b);
    free(a->spare);
    free(a->freel[0]);
    free(a->freel[1]);
    free(a->fsize[0]);
    free(a->fsize[1]);
    free(a);
}

void dlm_palloc_reset(dlm_palloc *a)
{
    a->n = a->n_spare = a->n_seg = 0;
    a->n_free[0] = a->n_free[1] = 0;
    a->allocated = a->reserved = 0;
}

int64_t dlm_palloc_allocated(const dlm_palloc *a) { return a->allocated; }
int64_t dlm_palloc_reserved(const dlm_palloc *a) { return a->reserved; }

static int new_record(dlm_palloc *a)
{
    if (a->n_spare) return a->spare[--a->n_spare];
    if (a->n == a->cap) return -1;
    return a->n++;
}

static void free_push(dlm_palloc *a, int i)
{
    int p = a->b[i].pool;
    a->b[i].fpos = a->n_free[p];
    a->fsize[p][a->n_free[p]] = a->b[i].size;
    a->freel[p][a->n_free[p]++] = i;
}

static void free_remove(dlm_palloc *a, int i)
{
    int p = a->b[i].pool, pos = a->b[i].fpos;
    int last = a->freel[p][--a->n_free[p]];
    a->freel[p][pos] = last;
    a->fsize[p][pos] = a->fsize[p][a->n_free[p]];
    a->b[last].fpos = pos;
    a->b[i].fpos = -1;
}

/* Smallest free block of the pool holding `size`; ties: older segment, lower offset. */
static int best_fit(const dlm_palloc *a, int pool, int64_t size)
{
    int best = -1;
    int64_t bs = 0;
    const int *fl = a->freel[pool];
    const int64_t *fs = a->fsize[pool];
    for (int k = 0; k < a->n_free[pool]; k++) {
        if (fs[k] < size || (best >= 0 && fs[k] > bs)) continue;
        if (best < 0 || fs[k] < bs) {
            best = fl[k];
            bs = fs[k];
            continue;
        }
        const pa_block *c = &a->b[fl[k]], *o = &a->b[best]; /* equal sizes */
        if (c->seg < o->seg || (c->seg == o->seg && c->off < o->off)) best = fl[k];
    }
    return best;
}

int dlm_palloc_malloc(dlm_palloc *a, int64_t bytes, int64_t *block)
{
    int64_t r = dlm_palloc_round(bytes);
    int pool = r <= DLM_PA_SMALL_SIZE ? POOL_SMALL : POOL_LARGE;
    int i = best_fit(a, pool, r);
    if (i >= 0) {
        free_remove(a, i);
    } else {
        if ((i = new_record(a)) < 0) return -1;
        int64_t seg = dlm_palloc_segment_size(r);
        a->b[i] = (pa_block){0, seg, a->n_seg++, -1, -1, -1, pool};
        /* a statistic: saturates rather than wrap (sizes reach 2^62, see timeline.h) */
        if (__builtin_add_overflow(a->reserved, seg, &a->reserved)) a->reserved = INT64_MAX;
    }
    int64_t rest = a->b[i].size - r;
    int split = pool == POOL_SMALL ? rest >= DLM_PA_MIN_BLOCK : rest > DLM_PA_SMALL_SIZE;
    if (split) {
        int j = new_record(a);
        if (j < 0) return -1;
        pa_block *bi = &a->b[i];
        a->b[j] = (pa_block){bi->off + r, rest, bi->seg, i, bi->next, -1, pool};
        if (bi->next >= 0) a->b[bi->next].prev = j;
        bi->next = j;
        bi->size = r;
        free_push(a, j);
    }
    a->allocated += a->b[i].size;
    *block = a->b[i].size;
    return i;
}

/* Merges free block j into its free left neighbour i (i = prev of j). */
static void absorb(dlm_palloc *a, int i, int j)
{
    a->b[i].size += a->b[j].size;
    a->b[i].next = a->b[j].next;
    if (a->b[j].next >= 0) a->b[a->b[j].next].prev = i;
    a->spare[a->n_spare++] = j;
}

void dlm_palloc_release(dlm_palloc *a, int h)
{
    pa_block *b = &a->b[h];
    a->allocated -= b->size;
    int p = b->prev, n = b->next;
    if (n >= 0 && a->b[n].fpos >= 0) {
        free_remove(a, n);
        absorb(a, h, n);
    }
    if (p >= 0 && a->b[p].fpos >= 0) {
        free_remove(a, p);
        absorb(a, p, h);
        h = p;
    }
    free_push(a, h);
}
