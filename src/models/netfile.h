/* netfile.h — a network described in a text file a person can read and write,
 * for networks dlmem has no builder for.
 *
 * INI-like: a [net] section, then one section per input or layer in execution
 * order, `[kind name]`, with `key = value` lines; `#` starts a comment.
 *
 *     [net]
 *     name = smallcnn
 *
 *     [input x]
 *     shape = B x 3 x 32 x 32          # integers, B (batch) and T (sequence)
 *
 *     [conv2d conv1]                   # reads the previous layer (here: x)
 *     out_channels = 16
 *     kernel = 3
 *     padding = 1
 *     bias = 0
 *
 *     [relu act1]
 *     inplace = 1
 *
 *     [add res]                        # a + b; `a` defaults to the previous layer
 *     b = x
 *
 * Layer kinds and keys (defaults as in PyTorch; `from` names the input layer):
 *   conv2d      out_channels*, kernel*, stride=1, padding=0, dilation=1, groups=1, bias=1
 *   conv_transpose2d  out_channels*, kernel*, stride=1, padding=0, output_padding=0, bias=1
 *   batchnorm2d
 *   maxpool2d, avgpool2d  kernel*, stride=kernel, padding=0, ceil_mode=0
 *   avgpool     size=1, width=size (adaptive: size x width output)
 *   relu, relu6, hardswish, silu  inplace=0
 *   sigmoid, gelu, tanh, softmax, flatten: no keys
 *   add, mul    a=previous, b*, inplace=0 (broadcasting)
 *   concat      inputs* (names, comma-separated), dim=1
 *   upsample    scale*, mode=nearest|bilinear, align_corners=0
 *   stochastic_depth  p=0 (torchvision's, mode "row")
 *   linear      out_features*, bias=1
 *   lstm, gru   hidden*, layers=1, bias=1 (input (T, B, features))
 *   select      dim*, index* (index -1 = last)
 *   embedding   num*, dim* (reads int64 ids)
 *   layernorm   eps=1e-5         dropout   p=0.5, inplace=0
 *   attention   q=previous, k=q, v=q, heads*, dropout=0
 *   [output]    from=previous (may repeat; default: the last layer)
 *   [net]       name=file name, max_seq=0 (largest valid T; 0 = unbounded)
 *   [input N]   shape*, type=float|int64
 * (* = required.)  Errors name the file, the line and what is wrong; unknown
 * kinds and keys list the valid ones (a key's list: the keys its kind reads).
 */
#ifndef DLM_NETFILE_H
#define DLM_NETFILE_H

#include "graph.h"

/* Caps on what no network needs more of (a bigger file is refused, not read on):
 * the file's bytes, its sections (layers and inputs) and one section's keys. */
#define DLM_NETFILE_MAX_BYTES ((size_t)4 << 20)
#define DLM_NETFILE_MAX_SECTIONS 10000
#define DLM_NETFILE_MAX_KEYS 64
/* a constant dimension: layer attributes (channels, features) are C ints */
#define DLM_NETFILE_MAX_DIM 2147483647LL

/* 1 if `name` looks like a path to a network file rather than a model name. */
int dlm_netfile_is_path(const char *name);

/* Parses and builds the network in `path`. */
dlm_status dlm_netfile_build(const char *path, dlm_graph **out);

#endif
