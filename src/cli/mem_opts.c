/* mem_opts.c — shared memory-model options (see mem_opts.h). */
#include "mem_opts.h"

#include "../advise/segments.h"

#include "../analytic/lora.h"

#include <stdlib.h>
#include <string.h>

#include "../analytic/workspaces.h"

static const char *input_names[] = {"cublas_workspace", "cudnn_conv_workspace",
                                    "cudnn_rnn_workspace", "cudnn_rnn_reserve", "rnn_seq_lengths"};

static dlm_status parse_inputs(const char *s, dlm_mem_config *cfg)
{
    char *copy = strdup(s), *save = NULL;
    dlm_status st = DLM_OK;
    if (!copy) return dlm_error(DLM_ENOMEM, "out of memory");
    for (char *it = strtok_r(copy, ",", &save); it && st == DLM_OK; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        int64_t v;
        if (!eq) {
            st = dlm_error(DLM_EINVAL, "--input '%s': expected NAME=BYTES (e.g. "
                           "cudnn_conv_workspace=4194304)", it);
            break;
        }
        *eq = '\0';
        int known = 0;
        for (size_t k = 0; k < sizeof input_names / sizeof input_names[0]; k++)
            known |= !strcmp(it, input_names[k]);
        if (!known) {
            st = dlm_error(DLM_EINVAL, "--input: unknown workspace '%s' (valid: cublas_workspace, "
                           "cudnn_conv_workspace, cudnn_rnn_workspace, cudnn_rnn_reserve, "
                           "rnn_seq_lengths)", it);
            break;
        }
        if ((st = dlm_cli_size("--input", eq + 1, &v)) != DLM_OK) break;
        if (cfg->n_inputs == DLM_MAX_NAMED) {
            st = dlm_error(DLM_EINVAL, "--input: more than %d names", DLM_MAX_NAMED);
            break;
        }
        snprintf(cfg->inputs[cfg->n_inputs].name, sizeof cfg->inputs[0].name, "%s", it);
        cfg->inputs[cfg->n_inputs++].bytes = v;
    }
    free(copy);
    return st;
}

/* The --workspaces rows of this process's command (kept until exit). */
static dlm_ws_db *cli_ws;

static dlm_status read_workspaces(const dlm_cli_args *a, dlm_mem_config *cfg)
{
    if (cli_ws) {
        cfg->workspaces = cli_ws;
        return DLM_OK;
    }
    const char *files[64];
    int n = dlm_cli_get_all(a, "workspaces", files, 64);
    if (n > 64) return dlm_error(DLM_EINVAL, "--workspaces: more than 64 files");
    dlm_ws_db *db;
    DLM_TRY(dlm_ws_db_alloc(&db));
    dlm_status st = DLM_OK;
    for (int i = 0; i < n && st == DLM_OK; i++) st = dlm_ws_db_read(db, files[i]);
    if (st == DLM_OK) st = dlm_ws_db_read_defaults(db);
    if (st == DLM_OK) st = dlm_ws_db_finish(db);
    if (st != DLM_OK) {
        dlm_ws_db_free(db);
        return dlm_error_context(st, "--workspaces");
    }
    cli_ws = db;
    cfg->workspaces = db;
    return DLM_OK;
}

void dlm_cli_probe_command(const dlm_cli_args *a, const dlm_mem_config *cfg, int64_t B, int64_t T,
                           int uses_T, char *buf, size_t n)
{
    const char *set = dlm_cli_get(a, "set");
    /* the probe's dtype is the rows' (autocast: its half type); in chunks
     * of time steps the RNN runs over T/K (and T/K + 1) steps */
    const char *dt = cfg->dtype == DLM_DTYPE_MIXED ? (cfg->autocast_bf16 ? "bf16" : "fp16")
                                                   : dlm_dtype_name(cfg->dtype);
    /* the runtime profile's rows are the runtime's inference choices (dlmem-runtime) */
    if (cfg->profile == DLM_PROFILE_RUNTIME) dt = dlm_dtype_name(cfg->dtype);
    int k = snprintf(buf, n, "dlmem probe %s --mode %s --dtype %s --batch %lld", a->pos[0],
                     cfg->mode == DLM_MODE_INFER || cfg->profile == DLM_PROFILE_RUNTIME ? "infer"
                                                                                         : "train",
                     dt, (long long)B);
    if (k > 0 && (size_t)k < n && uses_T && cfg->rnn_chunks > 1) {
        int64_t lo = T / cfg->rnn_chunks, hi = lo + (T % cfg->rnn_chunks ? 1 : 0);
        if (hi > lo) k += snprintf(buf + k, n - (size_t)k, " --seq %lld,%lld", (long long)lo, (long long)hi);
        else k += snprintf(buf + k, n - (size_t)k, " --seq %lld", (long long)lo);
    } else if (k > 0 && (size_t)k < n && uses_T) {
        k += snprintf(buf + k, n - (size_t)k, " --seq %lld", (long long)T);
    }
    if (k > 0 && (size_t)k < n && set) snprintf(buf + k, n - (size_t)k, " --set %s", set);
}

/* Splits a comma list of names and parses each with parse (duplicates dropped). */
static dlm_status name_list(const char *opt, const char *s, int cap, int *vals, int *n,
                            dlm_status (*parse)(const char *, int *))
{
    char buf[256];
    *n = 0;
    if (strlen(s) >= sizeof buf) return dlm_error(DLM_EINVAL, "%s: list too long", opt);
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    if (!*buf || buf[strlen(buf) - 1] == ',' || buf[0] == ',' || strstr(buf, ",,"))
        return dlm_error(DLM_EINVAL, "%s: '%s' has an empty item", opt, s);
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        int v;
        if (parse(it, &v) != DLM_OK) return dlm_error_context(DLM_EINVAL, "%s", opt);
        int dup = 0;
        for (int k = 0; k < *n; k++) dup |= vals[k] == v;
        if (dup) continue;
        if (*n == cap) return dlm_error(DLM_EINVAL, "%s: more than %d values", opt, cap);
        vals[(*n)++] = v;
    }
    return DLM_OK;
}

static dlm_status parse_mode(const char *s, int *v)
{
    dlm_mode m;
    DLM_TRY(dlm_mode_parse(s, &m));
    *v = (int)m;
    return DLM_OK;
}

static dlm_status parse_dtype(const char *s, int *v)
{
    dlm_dtype d;
    DLM_TRY(dlm_dtype_parse(s, &d));
    *v = (int)d;
    return DLM_OK;
}

dlm_status dlm_cli_mem_lists(const dlm_cli_args *a, const dlm_mem_config *base, dlm_mode *modes,
                             int *nm, dlm_dtype *dtypes, int *nd)
{
    int v[8], n;
    const char *s;
    *nm = 1;
    modes[0] = base->mode;
    *nd = 1;
    dtypes[0] = base->dtype;
    if ((s = dlm_cli_get(a, "mode"))) {
        DLM_TRY(name_list("--mode", s, 3, v, &n, parse_mode));
        for (int k = 0; k < n; k++) modes[k] = (dlm_mode)v[k];
        *nm = n;
    }
    if ((s = dlm_cli_get(a, "dtype"))) {
        DLM_TRY(name_list("--dtype", s, 4, v, &n, parse_dtype));
        for (int k = 0; k < n; k++) dtypes[k] = (dlm_dtype)v[k];
        *nd = n;
    }
    return DLM_OK;
}

dlm_status dlm_cli_mem_check(const dlm_cli_args *a, const dlm_graph *g)
{
    if (dlm_cli_get(a, "attention")) {
        int has = 0;
        for (int i = 0; i < g->n_ops; i++) has |= g->ops[i].kind == DLM_OP_ATTENTION;
        if (!has)
            return dlm_error(DLM_EINVAL, "--attention: %s has no attention layer (leave "
                             "--attention out)", g->name);
    }
    return DLM_OK;
}

/* --checkpoint's segments, kept for the process (one command per process;
 * the memory model copies them) */
static dlm_op_range *ck_ranges;

/* --checkpoint block|stage: torch.utils.checkpoint (use_reentrant=False)
 * around every block (a decoder's layers, as gradient_checkpointing_enable
 * wraps them; BERT's layers; ResNet's BasicBlocks) or every stage. */
static dlm_status mem_checkpoint(const dlm_cli_args *a, dlm_mem_config *cfg, const dlm_graph *g)
{
    const char *s = dlm_cli_get(a, "checkpoint");
    if (!s) return DLM_OK;
    dlm_seg_kind kind;
    if (!strcmp(s, "block")) kind = DLM_SEG_BLOCK;
    else if (!strcmp(s, "stage")) kind = DLM_SEG_STAGE;
    else return dlm_error(DLM_EINVAL, "--checkpoint: '%s' is not block or stage", s);
    if (cfg->profile != DLM_PROFILE_PYTORCH)
        return dlm_error(DLM_EUNSUPPORTED, "--checkpoint: dlmem's GPU runtime runs no backward "
                         "(the runtime profile); use --profile pytorch");
    if (cfg->mode == DLM_MODE_INFER)
        return dlm_error(DLM_EINVAL, "--checkpoint: inference keeps no activations for backward: "
                         "use it with --mode forward or train");
    if (cfg->rnn_chunks > 1)
        return dlm_error(DLM_EINVAL, "--checkpoint and --rnn-chunks: give one checkpointing scheme");
    if (kind == DLM_SEG_STAGE && (g->loss >= 0 || g->n_cache > 0)) /* a causal LM */
        return dlm_error(DLM_EINVAL, "--checkpoint stage: %s is a decoder, whose layers "
                         "transformers checkpoints one by one (gradient_checkpointing_enable): "
                         "use --checkpoint block", g->name);
    dlm_segment *sg = NULL;
    int n = 0;
    DLM_TRY(dlm_segments_find(g, kind, &sg, &n));
    if (n == 0) {
        free(sg);
        return dlm_error(DLM_EINVAL, "--checkpoint %s: %s has no %ss to wrap (modules named "
                         "<container>.<index>.<op>)", s, g->name, s);
    }
    dlm_op_range *r = malloc((size_t)n * sizeof *r);
    if (!r) {
        free(sg);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) r[i] = sg[i].ops;
    free(sg);
    free(ck_ranges);
    ck_ranges = r;
    cfg->checkpoint = r;
    cfg->n_checkpoint = n;
    return DLM_OK;
}

dlm_status dlm_cli_mem_lora(const dlm_cli_args *a, dlm_mem_config *cfg, dlm_graph *g)
{
    const char *s = dlm_cli_get(a, "lora");
    if (s) {
        if (cfg->profile != DLM_PROFILE_PYTORCH)
            return dlm_error(DLM_EUNSUPPORTED, "--lora: dlmem's GPU runtime does not run adapters "
                             "(the runtime profile); use --profile pytorch");
        dlm_lora lo;
        DLM_TRY(dlm_lora_parse(s, &lo));
        DLM_TRY(dlm_lora_apply(g, &lo));
    }
    return mem_checkpoint(a, cfg, g);
}

dlm_status dlm_cli_loss_check(const dlm_cli_args *a, int has_train)
{
    if (!has_train && dlm_cli_get(a, "keep-outputs"))
        return dlm_error(DLM_EINVAL, "--keep-outputs: applies to a training step (--mode train)");
    if (dlm_cli_get(a, "loss") && !has_train)
        return dlm_error(DLM_EINVAL, "--loss: the loss is part of a training step: use it with "
                         "--mode train");
    return DLM_OK;
}

dlm_status dlm_cli_mem_single(const dlm_cli_args *a, const char *cmd)
{
    static const char *names[] = {"mode", "dtype"};
    for (int k = 0; k < 2; k++) {
        const char *s = dlm_cli_get(a, names[k]);
        if (s && strchr(s, ','))
            return dlm_error(DLM_EINVAL, "--%s: %s takes one %s (give lists to dlmem memory)",
                             names[k], cmd, names[k]);
    }
    return DLM_OK;
}

dlm_status dlm_cli_mem_config(const dlm_cli_args *a, dlm_mem_config *cfg, const dlm_gpu **gpu)
{
    const char *s;
    dlm_mem_config_default(cfg);
    /* a list (memory's --mode infer,train) takes its first value here */
    char first[64];
    if ((s = dlm_cli_get(a, "mode"))) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(s, ","), s);
        if (dlm_mode_parse(first, &cfg->mode)) return dlm_error_context(DLM_EINVAL, "--mode");
    }
    if ((s = dlm_cli_get(a, "dtype"))) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(s, ","), s);
        if (dlm_dtype_parse(first, &cfg->dtype)) return dlm_error_context(DLM_EINVAL, "--dtype");
    }
    if ((s = dlm_cli_get(a, "attention"))) {
        if (!strcmp(s, "sdpa") || !strcmp(s, "flash")) s = "fused"; /* PyTorch's names */
        if (dlm_attention_parse(s, &cfg->attention)) return dlm_error_context(DLM_EINVAL, "--attention");
    }
    if ((s = dlm_cli_get(a, "loss")) && dlm_loss_parse(s, &cfg->loss))
        return dlm_error_context(DLM_EINVAL, "--loss");
    if ((s = dlm_cli_get(a, "optimizer")) && dlm_optimizer_parse(s, &cfg->optimizer))
        return dlm_error_context(DLM_EINVAL, "--optimizer");
    if ((s = dlm_cli_get(a, "profile")) && dlm_profile_parse(s, &cfg->profile))
        return dlm_error_context(DLM_EINVAL, "--profile");
    s = dlm_cli_get(a, "gpu");
    if (dlm_gpu_find(s ? s : "h200", gpu)) return dlm_error_context(DLM_EINVAL, "--gpu");
    cfg->sm = (*gpu)->sm;
    cfg->keep_outputs = dlm_cli_get(a, "keep-outputs") != NULL;
    if ((s = dlm_cli_get(a, "rnn-chunks"))) {
        int64_t k;
        DLM_TRY(dlm_cli_int("--rnn-chunks", s, 1, DLM_MAX_RNN_CHUNKS, &k));
        cfg->rnn_chunks = (int)k;
    }
    cfg->rank = -1;
    if ((s = dlm_cli_get(a, "parallel")) && dlm_parallel_parse(s, &cfg->parallel))
        return dlm_error_context(DLM_EINVAL, "--parallel");
    if ((s = dlm_cli_get(a, "gpus"))) {
        int64_t n;
        DLM_TRY(dlm_cli_int("--gpus", s, 1, 1 << 20, &n));
        cfg->gpus = (int)n;
    }
    if ((s = dlm_cli_get(a, "rank"))) {
        int64_t k;
        DLM_TRY(dlm_cli_int("--rank", s, 0, (1 << 20) - 1, &k));
        cfg->rank = (int)k;
    }
    if ((dlm_cli_get(a, "gpus") || dlm_cli_get(a, "rank")) && cfg->parallel == DLM_PAR_NONE)
        return dlm_error(DLM_EINVAL, "--gpus and --rank need --parallel ddp|fsdp|zero1|zero2|zero3");
    if (cfg->parallel != DLM_PAR_NONE && !dlm_cli_get(a, "mode")) cfg->mode = DLM_MODE_TRAIN;
    if ((s = dlm_cli_get(a, "input"))) {
        if (cfg->profile != DLM_PROFILE_RUNTIME)
            return dlm_error(DLM_EINVAL, "--input sets the runtime's measured workspaces: use it "
                             "with --profile runtime");
        DLM_TRY(parse_inputs(s, cfg));
    }
    if ((s = dlm_cli_get(a, "autocast"))) {
        if (strcmp(s, "fp16") && strcmp(s, "bf16"))
            return dlm_error(DLM_EINVAL, "--autocast: '%s' is not fp16 or bf16", s);
        if (cfg->dtype != DLM_DTYPE_MIXED)
            return dlm_error(DLM_EINVAL, "--autocast: use it with --dtype mixed");
        cfg->autocast_bf16 = !strcmp(s, "bf16");
    }
    if ((s = dlm_cli_get(a, "cudnn-version"))) {
        int64_t v;
        DLM_TRY(dlm_cli_int("--cudnn-version", s, 1, 100000000, &v));
        cfg->cudnn_version = (int)v;
    }
    if (dlm_cli_get(a, "workspaces")) DLM_TRY(read_workspaces(a, cfg));
    return DLM_OK;
}
