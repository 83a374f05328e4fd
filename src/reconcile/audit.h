/* audit.h — the seed report checked by dlmem itself: its parameter counts
 * (Table 1, through claims.h), its memory tables (Tables 2-4: fitted, compared
 * with the analytic model, deviations found) and its claims about scaling
 * (Table 5, section 7.2: checked against fits and formulas).  What it is not:
 * a general report checker — it knows the seed's table formats and claims.
 *
 * Files are recognised by their header (the files under data/seed/ show the formats):
 *   parameter claims   model,row,scope,seed_theory,seed_pytorch,...   (table1.csv)
 *   memory tables      table,model,batch,seq,before_mb,peak_mb,setup  (table2-4.csv)
 *   scaling claims     table,model,property,claim,seed_text,setup     (table5.csv)
 *
 * Units.  The tables print "MB".  The audit decides whether that is 10^6 or
 * 2^20 bytes by comparing the first "initial" value of a table whose batch is
 * known with the weights + buffers + input it must at least contain, in both
 * units, and says which fits (the seed's tables: 2^20, MiB — the PyTorch habit
 * of dividing memory_allocated() by 1024**2).
 *
 * Unstated settings.  Tables 3 and 4 do not give the batch size: predictions
 * use B = 1, the smallest (every size grows with B, so a growth predicted at
 * B = 1 is a lower bound).  The report does not say whether it measured under
 * torch.no_grad(): findings use inference (the smaller memory, again a lower
 * bound), and for Table 2 the audit tells which mode the measured growth fits.
 * The GPU is the report's RTX 3050 (sm 86), the profile PyTorch's.
 */
#ifndef DLM_AUDIT_H
#define DLM_AUDIT_H

#include "deviation.h"
#include "fit.h"
#include "series.h"

typedef enum dlm_verdict {
    DLM_VERDICT_RIGHT,       /* the claim holds */
    DLM_VERDICT_WRONG,       /* it does not, and why is said */
    DLM_VERDICT_PARTLY,      /* it holds only in part (said which) */
    DLM_VERDICT_UNSUPPORTED, /* the seed's own data cannot show it */
    DLM_VERDICT_INFO         /* a fact the audit established (a unit, a mode) */
} dlm_verdict;

const char *dlm_verdict_name(dlm_verdict v); /* "right", "wrong", ... */

typedef struct dlm_audit_item {
    char table[8];        /* "1", "2", ..., "5", "7.2" */
    char subject[96];     /* "lstm growth", "resnet18 conv1 parameters" */
    char claim[192];      /* what the seed says */
    dlm_verdict verdict;
    char text[1536];      /* what dlmem finds, with numbers */
} dlm_audit_item;

typedef struct dlm_audit {
    dlm_audit_item *items;
    int n_items, cap_items;
    double mb;                 /* bytes in the tables' "MB" */
    char setup[256];           /* the seed's setup line */
    dlm_series_set series;     /* Tables 2-4 as series, bytes */
    char (*table_of)[8];       /* per series: its table */
    dlm_fitdata *data;         /* per series */
    dlm_fitset *fits;
    dlm_prediction *preds;     /* inference at B = 1 where unstated */
    dlm_findings findings;     /* .series indexes `series` */
} dlm_audit;

/* Reads the files and audits them.  Malformed files are DLM_EPARSE with file
 * and line; an unrecognised header names the accepted ones. */
dlm_status dlm_audit_run(const char *const *files, int n, dlm_audit **out);
void dlm_audit_free(dlm_audit *a);

#endif
