/* lora.c — peft's LoRA adapters counted on a graph (see lora.h). */
#include "lora.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dlm_status dlm_lora_parse(const char *spec, dlm_lora *out)
{
    memset(out, 0, sizeof *out);
    char buf[512];
    if (!spec || !*spec || strlen(spec) >= sizeof buf)
        return dlm_error(DLM_EINVAL, "--lora: expected r[,alpha][,target+target...], e.g. 8 or "
                         "16,32,q_proj+v_proj");
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *part = strtok_r(buf, ",", &save), *end;
    errno = 0;
    long r = strtol(part, &end, 10);
    if (errno || *end || end == part || r < 1 || r > 65536)
        return dlm_error(DLM_EINVAL, "--lora %s: rank '%s' is not an integer in [1, 65536]", spec,
                         part);
    out->r = (int)r;
    out->alpha = (double)r; /* alpha = r (peft's own default is 8); it only scales */
    if ((part = strtok_r(NULL, ",", &save))) {
        double a = strtod(part, &end);
        if (*end || end == part || !(a > 0))
            return dlm_error(DLM_EINVAL, "--lora %s: alpha '%s' is not a positive number", spec,
                             part);
        out->alpha = a;
        part = strtok_r(NULL, ",", &save);
    }
    if (part) {
        char *s2 = NULL;
        for (char *t = strtok_r(part, "+", &s2); t; t = strtok_r(NULL, "+", &s2)) {
            if (out->n_targets == DLM_LORA_MAX_TARGETS || strlen(t) >= sizeof out->targets[0])
                return dlm_error(DLM_EINVAL, "--lora %s: at most %d targets of at most %zu "
                                 "characters", spec, DLM_LORA_MAX_TARGETS,
                                 sizeof out->targets[0] - 1);
            snprintf(out->targets[out->n_targets++], sizeof out->targets[0], "%s", t);
        }
        if ((part = strtok_r(NULL, ",", &save)))
            return dlm_error(DLM_EINVAL, "--lora %s: unexpected '%s' (targets are joined with "
                             "'+')", spec, part);
    }
    return DLM_OK;
}

/* peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the families dlmem builds. */
static int default_targets(const char *family, dlm_lora *lo)
{
    static const struct { const char *family, *t[2]; } map[] = {
        {"gpt2", {"c_attn", NULL}},      {"llama", {"q_proj", "v_proj"}},
        {"mistral", {"q_proj", "v_proj"}}, {"qwen2", {"q_proj", "v_proj"}},
        {"bert", {"query", "value"}},    {"roberta", {"query", "value"}},
    };
    for (size_t i = 0; family && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].family, family)) {
            for (int k = 0; k < 2 && map[i].t[k]; k++)
                snprintf(lo->targets[lo->n_targets++], sizeof lo->targets[0], "%s", map[i].t[k]);
            return 1;
        }
    return 0;
}

static int targeted(const char *name, const dlm_lora *lo)
{
    size_t n = strlen(name);
    for (int i = 0; i < lo->n_targets; i++) {
        size_t k = strlen(lo->targets[i]);
        if (!strcmp(name, lo->targets[i]) ||
            (n > k && name[n - k - 1] == '.' && !strcmp(name + n - k, lo->targets[i])))
            return 1;
    }
    return 0;
}

dlm_status dlm_lora_count_params(const dlm_graph *g, dlm_lora *lo, dlm_lora_count *out)
{
    memset(out, 0, sizeof *out);
    if (lo->n_targets == 0 && !default_targets(g->family, lo))
        return dlm_error(DLM_EINVAL, "--lora: peft has no default target modules for %s; name "
                         "them (--lora %d,%g,NAME+NAME)", g->name, lo->r, lo->alpha);
    for (int i = 0; i < lo->n_targets; i++) {
        size_t l = strlen(out->targets);
        snprintf(out->targets + l, sizeof out->targets - l, "%s%s", i ? "+" : "", lo->targets[i]);
    }
    int same = 1, in0 = 0, out0 = 0;
    for (int o = 0; o < g->n_ops; o++) {
        const dlm_op *op = &g->ops[o];
        if (op->kind != DLM_OP_LINEAR || op->a.linear.tied || !targeted(op->name, lo)) continue;
        if (out->modules == 0) {
            in0 = op->a.linear.in;
            out0 = op->a.linear.out;
        } else if (op->a.linear.in != in0 || op->a.linear.out != out0) {
            same = 0;
        }
        out->modules++;
        out->trainable += (int64_t)lo->r * (op->a.linear.in + op->a.linear.out);
    }
    if (out->modules == 0)
        return dlm_error(DLM_EINVAL, "--lora: no Linear module of %s matches %s (peft refuses "
                         "such a config too)", g->name, out->targets);
    if (same)
        snprintf(out->formula, sizeof out->formula, "%d x %d*(%d + %d)", out->modules, lo->r, in0,
                 out0);
    else
        snprintf(out->formula, sizeof out->formula, "sum over %d modules of %d*(in + out)",
                 out->modules, lo->r);
    return DLM_OK;
}

dlm_status dlm_lora_apply(dlm_graph *g, dlm_lora *lo)
{
    dlm_lora_count c;
    DLM_TRY(dlm_lora_count_params(g, lo, &c));
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].role == DLM_ROLE_PARAM) g->tensors[t].frozen = 1;
    int n_ops = g->n_ops;
    for (int o = 0; o < n_ops; o++) {
        dlm_op *op = &g->ops[o];
        if (op->kind != DLM_OP_LINEAR || op->a.linear.tied || !targeted(op->name, lo)) continue;
        int64_t in = op->a.linear.in, out = op->a.linear.out;
        int a = dlm_graph_op_param(g, o, "lora_A.default.weight", 2, (int64_t[]){lo->r, in});
        int b = dlm_graph_op_param(g, o, "lora_B.default.weight", 2, (int64_t[]){out, lo->r});
        if (a < 0 || b < 0) return dlm_graph_status(g) != DLM_OK ? dlm_graph_status(g)
                                                                 : dlm_error(DLM_ENOMEM, "out of memory");
        g->ops[o].a.linear.lora_r = lo->r;
        /* get_peft_model's autocast_adapter_dtype=True: adapters of a half
         * model are made (and kept) in fp32 */
        g->tensors[a].keep_fp32 = g->tensors[b].keep_fp32 = 1;
    }
    return dlm_graph_status(g);
}
