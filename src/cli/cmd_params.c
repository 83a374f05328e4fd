/* cmd_params.c — `dlmem params MODEL`: parameter counts per layer with their
 * formulas, every parameter tensor beside PyTorch's own count, and the seed
 * report's Table 1 checked and explained. */
#include <stdlib.h>
#include <string.h>

#include "../analytic/claims.h"
#include "../analytic/lora.h"
#include "../analytic/params.h"
#include "../analytic/torchref.h"
#include "../core/csv.h"
#include "../core/paths.h"
#include "../models/models.h"
#include "cli.h"
#include "commands.h"

static const dlm_cli_opt opts[] = {
    {"format", 0, "FMT", "table (default), csv or json"},
    {"view", 0, "VIEW", "all (table default: layers and tensors), layers, tensors (csv "
                        "default) or seed (the seed report's Table 1 checked)"},
    {"set", 0, "K=V,...", "change model sizes (e.g. hidden=512,layers=3); see dlmem models"},
    {"reference", 0, "FILE", "PyTorch's counts (default data/reference/pytorch_params.csv)"},
    {"seed", 0, "FILE", "also check this copy of the seed report's Table 1 (--view seed reads "
                        "data/seed/table1.csv)"},
    {"lora", 0, "R[,ALPHA][,T+T]", "LoRA adapters as peft adds them (rank, lora_alpha, target "
     "modules; default targets: peft's for the model type): trainable parameters"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

typedef enum { VIEW_ALL, VIEW_LAYERS, VIEW_TENSORS, VIEW_SEED } view_kind;

/* One row of the seed's Table 1 that concerns this model. */
typedef struct seed_row {
    char label[128], scope[128], formula[256];
    int64_t theory, torch_claimed;
    char error[32];
    dlm_claim claim;       /* the seed's theory column checked */
    dlm_claim torch_claim; /* the seed's "PyTorch" column checked the same way */
} seed_row;

typedef struct ctx {
    const dlm_graph *g;
    const dlm_model_info *info; /* NULL for a network file */
    const char *name;           /* the model's name */
    const char *pytorch;        /* what it matches in PyTorch, or the file it came from */
    int custom;                 /* --set or a network file: the references do not apply */
    dlm_layer_params *layers;
    int n_layers;
    dlm_torch_ref *ref;         /* NULL when not applicable */
    char ref_path[1024];
    dlm_ref_row *rows;
    int n_rows, mismatches;
    seed_row *seed;
    int n_seed;
    char seed_path[1024];
    char seed_setup[256];
    const dlm_lora *lora;       /* --lora, or NULL */
    dlm_lora_count lora_n;
} ctx;

static dlm_status load_seed(ctx *c, const char *path)
{
    static const char *cols[] = {"model", "row", "scope", "seed_theory", "seed_pytorch",
                                 "seed_error", "seed_formula", "setup"};
    int idx[8];
    dlm_csv *csv;
    DLM_TRY(dlm_csv_read(path, &csv));
    dlm_status st = dlm_csv_require(csv, 8, cols, idx);
    if (st == DLM_OK && !(c->seed = calloc((size_t)csv->nrows + 1, sizeof *c->seed)))
        st = dlm_error(DLM_ENOMEM, "out of memory");
    for (int i = 0; st == DLM_OK && i < csv->nrows; i++) {
        if (strcmp(dlm_csv_get(csv, i, idx[0]), c->name)) continue;
        seed_row *s = &c->seed[c->n_seed];
        snprintf(s->label, sizeof s->label, "%s", dlm_csv_get(csv, i, idx[1]));
        snprintf(s->scope, sizeof s->scope, "%s", dlm_csv_get(csv, i, idx[2]));
        snprintf(s->error, sizeof s->error, "%s", dlm_csv_get(csv, i, idx[5]));
        snprintf(s->formula, sizeof s->formula, "%s", dlm_csv_get(csv, i, idx[6]));
        snprintf(c->seed_setup, sizeof c->seed_setup, "%s", dlm_csv_get(csv, i, idx[7]));
        if ((st = dlm_csv_int(csv, i, idx[3], &s->theory)) != DLM_OK) break;
        if ((st = dlm_csv_int(csv, i, idx[4], &s->torch_claimed)) != DLM_OK) break;
        st = dlm_claim_check(c->g, s->scope, s->theory, &s->claim);
        if (st == DLM_OK) st = dlm_claim_check(c->g, s->scope, s->torch_claimed, &s->torch_claim);
        if (st != DLM_OK) {
            st = dlm_error_context(st, "%s:%d", path, csv->lines[i]);
            break;
        }
        c->n_seed++;
    }
    dlm_csv_free(csv);
    return st;
}

/* The seed report's Table 1 is read only when asked for (--seed FILE or
 * --view seed): a user's network is not the seed's. */
static dlm_status load_refs(ctx *c, const dlm_cli_args *a, int want_seed)
{
    const char *ref = dlm_cli_get(a, "reference"), *seed = dlm_cli_get(a, "seed");
    if (c->custom) return DLM_OK;
    if (ref) snprintf(c->ref_path, sizeof c->ref_path, "%s", ref);
    else if (!dlm_data_path("reference/pytorch_params.csv", c->ref_path, sizeof c->ref_path))
        return dlm_error(DLM_EIO, "%s: PyTorch reference not found (set DLMEM_DATA or pass "
                         "--reference FILE)", c->ref_path);
    DLM_TRY(dlm_torchref_load(c->ref_path, c->name, &c->ref));
    if (c->ref->n == 0) {
        dlm_torchref_free(c->ref);
        c->ref = NULL;
    } else {
        DLM_TRY(dlm_torchref_compare(c->g, c->ref, &c->rows, &c->n_rows, &c->mismatches));
    }
    if (!seed && !want_seed) return DLM_OK;
    if (seed) snprintf(c->seed_path, sizeof c->seed_path, "%s", seed);
    else if (!dlm_data_path("seed/table1.csv", c->seed_path, sizeof c->seed_path))
        return dlm_error(DLM_EIO, "%s: the seed's Table 1 not found (set DLMEM_DATA or pass "
                         "--seed FILE)", c->seed_path);
    return load_seed(c, c->seed_path);
}

static const char *ival(char *buf, size_t n, int64_t v)
{
    if (v < 0) return "-";
    return dlm_fmt_int(buf, n, v);
}

/* ---- table output ------------------------------------------------------------------ */

static dlm_status print_layers(const ctx *c, FILE *f)
{
    static const char *hdr[] = {"#", "layer", "op", "output shape", "parameters formula",
                                "params", "buffers"};
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(7, hdr, "rllllrr", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < c->n_layers && st == DLM_OK; i++) {
        const dlm_op *op = &c->g->ops[c->layers[i].op];
        char num[16], shape[160], p[32], b[32];
        snprintf(num, sizeof num, "%d", i + 1);
        dlm_tensor_shape_str(c->g, op->out[0], shape, sizeof shape);
        const char *cells[] = {num, op->name, dlm_op_kind_name(op->kind), shape,
                               c->layers[i].formula[0] ? c->layers[i].formula : "-",
                               dlm_fmt_int(p, sizeof p, c->layers[i].params),
                               dlm_fmt_int(b, sizeof b, c->layers[i].buffers)};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) st = dlm_table_rule(t);
    if (st == DLM_OK) {
        char p[32], b[32];
        const char *cells[] = {"", "total", "", "", "", dlm_fmt_int(p, sizeof p,
                               dlm_graph_param_count(c->g)),
                               dlm_fmt_int(b, sizeof b, dlm_graph_buffer_count(c->g))};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        fprintf(f, "\nLayers in execution order (output shapes in batch B%s):\n",
                c->g->uses_T ? " and sequence length T" : "");
        st = dlm_table_print(t, f, 2);
    }
    dlm_table_free(t);
    return st;
}

static dlm_status print_tensors(const ctx *c, FILE *f)
{
    static const char *hdr[] = {"kind", "name", "shape", "dlmem", "PyTorch", "diff", "match"};
    if (!c->ref) {
        fprintf(f, "\nParameter tensors vs PyTorch: %s\n",
                c->custom ? (c->info ? "skipped (--set changed the sizes the reference was taken at)"
                                     : "no PyTorch reference for a network file or "
                                       "config.json (make check compares data/hf's configs "
                                       "with transformers)")
                          : "no PyTorch reference for this model in the reference file");
        return DLM_OK;
    }
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(7, hdr, "lllrrrl", &t));
    dlm_status st = DLM_OK;
    int64_t sum_d[2] = {0, 0}, sum_t[2] = {0, 0};
    for (int i = 0; i < c->n_rows && st == DLM_OK; i++) {
        const dlm_ref_row *r = &c->rows[i];
        char shape[96], d[32], p[32], df[32];
        if (r->tensor >= 0) dlm_tensor_shape_str(c->g, r->tensor, shape, sizeof shape);
        else snprintf(shape, sizeof shape, "%s", r->torch_shape ? r->torch_shape : "");
        if (r->dlmem > 0) sum_d[r->is_buffer] += r->dlmem;
        if (r->torch > 0) sum_t[r->is_buffer] += r->torch;
        snprintf(df, sizeof df, "%lld",
                 (long long)((r->dlmem < 0 ? 0 : r->dlmem) - (r->torch < 0 ? 0 : r->torch)));
        const char *cells[] = {r->is_buffer ? "buffer" : "param", r->name, shape,
                               ival(d, sizeof d, r->dlmem), ival(p, sizeof p, r->torch), df,
                               dlm_ref_match_name(r->match)};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) st = dlm_table_rule(t);
    for (int k = 0; k < 2 && st == DLM_OK; k++) {
        char d[32], p[32], df[32];
        snprintf(df, sizeof df, "%lld", (long long)(sum_d[k] - sum_t[k]));
        const char *cells[] = {"", k ? "total buffers" : "total parameters", "",
                               dlm_fmt_int(d, sizeof d, sum_d[k]), dlm_fmt_int(p, sizeof p, sum_t[k]),
                               df, sum_d[k] == sum_t[k] ? "same" : "DIFFERS"};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        fprintf(f, "\n");
        st = dlm_para(f, 0, "Every parameter and buffer tensor, dlmem vs PyTorch (%s; %s):",
                      c->ref_path, c->ref->versions ? c->ref->versions : "versions unknown");
        if (st == DLM_OK) st = dlm_table_print(t, f, 2);
    }
    if (st == DLM_OK) {
        if (c->mismatches == 0)
            fprintf(f, "  All %d parameter tensors and %d buffers match PyTorch one to one, "
                       "in order.\n", c->g->n_params, c->g->n_buffers);
        else
            fprintf(f, "  %d tensors DIFFER from PyTorch (see the match column).\n",
                    c->mismatches);
    }
    dlm_table_free(t);
    return st;
}

static const char *verdict_word(const seed_row *s)
{
    switch (s->claim.verdict) {
    case DLM_CLAIM_EXACT: return "right";
    case DLM_CLAIM_EXPLAINED: return "wrong";
    case DLM_CLAIM_UNEXPLAINED: return "wrong (cause unknown)";
    }
    return "?";
}

/* PyTorch's count for a seed row's scope (from the reference), -1 without one. */
static int64_t torch_in_scope(const ctx *c, const char *scope)
{
    int64_t torch = -1;
    size_t L = strlen(scope);
    if (!c->ref) return -1;
    for (int k = 0; k < c->n_rows; k++) {
        const char *n = c->rows[k].name;
        if (!c->rows[k].is_buffer && c->rows[k].torch > 0 &&
            (!L || (!strncmp(n, scope, L) && (n[L] == '.' || !n[L]))))
            torch = (torch < 0 ? 0 : torch) + c->rows[k].torch;
    }
    return torch;
}

static dlm_status print_seed(const ctx *c, FILE *f)
{
    static const char *hdr[] = {"seed row", "scope", "seed theory", "seed PyTorch",
                                "seed error", "dlmem", "PyTorch", "seed theory is"};
    if (c->n_seed == 0) return DLM_OK;
    dlm_table *t;
    DLM_TRY(dlm_table_alloc(8, hdr, "llrrrrrl", &t));
    dlm_status st = DLM_OK;
    for (int i = 0; i < c->n_seed && st == DLM_OK; i++) {
        const seed_row *s = &c->seed[i];
        char a[32], b[32], d[32], p[32];
        const char *cells[] = {s->label, s->scope[0] ? s->scope : "(whole model)",
                               dlm_fmt_int(a, sizeof a, s->theory),
                               dlm_fmt_int(b, sizeof b, s->torch_claimed), s->error,
                               dlm_fmt_int(d, sizeof d, s->claim.actual),
                               ival(p, sizeof p, torch_in_scope(c, s->scope)), verdict_word(s)};
        st = dlm_table_add(t, cells);
    }
    if (st == DLM_OK) {
        fprintf(f, "\n");
        st = dlm_para(f, 0, "The seed report's Table 1 (%s; %s):", c->seed_path, c->seed_setup);
        if (st == DLM_OK) st = dlm_table_print(t, f, 2);
    }
    for (int i = 0; i < c->n_seed && st == DLM_OK; i++) {
        const seed_row *s = &c->seed[i];
        int64_t torch = torch_in_scope(c, s->scope);
        char a[32], b[32];
        st = dlm_para(f, 2, "[%s] %s%s.", s->label,
                      s->claim.verdict == DLM_CLAIM_EXACT ? "The seed's count is " : "The seed ",
                      s->claim.explanation);
        if (st == DLM_OK && s->formula[0]) st = dlm_para(f, 6, "seed formula: %s", s->formula);
        if (st == DLM_OK && torch >= 0 && s->torch_claimed != torch) {
            const dlm_claim *tc = &s->torch_claim;
            dlm_fmt_int(a, sizeof a, s->torch_claimed);
            dlm_fmt_int(b, sizeof b, torch);
            if (tc->diff < 0 && tc->verdict == DLM_CLAIM_EXPLAINED)
                st = dlm_para(f, 6, "Its PyTorch column says %s where PyTorch counts %s: that "
                              "column %s, so its %s error compares a part with itself.", a, b,
                              tc->explanation, s->error);
            else
                st = dlm_para(f, 6, "Its PyTorch column says %s where PyTorch counts %s: no "
                              "PyTorch model of this shape reports that: the number %s.", a, b,
                              tc->explanation);
        }
    }
    dlm_table_free(t);
    return st;
}

static dlm_status print_table(const ctx *c, view_kind v, FILE *f)
{
    char p32[32], p16[32], pc[32], bc[32], bb[32];
    int64_t np = dlm_graph_param_count(c->g);
    fprintf(f, "%s: %s\n", c->name, c->pytorch);
    DLM_TRY(dlm_para(f, 0, "%s parameters (%s in fp32, %s in fp16/bf16); %s buffer elements (%s in fp32)",
            dlm_fmt_int(pc, sizeof pc, np),
            dlm_fmt_bytes(p32, sizeof p32, (double)dlm_params_bytes(c->g, 4)),
            dlm_fmt_bytes(p16, sizeof p16, (double)dlm_params_bytes(c->g, 2)),
            dlm_fmt_int(bc, sizeof bc, dlm_graph_buffer_count(c->g)),
            dlm_fmt_bytes(bb, sizeof bb, (double)dlm_buffers_bytes(c->g, 4))));
    if (c->lora) {
        char t[32], tot[32];
        DLM_TRY(dlm_para(f, 0, "LoRA r=%d lora_alpha=%g on %s (%d modules): %s trainable "
                         "parameters = %s; %s frozen; %s in all", c->lora->r, c->lora->alpha,
                         c->lora_n.targets, c->lora_n.modules,
                         dlm_fmt_int(t, sizeof t, c->lora_n.trainable), c->lora_n.formula,
                         dlm_fmt_int(pc, sizeof pc, np),
                         dlm_fmt_int(tot, sizeof tot, np + c->lora_n.trainable)));
    }
    if (v == VIEW_ALL || v == VIEW_LAYERS) DLM_TRY(print_layers(c, f));
    if (v == VIEW_ALL || v == VIEW_TENSORS) DLM_TRY(print_tensors(c, f));
    if (v == VIEW_ALL || v == VIEW_SEED) DLM_TRY(print_seed(c, f));
    return dlm_check_stream(f, "standard output");
}

/* ---- CSV and JSON -------------------------------------------------------------------- */

static dlm_status print_csv(const ctx *c, view_kind v, FILE *f)
{
    if (v == VIEW_LAYERS) {
        fputs("model,index,layer,op,output_shape,formula,params,buffers\n", f);
        for (int i = 0; i < c->n_layers; i++) {
            const dlm_op *op = &c->g->ops[c->layers[i].op];
            char shape[160];
            dlm_tensor_shape_str(c->g, op->out[0], shape, sizeof shape);
            fprintf(f, "%s,%d,", c->name, i + 1);
            dlm_csv_field(f, op->name);
            fprintf(f, ",%s,", dlm_op_kind_name(op->kind));
            dlm_csv_field(f, shape);
            fputc(',', f);
            dlm_csv_field(f, c->layers[i].formula);
            fprintf(f, ",%lld,%lld\n", (long long)c->layers[i].params,
                    (long long)c->layers[i].buffers);
        }
    } else if (v == VIEW_SEED) {
        fputs("model,seed_row,scope,seed_theory,seed_pytorch,dlmem,verdict,explanation\n", f);
        for (int i = 0; i < c->n_seed; i++) {
            const seed_row *s = &c->seed[i];
            fprintf(f, "%s,", c->name);
            dlm_csv_field(f, s->label);
            fputc(',', f);
            dlm_csv_field(f, s->scope);
            fprintf(f, ",%lld,%lld,%lld,%s,", (long long)s->theory, (long long)s->torch_claimed,
                    (long long)s->claim.actual, verdict_word(s));
            dlm_csv_field(f, s->claim.explanation);
            fputc('\n', f);
        }
    } else {
        fputs("model,kind,name,shape,dlmem,pytorch,match\n", f);
        if (c->ref) {
            for (int i = 0; i < c->n_rows; i++) {
                const dlm_ref_row *r = &c->rows[i];
                char shape[96];
                if (r->tensor >= 0) dlm_tensor_shape_str(c->g, r->tensor, shape, sizeof shape);
                else snprintf(shape, sizeof shape, "%s", r->torch_shape ? r->torch_shape : "");
                fprintf(f, "%s,%s,", c->name, r->is_buffer ? "buffer" : "param");
                dlm_csv_field(f, r->name);
                fputc(',', f);
                dlm_csv_field(f, shape);
                fprintf(f, ",%lld,", (long long)r->dlmem);
                if (r->torch >= 0) fprintf(f, "%lld", (long long)r->torch);
                fprintf(f, ",%s\n", dlm_ref_match_name(r->match));
            }
        } else {
            for (int k = 0; k < 2; k++) {
                const int *ids = k ? c->g->buffers : c->g->params;
                int n = k ? c->g->n_buffers : c->g->n_params;
                for (int i = 0; i < n; i++) {
                    char shape[96];
                    dlm_tensor_shape_str(c->g, ids[i], shape, sizeof shape);
                    fprintf(f, "%s,%s,", c->name, k ? "buffer" : "param");
                    dlm_csv_field(f, c->g->tensors[ids[i]].name);
                    fprintf(f, ",%s,%lld,,\n", shape, (long long)dlm_tensor_numel_const(c->g, ids[i]));
                }
            }
        }
    }
    return dlm_check_stream(f, "standard output");
}

static dlm_status print_json(const ctx *c, FILE *f)
{
    dlm_json j;
    dlm_json_init(&j, f, "dlmem.params/1");
    dlm_json_obj_begin(&j);
    dlm_json_kstr(&j, "model", c->name);
    dlm_json_kstr(&j, "pytorch", c->pytorch);
    dlm_json_kint(&j, "total_params", dlm_graph_param_count(c->g));
    dlm_json_kint(&j, "total_buffers", dlm_graph_buffer_count(c->g));
    dlm_json_key(&j, "param_bytes");
    dlm_json_obj_begin(&j);
    dlm_json_kint(&j, "fp32", dlm_params_bytes(c->g, 4));
    dlm_json_kint(&j, "fp16", dlm_params_bytes(c->g, 2));
    dlm_json_kint(&j, "bf16", dlm_params_bytes(c->g, 2));
    dlm_json_obj_end(&j);
    dlm_json_kint(&j, "buffer_bytes_fp32", dlm_buffers_bytes(c->g, 4));
    dlm_json_key(&j, "layers");
    dlm_json_arr_begin(&j);
    for (int i = 0; i < c->n_layers; i++) {
        const dlm_op *op = &c->g->ops[c->layers[i].op];
        char shape[160];
        dlm_tensor_shape_str(c->g, op->out[0], shape, sizeof shape);
        dlm_json_obj_begin(&j);
        dlm_json_kstr(&j, "name", op->name);
        dlm_json_kstr(&j, "op", dlm_op_kind_name(op->kind));
        dlm_json_kstr(&j, "output_shape", shape);
        dlm_json_kstr(&j, "formula", c->layers[i].formula);
        dlm_json_kint(&j, "params", c->layers[i].params);
        dlm_json_kint(&j, "buffers", c->layers[i].buffers);
        dlm_json_obj_end(&j);
    }
    dlm_json_arr_end(&j);
    dlm_json_key(&j, "tensors");
    dlm_json_arr_begin(&j);
    for (int k = 0; k < 2; k++) {
        const int *ids = k ? c->g->buffers : c->g->params;
        int n = k ? c->g->n_buffers : c->g->n_params;
        for (int i = 0; i < n; i++) {
            char shape[96];
            dlm_tensor_shape_str(c->g, ids[i], shape, sizeof shape);
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "name", c->g->tensors[ids[i]].name);
            dlm_json_kstr(&j, "kind", k ? "buffer" : "param");
            dlm_json_kstr(&j, "shape", shape);
            dlm_json_kint(&j, "numel", dlm_tensor_numel_const(c->g, ids[i]));
            dlm_json_obj_end(&j);
        }
    }
    dlm_json_arr_end(&j);
    dlm_json_key(&j, "pytorch_reference");
    if (c->ref) {
        dlm_json_obj_begin(&j);
        dlm_json_kstr(&j, "file", c->ref_path);
        dlm_json_kstr(&j, "versions", c->ref->versions ? c->ref->versions : "");
        dlm_json_kint(&j, "mismatches", c->mismatches);
        dlm_json_key(&j, "rows");
        dlm_json_arr_begin(&j);
        for (int i = 0; i < c->n_rows; i++) {
            const dlm_ref_row *r = &c->rows[i];
            dlm_json_obj_begin(&j);
            dlm_json_kstr(&j, "name", r->name);
            dlm_json_kstr(&j, "kind", r->is_buffer ? "buffer" : "param");
            dlm_json_key(&j, "dlmem");
            if (r->dlmem >= 0) dlm_json_int(&j, r->dlmem); else dlm_json_null(&j);
            dlm_json_key(&j, "pytorch");
            if (r->torch >= 0) dlm_json_int(&j, r->torch); else dlm_json_null(&j);
            dlm_json_kstr(&j, "match", dlm_ref_match_name(r->match));
            dlm_json_obj_end(&j);
        }
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
    } else {
        dlm_json_null(&j);
    }
    dlm_json_key(&j, "seed");
    dlm_json_arr_begin(&j);
    for (int i = 0; i < c->n_seed; i++) {
        const seed_row *s = &c->seed[i];
        dlm_json_obj_begin(&j);
        dlm_json_kstr(&j, "row", s->label);
        dlm_json_kstr(&j, "scope", s->scope);
        dlm_json_kint(&j, "seed_theory", s->theory);
        dlm_json_kint(&j, "seed_pytorch", s->torch_claimed);
        dlm_json_kint(&j, "dlmem", s->claim.actual);
        dlm_json_kstr(&j, "verdict", verdict_word(s));
        dlm_json_kstr(&j, "explanation", s->claim.explanation);
        dlm_json_obj_end(&j);
    }
    dlm_json_arr_end(&j);
    dlm_json_obj_end(&j);
    return dlm_json_finish(&j);
}

dlm_status dlm_cmd_params(int argc, char **argv)
{
    dlm_cli_args a;
    dlm_format fmt;
    DLM_TRY(dlm_cli_parse("params", argc, argv, opts, N_OPTS, &a));
    if (a.help) {
        dlm_cli_usage(stdout, "params", "MODEL|FILE.net [options]",
                      "Parameter counts per layer with their formulas, and every parameter tensor\n"
                      "beside PyTorch's own count (built-in networks).  --view seed (or --seed\n"
                      "FILE) adds the seed report's Table 1, checked.  MODEL is a built-in network\n"
                      "(dlmem models) or a network file (format: man dlmem, NETWORK FILES).",
                      opts, N_OPTS);
        return DLM_OK;
    }
    if (a.n_pos != 1)
        return dlm_error(DLM_EINVAL, "dlmem params: expected one MODEL (see dlmem models), got %d "
                         "arguments", a.n_pos);
    DLM_TRY(dlm_cli_format(&a, &fmt));
    view_kind view = fmt == DLM_FMT_CSV ? VIEW_TENSORS : VIEW_ALL;
    const char *vs = dlm_cli_get(&a, "view");
    if (vs) {
        if (!strcmp(vs, "all")) view = VIEW_ALL;
        else if (!strcmp(vs, "layers")) view = VIEW_LAYERS;
        else if (!strcmp(vs, "tensors")) view = VIEW_TENSORS;
        else if (!strcmp(vs, "seed")) view = VIEW_SEED;
        else return dlm_error(DLM_EINVAL, "--view: unknown view '%s' (valid: all, layers, "
                              "tensors, seed)", vs);
        if (fmt == DLM_FMT_CSV && view == VIEW_ALL)
            return dlm_error(DLM_EINVAL, "--view all: CSV holds one table (valid with csv: "
                             "layers, tensors, seed)");
    }

    ctx c;
    memset(&c, 0, sizeof c);
    dlm_graph *g = NULL;
    const char *set = dlm_cli_get(&a, "set");
    dlm_status st = dlm_model_open(a.pos[0], set, &c.info, &g);
    if (st == DLM_OK) {
        c.g = g;
        c.custom = (set && *set) || !c.info; /* PyTorch's reference is for built-in sizes */
        c.name = c.info ? c.info->name : g->name;
        c.pytorch = c.info ? c.info->pytorch : a.pos[0];
        st = dlm_params_layers(g, &c.layers, &c.n_layers);
    }
    dlm_lora lora;
    const char *ls = dlm_cli_get(&a, "lora");
    if (st == DLM_OK && ls) {
        if (fmt != DLM_FMT_TABLE)
            st = dlm_error(DLM_EINVAL, "--lora: shown in the table format only (not yet in csv "
                           "or json)");
        if (st == DLM_OK) st = dlm_lora_parse(ls, &lora);
        if (st == DLM_OK) st = dlm_lora_count_params(g, &lora, &c.lora_n);
        if (st == DLM_OK) c.lora = &lora;
    }
    if (st == DLM_OK) st = load_refs(&c, &a, view == VIEW_SEED);
    if (st == DLM_OK) {
        if (fmt == DLM_FMT_JSON) st = print_json(&c, stdout);
        else if (fmt == DLM_FMT_CSV) st = print_csv(&c, view, stdout);
        else st = print_table(&c, view, stdout);
    }
    free(c.layers);
    free(c.rows);
    free(c.seed);
    dlm_torchref_free(c.ref);
    dlm_graph_free(g);
    return st;
}
