/* graph.c — building network graphs: tensors, ops and shape inference.
 * See graph.h for the contract.  Nothing here computes on data. */
#include "graph.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Records the first error only; returns -1 for the caller to pass on. */
static int fail(dlm_graph *g, dlm_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(dlm_graph *g, dlm_status s, const char *fmt, ...)
{
    if (g->status == DLM_OK) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        g->status = dlm_error(s, "model %s: %s", g->name ? g->name : "?", msg);
    }
    return -1;
}

/* Grows *arr (element size sz) to hold at least need elements. */
static int grow(dlm_graph *g, void **arr, int *cap, int need, size_t sz)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * sz);
    if (!p) {
        fail(g, DLM_ENOMEM, "out of memory growing the graph");
        return -1;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

static int push_id(dlm_graph *g, int **arr, int *n, int *cap, int id)
{
    if (grow(g, (void **)arr, cap, *n + 1, sizeof **arr)) return -1;
    (*arr)[(*n)++] = id;
    return 0;
}

static int valid_tensor(dlm_graph *g, int t, const char *what)
{
    if (g->status != DLM_OK) return 0;
    if (t < 0 || t >= g->n_tensors) {
        fail(g, DLM_EINTERNAL, "%s: tensor id %d does not exist", what, t);
        return 0;
    }
    return 1;
}

static dlm_poly numel_of(int ndim, const dlm_poly *shape)
{
    dlm_poly n = dlm_poly_const(1);
    for (int i = 0; i < ndim; i++) n = dlm_poly_mul(n, shape[i]);
    return n;
}

/* Appends a tensor; returns its id or -1. */
static int new_tensor(dlm_graph *g, const char *name, dlm_role role, dlm_elem elem,
                      int ndim, const dlm_poly *shape, int producer, int alias_of)
{
    if (g->status != DLM_OK) return -1;
    if (ndim < 0 || ndim > DLM_MAX_DIMS)
        return fail(g, DLM_EINTERNAL, "%s: rank %d is not supported", name, ndim);
    /* `shape` may point into g->tensors, which grow() can move: copy it first. */
    dlm_poly dims[DLM_MAX_DIMS];
    for (int i = 0; i < ndim; i++) dims[i] = shape[i];
    shape = dims;
    if (grow(g, (void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors))
        return -1;
    dlm_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    if (!t->name) return fail(g, DLM_ENOMEM, "out of memory");
    t->role = role;
    t->elem = elem;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        if (dlm_poly_deg_B(&shape[i]) > 0) g->uses_B = 1;
        if (dlm_poly_deg_T(&shape[i]) > 0) g->uses_T = 1;
    }
    t->numel = numel_of(ndim, shape);
    if (t->numel.bad) {
        free(t->name); /* the tensor is not kept */
        t->name = NULL;
        return fail(g, DLM_ERANGE, "%s: its number of elements does not fit in 64 bits (or has "
                    "a degree above 3 in B or T)", name);
    }
    t->producer = producer;
    t->alias_of = alias_of;
    return g->n_tensors++;
}

/* An int64 tensor (token ids) reaching an op other than embedding or a view:
 * PyTorch's own error where PyTorch rejects it; where PyTorch computes in int64
 * (relu, max-pool, add, tanh promotes), dlmem, whose ops are floating point,
 * says it does not model it rather than size it as a float. */
static int int64_input(dlm_graph *g, dlm_op_kind kind, const char *name, const char *tname)
{
    const char *torch = NULL;
    switch (kind) {
    case DLM_OP_LINEAR: torch = "mat1 and mat2 must have the same dtype, but got Long and Float"; break;
    case DLM_OP_CONV2D: torch = "Input type (long int) and weight type (float) should be the same"; break;
    case DLM_OP_BATCHNORM2D: torch = "\"batch_norm\" not implemented for 'Long'"; break;
    case DLM_OP_LAYERNORM: torch = "mixed dtype (CPU): all inputs must share same datatype."; break;
    case DLM_OP_RNN: torch = "RNN input dtype (torch.int64) does not match weight dtype (torch.float32)"; break;
    case DLM_OP_GELU: torch = "\"GeluKernelImpl\" not implemented for 'Long'"; break;
    case DLM_OP_SOFTMAX: torch = "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"; break;
    case DLM_OP_AVGPOOL2D_ADAPTIVE: torch = "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Long"; break;
    case DLM_OP_ATTENTION: torch = "expected scalar type Float but found Long"; break;
    case DLM_OP_DROPOUT: torch = "result type Float can't be cast to the desired output type Long"; break;
    default: break;
    }
    if (torch)
        return fail(g, DLM_EINVAL, "%s: input %s is int64, which PyTorch's %s rejects (\"%s\")",
                    name, tname, dlm_op_kind_name(kind), torch);
    return fail(g, DLM_EUNSUPPORTED, "%s: input %s is int64; dlmem models %s on floating-point "
                "tensors only", name, tname, dlm_op_kind_name(kind));
}

/* Appends an op of `kind`; returns its index or -1.  Inputs are checked. */
static int new_op(dlm_graph *g, dlm_op_kind kind, const char *name, int n_in, const int *in)
{
    if (g->status != DLM_OK) return -1;
    if (n_in < 0 || n_in > DLM_OP_MAX_IN)
        return fail(g, DLM_EINVAL, "%s: %d inputs (at most %d)", name, n_in, DLM_OP_MAX_IN);
    for (int i = 0; i < n_in; i++)
        if (!valid_tensor(g, in[i], name)) return -1;
    if (kind != DLM_OP_EMBEDDING && kind != DLM_OP_VIEW && kind != DLM_OP_SELECT &&
        kind != DLM_OP_FLATTEN && kind != DLM_OP_INDEX)
        for (int i = 0; i < n_in; i++)
            if (g->tensors[in[i]].elem == DLM_EL_INT64 &&
                !(kind == DLM_OP_CAUSAL_LM_LOSS && i == 1)) /* the labels */
                return int64_input(g, kind, name, g->tensors[in[i]].name);
    if (grow(g, (void **)&g->ops, &g->cap_ops, g->n_ops + 1, sizeof *g->ops)) return -1;
    dlm_op *op = &g->ops[g->n_ops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->name = dup_str(name);
    if (!op->name) return fail(g, DLM_ENOMEM, "out of memory");
    op->n_in = n_in;
    for (int i = 0; i < n_in; i++) op->in[i] = in[i];
    return g->n_ops++;
}

/* Adds output tensor "<op>.out<k>" (or ".out" for the first) to op o. */
static int op_output(dlm_graph *g, int o, const char *suffix, int ndim, const dlm_poly *shape,
                     int alias_of)
{
    if (g->status != DLM_OK) return -1;
    char name[512];
    snprintf(name, sizeof name, "%s.%s", g->ops[o].name, suffix);
    int t = new_tensor(g, name, DLM_ROLE_ACT, DLM_EL_FLOAT, ndim, shape, o, alias_of);
    if (t < 0) return -1;
    dlm_op *op = &g->ops[o];
    op->out[op->n_out++] = t;
    return t;
}

/* Parameter "<module>.<leaf>" owned by op o. */
static int op_param(dlm_graph *g, int o, const char *leaf, int ndim, const int64_t *shape)
{
    char name[512];
    if (g->status != DLM_OK) return -1;
    snprintf(name, sizeof name, "%s.%s", g->ops[o].name, leaf);
    int t = dlm_graph_param(g, name, ndim, shape);
    if (t < 0) return -1;
    dlm_op *op = &g->ops[o];
    if (push_id(g, &op->params, &op->n_params, &op->cap_params, t)) return -1;
    return t;
}

int dlm_graph_op_param(dlm_graph *g, int o, const char *leaf, int ndim, const int64_t *shape)
{
    if (o < 0 || o >= g->n_ops) return -1;
    return op_param(g, o, leaf, ndim, shape);
}

static int op_buffer(dlm_graph *g, int o, const char *leaf, dlm_elem elem, int ndim,
                     const int64_t *shape)
{
    char name[512];
    if (g->status != DLM_OK) return -1;
    snprintf(name, sizeof name, "%s.%s", g->ops[o].name, leaf);
    int t = dlm_graph_buffer(g, name, elem, ndim, shape);
    if (t < 0) return -1;
    dlm_op *op = &g->ops[o];
    if (push_id(g, &op->buffers, &op->n_buffers, &op->cap_buffers, t)) return -1;
    return t;
}

/* Requires tensor t to have rank r; dimension d must be the constant c (c >= 0). */
static int need_rank(dlm_graph *g, int t, int r, const char *op)
{
    if (g->tensors[t].ndim != r)
        return fail(g, DLM_EINVAL, "%s: input %s has rank %d, expected %d", op,
                    g->tensors[t].name, g->tensors[t].ndim, r);
    return 0;
}

/* A constant dimension read as a layer attribute (channels, features, height):
 * attributes are C ints, so a larger one is refused, never truncated. */
static int const_dim(dlm_graph *g, int t, int d, const char *op, int64_t *v)
{
    const dlm_poly *p = &g->tensors[t].shape[d];
    if (!dlm_poly_is_const(p))
        return fail(g, DLM_EINVAL, "%s: dimension %d of %s must be a constant", op, d,
                    g->tensors[t].name);
    if (p->c[0][0] > INT_MAX)
        return fail(g, DLM_ERANGE, "%s: dimension %d of %s is %lld, more than the %d dlmem "
                    "handles", op, d, g->tensors[t].name, (long long)p->c[0][0], INT_MAX);
    *v = p->c[0][0];
    return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

dlm_status dlm_graph_alloc(const char *name, dlm_graph **out)
{
    dlm_graph *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g) return dlm_error(DLM_ENOMEM, "out of memory allocating graph %s", name);
    g->name = dup_str(name);
    if (!g->name) {
        free(g);
        return dlm_error(DLM_ENOMEM, "out of memory allocating graph %s", name);
    }
    g->loss = -1;
    *out = g;
    return DLM_OK;
}

void dlm_graph_free(dlm_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    for (int i = 0; i < g->n_ops; i++) {
        free(g->ops[i].name);
        free(g->ops[i].params);
        free(g->ops[i].buffers);
    }
    free(g->tensors);
    free(g->ops);
    free(g->params);
    free(g->buffers);
    free(g->inputs);
    free(g->outputs);
    free(g->cache);
    free(g->name);
    free(g);
}

dlm_status dlm_graph_status(const dlm_graph *g)
{
    if (g->status != DLM_OK) return g->status;
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        for (int i = 0; i < op->n_in; i++) {
            const dlm_tensor *t = &g->tensors[op->in[i]];
            if (t->role == DLM_ROLE_ACT && t->producer >= o)
                return dlm_error(DLM_EINTERNAL, "model %s: op %s reads %s before it is made",
                                 g->name, op->name, t->name);
        }
    }
    if (g->n_outputs == 0)
        return dlm_error(DLM_EINTERNAL, "model %s: no output marked", g->name);
    return DLM_OK;
}

/* ---- tensors -------------------------------------------------------------------- */

int dlm_graph_input(dlm_graph *g, const char *name, dlm_elem elem, int ndim,
                    const dlm_poly *shape)
{
    int t = new_tensor(g, name, DLM_ROLE_INPUT, elem, ndim, shape, -1, -1);
    if (t >= 0 && push_id(g, &g->inputs, &g->n_inputs, &g->cap_inputs, t)) return -1;
    return t;
}

static int const_tensor(dlm_graph *g, const char *name, dlm_role role, dlm_elem elem,
                        int ndim, const int64_t *shape)
{
    dlm_poly p[DLM_MAX_DIMS];
    if (g->status != DLM_OK) return -1;
    if (ndim < 0 || ndim > DLM_MAX_DIMS)
        return fail(g, DLM_EINTERNAL, "%s: rank %d is not supported", name, ndim);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return fail(g, DLM_EINVAL, "%s: dimension %d is %lld, must be positive", name, i,
                        (long long)shape[i]);
        p[i] = dlm_poly_const(shape[i]);
    }
    int t = new_tensor(g, name, role, elem, ndim, p, -1, -1);
    if (t < 0) return -1;
    /* every sum over the parameters (counts, bytes times the optimizer's states)
     * stays far inside int64 */
    int64_t n = g->tensors[t].numel.c[0][0];
    if (n > DLM_GRAPH_MAX_CONST_ELEMS - g->const_elems)
        return fail(g, DLM_ERANGE, "%s: the model's parameters and buffers would exceed 2^56 "
                    "elements", name);
    g->const_elems += n;
    return t;
}

int dlm_graph_param(dlm_graph *g, const char *name, int ndim, const int64_t *shape)
{
    int t = const_tensor(g, name, DLM_ROLE_PARAM, DLM_EL_FLOAT, ndim, shape);
    if (t >= 0 && push_id(g, &g->params, &g->n_params, &g->cap_params, t)) return -1;
    return t;
}

int dlm_graph_buffer(dlm_graph *g, const char *name, dlm_elem elem, int ndim,
                     const int64_t *shape)
{
    int t = const_tensor(g, name, DLM_ROLE_BUFFER, elem, ndim, shape);
    if (t >= 0 && push_id(g, &g->buffers, &g->n_buffers, &g->cap_buffers, t)) return -1;
    return t;
}

void dlm_graph_mark_output(dlm_graph *g, int t)
{
    if (!valid_tensor(g, t, "output")) return;
    push_id(g, &g->outputs, &g->n_outputs, &g->cap_outputs, t);
}

void dlm_graph_mark_cache(dlm_graph *g, int t)
{
    if (!valid_tensor(g, t, "cache")) return;
    push_id(g, &g->cache, &g->n_cache, &g->cap_cache, t);
}

void dlm_graph_attach_param(dlm_graph *g, int t)
{
    if (!valid_tensor(g, t, "attach")) return;
    if (g->n_ops == 0 || g->tensors[t].role != DLM_ROLE_PARAM) {
        fail(g, DLM_EINTERNAL, "%s: no op to attach the parameter to", g->tensors[t].name);
        return;
    }
    dlm_op *op = &g->ops[g->n_ops - 1];
    push_id(g, &op->params, &op->n_params, &op->cap_params, t);
}

static int prefix_rank(const char *name, const char *scope, int n, const char *const *prefixes)
{
    size_t k = strlen(scope);
    if (k && (strncmp(name, scope, k) || name[k] != '.')) return n;
    const char *rel = k ? name + k + 1 : name;
    for (int i = 0; i < n; i++)
        if (!strncmp(rel, prefixes[i], strlen(prefixes[i]))) return i;
    return n;
}

void dlm_graph_order_params(dlm_graph *g, int from, const char *scope, int n_prefixes,
                            const char *const *prefixes)
{
    if (g->status != DLM_OK || from < 0 || from >= g->n_params) return;
    /* insertion sort: stable, and a layer has a handful of tensors */
    for (int i = from + 1; i < g->n_params; i++) {
        int t = g->params[i], r = prefix_rank(g->tensors[t].name, scope, n_prefixes, prefixes);
        int j = i;
        while (j > from &&
               prefix_rank(g->tensors[g->params[j - 1]].name, scope, n_prefixes, prefixes) > r) {
            g->params[j] = g->params[j - 1];
            j--;
        }
        g->params[j] = t;
    }
}

/* ---- ops ------------------------------------------------------------------------ */

/* Output size along one dimension as PyTorch computes it: floor division
 * (div_rtn in aten/src/ATen/native/Pool.h), so a window that does not fit is
 * 0 or less, never rounded up to 1 by C's truncation toward zero. */
static int64_t conv_out(int64_t in, int k, int s, int p, int d)
{
    int64_t num = in + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1;
    int64_t q = num / s;
    if (num % s != 0 && num < 0) q--;
    return q + 1;
}

/* conv2d (transposed 0) or convt2d (1): attributes checked, weight and bias,
 * the output's shape. */
static int conv_op(dlm_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
                   int dilation, int groups, int bias, int transposed, int opad)
{
    int o = new_op(g, transposed ? DLM_OP_CONVT2D : DLM_OP_CONV2D, name, 1, &x);
    int64_t cin = 0, h = 0, w = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &cin) ||
        const_dim(g, x, 2, name, &h) || const_dim(g, x, 3, name, &w))
        return -1;
    if (cout <= 0 || k <= 0 || stride <= 0 || pad < 0 || dilation <= 0 || groups <= 0 ||
        opad < 0 || (transposed && opad >= stride && opad >= dilation))
        return fail(g, DLM_EINVAL, "%s: bad %s attributes", name,
                    transposed ? "conv_transpose2d" : "conv2d");
    if (cin % groups || cout % groups)
        return fail(g, DLM_EINVAL, "%s: %lld input and %d output channels are not multiples of "
                    "%d groups", name, (long long)cin, cout, groups);
    /* PyTorch's check_shape_forward (aten/src/ATen/native/ConvUtils.h), with
     * the dilated kernel's extent */
    int64_t ek = (int64_t)dilation * (k - 1) + 1;
    if (!transposed && (h + 2 * (int64_t)pad < ek || w + 2 * (int64_t)pad < ek))
        return fail(g, DLM_ERANGE, "%s: Calculated padded input size per channel: (%lld x %lld). "
                    "Kernel size: (%lld x %lld). Kernel size can't be greater than actual input "
                    "size (PyTorch's error)", name, (long long)(h + 2 * (int64_t)pad),
                    (long long)(w + 2 * (int64_t)pad), (long long)ek, (long long)ek);
    int64_t ho, wo;
    if (transposed) {
        ho = (h - 1) * stride - 2 * (int64_t)pad + (int64_t)dilation * (k - 1) + opad + 1;
        wo = (w - 1) * stride - 2 * (int64_t)pad + (int64_t)dilation * (k - 1) + opad + 1;
    } else {
        ho = conv_out(h, k, stride, pad, dilation);
        wo = conv_out(w, k, stride, pad, dilation);
    }
    if (ho <= 0 || wo <= 0)
        return fail(g, DLM_ERANGE, "%s: a %lldx%lld input is too small for a %dx%d kernel",
                    name, (long long)h, (long long)w, k, k);
    dlm_op *op = &g->ops[o];
    op->a.conv.cin = (int)cin;
    op->a.conv.cout = cout;
    op->a.conv.kh = op->a.conv.kw = k;
    op->a.conv.sh = op->a.conv.sw = stride;
    op->a.conv.ph = op->a.conv.pw = pad;
    op->a.conv.dh = op->a.conv.dw = dilation;
    op->a.conv.groups = groups;
    op->a.conv.bias = bias;
    op->a.conv.oph = op->a.conv.opw = transposed ? opad : 0;
    /* PyTorch's weight: (cout, cin/groups, k, k); transposed (cin, cout/groups, k, k) */
    if (transposed) op_param(g, o, "weight", 4, (int64_t[]){cin, cout / groups, k, k});
    else op_param(g, o, "weight", 4, (int64_t[]){cout, cin / groups, k, k});
    if (bias) op_param(g, o, "bias", 1, (int64_t[]){cout});
    dlm_poly shape[4] = {g->tensors[x].shape[0], dlm_poly_const(cout), dlm_poly_const(ho),
                         dlm_poly_const(wo)};
    return op_output(g, o, "out", 4, shape, -1);
}

int dlm_conv2d(dlm_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
               int bias)
{
    return conv_op(g, name, x, cout, k, stride, pad, 1, 1, bias, 0, 0);
}

int dlm_conv2d_ex(dlm_graph *g, const char *name, int x, int cout, int k, int stride, int pad,
                  int dilation, int groups, int bias)
{
    return conv_op(g, name, x, cout, k, stride, pad, dilation, groups, bias, 0, 0);
}

int dlm_conv_transpose2d(dlm_graph *g, const char *name, int x, int cout, int k, int stride,
                         int pad, int output_padding, int bias)
{
    return conv_op(g, name, x, cout, k, stride, pad, 1, 1, bias, 1, output_padding);
}

int dlm_batchnorm2d(dlm_graph *g, const char *name, int x)
{
    int o = new_op(g, DLM_OP_BATCHNORM2D, name, 1, &x);
    int64_t c = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &c)) return -1;
    g->ops[o].a.bn.c = (int)c;
    g->ops[o].a.bn.eps = 1e-5;
    g->ops[o].a.bn.momentum = 0.1;
    op_param(g, o, "weight", 1, (int64_t[]){c});
    op_param(g, o, "bias", 1, (int64_t[]){c});
    op_buffer(g, o, "running_mean", DLM_EL_FLOAT, 1, (int64_t[]){c});
    op_buffer(g, o, "running_var", DLM_EL_FLOAT, 1, (int64_t[]){c});
    op_buffer(g, o, "num_batches_tracked", DLM_EL_INT64, 0, NULL);
    return op_output(g, o, "out", 4, g->tensors[x].shape, -1);
}

/* An elementwise op whose output has x's shape; in place shares x's storage. */
static int elementwise(dlm_graph *g, dlm_op_kind kind, const char *name, int x, int inplace)
{
    int o = new_op(g, kind, name, 1, &x);
    if (o < 0) return -1;
    g->ops[o].inplace = inplace;
    return op_output(g, o, "out", g->tensors[x].ndim, g->tensors[x].shape,
                     inplace ? dlm_tensor_storage(g, x) : -1);
}

int dlm_relu(dlm_graph *g, const char *name, int x, int inplace)
{
    return elementwise(g, DLM_OP_RELU, name, x, inplace);
}

int dlm_gelu(dlm_graph *g, const char *name, int x)
{
    return elementwise(g, DLM_OP_GELU, name, x, 0);
}

int dlm_gelu_form_op(dlm_graph *g, const char *name, int x, dlm_gelu_form form)
{
    int t = elementwise(g, DLM_OP_GELU, name, x, 0);
    if (t >= 0) g->ops[g->n_ops - 1].a.gelu.form = form;
    return t;
}

int dlm_tanh(dlm_graph *g, const char *name, int x)
{
    return elementwise(g, DLM_OP_TANH, name, x, 0);
}

int dlm_softmax(dlm_graph *g, const char *name, int x)
{
    return elementwise(g, DLM_OP_SOFTMAX, name, x, 0);
}

int dlm_relu6(dlm_graph *g, const char *name, int x, int inplace)
{
    return elementwise(g, DLM_OP_RELU6, name, x, inplace);
}

int dlm_hardswish(dlm_graph *g, const char *name, int x, int inplace)
{
    return elementwise(g, DLM_OP_HARDSWISH, name, x, inplace);
}

int dlm_silu(dlm_graph *g, const char *name, int x, int inplace)
{
    return elementwise(g, DLM_OP_SILU, name, x, inplace);
}

int dlm_sigmoid(dlm_graph *g, const char *name, int x)
{
    return elementwise(g, DLM_OP_SIGMOID, name, x, 0);
}

/* dropout (in place or not) and stochastic depth: a probability in [0, 1). */
static int dropping(dlm_graph *g, dlm_op_kind kind, const char *name, int x, double p, int inplace)
{
    if (g->status == DLM_OK && !(p >= 0 && p < 1))
        return fail(g, DLM_ERANGE, "%s: %s probability %g outside [0, 1)", name,
                    kind == DLM_OP_DROPOUT ? "dropout" : "stochastic depth", p);
    int t = elementwise(g, kind, name, x, inplace);
    if (t >= 0) g->ops[g->n_ops - 1].a.dropout.p = p;
    return t;
}

int dlm_dropout_inplace(dlm_graph *g, const char *name, int x, double p)
{
    return dropping(g, DLM_OP_DROPOUT, name, x, p, 1);
}

int dlm_stochastic_depth(dlm_graph *g, const char *name, int x, double p)
{
    return dropping(g, DLM_OP_STOCHASTIC_DEPTH, name, x, p, 0);
}

int dlm_dropout(dlm_graph *g, const char *name, int x, double p)
{
    /* p = 0 (torchvision's ViT): at::dropout returns the input itself, in
     * training as in eval (_dropout_impl's p == 0 case), as in place */
    return dropping(g, DLM_OP_DROPOUT, name, x, p, p == 0);
}

/* PyTorch's pooling_output_shape (dilation 1). */
static int64_t pool_out(int64_t in, int k, int s, int p, int ceil_mode)
{
    int64_t num = in + 2 * (int64_t)p - (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--; /* the last window starts inside */
    return out;
}

static int pool_op(dlm_graph *g, dlm_op_kind kind, const char *name, int x, int k, int stride,
                   int pad, int ceil_mode)
{
    int o = new_op(g, kind, name, 1, &x);
    int64_t c = 0, h = 0, w = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &c) ||
        const_dim(g, x, 2, name, &h) || const_dim(g, x, 3, name, &w))
        return -1;
    if (k <= 0 || stride <= 0 || pad < 0)
        return fail(g, DLM_EINVAL, "%s: bad %s attributes", name, dlm_op_kind_name(kind));
    /* PyTorch's pool2d_shape_check (aten/src/ATen/native/Pool.h) */
    if (pad > k / 2)
        return fail(g, DLM_ERANGE, "%s: pad should be at most half of effective kernel size, "
                    "but got pad=%d, kernel_size=%d and dilation=1 (PyTorch's error)", name, pad, k);
    int64_t ho = pool_out(h, k, stride, pad, ceil_mode), wo = pool_out(w, k, stride, pad, ceil_mode);
    if (ho <= 0 || wo <= 0)
        return fail(g, DLM_ERANGE, "%s: Given input size: (%lldx%lldx%lld). Calculated output "
                    "size: (%lldx%lldx%lld). Output size is too small (PyTorch's error)", name,
                    (long long)c, (long long)h, (long long)w, (long long)c,
                    (long long)(ho > 0 ? ho : 0), (long long)(wo > 0 ? wo : 0));
    dlm_op *op = &g->ops[o];
    op->a.pool.kh = op->a.pool.kw = k;
    op->a.pool.sh = op->a.pool.sw = stride;
    op->a.pool.ph = op->a.pool.pw = pad;
    op->a.pool.dh = op->a.pool.dw = 1;
    op->a.pool.ceil = ceil_mode;
    dlm_poly shape[4] = {g->tensors[x].shape[0], dlm_poly_const(c), dlm_poly_const(ho),
                         dlm_poly_const(wo)};
    return op_output(g, o, "out", 4, shape, -1);
}

int dlm_maxpool2d(dlm_graph *g, const char *name, int x, int k, int stride, int pad)
{
    return pool_op(g, DLM_OP_MAXPOOL2D, name, x, k, stride, pad, 0);
}

int dlm_maxpool2d_ex(dlm_graph *g, const char *name, int x, int k, int stride, int pad,
                     int ceil_mode)
{
    return pool_op(g, DLM_OP_MAXPOOL2D, name, x, k, stride, pad, ceil_mode);
}

int dlm_avgpool2d(dlm_graph *g, const char *name, int x, int k, int stride, int pad, int ceil_mode)
{
    return pool_op(g, DLM_OP_AVGPOOL2D, name, x, k, stride, pad, ceil_mode);
}

int dlm_avgpool2d_adaptive(dlm_graph *g, const char *name, int x, int oh, int ow)
{
    int o = new_op(g, DLM_OP_AVGPOOL2D_ADAPTIVE, name, 1, &x);
    int64_t c = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &c)) return -1;
    g->ops[o].a.apool.oh = oh;
    g->ops[o].a.apool.ow = ow;
    dlm_poly shape[4] = {g->tensors[x].shape[0], dlm_poly_const(c), dlm_poly_const(oh),
                         dlm_poly_const(ow)};
    return op_output(g, o, "out", 4, shape, -1);
}

/* a (+ or *) b with PyTorch's broadcasting. */
static int binary(dlm_graph *g, dlm_op_kind kind, const char *name, int a, int b, int inplace)
{
    int in[2] = {a, b};
    int o = new_op(g, kind, name, 2, in);
    if (o < 0) return -1;
    /* Broadcasting as PyTorch does: dims aligned from the right, 1 stretches. */
    const dlm_tensor *ta = &g->tensors[a], *tb = &g->tensors[b];
    int nd = ta->ndim > tb->ndim ? ta->ndim : tb->ndim;
    dlm_poly shape[DLM_MAX_DIMS];
    dlm_poly one = dlm_poly_const(1);
    for (int i = 0; i < nd; i++) {
        int ia = ta->ndim - nd + i, ib = tb->ndim - nd + i;
        const dlm_poly *da = ia >= 0 ? &ta->shape[ia] : &one;
        const dlm_poly *db = ib >= 0 ? &tb->shape[ib] : &one;
        if (dlm_poly_equal(da, db) || dlm_poly_equal(db, &one)) shape[i] = *da;
        else if (dlm_poly_equal(da, &one)) shape[i] = *db;
        else
            return fail(g, DLM_EINVAL, "%s: shapes of %s and %s do not broadcast", name,
                        ta->name, tb->name);
    }
    dlm_poly out_numel = numel_of(nd, shape);
    if (inplace && (nd != ta->ndim || !dlm_poly_equal(&out_numel, &ta->numel)))
        return fail(g, DLM_EINVAL, "%s: in-place op would resize %s", name, ta->name);
    g->ops[o].inplace = inplace;
    return op_output(g, o, "out", nd, shape, inplace ? dlm_tensor_storage(g, a) : -1);
}

int dlm_add(dlm_graph *g, const char *name, int a, int b, int inplace)
{
    return binary(g, DLM_OP_ADD, name, a, b, inplace);
}

int dlm_mul(dlm_graph *g, const char *name, int a, int b, int inplace)
{
    return binary(g, DLM_OP_MUL, name, a, b, inplace);
}

int dlm_concat(dlm_graph *g, const char *name, int n, const int *ins, int dim)
{
    int o = new_op(g, DLM_OP_CONCAT, name, n, ins);
    if (o < 0) return -1;
    if (n < 1) return fail(g, DLM_EINVAL, "%s: concatenation of nothing", name);
    const dlm_tensor *t0 = &g->tensors[ins[0]];
    if (dim < 0 || dim >= t0->ndim)
        return fail(g, DLM_EINVAL, "%s: dimension %d out of range for %s", name, dim, t0->name);
    dlm_poly shape[DLM_MAX_DIMS];
    for (int d = 0; d < t0->ndim; d++) shape[d] = t0->shape[d];
    for (int i = 1; i < n; i++) {
        const dlm_tensor *t = &g->tensors[ins[i]];
        int ok = t->ndim == t0->ndim;
        for (int d = 0; ok && d < t0->ndim; d++)
            if (d != dim && !dlm_poly_equal(&t->shape[d], &t0->shape[d])) ok = 0;
        if (!ok)
            return fail(g, DLM_EINVAL, "%s: %s and %s differ outside dimension %d", name, t0->name,
                        t->name, dim);
        shape[dim] = dlm_poly_add(shape[dim], t->shape[dim]);
    }
    g->ops[o].a.cat.dim = dim;
    return op_output(g, o, "out", t0->ndim, shape, -1);
}

int dlm_upsample(dlm_graph *g, const char *name, int x, int scale, dlm_upsample_mode mode,
                 int align_corners)
{
    int o = new_op(g, DLM_OP_UPSAMPLE, name, 1, &x);
    int64_t c = 0, h = 0, w = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &c) ||
        const_dim(g, x, 2, name, &h) || const_dim(g, x, 3, name, &w))
        return -1;
    if (scale <= 0 || scale > 1024)
        return fail(g, DLM_EINVAL, "%s: scale factor %d outside 1..1024", name, scale);
    dlm_op *op = &g->ops[o];
    op->a.up.mode = mode;
    op->a.up.scale = scale;
    op->a.up.align_corners = mode == DLM_UP_BILINEAR && align_corners;
    dlm_poly shape[4] = {g->tensors[x].shape[0], dlm_poly_const(c), dlm_poly_const(h * scale),
                         dlm_poly_const(w * scale)};
    return op_output(g, o, "out", 4, shape, -1);
}

int dlm_flatten(dlm_graph *g, const char *name, int x)
{
    int o = new_op(g, DLM_OP_FLATTEN, name, 1, &x);
    if (o < 0) return -1;
    const dlm_tensor *t = &g->tensors[x];
    dlm_poly rest = dlm_poly_const(1);
    for (int i = 1; i < t->ndim; i++) rest = dlm_poly_mul(rest, t->shape[i]);
    dlm_poly shape[2] = {t->shape[0], rest};
    dlm_elem elem = t->elem;
    int y = op_output(g, o, "out", 2, shape, dlm_tensor_storage(g, x));
    if (y >= 0) g->tensors[y].elem = elem; /* a view keeps its base's type */
    return y;
}

/* A linear op over the last dimension of x: nn.Linear (weight out x in),
 * GPT-2's Conv1D (transposed: weight in x out) or a head tied to `tied`. */
static int linear_op(dlm_graph *g, const char *name, int x, int out_features, int bias,
                     int transposed, int tied)
{
    int in2[2] = {x, tied};
    int o = new_op(g, DLM_OP_LINEAR, name, tied >= 0 ? 2 : 1, in2);
    int64_t in = 0;
    if (o < 0) return -1;
    int nd = g->tensors[x].ndim;
    if (nd < 1 || const_dim(g, x, nd - 1, name, &in)) return -1;
    if (out_features <= 0) return fail(g, DLM_EINVAL, "%s: out_features must be positive", name);
    g->ops[o].a.linear.in = (int)in;
    g->ops[o].a.linear.out = out_features;
    g->ops[o].a.linear.bias = bias;
    g->ops[o].a.linear.transposed = transposed;
    g->ops[o].a.linear.tied = tied >= 0;
    if (tied >= 0) {
        const dlm_tensor *w = &g->tensors[tied];
        if (w->role != DLM_ROLE_PARAM || w->ndim != 2 || w->shape[1].c[0][0] != in)
            return fail(g, DLM_EINVAL, "%s: tied weight %s is not a %lld-column parameter", name,
                        w->name, (long long)in);
    } else if (transposed) {
        op_param(g, o, "weight", 2, (int64_t[]){in, out_features});
    } else {
        op_param(g, o, "weight", 2, (int64_t[]){out_features, in});
    }
    if (bias) op_param(g, o, "bias", 1, (int64_t[]){out_features});
    dlm_poly shape[DLM_MAX_DIMS];
    for (int i = 0; i < nd - 1; i++) shape[i] = g->tensors[x].shape[i];
    shape[nd - 1] = dlm_poly_const(out_features);
    return op_output(g, o, "out", nd, shape, -1);
}

int dlm_linear(dlm_graph *g, const char *name, int x, int out_features, int bias)
{
    return linear_op(g, name, x, out_features, bias, 0, -1);
}

int dlm_conv1d(dlm_graph *g, const char *name, int x, int out_features)
{
    return linear_op(g, name, x, out_features, 1, 1, -1);
}

int dlm_linear_tied(dlm_graph *g, const char *name, int x, int weight)
{
    if (!valid_tensor(g, weight, name)) return -1;
    const dlm_tensor *w = &g->tensors[weight];
    if (w->ndim != 2 || !dlm_poly_is_const(&w->shape[0]))
        return fail(g, DLM_EINVAL, "%s: tied weight %s must be 2-d", name, w->name);
    return linear_op(g, name, x, (int)w->shape[0].c[0][0], 0, 0, weight);
}

int dlm_rnn(dlm_graph *g, const char *name, dlm_rnn_cell cell, int x, int hidden, int layers,
            int bias)
{
    int o = new_op(g, DLM_OP_RNN, name, 1, &x);
    int64_t in = 0;
    if (o < 0 || need_rank(g, x, 3, name) || const_dim(g, x, 2, name, &in)) return -1;
    if (hidden <= 0 || layers <= 0)
        return fail(g, DLM_EINVAL, "%s: hidden size and layers must be positive", name);
    int gates = cell == DLM_RNN_LSTM ? 4 : 3;
    dlm_op *op = &g->ops[o];
    op->a.rnn.cell = cell;
    op->a.rnn.input = (int)in;
    op->a.rnn.hidden = hidden;
    op->a.rnn.layers = layers;
    op->a.rnn.bias = bias;
    for (int l = 0; l < layers; l++) {
        char leaf[64];
        int64_t lin = l == 0 ? in : hidden;
        snprintf(leaf, sizeof leaf, "weight_ih_l%d", l);
        op_param(g, o, leaf, 2, (int64_t[]){gates * hidden, lin});
        snprintf(leaf, sizeof leaf, "weight_hh_l%d", l);
        op_param(g, o, leaf, 2, (int64_t[]){gates * hidden, hidden});
        if (bias) {
            snprintf(leaf, sizeof leaf, "bias_ih_l%d", l);
            op_param(g, o, leaf, 1, (int64_t[]){gates * hidden});
            snprintf(leaf, sizeof leaf, "bias_hh_l%d", l);
            op_param(g, o, leaf, 1, (int64_t[]){gates * hidden});
        }
    }
    const dlm_tensor *t = &g->tensors[x];
    dlm_poly out[3] = {t->shape[0], t->shape[1], dlm_poly_const(hidden)};
    dlm_poly state[3] = {dlm_poly_const(layers), t->shape[1], dlm_poly_const(hidden)};
    int y = op_output(g, o, "out", 3, out, -1);
    op_output(g, o, "h_n", 3, state, -1);
    if (cell == DLM_RNN_LSTM) op_output(g, o, "c_n", 3, state, -1);
    return g->status == DLM_OK ? y : -1;
}

int dlm_select(dlm_graph *g, const char *name, int x, int dim, int index)
{
    int o = new_op(g, DLM_OP_SELECT, name, 1, &x);
    if (o < 0) return -1;
    const dlm_tensor *t = &g->tensors[x];
    if (dim < 0 || dim >= t->ndim)
        return fail(g, DLM_EINVAL, "%s: dimension %d out of range for %s", name, dim, t->name);
    g->ops[o].a.select.dim = dim;
    g->ops[o].a.select.index = index;
    dlm_poly shape[DLM_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != dim) shape[k++] = t->shape[i];
    dlm_elem elem = t->elem;
    int y = op_output(g, o, "out", t->ndim - 1, shape, dlm_tensor_storage(g, x));
    if (y >= 0) g->tensors[y].elem = elem; /* a view keeps its base's type */
    return y;
}

int dlm_embedding(dlm_graph *g, const char *name, int ids, int weight)
{
    int o = new_op(g, DLM_OP_EMBEDDING, name, 1, &ids);
    if (o < 0 || !valid_tensor(g, weight, name)) return -1;
    const dlm_tensor *w = &g->tensors[weight], *t = &g->tensors[ids];
    if (w->role != DLM_ROLE_PARAM || w->ndim != 2)
        return fail(g, DLM_EINVAL, "%s: weight %s must be a 2-d parameter", name, w->name);
    if (t->elem != DLM_EL_INT64 || t->ndim + 1 > DLM_MAX_DIMS)
        return fail(g, DLM_EINVAL, "%s: ids %s must be int64 of rank < %d", name, t->name,
                    DLM_MAX_DIMS);
    dlm_op *op = &g->ops[o];
    op->a.emb.num = (int)w->shape[0].c[0][0];
    op->a.emb.dim = (int)w->shape[1].c[0][0];
    if (push_id(g, &op->params, &op->n_params, &op->cap_params, weight)) return -1;
    dlm_poly shape[DLM_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    shape[t->ndim] = dlm_poly_const(op->a.emb.dim);
    return op_output(g, o, "out", t->ndim + 1, shape, -1);
}

int dlm_layernorm(dlm_graph *g, const char *name, int x, double eps)
{
    int o = new_op(g, DLM_OP_LAYERNORM, name, 1, &x);
    int64_t d = 0;
    if (o < 0) return -1;
    int nd = g->tensors[x].ndim;
    if (nd < 1 || const_dim(g, x, nd - 1, name, &d)) return -1;
    g->ops[o].a.ln.dim = (int)d;
    g->ops[o].a.ln.eps = eps;
    op_param(g, o, "weight", 1, (int64_t[]){d});
    op_param(g, o, "bias", 1, (int64_t[]){d});
    return op_output(g, o, "out", nd, g->tensors[x].shape, -1);
}

int dlm_attention_op(dlm_graph *g, const char *name, int q, int k, int v, int heads,
                     double dropout)
{
    int in[3] = {q, k, v};
    int o = new_op(g, DLM_OP_ATTENTION, name, 3, in);
    int64_t d = 0;
    if (o < 0 || need_rank(g, q, 3, name) || const_dim(g, q, 2, name, &d)) return -1;
    for (int i = 1; i < 3; i++)
        if (g->tensors[in[i]].ndim != 3 ||
            !dlm_poly_equal(&g->tensors[in[i]].numel, &g->tensors[q].numel))
            return fail(g, DLM_EINVAL, "%s: q, k and v must have the same shape", name);
    if (heads <= 0 || d % heads)
        return fail(g, DLM_EINVAL, "%s: hidden size %lld is not a multiple of %d heads", name,
                    (long long)d, heads);
    g->ops[o].a.attn.heads = g->ops[o].a.attn.kv_heads = heads;
    g->ops[o].a.attn.head_dim = (int)(d / heads);
    if (dropout < 0 || dropout >= 1)
        return fail(g, DLM_ERANGE, "%s: dropout probability %g outside [0, 1)", name, dropout);
    g->ops[o].a.attn.dropout = dropout;
    return op_output(g, o, "out", 3, g->tensors[q].shape, -1);
}

int dlm_attention_gqa(dlm_graph *g, const char *name, int q, int k, int v, int heads,
                      int kv_heads, int head_dim, int causal, int window, double dropout)
{
    int in[3] = {q, k, v};
    int o = new_op(g, DLM_OP_ATTENTION, name, 3, in);
    int64_t dq = 0, dk = 0, dv = 0;
    if (o < 0 || need_rank(g, q, 3, name) || need_rank(g, k, 3, name) ||
        need_rank(g, v, 3, name) || const_dim(g, q, 2, name, &dq) ||
        const_dim(g, k, 2, name, &dk) || const_dim(g, v, 2, name, &dv))
        return -1;
    if (heads <= 0 || kv_heads <= 0 || head_dim <= 0 || heads % kv_heads)
        return fail(g, DLM_EINVAL, "%s: %d heads are not a multiple of %d key/value heads",
                    name, heads, kv_heads);
    if (dq != (int64_t)heads * head_dim || dk != (int64_t)kv_heads * head_dim || dv != dk)
        return fail(g, DLM_EINVAL, "%s: q, k, v widths %lld, %lld, %lld do not match %d x %d "
                    "query and %d x %d key/value features", name, (long long)dq,
                    (long long)dk, (long long)dv, heads, head_dim, kv_heads, head_dim);
    if (dropout < 0 || dropout >= 1)
        return fail(g, DLM_ERANGE, "%s: dropout probability %g outside [0, 1)", name, dropout);
    dlm_op *op = &g->ops[o];
    op->a.attn.heads = heads;
    op->a.attn.kv_heads = kv_heads;
    op->a.attn.head_dim = head_dim;
    op->a.attn.causal = causal;
    op->a.attn.window = window;
    op->a.attn.dropout = dropout;
    return op_output(g, o, "out", 3, g->tensors[q].shape, -1);
}

int dlm_rmsnorm(dlm_graph *g, const char *name, int x, double eps)
{
    int o = new_op(g, DLM_OP_RMSNORM, name, 1, &x);
    int64_t d = 0;
    if (o < 0) return -1;
    int nd = g->tensors[x].ndim;
    if (nd < 1 || const_dim(g, x, nd - 1, name, &d)) return -1;
    if (!(eps > 0)) return fail(g, DLM_ERANGE, "%s: eps %g must be positive", name, eps);
    g->ops[o].a.ln.dim = (int)d;
    g->ops[o].a.ln.eps = eps;
    op_param(g, o, "weight", 1, (int64_t[]){d});
    return op_output(g, o, "out", nd, g->tensors[x].shape, -1);
}

int dlm_slice(dlm_graph *g, const char *name, int x, int dim, int start, int len)
{
    int o = new_op(g, DLM_OP_SLICE, name, 1, &x);
    int64_t d = 0;
    if (o < 0) return -1;
    const dlm_tensor *t = &g->tensors[x];
    if (dim < 0 || dim >= t->ndim || const_dim(g, x, dim, name, &d)) {
        if (g->status == DLM_OK)
            fail(g, DLM_EINVAL, "%s: dimension %d out of range for %s", name, dim, t->name);
        return -1;
    }
    if (start < 0 || len <= 0 || start + (int64_t)len > d)
        return fail(g, DLM_EINVAL, "%s: [%d, %d) is outside dimension %d (%lld) of %s", name,
                    start, start + len, dim, (long long)d, t->name);
    g->ops[o].a.slice.dim = dim;
    g->ops[o].a.slice.start = start;
    g->ops[o].a.slice.len = len;
    dlm_poly shape[DLM_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    shape[dim] = dlm_poly_const(len);
    return op_output(g, o, "out", t->ndim, shape, dlm_tensor_storage(g, x));
}

int dlm_rotary(dlm_graph *g, const char *name, int like, int head_dim, double theta,
               int *sin_out)
{
    int o = new_op(g, DLM_OP_ROTARY, name, 1, &like);
    *sin_out = -1;
    if (o < 0 || need_rank(g, like, 3, name)) return -1;
    if (head_dim <= 0 || head_dim % 2)
        return fail(g, DLM_EINVAL, "%s: head_dim %d must be positive and even", name, head_dim);
    if (!(theta > 0)) return fail(g, DLM_ERANGE, "%s: rope theta %g must be positive", name, theta);
    g->ops[o].a.rotary.head_dim = head_dim;
    g->ops[o].a.rotary.theta = theta;
    op_buffer(g, o, "inv_freq", DLM_EL_FLOAT, 1, (int64_t[]){head_dim / 2});
    op_buffer(g, o, "original_inv_freq", DLM_EL_FLOAT, 1, (int64_t[]){head_dim / 2});
    dlm_poly shape[3] = {dlm_poly_const(1), g->tensors[like].shape[1], dlm_poly_const(head_dim)};
    int c = op_output(g, o, "cos", 3, shape, -1);
    *sin_out = op_output(g, o, "sin", 3, shape, -1);
    return g->status == DLM_OK ? c : -1;
}

int dlm_rope(dlm_graph *g, const char *name, int q, int k, int cos, int sin, int heads,
             int kv_heads, int head_dim, int *k_out)
{
    int in[4] = {q, k, cos, sin};
    int o = new_op(g, DLM_OP_ROPE, name, 4, in);
    *k_out = -1;
    if (o < 0) return -1;
    g->ops[o].a.rope.heads = heads;
    g->ops[o].a.rope.kv_heads = kv_heads;
    g->ops[o].a.rope.head_dim = head_dim;
    int qo = op_output(g, o, "q", g->tensors[q].ndim, g->tensors[q].shape, -1);
    *k_out = op_output(g, o, "k", g->tensors[k].ndim, g->tensors[k].shape, -1);
    return g->status == DLM_OK ? qo : -1;
}

int dlm_patch_tokens(dlm_graph *g, const char *name, int x)
{
    int o = new_op(g, DLM_OP_PATCH_TOKENS, name, 1, &x);
    int64_t c = 0, h = 0, w = 0;
    if (o < 0 || need_rank(g, x, 4, name) || const_dim(g, x, 1, name, &c) ||
        const_dim(g, x, 2, name, &h) || const_dim(g, x, 3, name, &w))
        return -1;
    dlm_poly shape[3] = {g->tensors[x].shape[0], dlm_poly_const(h * w), dlm_poly_const(c)};
    return op_output(g, o, "out", 3, shape, dlm_tensor_storage(g, x));
}

int dlm_mha(dlm_graph *g, const char *name, int x, int heads, double dropout)
{
    int o = new_op(g, DLM_OP_MHA, name, 1, &x);
    int64_t e = 0;
    if (o < 0 || need_rank(g, x, 3, name) || const_dim(g, x, 2, name, &e)) return -1;
    if (heads <= 0 || e % heads)
        return fail(g, DLM_EINVAL, "%s: embedding %lld is not a multiple of %d heads", name,
                    (long long)e, heads);
    if (dropout < 0 || dropout >= 1)
        return fail(g, DLM_ERANGE, "%s: dropout probability %g outside [0, 1)", name, dropout);
    dlm_op *op = &g->ops[o];
    op->a.attn.heads = op->a.attn.kv_heads = heads;
    op->a.attn.head_dim = (int)(e / heads);
    op->a.attn.dropout = dropout;
    op_param(g, o, "in_proj_weight", 2, (int64_t[]){3 * e, e});
    op_param(g, o, "in_proj_bias", 1, (int64_t[]){3 * e});
    op_param(g, o, "out_proj.weight", 2, (int64_t[]){e, e});
    op_param(g, o, "out_proj.bias", 1, (int64_t[]){e});
    return op_output(g, o, "out", 3, g->tensors[x].shape, -1);
}

int dlm_causal_lm_loss(dlm_graph *g, const char *name, int logits, int labels)
{
    int in[2] = {logits, labels};
    int o = new_op(g, DLM_OP_CAUSAL_LM_LOSS, name, 2, in);
    if (o < 0 || need_rank(g, logits, 3, name) || need_rank(g, labels, 2, name)) return -1;
    if (g->tensors[labels].elem != DLM_EL_INT64)
        return fail(g, DLM_EINVAL, "%s: labels %s must be int64", name, g->tensors[labels].name);
    g->ops[o].train_only = 1;
    int t = op_output(g, o, "loss", 0, NULL, -1);
    if (t >= 0) g->loss = t;
    return t;
}

int dlm_index(dlm_graph *g, const char *name, int x, dlm_index_form form, int offset)
{
    int o = new_op(g, DLM_OP_INDEX, name, 1, &x);
    if (o < 0 || need_rank(g, x, 2, name)) return -1;
    g->ops[o].a.index.form = form;
    g->ops[o].a.index.offset = offset;
    const dlm_tensor *t = &g->tensors[x];
    dlm_poly shape[2] = {form == DLM_INDEX_ARANGE ? dlm_poly_const(1) : t->shape[0], t->shape[1]};
    int y = op_output(g, o, "out", 2, shape, -1);
    if (y >= 0) g->tensors[y].elem = DLM_EL_INT64;
    return y;
}

int dlm_view(dlm_graph *g, const char *name, int x, int ndim, const dlm_poly *shape)
{
    int o = new_op(g, DLM_OP_VIEW, name, 1, &x);
    if (o < 0) return -1;
    const dlm_tensor *t = &g->tensors[x];
    dlm_poly one = dlm_poly_const(1);
    if (ndim != t->ndim) return fail(g, DLM_EINVAL, "%s: a view keeps the rank of %s", name, t->name);
    for (int i = 0; i < ndim; i++) {
        const dlm_poly *in = &t->shape[i], *out = &shape[i];
        int ok = dlm_poly_equal(in, out) || dlm_poly_equal(in, &one) ||
                 (dlm_poly_is_const(in) && dlm_poly_is_const(out) && out->c[0][0] <= in->c[0][0]) ||
                 (dlm_poly_is_const(in) && !dlm_poly_is_const(out)); /* prefix of a bounded T */
        if (!ok) return fail(g, DLM_EINVAL, "%s: dimension %d is not a view of %s", name, i, t->name);
    }
    int y = op_output(g, o, "out", ndim, shape, dlm_tensor_storage(g, x));
    if (y >= 0) g->tensors[y].elem = g->tensors[x].elem;
    return y;
}

/* ---- reading -------------------------------------------------------------------- */

const char *dlm_op_kind_name(dlm_op_kind k)
{
    static const char *names[DLM_OP_KIND_COUNT] = {
        [DLM_OP_CONV2D] = "conv2d",
        [DLM_OP_BATCHNORM2D] = "batchnorm2d",
        [DLM_OP_RELU] = "relu",
        [DLM_OP_MAXPOOL2D] = "maxpool2d",
        [DLM_OP_AVGPOOL2D_ADAPTIVE] = "adaptive_avgpool2d",
        [DLM_OP_ADD] = "add",
        [DLM_OP_FLATTEN] = "flatten",
        [DLM_OP_LINEAR] = "linear",
        [DLM_OP_RNN] = "rnn",
        [DLM_OP_SELECT] = "select",
        [DLM_OP_EMBEDDING] = "embedding",
        [DLM_OP_LAYERNORM] = "layernorm",
        [DLM_OP_DROPOUT] = "dropout",
        [DLM_OP_GELU] = "gelu",
        [DLM_OP_TANH] = "tanh",
        [DLM_OP_SOFTMAX] = "softmax",
        [DLM_OP_ATTENTION] = "attention",
        [DLM_OP_VIEW] = "view",
        [DLM_OP_CONVT2D] = "conv_transpose2d",
        [DLM_OP_AVGPOOL2D] = "avgpool2d",
        [DLM_OP_RELU6] = "relu6",
        [DLM_OP_HARDSWISH] = "hardswish",
        [DLM_OP_SILU] = "silu",
        [DLM_OP_SIGMOID] = "sigmoid",
        [DLM_OP_MUL] = "mul",
        [DLM_OP_CONCAT] = "concat",
        [DLM_OP_UPSAMPLE] = "upsample",
        [DLM_OP_STOCHASTIC_DEPTH] = "stochastic_depth",
        [DLM_OP_RMSNORM] = "rmsnorm",
        [DLM_OP_SLICE] = "slice",
        [DLM_OP_ROTARY] = "rotary",
        [DLM_OP_ROPE] = "rope",
        [DLM_OP_PATCH_TOKENS] = "patch_tokens",
        [DLM_OP_MHA] = "multihead_attention",
        [DLM_OP_CAUSAL_LM_LOSS] = "causal_lm_loss",
        [DLM_OP_INDEX] = "index",
    };
    if ((int)k < 0 || k >= DLM_OP_KIND_COUNT) return "?";
    return names[k];
}

const char *dlm_op_new_form(const dlm_op *op)
{
    if (op->kind >= DLM_OP_RMSNORM) return dlm_op_kind_name(op->kind); /* the decoder and ViT kinds */
    if (op->kind == DLM_OP_LINEAR && op->a.linear.transposed) return "GPT-2 Conv1D";
    if (op->kind == DLM_OP_LINEAR && op->a.linear.tied) return "tied LM head";
    if (op->kind == DLM_OP_GELU && op->a.gelu.form == DLM_GELU_TANH) return "gelu tanh";
    if (op->kind == DLM_OP_GELU && op->a.gelu.form == DLM_GELU_NEW) return "gelu_new";
    if (op->kind == DLM_OP_ATTENTION && op->a.attn.causal) return "causal attention";
    if (op->kind == DLM_OP_ATTENTION && op->a.attn.kv_heads != op->a.attn.heads)
        return "grouped-query attention";
    return NULL;
}

int dlm_tensor_storage(const dlm_graph *g, int t)
{
    while (t >= 0 && g->tensors[t].alias_of >= 0) t = g->tensors[t].alias_of;
    return t;
}

int64_t dlm_tensor_numel_const(const dlm_graph *g, int t)
{
    return g->tensors[t].numel.c[0][0];
}

size_t dlm_tensor_shape_str(const dlm_graph *g, int t, char *buf, size_t n)
{
    const dlm_tensor *x = &g->tensors[t];
    size_t len = 0;
    int spaced = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!dlm_poly_is_const(&x->shape[i])) spaced = 1;
    if (n) buf[0] = '\0';
    if (x->ndim == 0) return (size_t)snprintf(buf, n, "scalar");
    for (int i = 0; i < x->ndim; i++) {
        char d[128];
        dlm_poly_format(&x->shape[i], d, sizeof d);
        int need_paren = strchr(d, ' ') != NULL;
        int k = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, "%s%s%s%s",
                         i ? (spaced ? " x " : "x") : "", need_paren ? "(" : "", d,
                         need_paren ? ")" : "");
        if (k > 0) len += (size_t)k;
    }
    return len;
}

int64_t dlm_graph_param_count(const dlm_graph *g)
{
    int64_t s = 0;
    for (int i = 0; i < g->n_params; i++) s += dlm_tensor_numel_const(g, g->params[i]);
    return s;
}

int64_t dlm_graph_buffer_count(const dlm_graph *g)
{
    int64_t s = 0;
    for (int i = 0; i < g->n_buffers; i++) s += dlm_tensor_numel_const(g, g->buffers[i]);
    return s;
}

int dlm_graph_find_tensor(const dlm_graph *g, const char *name)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}
