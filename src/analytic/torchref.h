/* torchref.h — PyTorch's own parameter and buffer list for a model, as written
 * by tools/torch_reference.py (data/reference/pytorch_params.csv), and its
 * one-to-one comparison with a dlmem graph.
 *
 * File columns: model, kind (param|buffer), index, name, shape, numel, dtype,
 * torch, torchvision, transformers.
 */
#ifndef DLM_TORCHREF_H
#define DLM_TORCHREF_H

#include <stdint.h>

#include "../models/graph.h"

typedef struct dlm_ref_tensor {
    char *name;
    char *shape;      /* "64x3x7x7" */
    int64_t numel;
    int is_buffer;
} dlm_ref_tensor;

typedef struct dlm_torch_ref {
    char *path;
    char *model;
    char *versions;   /* "torch 2.11.0, torchvision 0.26.0, transformers 5.17.0" */
    dlm_ref_tensor *t;
    int n;
} dlm_torch_ref;

/* Loads the rows of `model` from path.  A model absent from the file gives
 * DLM_OK with (*out)->n == 0; a malformed file is DLM_EPARSE (file:line). */
dlm_status dlm_torchref_load(const char *path, const char *model, dlm_torch_ref **out);
void dlm_torchref_free(dlm_torch_ref *r);

typedef enum dlm_ref_match {
    DLM_REF_SAME,          /* same name, same element count, same position */
    DLM_REF_COUNT_DIFFERS, /* same name, other element count */
    DLM_REF_ONLY_DLMEM,    /* dlmem has it, PyTorch does not */
    DLM_REF_ONLY_TORCH,    /* PyTorch has it, dlmem does not */
    DLM_REF_ORDER_DIFFERS  /* present in both, at another position */
} dlm_ref_match;

typedef struct dlm_ref_row {
    const char *name;
    int tensor;           /* dlmem tensor id, -1 if only in PyTorch */
    int64_t dlmem, torch; /* element counts (-1 where absent) */
    const char *torch_shape;
    int is_buffer;
    dlm_ref_match match;
} dlm_ref_row;

/* Compares the graph's parameters then buffers with the reference, in order.
 * *rows (caller frees) lists every tensor of either side; *mismatches counts
 * rows that are not DLM_REF_SAME. */
dlm_status dlm_torchref_compare(const dlm_graph *g, const dlm_torch_ref *r, dlm_ref_row **rows,
                                int *n, int *mismatches);

const char *dlm_ref_match_name(dlm_ref_match m);

#endif
