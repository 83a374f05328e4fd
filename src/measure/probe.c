/* probe.c — `dlmem probe` (probe.h): the GPU, the output file and its keys,
 * the walk over the graph's op instances and points, and the cuBLAS /
 * cuBLASLt rows.  Convolutions (and transposed ones): probe_conv.c; RNNs:
 * probe_rnn.c.
 *
 * cuBLAS and cuBLASLt (aten/src/ATen/cuda/CublasHandlePool.cpp): one cuBLAS
 * workspace per (handle, stream) and thread, allocated through the caching
 * allocator when a handle is first set up on a stream: CUBLAS_WORKSPACE_CONFIG
 * (":SIZE_KiB:COUNT" pairs summed) or by default 32 MiB on compute
 * capability 9.x, 10.x and 12.x and 4096 KiB x 2 + 16 KiB x 8 = 8,519,680 B
 * elsewhere.  cuBLASLt shares that workspace unless
 * TORCH_CUBLASLT_UNIFIED_WORKSPACE is set false (then its own, of
 * CUBLASLT_WORKSPACE_SIZE KiB, default 1024 KiB).  Rows: op cublas /
 * cublaslt, phase handle, batch and seq 0, workspace_bytes what the handle
 * allocates (0 for a shared cuBLASLt workspace), one row per dtype probed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/csv.h"
#include "probe_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the keys of the output (a chained hash set of strings) ----------------- */

typedef struct key_node {
    struct key_node *next;
    char s[];
} key_node;

typedef struct dlm_probe_keys {
    key_node **b;
    size_t nb, n;
} dlm_probe_keys;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int keys_has(const dlm_probe_keys *k, const char *s)
{
    for (key_node *n = k->b[fnv(s) % k->nb]; n; n = n->next)
        if (!strcmp(n->s, s)) return 1;
    return 0;
}

static dlm_status keys_add(dlm_probe_keys *k, const char *s)
{
    if (keys_has(k, s)) return DLM_OK;
    if (k->n + 1 > k->nb) { /* grow: rehash into twice the buckets */
        size_t nb = k->nb * 2;
        key_node **b = calloc(nb, sizeof *b);
        if (!b) return dlm_error(DLM_ENOMEM, "out of memory");
        for (size_t i = 0; i < k->nb; i++)
            for (key_node *n = k->b[i], *next; n; n = next) {
                next = n->next;
                size_t j = fnv(n->s) % nb;
                n->next = b[j];
                b[j] = n;
            }
        free(k->b);
        k->b = b;
        k->nb = nb;
    }
    size_t len = strlen(s) + 1, j = fnv(s) % k->nb;
    key_node *n = malloc(sizeof *n + len);
    if (!n) return dlm_error(DLM_ENOMEM, "out of memory");
    memcpy(n->s, s, len);
    n->next = k->b[j];
    k->b[j] = n;
    k->n++;
    return DLM_OK;
}

static void keys_free(dlm_probe_keys *k)
{
    if (!k) return;
    for (size_t i = 0; k->b && i < k->nb; i++)
        for (key_node *n = k->b[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    free(k->b);
    free(k);
}

/* A row's key: every column the model matches on, plus the GPU and version
 * (WSROWS.md), without cublas_version and the results. */
static void row_key(const char *gpu, int sm, int cudnn, const char *logic, const char *op,
                    const char *phase, const char *dtype, const char *layout, const char *key,
                    long long batch, long long seq, char *buf, size_t n)
{
    snprintf(buf, n, "%s,%d,%d,%s,%s,%s,%s,%s,%s,%lld,%lld", gpu, sm, cudnn, logic, op, phase,
             dtype, layout, key, batch, seq);
}

static void probe_row_key(const dlm_probe *p, const dlm_probe_row *r, char *buf, size_t n)
{
    row_key(p->gpu.name, p->gpu.sm, p->cudnn_version, r->logic, r->op, r->phase,
            dlm_probe_dtype_name(r->dtype), r->layout, r->key, (long long)r->batch,
            (long long)r->seq, buf, n);
}

int dlm_probe_seen(dlm_probe *p, const dlm_probe_row *r)
{
    char k[600];
    probe_row_key(p, r, k, sizeof k);
    if (keys_has(p->keys, k)) {
        p->skipped++;
        return 1;
    }
    return 0;
}

static void progress(dlm_probe *p, int force)
{
    double t = now_s();
    if (!force && t - p->last_progress < 2.0) return;
    p->last_progress = t;
    fprintf(stderr, "dlmem probe: %lld of %lld op instances x points, %lld rows written, %lld "
            "already in %s (%.0f s)\n", (long long)p->items, (long long)p->total,
            (long long)p->written, (long long)p->skipped, p->out_name, t - p->t0);
}

dlm_status dlm_probe_emit(dlm_probe *p, const dlm_probe_row *r)
{
    char k[600];
    probe_row_key(p, r, k, sizeof k);
    DLM_TRY(keys_add(p->keys, k));
    if (fprintf(p->out, "%s,%d,%d,%d,%s,%s,%s,%s,%s,%s,%lld,%lld,%lld,%lld,%s,%s\n", p->gpu.name,
                p->gpu.sm, p->cudnn_version, p->cublas_version, r->logic, r->op, r->phase,
                dlm_probe_dtype_name(r->dtype), r->layout, r->key, (long long)r->batch,
                (long long)r->seq, (long long)r->workspace, (long long)r->reserve, r->engine,
                r->ok ? "ok" : "none") < 0 ||
        fflush(p->out) != 0)
        return dlm_error(DLM_EIO, "%s: cannot write: %s", p->out_name, strerror(errno));
    p->written++;
    progress(p, 0);
    return DLM_OK;
}

dlm_status dlm_probe_scratch_get(dlm_probe *p, int i, size_t bytes, void **ptr)
{
    dlm_probe_scratch *s = &p->scratch;
    *ptr = NULL;
    if (!bytes) return DLM_OK;
    if (s->bytes[i] < bytes) {
        if (s->buf[i]) DLM_CUDA(cudaFree(s->buf[i]));
        s->buf[i] = NULL;
        s->bytes[i] = 0;
        cudaError_t e = cudaMalloc(&s->buf[i], bytes);
        if (e != cudaSuccess) {
            s->buf[i] = NULL;
            return dlm_cuda_fail(e, "cudaMalloc(probe scratch)", __FILE__, __LINE__);
        }
        s->bytes[i] = bytes;
    }
    *ptr = s->buf[i];
    return DLM_OK;
}

/* ---- cuBLAS and cuBLASLt ---------------------------------------------------------- */

/* c10::utils::check_env: 1 true, 0 false, -1 unset (or not a boolean). */
static int env_bool(const char *name)
{
    const char *v = getenv(name);
    if (!v) return -1;
    static const char *const yes[] = {"1", "ON", "YES", "TRUE", "Y"}, *const no[] = {"0", "OFF", "NO", "FALSE", "N"};
    for (int i = 0; i < 5; i++) {
        if (!strcasecmp(v, yes[i])) return 1;
        if (!strcasecmp(v, no[i])) return 0;
    }
    return -1;
}

/* parseChosenWorkspaceSize: the sum of SIZE KiB x COUNT over ":SIZE:COUNT". */
static dlm_status cublas_ws(const dlm_probe *p, int64_t *bytes)
{
    const char *v = getenv("CUBLAS_WORKSPACE_CONFIG");
    int use32 = p->sm_major == 9 || p->sm_major == 10 || p->sm_major == 12;
    int64_t dflt = use32 ? 4096LL * 8 * 1024 : 4096LL * 1024 * 2 + 16LL * 1024 * 8, total = 0;
    int pairs = 0;
    *bytes = dflt;
    if (!v) return DLM_OK;
    for (const char *s = v; (s = strchr(s, ':'));) {
        char *e1, *e2;
        unsigned long long size = strtoull(s + 1, &e1, 10), count;
        if (e1 == s + 1 || *e1 != ':') {
            s++;
            continue;
        }
        count = strtoull(e1 + 1, &e2, 10);
        if (e2 == e1 + 1) {
            s++;
            continue;
        }
        total += (int64_t)(size * 1024 * count);
        pairs++;
        s = e2;
    }
    if (pairs) *bytes = total;
    return DLM_OK;
}

static dlm_status probe_blas(dlm_probe *p, dlm_probe_dtype d)
{
    int64_t ws = 0;
    DLM_TRY(cublas_ws(p, &ws));
    int unified = env_bool("TORCH_CUBLASLT_UNIFIED_WORKSPACE") != 0;
    for (int lt = 0; lt < 2; lt++) {
        dlm_probe_row r;
        memset(&r, 0, sizeof r);
        r.logic = "pytorch-2.11";
        r.op = lt ? "cublaslt" : "cublas";
        r.phase = "handle";
        r.dtype = d;
        r.layout = "-";
        snprintf(r.key, sizeof r.key, "-");
        r.ok = 1;
        if (dlm_probe_seen(p, &r)) continue;
        if (!lt) {
            r.workspace = ws;
            snprintf(r.engine, sizeof r.engine, "workspace-per-handle-stream-thread");
        } else if (unified) {
            r.workspace = 0;
            snprintf(r.engine, sizeof r.engine, "shares-cublas-workspace-%lld",
                     (long long)ws);
        } else {
            const char *v = getenv("CUBLASLT_WORKSPACE_SIZE");
            long long kib = v ? strtoll(v, NULL, 10) : 1024;
            r.workspace = kib * 1024;
            snprintf(r.engine, sizeof r.engine, "own-workspace");
        }
        DLM_TRY(dlm_probe_emit(p, &r));
    }
    return DLM_OK;
}

/* ---- the output ------------------------------------------------------------------- */

static dlm_status mkdirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        int bad = mkdir(path, 0777) != 0 && errno != EEXIST;
        *s = '/';
        if (bad) return dlm_error(DLM_EIO, "cannot create directory for %s: %s", path,
                                  strerror(errno));
    }
    return DLM_OK;
}

/* The user cache path, workspaces-<gpu slug>-cudnn<version>.csv. */
static dlm_status cache_path(const dlm_probe *p, char *buf, size_t n)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char slug[128];
    size_t k = 0;
    for (const char *s = p->gpu.name; *s && k + 1 < sizeof slug; s++) {
        if (isalnum((unsigned char)*s)) slug[k++] = (char)tolower((unsigned char)*s);
        else if (k && slug[k - 1] != '-') slug[k++] = '-';
    }
    while (k && slug[k - 1] == '-') k--;
    slug[k] = '\0';
    int w;
    if (xdg && *xdg) w = snprintf(buf, n, "%s/dlmem/workspaces-%s-cudnn%d.csv", xdg, slug,
                                  p->cudnn_version);
    else if (home && *home) w = snprintf(buf, n, "%s/.cache/dlmem/workspaces-%s-cudnn%d.csv",
                                         home, slug, p->cudnn_version);
    else return dlm_error(DLM_EINVAL, "dlmem probe: neither XDG_CACHE_HOME nor HOME is set: "
                          "give -o FILE");
    if (w < 0 || (size_t)w >= n) return dlm_error(DLM_EINVAL, "dlmem probe: cache path too long");
    return mkdirs(buf);
}

/* Reads the keys of an existing output; *has_rows = 0 if it is empty or new. */
static dlm_status load_keys(dlm_probe *p, const char *path, int *exists)
{
    struct stat sb;
    dlm_csv *csv = NULL;
    static const char *const cols[] = {"gpu", "sm", "cudnn_version", "logic", "op", "phase",
                                       "dtype", "layout", "key", "batch", "seq"};
    int idx[11];
    *exists = 0;
    if (stat(path, &sb) != 0) return DLM_OK;
    if (sb.st_size == 0) return DLM_OK;
    *exists = 1;
    { /* a file cut mid-row would get the next row glued to it */
        FILE *f = fopen(path, "rb");
        int last = EOF;
        if (!f) return dlm_error(DLM_EIO, "%s: cannot open: %s", path, strerror(errno));
        if (fseek(f, -1, SEEK_END) == 0) last = fgetc(f);
        fclose(f);
        if (last != '\n')
            return dlm_error(DLM_EPARSE, "%s: the last row has no newline (cut?): not appending "
                             "to it", path);
    }
    DLM_TRY(dlm_csv_read(path, &csv));
    dlm_status st = dlm_csv_require(csv, 11, cols, idx);
    for (int r = 0; st == DLM_OK && r < csv->nrows; r++) {
        char k[600];
        const char *f[11];
        for (int i = 0; i < 11; i++) f[i] = dlm_csv_get(csv, r, idx[i]);
        snprintf(k, sizeof k, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s", f[0], f[1], f[2], f[3], f[4], f[5],
                 f[6], f[7], f[8], f[9], f[10]);
        st = keys_add(p->keys, k);
    }
    dlm_csv_free(csv);
    return st;
}

static dlm_status open_output(dlm_probe *p, char *path, size_t n)
{
    const char *o = p->c->output;
    int exists = 0;
    if (o && !strcmp(o, "-")) {
        p->out = stdout;
        p->out_name = "stdout";
        if (printf("%s\n", dlm_probe_header()) < 0) return dlm_error(DLM_EIO, "stdout: cannot write");
        return DLM_OK;
    }
    if (o) {
        if (strlen(o) >= n) return dlm_error(DLM_EINVAL, "-o: path too long");
        strcpy(path, o);
    } else {
        DLM_TRY(cache_path(p, path, n));
    }
    p->out_name = path;
    DLM_TRY(load_keys(p, path, &exists));
    p->out = fopen(path, "a");
    if (!p->out) return dlm_error(DLM_EIO, "%s: cannot open for appending: %s", path,
                                  strerror(errno));
    if (!exists && (fprintf(p->out, "%s\n", dlm_probe_header()) < 0 || fflush(p->out) != 0))
        return dlm_error(DLM_EIO, "%s: cannot write: %s", path, strerror(errno));
    return DLM_OK;
}

/* ---- the run ------------------------------------------------------------------------- */

dlm_status dlm_probe_run(const dlm_probe_config *c)
{
    dlm_probe p;
    dlm_status st = DLM_OK;
    char path[4096];
    int n_conv = 0, n_rnn = 0;
    memset(&p, 0, sizeof p);
    p.c = c;
    if (getenv("CUDNN_ERRATA_JSON_FILE"))
        return dlm_error(DLM_EUNSUPPORTED, "dlmem probe: CUDNN_ERRATA_JSON_FILE is set: PyTorch "
                         "would skip the engines that file names, which the probe does not "
                         "reproduce; unset it");
    if (env_bool("TORCH_CUDNN_V8_API_DISABLED") == 1)
        return dlm_error(DLM_EUNSUPPORTED, "dlmem probe: TORCH_CUDNN_V8_API_DISABLED is set: "
                         "PyTorch's v7 convolution path is not reproduced; unset it");
    p.heur_mode = env_bool("TORCH_CUDNN_USE_HEURISTIC_MODE_B") == 1 ? CUDNN_HEUR_MODE_B
                                                                     : CUDNN_HEUR_MODE_INSTANT;
    p.keys = calloc(1, sizeof *p.keys);
    if (!p.keys || !(p.keys->b = calloc(p.keys->nb = 1024, sizeof *p.keys->b))) {
        free(p.keys);
        return dlm_error(DLM_ENOMEM, "out of memory");
    }
    DLM_GO(dlm_gpu_open(0));
    DLM_GO(dlm_gpu_query(0, &p.gpu));
    {
        struct cudaDeviceProp prop;
        DLM_CUDA_GO(cudaGetDeviceProperties(&prop, 0));
        p.sm_major = prop.major;
        p.sm_count = prop.multiProcessorCount;
    }
    p.cudnn_version = (int)cudnnGetVersion();
    if (p.cudnn_version < 90000) {
        st = dlm_error(DLM_ENOGPU, "dlmem probe: cuDNN %d is loaded; cuDNN 9 is needed (point "
                       "LD_LIBRARY_PATH at a cuDNN 9 lib directory)", p.cudnn_version);
        goto fail;
    }
    {
        int maj = 0, min = 0, pat = 0;
        DLM_CUBLAS_GO(cublasGetProperty(MAJOR_VERSION, &maj));
        DLM_CUBLAS_GO(cublasGetProperty(MINOR_VERSION, &min));
        DLM_CUBLAS_GO(cublasGetProperty(PATCH_LEVEL, &pat));
        p.cublas_version = maj * 10000 + min * 100 + pat;
    }
    {
        cudnnStatus_t e = cudnnCreate(&p.dnn);
        if (e != CUDNN_STATUS_SUCCESS) {
            st = dlm_error(DLM_ENOGPU, "dlmem probe: cudnnCreate: %s (is a cuDNN 9 for this "
                           "driver on LD_LIBRARY_PATH?)", cudnnGetErrorString(e));
            p.dnn = NULL;
            goto fail;
        }
    }
    DLM_GO(open_output(&p, path, sizeof path));

    for (int o = 0; o < c->g->n_ops; o++) {
        n_conv += c->g->ops[o].kind == DLM_OP_CONV2D || c->g->ops[o].kind == DLM_OP_CONVT2D;
        n_rnn += c->g->ops[o].kind == DLM_OP_RNN;
    }
    p.total = (int64_t)c->n_dtypes * c->n_batch * (n_conv + (int64_t)n_rnn * c->n_seq);
    p.t0 = p.last_progress = now_s();
    fprintf(stderr, "dlmem probe: %s on %s (sm_%d), cuDNN %d, cuBLAS %d: %d convolutions, %d "
            "RNNs, %d batch sizes, %d sequence lengths, %d dtypes -> %s\n", c->g->name,
            p.gpu.name, p.gpu.sm, p.cudnn_version, p.cublas_version, n_conv, n_rnn, c->n_batch,
            c->n_seq, c->n_dtypes, p.out_name);
    for (int di = 0; di < c->n_dtypes; di++) {
        dlm_probe_dtype d = c->dtypes[di];
        DLM_GO(probe_blas(&p, d));
        for (int bi = 0; bi < c->n_batch; bi++)
            for (int o = 0; o < c->g->n_ops; o++) {
                const dlm_op *op = &c->g->ops[o];
                if (op->kind == DLM_OP_CONV2D || op->kind == DLM_OP_CONVT2D) {
                    DLM_GO(dlm_probe_conv(&p, o, c->batch[bi], d));
                    p.items++;
                } else if (op->kind == DLM_OP_RNN) {
                    for (int ti = 0; ti < c->n_seq; ti++) {
                        DLM_GO(dlm_probe_rnn(&p, o, c->batch[bi], c->seq[ti], d));
                        p.items++;
                    }
                }
                progress(&p, 0);
            }
    }
    progress(&p, 1);
fail:
    for (int i = 0; i < 4; i++)
        if (p.scratch.buf[i]) (void)cudaFree(p.scratch.buf[i]);
    if (p.dnn) (void)cudnnDestroy(p.dnn);
    if (p.out && p.out != stdout && fclose(p.out) != 0 && st == DLM_OK)
        st = dlm_error(DLM_EIO, "%s: cannot close: %s", path, strerror(errno));
    if (p.out == stdout && fflush(stdout) != 0 && st == DLM_OK)
        st = dlm_error(DLM_EIO, "stdout: cannot write");
    keys_free(p.keys);
    return st;
}
