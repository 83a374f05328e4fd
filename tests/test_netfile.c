/* test_netfile.c — network files: the seed's LSTM written as a file equals the
 * built-in model tensor for tensor; hand-counted totals of the example files;
 * malformed files give errors that name the file, the line and the problem. */
#include <stdlib.h>
#include <unistd.h>

#include "core/paths.h"
#include "models/models.h"
#include "models/netfile.h"
#include "tap.h"

static char tmpdir[] = "/tmp/dlmem-netfile.XXXXXX";

/* Writes text to a file in tmpdir; returns its path (static buffer per call slot). */
static const char *write_net(const char *name, const char *text)
{
    static char paths[16][512];
    static int k;
    char *p = paths[k++ % 16];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) printf("# could not write %s\n", p);
    return p;
}

static void expect_error(const char *name, const char *text, const char *want)
{
    dlm_graph *g = NULL;
    const char *path = write_net(name, text);
    dlm_status st = dlm_netfile_build(path, &g);
    TAP_OK(st != DLM_OK && strstr(dlm_errmsg(), want) != NULL, "%s: error mentions \"%s\"", name,
           want);
    if (st == DLM_OK || !strstr(dlm_errmsg(), want)) printf("#   got: %s\n", st ? dlm_errmsg() : "no error");
    dlm_graph_free(g);
}

int main(void)
{
    char path[4096];
    dlm_graph *f = NULL, *b = NULL;
    if (!mkdtemp(tmpdir)) return 1;

    dlm_data_path("nets/seed_lstm.net", path, sizeof path);
    TAP_OK(dlm_model_build_named(path, NULL, &f) == DLM_OK, "seed_lstm.net builds");
    TAP_OK(dlm_model_build_named("lstm", NULL, &b) == DLM_OK, "built-in lstm builds");
    if (f && b) {
        int same = f->n_params == b->n_params;
        for (int i = 0; same && i < f->n_params; i++)
            same = !strcmp(f->tensors[f->params[i]].name, b->tensors[b->params[i]].name) &&
                   dlm_tensor_numel_const(f, f->params[i]) == dlm_tensor_numel_const(b, b->params[i]);
        TAP_OK(same, "the file and the built-in model have the same tensors, names and order");
        TAP_EQ(dlm_graph_param_count(f), 895498, "seed_lstm.net total");
        TAP_OK(f->uses_T && f->uses_B, "the file's sizes depend on B and T");
    }
    dlm_graph_free(f);
    dlm_graph_free(b);
    f = NULL;

    dlm_data_path("nets/cifar_cnn.net", path, sizeof path);
    TAP_OK(dlm_model_build_named(path, NULL, &f) == DLM_OK, "cifar_cnn.net builds");
    if (f) {
        /* 3*3*3*32 + 2*32 + 3*3*32*32 + 2*32 + (3*3*32*64 + 64) + (64*10 + 10) */
        TAP_EQ(dlm_graph_param_count(f), 864 + 64 + 9216 + 64 + 18496 + 650, "cifar_cnn total");
        TAP_EQ(dlm_graph_buffer_count(f), 2 * (32 + 32 + 1), "two BatchNorms' buffers");
        TAP_STREQ(f->name, "cifar_cnn", "[net] name");
        int t = dlm_graph_find_tensor(f, "relu2.out");
        TAP_EQ(dlm_tensor_storage(f, t), dlm_graph_find_tensor(f, "bn2.out"),
               "in-place add and relu share bn2's storage");
    }
    dlm_graph_free(f);
    f = NULL;

    dlm_data_path("nets/tiny_encoder.net", path, sizeof path);
    TAP_OK(dlm_model_build_named(path, NULL, &f) == DLM_OK, "tiny_encoder.net builds");
    if (f) {
        TAP_EQ(dlm_graph_param_count(f), 8000LL * 256 + 4 * (256 * 256 + 256) + 2 * 512 +
                                             (256 * 1024 + 1024) + (1024 * 256 + 256),
               "tiny_encoder total");
        TAP_EQ(f->max_T, 1024, "max_seq bounds T");
    }
    dlm_graph_free(f);

    TAP_OK(dlm_model_build_named(path, "hidden=3", &f) == DLM_EINVAL &&
               strstr(dlm_errmsg(), "--set applies to built-in models"),
           "--set with a network file is refused");

    const char *in = "[input x]\nshape = B x 3 x 8 x 8\n";
    char text[1024];
    snprintf(text, sizeof text, "%s[conv3d c]\nout_channels = 2\n", in);
    expect_error("kind.net", text, "kind.net:3: unknown section kind 'conv3d' (valid: net, input");
    snprintf(text, sizeof text, "%s[conv2d c]\nout_channels = 2\nkernal = 3\nkernel = 3\n", in);
    expect_error("key.net", text, "key.net:5: [conv2d c] has no key 'kernal'");
    snprintf(text, sizeof text, "%s[conv2d c]\nkernel = 3\n", in);
    expect_error("req.net", text, "req.net:3: [conv2d c] needs out_channels");
    snprintf(text, sizeof text, "%s[conv2d c]\nout_channels = two\nkernel = 3\n", in);
    expect_error("int.net", text, "int.net:4: out_channels = 'two' is not an integer");
    snprintf(text, sizeof text, "%s[relu r]\n[add s]\nb = nope\n", in);
    expect_error("ref.net", text, "ref.net:5: b = nope: no input or layer of that name above");
    snprintf(text, sizeof text, "%s[maxpool2d p]\nkernel = 2\n[add s]\nb = x\n", in);
    expect_error("shape.net", text, "shape.net:5: [add s]: model shape: s: shapes of p.out and x do not broadcast");
    snprintf(text, sizeof text, "%s[relu x]\n", in);
    expect_error("dup.net", text, "dup.net:3: the name 'x' is used twice");
    expect_error("noinput.net", "[net]\nname = n\n[relu r]\n", "noinput.net:3: [relu r] needs from");
    expect_error("empty.net", "# nothing\n", "empty.net: no sections");
    expect_error("junk.net", "[input x]\nshape B x 3\n", "junk.net:2: expected key = value");
    expect_error("dim.net", "[input x]\nshape = B x Q\n", "dim.net:2: shape dimension 'Q'");
    snprintf(text, sizeof text, "%s[conv2d c]\nout_channels = 2\nkernel = 9\n", in);
    expect_error("small.net", text, "small.net:3: [conv2d c]: model small: c: Calculated padded "
                 "input size per channel: (8 x 8). Kernel size: (9 x 9). Kernel size can't be "
                 "greater than actual input size");

    /* What PyTorch 2.11 rejects (messages as torch raises them on CPU), never
     * accepted through C's truncating division (issue 11). */
    snprintf(text, sizeof text, "[input x]\nshape = B x 1 x 2 x 2\n[conv2d c]\nout_channels = 1\n"
             "kernel = 3\nstride = 2\n");
    expect_error("convk.net", text, "convk.net:3: [conv2d c]: model convk: c: Calculated padded "
                 "input size per channel: (2 x 2). Kernel size: (3 x 3)");
    snprintf(text, sizeof text, "[input x]\nshape = B x 1 x 2 x 2\n[maxpool2d p]\nkernel = 3\n"
             "stride = 2\n");
    expect_error("poolk.net", text, "poolk.net:3: [maxpool2d p]: model poolk: p: Given input size: "
                 "(1x2x2). Calculated output size: (1x0x0). Output size is too small");
    snprintf(text, sizeof text, "[input x]\nshape = B x 1 x 8 x 8\n[maxpool2d p]\nkernel = 2\n"
             "padding = 2\n");
    expect_error("poolp.net", text, "poolp.net:3: [maxpool2d p]: model poolp: p: pad should be at "
                 "most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1");
    snprintf(text, sizeof text, "[input x]\nshape = B x 4\ntype = int64\n[linear l]\n"
             "out_features = 2\n");
    expect_error("i64.net", text, "i64.net:4: [linear l]: model i64: l: input x is int64, which "
                 "PyTorch's linear rejects (\"mat1 and mat2 must have the same dtype, but got Long "
                 "and Float\")");
    {
        /* PyTorch accepts these: kernel 3 over 2x2 padded by 1 (1x1 out), pad = kernel/2 */
        dlm_graph *ok = NULL;
        snprintf(text, sizeof text, "[input x]\nshape = B x 1 x 2 x 2\n[maxpool2d p]\nkernel = 3\n"
                 "stride = 2\npadding = 1\n[conv2d c]\nout_channels = 1\nkernel = 3\n"
                 "padding = 1\n");
        TAP_OK(dlm_netfile_build(write_net("okpool.net", text), &ok) == DLM_OK &&
                   dlm_poly_eval(&ok->tensors[dlm_graph_find_tensor(ok, "p.out")].numel, 1, 1) == 1,
               "max-pool 3/2/1 over 2x2 is 1x1, as in PyTorch: %s", dlm_errmsg());
        dlm_graph_free(ok);
    }
    /* integers and sizes */
    expect_error("big.net", "[input x]\nshape = B x 99999999999999999999\n",
                 "big.net:2: shape dimension 99999999999999999999 is out of range");
    expect_error("int32.net", "[input x]\nshape = B x 3000000000\n[linear l]\nout_features = 3\n",
                 "int32.net:2: shape dimension 3000000000 is out of range [1, 2147483647]");
    expect_error("flat.net", "[input x]\nshape = B x 60000 x 50000\n[flatten f]\n[linear l]\n"
                 "out_features = 3\n", "flat.net:4: [linear l]: model flat: l: dimension 1 of f.out "
                 "is 3000000000, more than the 2147483647 dlmem handles");
    expect_error("numel.net", "[input x]\nshape = 2147483647 x 2147483647 x 2147483647 x 2\n",
                 "numel.net:1: [input x]: model numel: x: its number of elements does not fit in 64 bits");
    {
        /* a shape value longer than 511 characters is read whole, not cut */
        char *longv = malloc(8192);
        dlm_graph *ok = NULL;
        int k = snprintf(longv, 8192, "[input x]\nshape = B x 3 x 8 x");
        memset(longv + k, ' ', 3000);
        snprintf(longv + k + 3000, 8192 - k - 3000, "8\n[relu r]\n");
        TAP_OK(dlm_netfile_build(write_net("long.net", longv), &ok) == DLM_OK && ok->tensors[0].ndim == 4,
               "a 3,000-character shape value keeps its last dimension: %s", dlm_errmsg());
        dlm_graph_free(ok);
        free(longv);
    }
    {
        /* a NUL byte is an error naming its line, not the end of the file */
        const char *path = write_net("nul.net", "[input x]\nshape = B x 4\n");
        FILE *fa = fopen(path, "a");
        if (fa) {
            fputs("[relu r]\n", fa);
            fputc(0, fa);
            fputs("[relu s]\n", fa);
            fclose(fa);
        }
        dlm_graph *g = NULL;
        TAP_OK(dlm_netfile_build(path, &g) == DLM_EPARSE && strstr(dlm_errmsg(), "nul.net:4: NUL byte"),
               "NUL byte: %s", dlm_errmsg());
        dlm_graph_free(g);
    }
    {
        /* larger than the cap: refused by its size */
        const char *path = write_net("huge.net", "[input x]\nshape = B x 4\n");
        FILE *fa = fopen(path, "a");
        for (size_t i = 0; fa && i < DLM_NETFILE_MAX_BYTES / 8 + 1; i++) fputs("# 45678\n", fa);
        if (fa) fclose(fa);
        dlm_graph *g = NULL;
        TAP_OK(dlm_netfile_build(path, &g) == DLM_EPARSE && strstr(dlm_errmsg(), "larger than"),
               "a file over %zu bytes is refused: %s", DLM_NETFILE_MAX_BYTES, dlm_errmsg());
        dlm_graph_free(g);
        char *many = malloc(DLM_NETFILE_MAX_SECTIONS * 16 + 64);
        size_t L = (size_t)sprintf(many, "[input x]\nshape = B x 4\n");
        for (int i = 0; i < DLM_NETFILE_MAX_SECTIONS; i++) L += (size_t)sprintf(many + L, "[relu r%d]\n", i);
        TAP_OK(dlm_netfile_build(write_net("many.net", many), &g) == DLM_EPARSE &&
                   strstr(dlm_errmsg(), "more than 10000 sections"), "too many sections: %s",
               dlm_errmsg());
        dlm_graph_free(g);
        free(many);
    }
    {
        dlm_graph *g = NULL;
        TAP_OK(dlm_netfile_build(tmpdir, &g) == DLM_EIO && strstr(dlm_errmsg(), "is a directory"),
               "a directory is named as one: %s", dlm_errmsg());
    }
    dlm_graph *none = NULL;
    TAP_OK(dlm_netfile_build("/nonexistent/x.net", &none) == DLM_EIO &&
               strstr(dlm_errmsg(), "/nonexistent/x.net: cannot open"), "missing file");

    /* issue 12: the examples and the new kinds' errors */
    {
        dlm_graph *g = NULL;
        dlm_data_path("nets/mobilenet_block.net", path, sizeof path);
        TAP_OK(dlm_model_build_named(path, NULL, &g) == DLM_OK, "mobilenet_block.net builds: %s",
               dlm_errmsg());
        if (g) /* 1x1 32->192, BN, depthwise 3x3 (one filter per channel), BN, 1x1 192->32, BN,
                  linear 32->10 */
            TAP_EQ(dlm_graph_param_count(g),
                   32 * 192 + 2 * 192 + 9 * 192 + 2 * 192 + 192 * 32 + 2 * 32 + 32 * 10 + 10,
                   "mobilenet_block total by hand");
        dlm_graph_free(g);
        g = NULL;
        dlm_data_path("nets/unet_level.net", path, sizeof path);
        TAP_OK(dlm_model_build_named(path, NULL, &g) == DLM_OK, "unet_level.net builds: %s",
               dlm_errmsg());
        if (g) {
            /* convs 3->64, 64->64, 64->128 (3x3, no bias) + 3 BNs; transposed 2x2 128->64 with
             * bias (weight Cin x Cout x 2 x 2); 3x3 128->64 + BN; 1x1 64->2 with bias */
            TAP_EQ(dlm_graph_param_count(g), 27 * 64 + 128 + 9 * 64 * 64 + 128 + 9 * 64 * 128 + 256 +
                                                 128 * 64 * 4 + 64 + 9 * 128 * 64 + 128 + 64 * 2 + 2,
                   "unet_level total by hand");
            int t = dlm_graph_find_tensor(g, "cat.out");
            char shape[64];
            dlm_tensor_shape_str(g, t, shape, sizeof shape);
            TAP_STREQ(shape, "B x 128 x 128 x 128", "the skip and the transposed conv concatenated");
        }
        dlm_graph_free(g);
    }
    snprintf(text, sizeof text, "%s[conv2d c]\nout_channels = 2\nkernal = 3\nkernel = 3\n", in);
    expect_error("keys.net", text, "(valid: from, out_channels, kernel, stride, padding, bias, "
                 "dilation, groups)");
    snprintf(text, sizeof text, "%s[upsample u]\nscale = 2\nmode = cubic\n", in);
    expect_error("mode.net", text, "mode.net:5: mode = cubic (valid: nearest, bilinear)");
    snprintf(text, sizeof text, "%s[relu r]\n[concat c]\ninputs = r, zz\n", in);
    expect_error("cat.net", text, "cat.net:5: inputs: 'zz' is no input or layer above");
    snprintf(text, sizeof text, "%s[conv2d c]\nout_channels = 4\nkernel = 3\ngroups = 2\n", in);
    expect_error("groups.net", text, "3 input and 4 output channels are not multiples of 2 groups");
    snprintf(text, sizeof text, "%s[maxpool2d p]\nkernel = 3\nstride = 2\nceil_mode = 1\n", in);
    {
        dlm_graph *g = NULL;
        TAP_OK(dlm_netfile_build(write_net("ceil.net", text), &g) == DLM_OK &&
                   dlm_poly_eval(&g->tensors[dlm_graph_find_tensor(g, "p.out")].shape[2], 1, 1) == 4,
               "ceil_mode: 8 -> ceil((8-3)/2)+1 = 4 (PyTorch's pooling_output_shape): %s",
               dlm_errmsg());
        dlm_graph_free(g);
    }

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return tap_done();
}
