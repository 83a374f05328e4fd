/* params.c — per-layer parameter formulas (see params.h). */
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I(x) ((long long)(x))

/* One recurrent layer: gates*(in*h + h*h + h + h), the two biases being
 * PyTorch's b_ih and b_hh. */
static void rnn_layer(char *buf, size_t n, int gates, int in, int h, int bias)
{
    if (bias) snprintf(buf, n, "%d*(%d*%d + %d*%d + %d + %d)", gates, in, h, h, h, h, h);
    else snprintf(buf, n, "%d*(%d*%d + %d*%d)", gates, in, h, h, h);
}

/* Writes "<expr> = <sum of op's parameter tensors>" for op o. */
static void formula(const dlm_op *op, int64_t total, char *buf, size_t n)
{
    char expr[300] = "";
    switch (op->kind) {
    case DLM_OP_CONV2D:
        snprintf(expr, sizeof expr, "%d*%d*%d*%d", op->a.conv.kh, op->a.conv.kw,
                 op->a.conv.cin / op->a.conv.groups, op->a.conv.cout);
        if (op->a.conv.bias)
            snprintf(expr + strlen(expr), sizeof expr - strlen(expr), " + %d", op->a.conv.cout);
        break;
    case DLM_OP_CONVT2D: /* weight (cin, cout/groups, kh, kw) */
        snprintf(expr, sizeof expr, "%d*%d*%d*%d", op->a.conv.kh, op->a.conv.kw,
                 op->a.conv.cout / op->a.conv.groups, op->a.conv.cin);
        if (op->a.conv.bias)
            snprintf(expr + strlen(expr), sizeof expr - strlen(expr), " + %d", op->a.conv.cout);
        break;
    case DLM_OP_BATCHNORM2D:
        snprintf(expr, sizeof expr, "2*%d", op->a.bn.c);
        break;
    case DLM_OP_LAYERNORM:
        snprintf(expr, sizeof expr, "2*%d", op->a.ln.dim);
        break;
    case DLM_OP_RMSNORM:
        snprintf(expr, sizeof expr, "%d", op->a.ln.dim);
        break;
    case DLM_OP_MHA: { /* in_proj (3E x E) + bias, out_proj (E x E) + bias */
        int e = op->a.attn.heads * op->a.attn.head_dim;
        snprintf(expr, sizeof expr, "3*%d*%d + 3*%d + %d*%d + %d", e, e, e, e, e, e);
        break;
    }
    case DLM_OP_LINEAR:
        snprintf(expr, sizeof expr, "%d*%d", op->a.linear.in, op->a.linear.out);
        if (op->a.linear.bias)
            snprintf(expr + strlen(expr), sizeof expr - strlen(expr), " + %d", op->a.linear.out);
        break;
    case DLM_OP_EMBEDDING:
        snprintf(expr, sizeof expr, "%d*%d", op->a.emb.num, op->a.emb.dim);
        break;
    case DLM_OP_RNN: {
        int gates = op->a.rnn.cell == DLM_RNN_LSTM ? 4 : 3, h = op->a.rnn.hidden;
        int layers = op->a.rnn.layers;
        char first[96], rest[96];
        rnn_layer(first, sizeof first, gates, op->a.rnn.input, h, op->a.rnn.bias);
        rnn_layer(rest, sizeof rest, gates, h, h, op->a.rnn.bias);
        if (layers == 1) snprintf(expr, sizeof expr, "%s", first);
        else if (layers == 2) snprintf(expr, sizeof expr, "%s + %s", first, rest);
        else snprintf(expr, sizeof expr, "%s + %d*[%s]", first, layers - 1, rest);
        break;
    }
    default:
        break;
    }
    if (expr[0]) snprintf(buf, n, "%s = %lld", expr, I(total));
    else snprintf(buf, n, "%lld", I(total));
}

dlm_status dlm_params_layers(const dlm_graph *g, dlm_layer_params **out, int *n)
{
    dlm_layer_params *L = calloc((size_t)(g->n_ops ? g->n_ops : 1), sizeof *L);
    *out = NULL;
    *n = 0;
    if (!L) return dlm_error(DLM_ENOMEM, "out of memory");
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        L[o].op = o;
        for (int i = 0; i < op->n_params; i++)
            L[o].params += dlm_tensor_numel_const(g, op->params[i]);
        for (int i = 0; i < op->n_buffers; i++)
            L[o].buffers += dlm_tensor_numel_const(g, op->buffers[i]);
        if (L[o].params) formula(op, L[o].params, L[o].formula, sizeof L[o].formula);
        else if (op->kind == DLM_OP_LINEAR && op->a.linear.tied)
            snprintf(L[o].formula, sizeof L[o].formula, "0 (tied to %s: counted there)",
                     g->tensors[op->in[1]].name);
        if (op->kind == DLM_OP_BATCHNORM2D)
            snprintf(L[o].buffer_formula, sizeof L[o].buffer_formula, "2*%d + 1 = %lld",
                     op->a.bn.c, I(L[o].buffers));
        else if (L[o].buffers)
            snprintf(L[o].buffer_formula, sizeof L[o].buffer_formula, "%lld", I(L[o].buffers));
    }
    *out = L;
    *n = g->n_ops;
    return DLM_OK;
}

static int in_scope(const char *name, const char *scope)
{
    size_t k = strlen(scope);
    if (k == 0) return 1;
    return strncmp(name, scope, k) == 0 && (name[k] == '\0' || name[k] == '.');
}

int64_t dlm_params_in_scope(const dlm_graph *g, const char *scope, int buffers)
{
    const int *ids = buffers ? g->buffers : g->params;
    int n = buffers ? g->n_buffers : g->n_params;
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        if (in_scope(g->tensors[ids[i]].name, scope)) s += dlm_tensor_numel_const(g, ids[i]);
    return s;
}

static int64_t tensors_bytes(const dlm_graph *g, const int *ids, int n, int float_bytes)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++) {
        const dlm_tensor *t = &g->tensors[ids[i]];
        s += dlm_tensor_numel_const(g, ids[i]) * (t->elem == DLM_EL_INT64 ? 8 : float_bytes);
    }
    return s;
}

int64_t dlm_params_bytes(const dlm_graph *g, int float_bytes)
{
    return tensors_bytes(g, g->params, g->n_params, float_bytes);
}

int64_t dlm_buffers_bytes(const dlm_graph *g, int float_bytes)
{
    return tensors_bytes(g, g->buffers, g->n_buffers, float_bytes);
}
