/* advise_md.c — the advisor's findings as Markdown, for `dlmem report`: per
 * workload, whether it fits the budget, the techniques ranked by what they
 * save with their price, and the cheapest combination that fits; and the
 * report's advice section for the seed's three networks on the seed's GPU.
 * Every number comes from dlm_advise() (advise.c); nothing is measured here. */
#include <string.h>

#include "../analytic/gpus.h"
#include "../core/out.h"
#include "advise.h"

#define MIB (1024.0 * 1024.0)

static void md_workload(FILE *f, const dlm_advice_report *r)
{
    const dlm_mem_config *c = &r->w.cfg;
    fprintf(f, "%s, %s, %s", r->net, dlm_mode_name(c->mode), dlm_dtype_name(c->dtype));
    if (c->mode == DLM_MODE_TRAIN) fprintf(f, ", %s", dlm_optimizer_name(c->optimizer));
    fprintf(f, ", B = %lld", (long long)r->w.batch);
    if (r->uses_T) fprintf(f, ", T = %lld", (long long)r->w.seq);
}

static const char *escape(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    for (; *s && k + 2 < n; s++) {
        if (*s == '|') buf[k++] = '\\';
        buf[k++] = *s;
    }
    buf[k] = '\0';
    return buf;
}

static void md_price(FILE *f, const dlm_advice *a)
{
    char buf[512];
    fprintf(f, "risk %s", dlm_risk_name(a->risk));
    if (a->recompute > 0) fprintf(f, "; recomputes %.0f%% of the forward", 100 * a->recompute);
    if (a->gpus > 1) fprintf(f, "; %d GPUs", a->gpus);
    if (a->model_only) fprintf(f, "; model-only");
    if (a->note[0]) fprintf(f, " — %s", escape(a->note, buf, sizeof buf));
}

dlm_status dlm_advise_markdown(FILE *f, const dlm_workload *w, const dlm_budget *b, int seed)
{
    dlm_advice_report *r;
    DLM_TRY(dlm_advise(w, b, NULL, 0, &r));
    const dlm_advice *base = &r->base;
    fprintf(f, "Workload: ");
    md_workload(f, r);
    fprintf(f, ". Budget: %.0f MiB usable (%.0f MiB %s minus %.0f MiB CUDA context and handles).\n\n",
            r->usable / MIB, b->memory / MIB, b->gpu[0] ? b->gpu : "given", b->context / MIB);
    fprintf(f, "Predicted peak %s%.1f MiB at %s: %s", base->r.complete ? "" : "at least ",
            base->peak / MIB, base->r.peak_where, base->fits ? "**fits**" : "**does not fit**");
    if (!base->fits) fprintf(f, " (%.1f MiB over)", (base->peak - r->usable) / MIB);
    if (!base->r.complete && base->fits)
        fprintf(f, " only unless cuDNN's workspace exceeds %.1f MiB (%d library workspaces are not "
                "known: `dlmem probe` on the target GPU)", (r->usable - base->peak) / MIB,
                base->r.n_unknown);
    fprintf(f, "; the largest batch that fits as given is %lld.\n\n", (long long)base->max_batch);
    if (r->ws_note[0]) fprintf(f, "Note: %s.\n\n", r->ws_note);
    if (r->usable < r->weight_bytes)
        fprintf(f, "The weights alone (%.1f MiB) exceed the budget.\n\n", r->weight_bytes / MIB);
    fprintf(f, "| rank | technique | new peak (MiB) | saved | fits | max B | price |\n"
               "| ---: | --- | ---: | ---: | --- | ---: | --- |\n");
    int k = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const dlm_advice *a = &r->rows[i];
        if (!a->applicable) continue;
        fprintf(f, "| %d | %s | %s%.1f | %.1f%% | %s | %lld | ", ++k, a->name,
                a->r.complete ? "" : "&ge; ", a->peak / MIB, 100 * a->share,
                !a->fits ? "no" : a->r.complete ? "yes" : "unless a cuDNN workspace is larger than "
                "the headroom", (long long)a->max_batch);
        md_price(f, a);
        fprintf(f, " |\n");
    }
    fprintf(f, "\n");
    if (base->fits) {
        fprintf(f, "It fits as given; the table shows how far each technique would let the batch "
                   "grow.\n\n");
    } else if (r->best.applicable) {
        fprintf(f, "Cheapest combination that fits (fewest GPUs, then lowest risk, then least "
                   "recomputation; %d of %d combinations fit): **%s**, peak %.1f MiB, largest "
                   "batch %lld; ", r->n_fitting, r->n_combos, r->best.name, r->best.peak / MIB,
                (long long)r->best.max_batch);
        md_price(f, &r->best);
        fprintf(f, ".");
        for (int i = 0; i < r->n_alt; i++)
            fprintf(f, "%s %s (%.1f MiB, risk %s%s)", i ? "," : " Next:", r->alt[i].name,
                    r->alt[i].peak / MIB, dlm_risk_name(r->alt[i].risk),
                    r->alt[i].recompute > 0 ? ", recomputation" : "");
        fprintf(f, "\n\n");
    } else {
        fprintf(f, "No combination fits (%d evaluated).", r->n_combos);
        if (r->lowest.applicable)
            fprintf(f, " The lowest single-GPU peak is %.1f MiB, with %s.", r->lowest.peak / MIB,
                    r->lowest.name);
        fprintf(f, "\n\n");
    }
    if (r->has_precision)
        fprintf(f, "%s fp16 inference saves "
                   "%.1f%%, autocast training %.1f%% — weights, gradients and Adam's state stay in "
                   "fp32 under autocast (%.1f MiB of the fp32 peak here), only activations halve.\n\n",
                seed ? "The seed's \"FP16 reduces memory by 50%\" at this point:"
                     : "Half precision at this point:",
                100 * r->fp16_infer_share, 100 * r->mixed_train_share,
                (r->prec[0].by_term[DLM_TERM_WEIGHTS] + r->prec[0].by_term[DLM_TERM_BUFFERS] +
                 r->prec[0].by_term[DLM_TERM_GRADS] + r->prec[0].by_term[DLM_TERM_OPTIMIZER]) / MIB);
    dlm_advice_report_free(r);
    return ferror(f) ? dlm_error(DLM_EIO, "writing the advice section failed") : DLM_OK;
}

/* The seed's runs (largest point of each sweep, inference as the seed
 * measured) and a training workload that does not fit its 4 GB card. */
typedef struct seed_case {
    const char *model;
    int64_t seed_batch, seed_seq;   /* as the seed ran it (inference) */
    int64_t train_batch, train_seq; /* a training run that needs advice */
    const char *why;
} seed_case;

static const seed_case cases[] = {
    {"resnet18", 16, 0, 256, 0, "ImageNet's usual batch of 256"},
    {"lstm", 1, 300, 256, 1000, "batches of 256 sequences of 1000 steps"},
    {"bert", 1, 256, 8, 512, "fine-tuning at BERT's full length, 512 tokens, batch 8"},
};

dlm_status dlm_advise_report_section(FILE *f, const char *heading)
{
    const dlm_gpu *gpu;
    DLM_TRY(dlm_gpu_find("rtx3050-4gb", &gpu));
    dlm_budget b;
    memset(&b, 0, sizeof b);
    snprintf(b.gpu, sizeof b.gpu, "%s", gpu->name);
    b.memory = gpu->memory;
    b.context = gpu->context;
    fprintf(f, "%s\n\n"
               "What fits on the seed's %s, and how to make training fit, from `dlmem advise` "
               "(profile pytorch; every technique evaluated with the memory model, not a fixed "
               "percentage; techniques PyTorch ran for data/reference/pytorch_techniques.csv are "
               "checked against it by `make check`, 8-bit Adam is model-only; DDP and ZeRO follow "
               "rules read from PyTorch 2.11's source, their multi-GPU points not measured on 2 "
               "GPUs).\n\n",
            heading, gpu->full);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const seed_case *c = &cases[i];
        dlm_workload w;
        memset(&w, 0, sizeof w);
        snprintf(w.model, sizeof w.model, "%s", c->model);
        dlm_mem_config_default(&w.cfg); /* infer, fp32, eager, adam, pytorch */
        w.cfg.sm = gpu->sm;
        w.batch = c->seed_batch;
        w.seq = c->seed_seq;
        dlm_advice_report *r;
        DLM_TRY(dlm_advise(&w, &b, "fp16", 0, &r));
        char t[32] = "";
        if (c->seed_seq) snprintf(t, sizeof t, ", T = %lld", (long long)c->seed_seq);
        fprintf(f, "### %s\n\nAs the seed ran it (inference, B = %lld%s): peak %.1f MiB — %s "
                   "(%.1f MiB in fp16).\n\n",
                c->model, (long long)c->seed_batch, t, r->base.peak / MIB,
                r->base.fits ? "fits" : "does not fit", r->n_rows ? r->rows[0].peak / MIB : 0.0);
        dlm_advice_report_free(r);
        w.cfg.mode = DLM_MODE_TRAIN;
        w.batch = c->train_batch;
        w.seq = c->train_seq;
        fprintf(f, "Training (%s):\n\n", c->why);
        DLM_TRY(dlm_advise_markdown(f, &w, &b, 1));
    }
    return ferror(f) ? dlm_error(DLM_EIO, "writing the advice section failed") : DLM_OK;
}
