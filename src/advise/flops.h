/* flops.h — forward floating-point operations of each op, as polynomials in B
 * and T: the time proxy the advisor prices recomputation with.
 *
 * Counted: a multiply-add is 2 operations.  conv2d 2*B*Cout*Ho*Wo*Cin*kh*kw
 * (+ B*Cout*Ho*Wo for a bias); linear 2*rows*in*out (+ rows*out); attention
 * 4*B*T^2*Hd for q k^T and p v, plus 5 per score (scale, softmax); a cuDNN RNN
 * 2*gates*Hd*(I+Hd)*T*B per layer plus 10 per gate value; elementwise ops a
 * small constant per element (relu, add, dropout 1; batchnorm 4; layernorm and
 * softmax 5; gelu and tanh 8; pooling one per window element; relu6, mul and
 * stochastic depth 1, sigmoid 4, silu and hardswish 5, bilinear upsampling 7
 * per output); a transposed conv 2*B*Cin*H*W*(Cout/groups)*kh*kw.  Views,
 * embeddings (a gather), concatenation and nearest upsampling (copies) count 0.
 *
 * What it is not: a timing model.  Elementwise ops are memory-bound and take
 * longer than their count says; the share of recomputed FLOPs is a lower
 * bound on the share of time.
 */
#ifndef DLM_FLOPS_H
#define DLM_FLOPS_H

#include "../core/poly.h"
#include "../models/graph.h"

/* Forward operations of op o. */
dlm_poly dlm_op_flops(const dlm_graph *g, int o);

/* Forward operations of ops first..last. */
dlm_poly dlm_flops_range(const dlm_graph *g, int first, int last);

#endif
