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
    expect_error("small.net", text, "small.net:3: [conv2d c]: model small: c: a 8x8 input is too small");
    dlm_graph *none = NULL;
    TAP_OK(dlm_netfile_build("/nonexistent/x.net", &none) == DLM_EIO &&
               strstr(dlm_errmsg(), "/nonexistent/x.net: cannot open"), "missing file");

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return tap_done();
}
