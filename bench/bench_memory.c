/* bench_memory.c — the memory model's accuracy and speed.
 *
 *   bench_memory errors [CSV]   every reference point: measured and predicted
 *                               peak, relative error, where the peak is
 *   bench_memory speed          points per second per network and mode (one
 *                               core: compile once, evaluate many points)
 *
 * What it is not: a test (tests/test_memory_ref checks the targets). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytic/memory.h"
#include "analytic/refcheck.h"
#include "core/paths.h"
#include "models/models.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int errors(const char *path)
{
    char buf[1024];
    int own = path != NULL;
    if (!path) {
        if (!dlm_data_path("reference/pytorch_memory.csv", buf, sizeof buf)) {
            fprintf(stderr, "bench_memory: %s not found\n", buf);
            return 2;
        }
        path = buf;
    }
    dlm_ref_point *p;
    int n;
    if (dlm_refcheck_run(path, &p, &n) != DLM_OK) {
        fprintf(stderr, "bench_memory: %s\n", dlm_errmsg());
        return 1;
    }
    printf("%-8s %-7s %-4s %-5s %5s %5s %12s %12s %8s  %s\n", "model", "mode", "dtype", "attn",
           "B", "T", "measured MiB", "predicted", "error", "predicted peak at");
    for (int i = 0; i < n; i++)
        printf("%-8s %-7s %-4s %-5s %5lld %5lld %12.2f %12.2f %+7.2f%%  %s\n", p[i].model, p[i].mode,
               p[i].dtype, p[i].attention[0] ? p[i].attention : "-", (long long)p[i].batch,
               (long long)p[i].seq, p[i].ref_peak / 1048576.0, p[i].pred_peak / 1048576.0,
               100 * p[i].err, p[i].where);
    static const char *modes[] = {"infer", "forward", "train", ""};
    for (int m = 0; m < 4; m++) {
        double mean, worst;
        int c;
        dlm_refcheck_stats(p, n, modes[m], &mean, &worst, &c);
        printf("%-7s %3d points: mean |error| %.2f%%, worst %.2f%%\n", m < 3 ? modes[m] : "all", c,
               100 * mean, 100 * worst);
    }
    free(p);
    if (own || !dlm_data_path("reference/pytorch_techniques.csv", buf, sizeof buf)) return 0;
    if (dlm_refcheck_techniques(buf, &p, &n) != DLM_OK) {
        fprintf(stderr, "bench_memory: %s\n", dlm_errmsg());
        return 1;
    }
    printf("\n%-8s %-20s %-7s %-5s %-8s %5s %5s %12s %12s %8s\n", "model", "technique", "mode",
           "dtype", "autocast", "B", "T", "measured MiB", "predicted", "error");
    for (int i = 0; i < n; i++)
        printf("%-8s %-20s %-7s %-5s %-8s %5lld %5lld %12.2f %12.2f %+7.2f%%\n", p[i].model,
               p[i].variant, p[i].mode, p[i].dtype, p[i].autocast, (long long)p[i].batch,
               (long long)p[i].seq, p[i].ref_peak / 1048576.0, p[i].pred_peak / 1048576.0,
               100 * p[i].err);
    double mean, worst;
    int c;
    dlm_refcheck_stats(p, n, "", &mean, &worst, &c);
    printf("techniques %d points: mean |error| %.2f%%, worst %.2f%%\n", c, 100 * mean, 100 * worst);
    free(p);
    return 0;
}

static int speed(void)
{
    static const char *models[] = {"resnet18", "lstm", "bert"};
    printf("%-8s %-7s %14s %12s\n", "model", "mode", "points/second", "us/point");
    for (int i = 0; i < 3; i++)
        for (int mode = 0; mode < 3; mode++) {
            dlm_graph *g;
            dlm_mem_model *m;
            dlm_mem_config c;
            dlm_mem_config_default(&c);
            c.mode = (dlm_mode)mode;
            if (dlm_model_build_named(models[i], NULL, &g) || dlm_mem_model_alloc(g, &c, &m)) {
                fprintf(stderr, "bench_memory: %s\n", dlm_errmsg());
                return 1;
            }
            dlm_mem_result r;
            int64_t n = 0, sink = 0;
            double t0 = now(), t;
            do {
                for (int k = 0; k < 100; k++, n++) {
                    int64_t B = 1 + (n % 128), T = g->uses_T ? 8 + (n % 500) : 1;
                    if (dlm_mem_eval(m, B, T, &r)) return 1;
                    sink += r.peak_bytes;
                }
                t = now() - t0;
            } while (t < 0.5);
            printf("%-8s %-7s %14.0f %12.2f\n", models[i], dlm_mode_name((dlm_mode)mode), n / t,
                   1e6 * t / n);
            if (sink == 42) printf("\n");
            dlm_mem_model_free(m);
            dlm_graph_free(g);
        }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "errors")) return errors(argc > 2 ? argv[2] : NULL);
    if (argc >= 2 && !strcmp(argv[1], "speed")) return speed();
    fprintf(stderr, "usage: bench_memory errors [CSV] | speed\n");
    return 2;
}
