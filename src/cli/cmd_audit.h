/* cmd_audit.h — what `dlmem report` borrows from `dlmem audit`: the seed's
 * table files under data/ and the audit printed for people. */
#ifndef DLM_CMD_AUDIT_H
#define DLM_CMD_AUDIT_H

#include <stdio.h>

#include "../core/status.h"
#include "config.h"

#ifdef HAVE_GSL
#include "../reconcile/audit.h"

/* data/seed/table1.csv .. table5.csv (a missing one is DLM_EIO naming it). */
dlm_status dlm_seed_files(char paths[5][1024]);
dlm_status dlm_audit_print(const dlm_audit *a, FILE *f);
#endif

#endif
