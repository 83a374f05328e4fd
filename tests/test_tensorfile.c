/* test_tensorfile.c — the tensor-file reader (src/measure/tensorfile.h) on
 * files written byte by byte here from the format description: a good file
 * reads back exactly, and each kind of damage is a one-line DLM_EPARSE that
 * names the file and the record.  Also the GPU runtime's scratch plan
 * (plan.h), hand-derived for BERT's attention. */
#include <unistd.h>

#include "measure/plan.h"
#include "measure/tensorfile.h"
#include "models/models.h"
#include "tap.h"

static char dir[] = "/tmp/dlmem-tf.XXXXXX";

static void u32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    fwrite(b, 1, 4, f);
}

static void u64(FILE *f, uint64_t v)
{
    u32(f, (uint32_t)v);
    u32(f, (uint32_t)(v >> 32));
}

typedef enum { GOOD, BAD_MAGIC, BAD_VERSION, BAD_DTYPE, BAD_NBYTES, TRUNCATED, TRAILING, HUGE_CLAIM,
               HUGE_COUNT } damage;

/* Two records: "w" float32 2x3 = 0.5*i, "n" int64 scalar = -7. */
static const char *write_file(const char *name, damage d)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(d == BAD_MAGIC ? "DLMEMTNX" : "DLMEMTNS", 1, 8, f);
    u32(f, d == BAD_VERSION ? 2 : 1);
    if (d == HUGE_CLAIM || d == HUGE_COUNT) {
        /* a 56-byte file whose header claims 4 TiB of float32 (2^40 elements), or
         * a million records */
        u32(f, d == HUGE_COUNT ? 1000000 : 1);
        u32(f, 1);
        fwrite("w", 1, 1, f);
        u32(f, 1);
        u32(f, 2);
        u64(f, (uint64_t)1 << 20);
        u64(f, (uint64_t)1 << 20);
        u64(f, (uint64_t)4 << 40);
        fwrite("abc", 1, 3, f);
        fclose(f);
        return path;
    }
    u32(f, 2);
    u32(f, 1);
    fwrite("w", 1, 1, f);
    u32(f, d == BAD_DTYPE ? 3 : 1);
    u32(f, 2);
    u64(f, 2);
    u64(f, 3);
    u64(f, d == BAD_NBYTES ? 20 : 24);
    for (int i = 0; i < (d == TRUNCATED ? 4 : 6); i++) {
        float v = 0.5f * (float)i;
        fwrite(&v, 4, 1, f);
    }
    if (d != TRUNCATED) {
        u32(f, 1);
        fwrite("n", 1, 1, f);
        u32(f, 2);
        u32(f, 0);
        u64(f, 8);
        int64_t v = -7;
        fwrite(&v, 8, 1, f);
    }
    if (d == TRAILING) fputc('x', f);
    fclose(f);
    return path;
}

static void expect_parse_error(damage d, const char *what, const char *needle)
{
    dlm_tensorfile *f = (dlm_tensorfile *)1;
    const char *p = write_file("bad.t", d);
    dlm_status st = dlm_tensorfile_read(p, &f);
    TAP_EQ(st, DLM_EPARSE, "%s is a parse error", what);
    TAP_OK(f == NULL, "%s: nothing returned", what);
    TAP_OK(strstr(dlm_errmsg(), p) && strstr(dlm_errmsg(), needle) && !strchr(dlm_errmsg(), '\n'),
           "%s: one line naming the file and '%s' (%s)", what, needle, dlm_errmsg());
}

int main(void)
{
    if (!mkdtemp(dir)) tap_skip_all("cannot make a temporary folder");
    dlm_tensorfile *f;
    const char *p = write_file("good.t", GOOD);
    TAP_EQ(dlm_tensorfile_read(p, &f), DLM_OK, "a well-formed file reads");
    TAP_EQ(f->n, 2, "two records");
    TAP_STREQ(f->t[0].name, "w", "first name");
    TAP_EQ(f->t[0].dtype, DLM_TF_F32, "float32");
    TAP_EQ(f->t[0].numel, 6, "2x3 = 6 elements");
    TAP_CLOSE(((float *)f->t[0].data)[5], 2.5, 0, 0, "last float read back exactly");
    char shape[32];
    dlm_tf_shape_str(&f->t[0], shape, sizeof shape);
    TAP_STREQ(shape, "2x3", "shape string");
    TAP_EQ(f->t[1].ndim, 0, "second record is a scalar");
    TAP_EQ(((int64_t *)f->t[1].data)[0], -7, "int64 value read back");
    TAP_OK(dlm_tensorfile_find(f, "n") == &f->t[1] && !dlm_tensorfile_find(f, "x"), "find by name");
    dlm_tensorfile_free(f);

    expect_parse_error(BAD_MAGIC, "wrong magic", "magic");
    expect_parse_error(BAD_VERSION, "another version", "version 2");
    expect_parse_error(BAD_DTYPE, "unknown dtype code", "(w): dtype code 3");
    expect_parse_error(BAD_NBYTES, "byte count not matching the dims", "(w): 20 data bytes");
    expect_parse_error(TRUNCATED, "truncated data", "(w): 24 data bytes, but only 16 bytes are left");
    expect_parse_error(TRAILING, "bytes after the last record", "bytes after");
    TAP_EQ(dlm_tensorfile_read("/nonexistent/dlmem.t", &f), DLM_EIO, "a missing file is an I/O error");
    /* declared sizes are checked against the file before anything is allocated */
    expect_parse_error(HUGE_CLAIM, "a 56-byte file claiming 4 TiB",
                       "(w): 4398046511104 data bytes, but only 3 bytes are left");
    expect_parse_error(HUGE_COUNT, "a million records in 52 bytes", "bad record count 1000000");
    TAP_EQ(dlm_tensorfile_read(dir, &f), DLM_EIO, "a directory is an I/O error");
    TAP_OK(strstr(dlm_errmsg(), "is a directory") != NULL, "named as one: %s", dlm_errmsg());

    /* The runtime's scratch plan (plan.h): eager attention keeps one buffer
     * of scores, B * heads * T * T, hand-derived for BERT-base (12 heads). */
    dlm_graph *g;
    dlm_model_build_named("bert", NULL, &g);
    int att = -1, lin = -1;
    for (int o = 0; o < g->n_ops; o++) {
        if (g->ops[o].kind == DLM_OP_ATTENTION && att < 0) att = o;
        if (g->ops[o].kind == DLM_OP_LINEAR && lin < 0) lin = o;
    }
    TAP_EQ(dlm_plan_op_scratch(g, att, DLM_RT_FP32, 8, 512), 8LL * 12 * 512 * 512 * 4 + 8 * 12 * 5 * 8,
           "attention scratch at B=8 T=512: fp32 scores + 5 addresses per (b, head)");
    TAP_EQ(dlm_plan_op_scratch(g, att, DLM_RT_BF16, 1, 512), 12LL * 512 * 512 * 2 + 480,
           "bf16 scores: 24*B*T^2 bytes + 480*B");
    /* rows padded to 16 bytes: T = 197 -> 200 columns (and rows) in both dtypes,
     * T = 100: 100 fp32 (400 bytes), 104 bf16 */
    TAP_EQ(dlm_plan_op_scratch(g, att, DLM_RT_FP32, 2, 197), 2LL * 12 * 200 * 200 * 4 + 960,
           "fp32 T=197: scores of 200 x 200");
    TAP_EQ(dlm_plan_op_scratch(g, att, DLM_RT_BF16, 2, 100), 2LL * 12 * 104 * 104 * 2 + 960,
           "bf16 T=100: scores of 104 x 104");
    TAP_EQ(dlm_plan_op_scratch(g, att, DLM_RT_FP32, 2, 100), 2LL * 12 * 100 * 100 * 4 + 960,
           "fp32 T=100: 100 floats are 400 bytes, no padding");
    TAP_STREQ(dlm_plan_op_scratch_name(g, att), "attention_scores", "scratch name");
    TAP_OK(dlm_plan_op_scratch(g, lin, DLM_RT_FP32, 8, 512) == 0 &&
           !dlm_plan_op_scratch_name(g, lin), "a linear op has none");
    dlm_graph_free(g);

    unlink(write_file("good.t", GOOD));
    unlink(write_file("bad.t", GOOD));
    rmdir(dir);
    return tap_done();
}
