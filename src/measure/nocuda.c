/* nocuda.c — `dlmem measure` in a build without CUDA: the sweep cannot run.
 * (Compiled instead of the GPU runtime when configure found no CUDA.) */
#include "measure.h"
#include "probe.h"

dlm_status dlm_measure_run(const dlm_measure_config *c)
{
    (void)c;
    return dlm_error(DLM_ENOGPU, "dlmem measure: this dlmem was built without CUDA (configure "
                     "found no nvcc, cuDNN or cuBLAS; see its summary): no GPU runtime");
}

dlm_status dlm_probe_run(const dlm_probe_config *c)
{
    (void)c;
    return dlm_error(DLM_ENOGPU, "dlmem probe: this dlmem was built without CUDA (configure "
                     "found no nvcc, cuDNN or cuBLAS; see its summary): no GPU to probe");
}
