/* memconfig.c — the names, parsers and defaults of a memory configuration
 * (memory.h), and the element sizes of its dtypes.  Below the model
 * (memory.c) and the walker (trace.c), which both read it. */
#include "memory.h"

#include <string.h>

/* ---- names ---------------------------------------------------------------------- */

static const char *mode_names[] = {"infer", "forward", "train"};
static const char *dtype_names[] = {"fp32", "fp16", "bf16", "mixed"};
static const char *attn_names[] = {"eager", "fused"};
static const char *opt_names[] = {"adam", "sgd", "sgd-momentum", "adam8bit"};
static const char *profile_names[] = {"runtime", "pytorch"};
static const char *parallel_names[] = {"none", "ddp", "fsdp", "zero1", "zero2", "zero3"};
static const char *loss_names[] = {"mse", "ce"};
static const char *term_names[DLM_TERM_COUNT] = {
    "weights", "buffers", "inputs", "gradients", "optimizer",
    "saved", "transient", "workspace", "rounding"};
static const char *phase_names[] = {"forward", "backward", "step"};

static dlm_status parse_name(const char *what, const char *s, const char *const *names, int n,
                             int *out)
{
    char list[160] = "";
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return DLM_OK;
        }
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return dlm_error(DLM_EINVAL, "unknown %s '%s' (valid: %s)", what, s, list);
}

#define PARSER(fn, type, what, arr)                                              \
    dlm_status fn(const char *s, type *out)                                      \
    {                                                                            \
        int v;                                                                   \
        DLM_TRY(parse_name(what, s, arr, (int)(sizeof arr / sizeof arr[0]), &v)); \
        *out = (type)v;                                                          \
        return DLM_OK;                                                           \
    }
PARSER(dlm_mode_parse, dlm_mode, "mode", mode_names)
PARSER(dlm_dtype_parse, dlm_dtype, "dtype", dtype_names)
PARSER(dlm_attention_parse, dlm_attention, "attention", attn_names)
PARSER(dlm_optimizer_parse, dlm_optimizer, "optimizer", opt_names)
PARSER(dlm_loss_parse, dlm_loss, "loss", loss_names)
PARSER(dlm_profile_parse, dlm_profile, "profile", profile_names)
PARSER(dlm_parallel_parse, dlm_parallel, "parallel", parallel_names)

#define NAMER(fn, type, arr)                                                     \
    const char *fn(type v)                                                       \
    {                                                                            \
        return (int)v >= 0 && (size_t)v < sizeof arr / sizeof arr[0] ? arr[v] : "?"; \
    }
NAMER(dlm_mode_name, dlm_mode, mode_names)
NAMER(dlm_dtype_name, dlm_dtype, dtype_names)
NAMER(dlm_attention_name, dlm_attention, attn_names)
NAMER(dlm_optimizer_name, dlm_optimizer, opt_names)
NAMER(dlm_loss_name, dlm_loss, loss_names)
NAMER(dlm_profile_name, dlm_profile, profile_names)
NAMER(dlm_parallel_name, dlm_parallel, parallel_names)
NAMER(dlm_term_name, dlm_term, term_names)
NAMER(dlm_phase_name, dlm_phase, phase_names)

int dlm_dtype_act_bytes(dlm_dtype d) { return d == DLM_DTYPE_FP32 ? 4 : 2; }
int dlm_dtype_param_bytes(dlm_dtype d)
{
    return d == DLM_DTYPE_FP32 || d == DLM_DTYPE_MIXED ? 4 : 2;
}

void dlm_mem_config_default(dlm_mem_config *c)
{
    memset(c, 0, sizeof *c);
    c->mode = DLM_MODE_INFER;
    c->dtype = DLM_DTYPE_FP32;
    c->attention = DLM_ATTN_EAGER;
    c->optimizer = DLM_OPT_ADAM;
    c->profile = DLM_PROFILE_PYTORCH;
    c->sm = 90;
}
