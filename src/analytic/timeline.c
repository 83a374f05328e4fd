/* timeline.c — building and evaluating memory timelines (see timeline.h). */
#include "timeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void *grow(dlm_timeline *t, void *p, int *cap, int need, size_t sz)
{
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(p, (size_t)nc * sz);
    if (!q) {
        if (t->status == DLM_OK) t->status = dlm_error(DLM_ENOMEM, "out of memory building a timeline");
        return NULL;
    }
    *cap = nc;
    return q;
}

dlm_status tl_create(dlm_timeline **out)
{
    dlm_timeline *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) return dlm_error(DLM_ENOMEM, "out of memory");
    t->cur_op = -1;
    t->reset_at = -1;
    for (int i = 0; i < DLM_MAX_NAMED; i++) t->named_size[i] = -1;
    *out = t;
    return DLM_OK;
}

void tl_destroy(dlm_timeline *t)
{
    if (!t) return;
    free(t->ev);
    free(t->sizes);
    free(t->ext);
    free(t->special);
    free(t->slots);
    free(t->refs);
    free(t->val);
    free(t->blk);
    free(t->handle);
    free(t->ws_class);
    free(t->ws_stamp);
    dlm_palloc_free(t->pa);
    free(t);
}

void tl_at(dlm_timeline *t, dlm_phase phase, int op)
{
    t->cur_phase = phase;
    t->cur_op = op;
}

void tl_chunk(dlm_timeline *t, int k, int i)
{
    t->chunk_k = k > 1 ? k : 0;
    t->chunk_i = k > 1 ? i : 0;
}

int64_t tl_chunk_len(int64_t T, int k, int i)
{
    if (k <= 1) return T;
    return T / k + (i < T % k ? 1 : 0);
}

int tl_named(dlm_timeline *t, const char *name)
{
    for (int i = 0; i < t->n_named; i++)
        if (!strcmp(t->named[i], name)) return i;
    if (t->n_named == DLM_MAX_NAMED) return -1;
    snprintf(t->named[t->n_named], sizeof t->named[0], "%s", name);
    return t->n_named++;
}

static void push_event(dlm_timeline *t, tl_kind kind, int slot)
{
    tl_event *e = grow(t, t->ev, &t->cap_ev, t->n_ev + 1, sizeof *t->ev);
    if (!e) return;
    t->ev = e;
    t->ev[t->n_ev++] = (tl_event){(uint8_t)kind, (uint8_t)t->cur_phase, t->cur_op, slot};
}

static int ext_equal(const tl_size_ext *a, const tl_size_ext *b)
{
    if (a->kind != b->kind || a->t_split != b->t_split || a->b_split != b->b_split) return 0;
    if (a->b_split && !dlm_poly_equal(&a->bhi, &b->bhi)) return 0;
    if (a->t_round != b->t_round) return 0;
    if (a->chunk_k != b->chunk_k || a->chunk_i != b->chunk_i) return 0;
    if (a->t_split && !dlm_poly_equal(&a->hi, &b->hi)) return 0;
    if (a->kind == TL_SIZE_MAX && !dlm_poly_equal(&a->alt, &b->alt)) return 0;
    if (a->kind == TL_SIZE_ROWS)
        return a->ws == b->ws && a->ws_field == b->ws_field && a->ws_version == b->ws_version &&
               a->ws_op == b->ws_op && a->ws_phase == b->ws_phase && a->ws_call == b->ws_call &&
               a->ws_term == b->ws_term && dlm_poly_equal(&a->ws_batch, &b->ws_batch) &&
               dlm_poly_equal(&a->ws_seq, &b->ws_seq);
    return 1;
}

/* Index of size (p, x); a new one if `distinct` or none is equal.  In a
 * chunk (tl_chunk) a size that depends on T is evaluated at the chunk's
 * length. */
static int size_index_ext(dlm_timeline *t, dlm_poly p, const tl_size_ext *xin, int distinct)
{
    tl_size_ext xc = *xin, *x = &xc;
    if (t->chunk_k > 1 &&
        (dlm_poly_deg_T(&p) > 0 || (x->t_split && dlm_poly_deg_T(&x->hi) > 0) ||
         (x->kind == TL_SIZE_ROWS && dlm_poly_deg_T(&x->ws_seq) > 0) ||
         (x->kind == TL_SIZE_MAX && dlm_poly_deg_T(&x->alt) > 0) || x->t_split)) {
        x->chunk_k = t->chunk_k;
        x->chunk_i = t->chunk_i;
        distinct = 1; /* each chunk's own: no search (K chunks would make it quadratic) */
    }
    if (!distinct)
        for (int i = 0; i < t->n_sizes; i++)
            if (dlm_poly_equal(&t->sizes[i], &p) && ext_equal(&t->ext[i], x)) return i;
    int cap = t->cap_sizes;
    dlm_poly *s = grow(t, t->sizes, &cap, t->n_sizes + 1, sizeof *t->sizes);
    if (!s) return -1;
    t->sizes = s;
    if (cap != t->cap_sizes) {
        int c2 = t->cap_sizes;
        tl_size_ext *e = grow(t, t->ext, &c2, cap, sizeof *t->ext);
        if (!e) return -1;
        t->ext = e;
        t->cap_sizes = cap;
    }
    t->sizes[t->n_sizes] = p;
    t->ext[t->n_sizes] = *x;
    return t->n_sizes++;
}

static int size_index(dlm_timeline *t, dlm_poly p, int distinct)
{
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    return size_index_ext(t, p, &x, distinct);
}

int tl_size_row(const dlm_timeline *t, int i, int64_t B, int64_t T, const dlm_ws_row **row)
{
    const tl_size_ext *x = &t->ext[i];
    T = tl_chunk_len(T, x->chunk_k, x->chunk_i);
    *row = dlm_ws_series_at(x->ws, dlm_poly_eval(&x->ws_batch, B, T),
                            dlm_poly_eval(&x->ws_seq, B, T), x->ws_version);
    return *row && (*row)->ok;
}

int64_t tl_size_value(const dlm_timeline *t, int i, int64_t B, int64_t T)
{
    const tl_size_ext *x = &t->ext[i];
    if (x->kind == TL_SIZE_ROWS) {
        const dlm_ws_row *w;
        if (!tl_size_row(t, i, B, T, &w)) return 0;
        return x->ws_field ? w->reserve : w->workspace;
    }
    T = tl_chunk_len(T, x->chunk_k, x->chunk_i);
    if (x->t_round > 1) T = (T + x->t_round - 1) / x->t_round * x->t_round;
    const dlm_poly *law = x->t_split && T > x->t_split ? &x->hi : &t->sizes[i];
    if (x->b_split && B > x->b_split) law = &x->bhi;
    int64_t v = dlm_poly_eval(law, B, T);
    if (x->kind == TL_SIZE_MAX) {
        int64_t a = dlm_poly_eval(&x->alt, B, T);
        if (a > v) v = a;
    }
    return v;
}

/* p with T replaced by the constant n. */
static dlm_poly subst_T(const dlm_poly *p, int64_t n)
{
    dlm_poly q = dlm_poly_const(0), Bi = dlm_poly_const(1);
    for (int i = 0; i < DLM_POLY_DEG; i++) {
        int64_t c = 0, tj = 1;
        for (int j = 0; j < DLM_POLY_DEG; j++) {
            int64_t term;
            if (j > 0 && __builtin_mul_overflow(tj, n, &tj)) q.bad = 1;
            if (__builtin_mul_overflow(p->c[i][j], tj, &term) || __builtin_add_overflow(c, term, &c))
                q.bad = 1;
        }
        q = dlm_poly_add(q, dlm_poly_scale(Bi, c));
        if (i + 1 < DLM_POLY_DEG) Bi = dlm_poly_mul(Bi, dlm_poly_B());
    }
    q.bad |= p->bad;
    return q;
}

dlm_poly tl_size_law(const dlm_timeline *t, int i, int64_t B, int64_t T)
{
    const tl_size_ext *x = &t->ext[i];
    dlm_poly law;
    if (x->kind == TL_SIZE_ROWS) /* a row holds at its batch size only: a constant */
        return dlm_poly_const(tl_size_value(t, i, B, T));
    int64_t Tc = tl_chunk_len(T, x->chunk_k, x->chunk_i);
    law = x->t_split && Tc > x->t_split ? x->hi : t->sizes[i];
    if (x->b_split && B > x->b_split) law = x->bhi;
    if (x->t_round > 1) /* a step in T: the law's value here, in B only */
        return subst_T(&law, (Tc + x->t_round - 1) / x->t_round * x->t_round);
    if (x->kind == TL_SIZE_MAX && dlm_poly_eval(&x->alt, B, Tc) > dlm_poly_eval(&law, B, Tc))
        law = x->alt;
    return x->chunk_k > 1 ? subst_T(&law, Tc) : law;
}

static int new_slot(dlm_timeline *t, int size, dlm_term term, int named, const char *what)
{
    int cap = t->cap_slots;
    tl_slot *s = grow(t, t->slots, &cap, t->n_slots + 1, sizeof *t->slots);
    if (!s) return -1;
    t->slots = s;
    if (cap != t->cap_slots) {
        int c2 = t->cap_slots;
        int *r = grow(t, t->refs, &c2, cap, sizeof *t->refs);
        if (!r) return -1;
        t->refs = r;
        t->cap_slots = cap;
    }
    int i = t->n_slots++;
    t->slots[i] = (tl_slot){size, (uint8_t)term, (int8_t)named, t->cur_op, (uint8_t)t->cur_phase, what};
    t->refs[i] = 1;
    t->n_mallocs++;
    push_event(t, TL_ALLOC, i);
    return i;
}

int tl_new(dlm_timeline *t, dlm_poly bytes, dlm_term term, int named, const char *what)
{
    if (t->status != DLM_OK) return -1;
    if (bytes.bad) {
        t->status = dlm_error(DLM_EINTERNAL, "size of %s overflows", what);
        return -1;
    }
    if (dlm_poly_is_zero(&bytes)) return -1;
    int s = size_index(t, bytes, 0);
    return s < 0 ? -1 : new_slot(t, s, term, named, what);
}

/* A slot whose size is law `p` evaluated as extension x says. */
static int new_ext(dlm_timeline *t, dlm_poly p, const tl_size_ext *x, int bad, dlm_term term,
                   int named, const char *what)
{
    if (t->status != DLM_OK) return -1;
    if (bad) {
        t->status = dlm_error(DLM_EINTERNAL, "bad piecewise size for %s", what);
        return -1;
    }
    int s = size_index_ext(t, p, x, 0);
    return s < 0 ? -1 : new_slot(t, s, term, named, what);
}

int tl_new_split(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t t_split, dlm_term term,
                 int named, const char *what)
{
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    x.t_split = t_split;
    x.hi = hi;
    return new_ext(t, lo, &x, lo.bad || hi.bad || t_split <= 0, term, named, what);
}

int tl_new_tround(dlm_timeline *t, dlm_poly law, int64_t m, dlm_term term, int named,
                  const char *what)
{
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    x.t_round = m;
    return new_ext(t, law, &x, law.bad || m < 1, term, named, what);
}

int tl_new_bsplit(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t b_split, dlm_term term,
                  int named, const char *what)
{
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    x.b_split = b_split;
    x.bhi = hi;
    return new_ext(t, lo, &x, lo.bad || hi.bad || b_split <= 0, term, named, what);
}

int tl_new_split_max(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t t_split, dlm_poly alt,
                     dlm_term term, int named, const char *what)
{
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    x.kind = TL_SIZE_MAX;
    x.t_split = t_split;
    x.hi = hi;
    x.alt = alt;
    return new_ext(t, lo, &x, lo.bad || hi.bad || alt.bad || t_split <= 0, term, named, what);
}

int tl_new_rows(dlm_timeline *t, const dlm_ws_series *ws, int field, dlm_poly batch, dlm_poly seq,
                int version, const char *term_name, const char *call, dlm_term term, int named,
                const char *what)
{
    if (t->status != DLM_OK) return -1;
    if (batch.bad || seq.bad) {
        t->status = dlm_error(DLM_EINTERNAL, "bad row key for %s", what);
        return -1;
    }
    tl_size_ext x;
    memset(&x, 0, sizeof x);
    x.kind = TL_SIZE_ROWS;
    x.ws = ws;
    x.ws_field = field;
    x.ws_batch = batch;
    x.ws_seq = seq;
    x.ws_version = version;
    x.ws_op = t->cur_op;
    x.ws_phase = (uint8_t)t->cur_phase;
    x.ws_term = term_name;
    x.ws_call = call;
    int s = size_index_ext(t, dlm_poly_const(0), &x, 0);
    return s < 0 ? -1 : new_slot(t, s, term, named, what);
}

int tl_new_input(dlm_timeline *t, int named, dlm_poly bytes, dlm_term term, const char *what)
{
    if (t->status != DLM_OK || named < 0) return -1;
    int s = t->named_size[named];
    if (s < 0) {
        s = size_index(t, bytes, 1);
        if (s < 0) return -1;
        t->named_size[named] = s;
    }
    return new_slot(t, s, term, named, what);
}

void tl_ref(dlm_timeline *t, int slot)
{
    if (slot >= 0 && t->status == DLM_OK) t->refs[slot]++;
}

void tl_unref(dlm_timeline *t, int slot)
{
    if (slot < 0 || t->status != DLM_OK) return;
    if (t->refs[slot] <= 0) {
        t->status = dlm_error(DLM_EINTERNAL, "timeline: %s of op %d released twice",
                              t->slots[slot].what, t->slots[slot].op);
        return;
    }
    if (--t->refs[slot] == 0) push_event(t, TL_FREE, slot);
}

int tl_refs(const dlm_timeline *t, int slot)
{
    return slot >= 0 ? t->refs[slot] : 0;
}

void tl_mark(dlm_timeline *t)
{
    if (t->status == DLM_OK) push_event(t, TL_MARK, -1);
}

void tl_reset(dlm_timeline *t)
{
    t->reset_at = t->n_ev;
    push_event(t, TL_RESET, -1);
}

/* Classes of the TL_SIZE_ROWS sizes by (op, call, term) (static strings:
 * compared as pointers), through an open-addressing table. */
static dlm_status ws_classes(dlm_timeline *t)
{
    size_t ns = (size_t)(t->n_sizes ? t->n_sizes : 1), cap = 16;
    while (cap < 2 * ns) cap *= 2;
    int *first = malloc(cap * sizeof *first), n = 0;
    t->ws_class = malloc(ns * sizeof *t->ws_class);
    t->ws_stamp = calloc(ns, sizeof *t->ws_stamp);
    if (!first || !t->ws_class || !t->ws_stamp) {
        free(first);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (size_t h = 0; h < cap; h++) first[h] = -1;
    for (int i = 0; i < t->n_sizes; i++) {
        const tl_size_ext *x = &t->ext[i];
        t->ws_class[i] = -1;
        if (x->kind != TL_SIZE_ROWS) continue;
        size_t h = ((size_t)x->ws_op * 2654435761u ^ (size_t)(uintptr_t)x->ws_call ^
                    (size_t)(uintptr_t)x->ws_term * 31u) & (cap - 1);
        for (;; h = (h + 1) & (cap - 1)) {
            int f = first[h];
            if (f < 0) {
                first[h] = i;
                t->ws_class[i] = n++;
                break;
            }
            const tl_size_ext *y = &t->ext[f];
            if (y->ws_op == x->ws_op && y->ws_call == x->ws_call && y->ws_term == x->ws_term) {
                t->ws_class[i] = t->ws_class[f];
                break;
            }
        }
    }
    free(first);
    return DLM_OK;
}

dlm_status tl_finish(dlm_timeline *t, int pytorch)
{
    if (t->status != DLM_OK) return t->status;
    size_t ns = (size_t)(t->n_sizes ? t->n_sizes : 1), nl = (size_t)(t->n_slots ? t->n_slots : 1);
    t->val = calloc(ns, sizeof *t->val);
    t->blk = calloc(nl, sizeof *t->blk);
    t->handle = calloc(nl, sizeof *t->handle);
    t->special = calloc(ns, sizeof *t->special);
    if (!t->val || !t->blk || !t->handle || !t->special) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; i < t->n_sizes; i++)
        if (t->ext[i].kind != TL_SIZE_POLY || t->ext[i].t_split || t->ext[i].b_split ||
            t->ext[i].t_round > 1 || t->ext[i].chunk_k > 1)
            t->special[t->n_special++] = i;
    DLM_TRY(ws_classes(t));
    if (pytorch) DLM_TRY(dlm_palloc_alloc(t->n_mallocs, &t->pa));
    return DLM_OK;
}

dlm_status tl_eval(dlm_timeline *t, int64_t B, int64_t T, tl_result *r)
{
    int64_t cur = 0, term[DLM_TERM_COUNT] = {0}, named[DLM_MAX_NAMED] = {0};
    int counting = t->reset_at < 0;
    memset(r, 0, sizeof *r);
    r->err_op = -1;
    unsigned stamp = ++t->stamp;
    if (!stamp) { /* wrapped: no class may look counted */
        memset(t->ws_stamp, 0, (size_t)(t->n_sizes ? t->n_sizes : 1) * sizeof *t->ws_stamp);
        stamp = t->stamp = 1;
    }
    /* a size that does not fit, or is above TL_MAX_BYTES, is refused when it is
     * first allocated; the sums below are checked as well */
    for (int i = 0; i < t->n_sizes; i++)
        if (dlm_poly_eval_checked(&t->sizes[i], B, T, &t->val[i]) || t->val[i] > TL_MAX_BYTES)
            t->val[i] = -2; /* too large: reported at its first allocation */
    for (int k = 0; k < t->n_special; k++) {
        int i = t->special[k];
        const tl_size_ext *x = &t->ext[i];
        if (x->kind != TL_SIZE_ROWS) {
            int64_t v = tl_size_value(t, i, B, T);
            t->val[i] = v > TL_MAX_BYTES ? -2 : v;
            continue;
        }
        const dlm_ws_row *w;
        if (!tl_size_row(t, i, B, T, &w)) { /* not known: 0 B counted, and said */
            t->val[i] = 0;
            int c = t->ws_class[i];
            if (t->ws_stamp[c] == stamp) continue; /* this term counted already */
            t->ws_stamp[c] = stamp;
            if (r->n_unknown < TL_MAX_UNKNOWN) r->unknown[r->n_unknown] = i;
            r->n_unknown++;
            continue;
        }
        int64_t v = x->ws_field ? w->reserve : w->workspace;
        t->val[i] = v > TL_MAX_BYTES ? -2 : v;
        if (w->cudnn_version != x->ws_version) r->other_version = w->cudnn_version;
    }
    if (t->pa) dlm_palloc_reset(t->pa);
    r->peak = -1;
    r->peak_ev = -1;
    for (int i = 0; i < t->n_ev; i++) {
        const tl_event *e = &t->ev[i];
        if (e->kind == TL_RESET) {
            counting = 1;
            r->before = cur;
            r->peak = cur;
            r->peak_ev = i;
            memcpy(r->by_term, term, sizeof term);
            memcpy(r->named, named, sizeof named);
            continue;
        }
        if (e->kind == TL_MARK) continue;
        const tl_slot *s = &t->slots[e->slot];
        int64_t req = t->val[s->size], blk;
        if (e->kind == TL_ALLOC) {
            if (req == -2) {
                r->err_op = s->op;
                return dlm_error(DLM_ERANGE, "%s: more than %lld bytes (does not fit in 64-bit "
                                 "sums)", s->what, (long long)TL_MAX_BYTES);
            }
            if (req <= 0) {
                if (req < 0)
                    return dlm_error(DLM_EINTERNAL, "negative size for %s of op %d", s->what, s->op);
                t->blk[e->slot] = 0;
                continue;
            }
            if (req > TL_MAX_BYTES - cur) { /* cur <= TL_MAX_BYTES: checked before */
                r->err_op = s->op;
                return dlm_error(DLM_ERANGE, "%s: the memory in use would exceed %lld bytes",
                                 s->what, (long long)TL_MAX_BYTES);
            }
            if (t->pa) {
                int h = dlm_palloc_malloc(t->pa, req, &blk);
                if (h < 0) return dlm_error(DLM_EINTERNAL, "allocator simulation out of capacity");
                t->handle[e->slot] = h;
            } else {
                blk = req;
            }
            t->blk[e->slot] = blk;
            if (__builtin_add_overflow(cur, blk, &cur) ||
                __builtin_add_overflow(term[s->term], req, &term[s->term]) ||
                __builtin_add_overflow(term[DLM_TERM_ROUNDING], blk - req,
                                       &term[DLM_TERM_ROUNDING]) ||
                (s->named >= 0 && __builtin_add_overflow(named[s->named], req, &named[s->named]))) {
                r->err_op = s->op;
                return dlm_error(DLM_ERANGE, "%s: the memory in use does not fit in 64 bits",
                                 s->what);
            }
            if (counting && cur > r->peak) {
                r->peak = cur;
                r->peak_ev = i;
                memcpy(r->by_term, term, sizeof term);
                memcpy(r->named, named, sizeof named);
            }
        } else {
            blk = t->blk[e->slot];
            if (blk == 0) continue;
            if (t->pa) dlm_palloc_release(t->pa, t->handle[e->slot]);
            cur -= blk;
            term[s->term] -= req;
            term[DLM_TERM_ROUNDING] -= blk - req;
            if (s->named >= 0) named[s->named] -= req;
        }
    }
    if (r->peak < 0) { /* no reset: the whole run counts, from zero */
        r->peak = 0;
    }
    r->after = cur;
    return DLM_OK;
}

dlm_poly tl_live_poly(const dlm_timeline *t, int upto, int64_t B, int64_t T)
{
    dlm_poly sum = dlm_poly_const(0);
    char *live = calloc((size_t)(t->n_slots ? t->n_slots : 1), 1);
    if (!live) {
        sum.bad = 1;
        return sum;
    }
    for (int i = 0; i <= upto && i < t->n_ev; i++) {
        const tl_event *e = &t->ev[i];
        if (e->kind == TL_ALLOC) live[e->slot] = 1;
        else if (e->kind == TL_FREE) live[e->slot] = 0;
    }
    for (int s = 0; s < t->n_slots; s++)
        if (live[s]) sum = dlm_poly_add(sum, tl_size_law(t, t->slots[s].size, B, T));
    free(live);
    return sum;
}
