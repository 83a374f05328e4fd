/* probe_rows.c — the names `dlmem probe` writes (probe.h), built with or
 * without CUDA (the command line checks --dtype before touching a GPU). */
#include "probe.h"

static const char header[] =
    "gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq,"
    "workspace_bytes,reserve_bytes,engine,status";

const char *dlm_probe_header(void) { return header; }

const char *dlm_probe_dtype_name(dlm_probe_dtype d)
{
    static const char *const names[DLM_PROBE_N_DTYPES] = {"fp32", "fp32-tf32", "fp16", "bf16"};
    return (int)d >= 0 && d < DLM_PROBE_N_DTYPES ? names[d] : "?";
}
