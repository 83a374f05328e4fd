/* params.h — parameter counts per layer, with their formulas written out.
 *
 * Every number here is exact (integers from the graph's constant shapes).
 * A layer is one op of the graph; ops without parameters or buffers have
 * count 0 and an empty formula.
 */
#ifndef DLM_PARAMS_H
#define DLM_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "../models/graph.h"

typedef struct dlm_layer_params {
    int op;              /* index into graph->ops */
    int64_t params;      /* trainable elements */
    int64_t buffers;     /* buffer elements */
    char formula[400];   /* "7*7*3*64 = 9408"; "" when params == 0 (a tied head says
                            which tensor it shares) */
    char buffer_formula[128]; /* "2*64 + 1 = 129" for BatchNorm; "" when none */
} dlm_layer_params;

/* One entry per op, in execution order (caller frees *out). */
dlm_status dlm_params_layers(const dlm_graph *g, dlm_layer_params **out, int *n);

/* Elements of all parameters (or buffers) whose name is `scope` or starts with
 * "scope."; scope "" means the whole model. */
int64_t dlm_params_in_scope(const dlm_graph *g, const char *scope, int buffers);

/* Bytes of parameters and buffers when floats are `float_bytes` wide (int64
 * buffers stay 8 bytes). */
int64_t dlm_params_bytes(const dlm_graph *g, int float_bytes);
int64_t dlm_buffers_bytes(const dlm_graph *g, int float_bytes);

#endif
