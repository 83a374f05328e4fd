/* timeline.h — a compiled memory timeline: the allocations and frees of one
 * (graph, configuration) in execution order, with sizes as polynomials in B and
 * T, evaluated cheaply at many points.  Internal to src/analytic/.
 *
 * Building (once per model): tl_at() says where the next events happen (phase,
 * op), tl_new() allocates a slot (reference count 1), tl_ref()/tl_unref() keep
 * it alive for more holders (a Python variable, autograd's saved tensors, a
 * gradient buffer) and emit the free when the last one lets go.  tl_reset()
 * marks the start of the measured step (the peak statistic is reset there).
 *
 * Evaluating (per point): every distinct size is evaluated once, then the
 * events are walked, through the caching-allocator simulation for the pytorch
 * profile or at exact bytes for the runtime profile.  Nothing is allocated
 * per point.
 *
 * What it is not: the rules that say what PyTorch or the runtime allocates
 * (trace.c and ops/), nor the public API (memory.h).
 */
#ifndef DLM_TIMELINE_H
#define DLM_TIMELINE_H

#include <stdint.h>

#include "../core/poly.h"
#include "memory.h"
#include "pytorch_alloc.h"
#include "workspaces.h"

typedef enum {
    TL_ALLOC,
    TL_FREE,
    TL_RESET,
    TL_MARK /* no memory: a boundary between library calls within one op (the
               chunks of an RNN op), for the model's own per-op log */
} tl_kind;

typedef struct tl_event {
    uint8_t kind;   /* tl_kind */
    uint8_t phase;  /* dlm_phase */
    int32_t op;     /* graph op the event belongs to; -1: none (setup, loss, step) */
    int32_t slot;
} tl_event;

typedef struct tl_slot {
    int size;          /* index into sizes */
    uint8_t term;      /* dlm_term of the requested bytes */
    int8_t named;      /* index into named terms, -1 if none */
    int op;            /* op that made it (-1: none) */
    uint8_t phase;
    const char *what;  /* "out", "saved mean", "cudnn workspace", ... (static) */
} tl_slot;

/* How a size is evaluated besides its polynomial. */
typedef enum {
    TL_SIZE_POLY,     /* sizes[i], or hi above T = t_split (t_split > 0) */
    TL_SIZE_MAX,      /* the larger of that and `alt` */
    TL_SIZE_ROWS      /* a library's workspace or reserve from probed rows (workspaces.h),
                         looked up exactly at the op's batch (and sequence) length; no
                         row: not known (0 B counted, the point incomplete) */
} tl_size_kind;

typedef struct tl_size_ext {
    uint8_t kind;          /* tl_size_kind */
    int32_t chunk_k, chunk_i; /* chunk_k > 1: every law here is evaluated at the
                              length of chunk chunk_i of T split into chunk_k
                              (tl_chunk_len), not at T */
    int64_t t_split;       /* 0: sizes[i] holds for every T */
    dlm_poly hi, alt;
    int64_t b_split;       /* > 0: bhi holds for B > b_split (a layout PyTorch takes
                              only for larger batches) */
    dlm_poly bhi;
    int64_t t_round;       /* > 1: the law is evaluated at T rounded up to a multiple
                              of t_round (a kernel's padded rows) */
    /* TL_SIZE_ROWS: the series (NULL: no row at any size), which bytes of a row
     * (0 workspace, 1 reserve), the op's batch and sequence length as
     * polynomials in B and T (seq 0: none), the cuDNN version assumed; and
     * what the term is, for the list of unknown terms */
    const dlm_ws_series *ws;
    int ws_field;
    dlm_poly ws_batch, ws_seq;
    int ws_version;
    int ws_op;
    uint8_t ws_phase;       /* dlm_phase of the call */
    const char *ws_term;    /* "cudnn_conv_workspace" (static) */
    const char *ws_call;    /* "forward", "backward_data", ... (static) */
} tl_size_ext;

typedef struct dlm_timeline {
    tl_event *ev;
    int n_ev, cap_ev;
    dlm_poly *sizes;       /* distinct sizes in bytes (the law below t_split) */
    tl_size_ext *ext;      /* per size: how else it is evaluated */
    int n_sizes, cap_sizes;
    tl_slot *slots;
    int *refs;             /* build-time reference counts */
    int n_slots, cap_slots;
    int n_mallocs;         /* TL_ALLOC events (allocator capacity) */
    char named[DLM_MAX_NAMED][48];
    int named_size[DLM_MAX_NAMED]; /* size index of a settable named input, -1 */
    int n_named;
    int cur_op;
    dlm_phase cur_phase;
    int chunk_k, chunk_i;  /* tl_chunk(): the chunk new sizes are evaluated at */
    int reset_at;          /* event index of TL_RESET, -1 if none */
    dlm_status status;     /* first build error (sticky) */
    int *special;          /* sizes that are not a plain polynomial (tl_finish) */
    int n_special;
    /* evaluation scratch (a timeline is evaluated by one thread at a time) */
    int64_t *val;          /* per size */
    int64_t *blk;          /* per slot: bytes counted (block size or exact) */
    int *handle;           /* per slot: allocator handle */
    dlm_palloc *pa;        /* NULL: exact bytes (runtime profile) */
    /* TL_SIZE_ROWS sizes of one (op, call, term) form one class (the same
     * term in another chunk, or in the warm-up): unknown terms are counted
     * once per class and evaluation */
    int *ws_class;         /* per size: its class, -1 for other sizes */
    unsigned *ws_stamp;    /* per class: the evaluation that last counted it */
    unsigned stamp;
} dlm_timeline;

dlm_status tl_create(dlm_timeline **out);
void tl_destroy(dlm_timeline *t);

void tl_at(dlm_timeline *t, dlm_phase phase, int op);
/* Sizes made from now on that depend on T are evaluated at the length of
 * chunk i (0-based) of T split into k chunks, as x.tensor_split(k) splits a
 * sequence: T/k steps, one more for the first T % k chunks (an RNN run over
 * chunks of time steps).  k <= 1: at T again. */
void tl_chunk(dlm_timeline *t, int k, int i);
int64_t tl_chunk_len(int64_t T, int k, int i);
/* A boundary between two library calls of one op (TL_MARK). */
void tl_mark(dlm_timeline *t);
/* Index of named term `name` (added if new), -1 when full. */
int tl_named(dlm_timeline *t, const char *name);
/* Allocates `bytes` for `term`; returns the slot, or -1 when bytes is the zero
 * polynomial (PyTorch makes no allocation for an empty tensor).  `named` is a
 * named-term index or -1. */
int tl_new(dlm_timeline *t, dlm_poly bytes, dlm_term term, int named, const char *what);
/* A size whose law is evaluated at T rounded up to a multiple of `m` (the
 * memory-efficient attention kernel's logsumexp rows, padded to 32). */
int tl_new_tround(dlm_timeline *t, dlm_poly law, int64_t m, dlm_term term, int named,
                  const char *what);
/* A size that follows `lo` for B <= b_split and `hi` above (a copy PyTorch
 * makes only when the batch dimension cannot be merged into a view). */
int tl_new_bsplit(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t b_split, dlm_term term,
                  int named, const char *what);
/* A size that follows `lo` for T <= t_split and `hi` above (a library that
 * works on at most t_split time steps at once). */
int tl_new_split(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t t_split, dlm_term term,
                 int named, const char *what);
/* The larger of the size tl_new_split() would make and `alt` (a library
 * whose workspace serves two passes with different needs). */
int tl_new_split_max(dlm_timeline *t, dlm_poly lo, dlm_poly hi, int64_t t_split, dlm_poly alt,
                     dlm_term term, int named, const char *what);
/* A library's workspace (field 0) or reserve (1) from `ws`'s rows at batch
 * `batch` and sequence `seq` (polynomials; seq zero for none) under cuDNN
 * `version`; op, call and term name it in the list of unknown terms. */
int tl_new_rows(dlm_timeline *t, const dlm_ws_series *ws, int field, dlm_poly batch, dlm_poly seq,
                int version, const char *term_name, const char *call, dlm_term term, int named,
                const char *what);
/* For a TL_SIZE_ROWS size: its row at (B, T) (NULL: none); 1 when it is known
 * (a row with status ok). */
int tl_size_row(const dlm_timeline *t, int i, int64_t B, int64_t T, const dlm_ws_row **row);
/* The law of size index i around (B, T): the polynomial that holds there
 * (for a chunked size: its law with T replaced by the chunk's length, exact
 * at this T; the size grows by 1/k of that slope in T, which integer
 * coefficients cannot write). */
dlm_poly tl_size_law(const dlm_timeline *t, int i, int64_t B, int64_t T);
/* The value of size index i at (B, T). */
int64_t tl_size_value(const dlm_timeline *t, int i, int64_t B, int64_t T);
/* A named size whose value can be set after compilation (a runtime workspace
 * measured per point); `bytes` is its law until then. */
int tl_new_input(dlm_timeline *t, int named, dlm_poly bytes, dlm_term term, const char *what);
void tl_ref(dlm_timeline *t, int slot);
void tl_unref(dlm_timeline *t, int slot);
int tl_refs(const dlm_timeline *t, int slot);
void tl_reset(dlm_timeline *t);

/* Prepares evaluation scratch; `pytorch` selects the allocator simulation. */
dlm_status tl_finish(dlm_timeline *t, int pytorch);

/* Walks the events at (B, T).  Peak from the reset on; composition by term
 * and by named term at the peak; *peak_ev is the event that set the peak. */
#define TL_MAX_UNKNOWN 32
typedef struct tl_result {
    int64_t peak, before, after;
    int64_t by_term[DLM_TERM_COUNT];
    int64_t named[DLM_MAX_NAMED];
    int peak_ev;
    /* TL_SIZE_ROWS terms without a usable row at this point, one per class
     * (op, call, term): how many, and the first TL_MAX_UNKNOWN of them (a
     * size index of each); the cuDNN version of a row used that is not the
     * one assumed (0: none) */
    int n_unknown;
    int unknown[TL_MAX_UNKNOWN];
    int other_version;
    int err_op;  /* after a DLM_ERANGE: the op whose size did not fit (-1: none) */
} tl_result;
/* The largest size one allocation, and the memory in use at any time, may
 * have: 2^62 bytes.  A size or a total beyond it is DLM_ERANGE from tl_eval,
 * never a wrapped (negative) number. */
#define TL_MAX_BYTES ((int64_t)1 << 62)
dlm_status tl_eval(dlm_timeline *t, int64_t B, int64_t T, tl_result *r);

/* Sum of the requested sizes (polynomials, the laws that hold at T) of the
 * slots alive right after event `ev`, around (B, T). */
dlm_poly tl_live_poly(const dlm_timeline *t, int ev, int64_t B, int64_t T);

#endif
