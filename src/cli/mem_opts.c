/* mem_opts.c — shared memory-model options (see mem_opts.h). */
#include "mem_opts.h"

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
    if (cfg->profile == DLM_PROFILE_RUNTIME) { /* the runtime measures its own, per point */
        int k = snprintf(buf, n, "dlmem measure %s --batch %lld --dtype %s", a->pos[0], (long long)B,
                         dlm_dtype_name(cfg->dtype));
        if (k > 0 && (size_t)k < n && uses_T)
            k += snprintf(buf + k, n - (size_t)k, " --seq %lld", (long long)T);
        if (k > 0 && (size_t)k < n)
            snprintf(buf + k, n - (size_t)k, ", then --input NAME=BYTES from its columns");
        return;
    }
    int k = snprintf(buf, n, "dlmem probe %s --mode %s --dtype %s --batch %lld", a->pos[0],
                     cfg->mode == DLM_MODE_INFER ? "infer" : "train", dt, (long long)B);
    if (k > 0 && (size_t)k < n && uses_T && cfg->rnn_chunks > 1) {
        int64_t lo = T / cfg->rnn_chunks, hi = lo + (T % cfg->rnn_chunks ? 1 : 0);
        if (hi > lo) k += snprintf(buf + k, n - (size_t)k, " --seq %lld,%lld", (long long)lo, (long long)hi);
        else k += snprintf(buf + k, n - (size_t)k, " --seq %lld", (long long)lo);
    } else if (k > 0 && (size_t)k < n && uses_T) {
        k += snprintf(buf + k, n - (size_t)k, " --seq %lld", (long long)T);
    }
    if (k > 0 && (size_t)k < n && set) snprintf(buf + k, n - (size_t)k, " --set %s", set);
}

dlm_status dlm_cli_mem_config(const dlm_cli_args *a, dlm_mem_config *cfg, const dlm_gpu **gpu)
{
    const char *s;
    dlm_mem_config_default(cfg);
    if ((s = dlm_cli_get(a, "mode")) && dlm_mode_parse(s, &cfg->mode))
        return dlm_error_context(DLM_EINVAL, "--mode");
    if ((s = dlm_cli_get(a, "dtype")) && dlm_dtype_parse(s, &cfg->dtype))
        return dlm_error_context(DLM_EINVAL, "--dtype");
    if ((s = dlm_cli_get(a, "attention"))) {
        if (!strcmp(s, "sdpa") || !strcmp(s, "flash")) s = "fused"; /* PyTorch's names */
        if (dlm_attention_parse(s, &cfg->attention)) return dlm_error_context(DLM_EINVAL, "--attention");
    }
    if ((s = dlm_cli_get(a, "optimizer")) && dlm_optimizer_parse(s, &cfg->optimizer))
        return dlm_error_context(DLM_EINVAL, "--optimizer");
    if ((s = dlm_cli_get(a, "profile")) && dlm_profile_parse(s, &cfg->profile))
        return dlm_error_context(DLM_EINVAL, "--profile");
    s = dlm_cli_get(a, "gpu");
    if (dlm_gpu_find(s ? s : "h200", gpu)) return dlm_error_context(DLM_EINVAL, "--gpu");
    cfg->sm = (*gpu)->sm;
    if ((s = dlm_cli_get(a, "rnn-chunks"))) {
        int64_t k;
        DLM_TRY(dlm_cli_int("--rnn-chunks", s, 1, DLM_MAX_RNN_CHUNKS, &k));
        cfg->rnn_chunks = (int)k;
    }
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
