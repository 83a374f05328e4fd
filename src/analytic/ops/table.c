/* table.c — the rule of every op kind (rule.h), indexed by kind.  A new op
 * kind is one rule in its family's file and one line here. */
#include "rule.h"

static const op_rule *const rules[DLM_OP_KIND_COUNT] = {
    [DLM_OP_CONV2D] = &dlm_rule_conv2d,
    [DLM_OP_BATCHNORM2D] = &dlm_rule_batchnorm2d,
    [DLM_OP_RELU] = &dlm_rule_relu,
    [DLM_OP_MAXPOOL2D] = &dlm_rule_maxpool2d,
    [DLM_OP_AVGPOOL2D_ADAPTIVE] = &dlm_rule_avgpool2d_adaptive,
    [DLM_OP_ADD] = &dlm_rule_add,
    [DLM_OP_FLATTEN] = &dlm_rule_flatten,
    [DLM_OP_LINEAR] = &dlm_rule_linear,
    [DLM_OP_RNN] = &dlm_rule_rnn,
    [DLM_OP_SELECT] = &dlm_rule_select,
    [DLM_OP_EMBEDDING] = &dlm_rule_embedding,
    [DLM_OP_LAYERNORM] = &dlm_rule_layernorm,
    [DLM_OP_DROPOUT] = &dlm_rule_dropout,
    [DLM_OP_GELU] = &dlm_rule_gelu,
    [DLM_OP_TANH] = &dlm_rule_tanh,
    [DLM_OP_SOFTMAX] = &dlm_rule_softmax,
    [DLM_OP_ATTENTION] = &dlm_rule_attention,
    [DLM_OP_VIEW] = &dlm_rule_view,
    [DLM_OP_CONVT2D] = &dlm_rule_convt2d,
    [DLM_OP_AVGPOOL2D] = &dlm_rule_avgpool2d,
    [DLM_OP_RELU6] = &dlm_rule_relu6,
    [DLM_OP_HARDSWISH] = &dlm_rule_hardswish,
    [DLM_OP_SILU] = &dlm_rule_silu,
    [DLM_OP_SIGMOID] = &dlm_rule_sigmoid,
    [DLM_OP_MUL] = &dlm_rule_mul,
    [DLM_OP_CONCAT] = &dlm_rule_concat,
    [DLM_OP_UPSAMPLE] = &dlm_rule_upsample,
    [DLM_OP_STOCHASTIC_DEPTH] = &dlm_rule_stochastic_depth,
    [DLM_OP_RMSNORM] = &dlm_rule_rmsnorm,
    [DLM_OP_SLICE] = &dlm_rule_slice,
    [DLM_OP_ROTARY] = &dlm_rule_rotary,
    [DLM_OP_ROPE] = &dlm_rule_rope,
    [DLM_OP_INDEX] = &dlm_rule_index,
    [DLM_OP_CAUSAL_LM_LOSS] = &dlm_rule_causal_lm_loss,
    [DLM_OP_PATCH_TOKENS] = &dlm_rule_patch_tokens,
    [DLM_OP_MHA] = &dlm_rule_mha,
};

const op_rule *dlm_op_rule(dlm_op_kind k)
{
    return (unsigned)k < DLM_OP_KIND_COUNT ? rules[k] : NULL;
}

