/* parallel.h — what data-parallel and sharded training add to one rank's
 * timeline (internal to src/analytic/): the walker (trace.c) calls these
 * hooks at the points of tools/torch_parallel.py's protocol where PyTorch
 * 2.11 runs its own code; they know no op by name.
 *
 * Every rule below is read from PyTorch 2.11's source, not fitted:
 *
 * DDP (torch/nn/parallel/distributed.py, torch/csrc/distributed/c10d/
 * reducer.cpp, comm.cpp), gradient_as_bucket_view False, find_unused_parameters
 * False, broadcast_buffers True:
 *   - construction: `bucket_size_limits = [sys.maxsize]` (find_unused_parameters
 *     False): ONE gradient bucket holding every parameter, a flat tensor
 *     `at::empty({sum numel})` per dtype (initialize_buckets);
 *   - first backward: the Reducer records the order in which gradients become
 *     ready (push_rebuilt_params in autograd_hook);
 *   - the next forward (tools/torch_parallel.py's measured step) rebuilds
 *     the buckets before the forward runs (_pre_forward -> _rebuild_buckets):
 *     compute_bucket_assignment_by_size over the ready order with limits
 *     [first_bucket_bytes_cap 1 MiB, bucket_bytes_cap 25 MiB] (a bucket closes
 *     once its bytes reach the limit; the remainder is the last bucket);
 *     sync_bucket_indices allocates two int32 device tensors ((params + 1) and
 *     buckets elements); initialize_buckets clears the old bucket first, then
 *     allocates the new ones; the old bucket's memory stays allocated while
 *     ProcessGroupNCCL's TensorShelf of the warm-up's all-reduce holds it
 *     (ProcessGroupNCCL.hpp: stashed_for_allocator_safety_, shelvesToUnstash_;
 *     the reducer never waits on the work), released only after the watchdog
 *     thread has seen that work complete: counted to the end of the step;
 *   - every forward: _sync_buffers -> broadcast_coalesced of the module
 *     buffers, buckets of 250 MiB per dtype, at most 2 in flight, each a flat
 *     copy (flatten_dense_tensors: at::cat, or a view for a single tensor);
 *   - backward: AccumulateGrad's .grad as on one GPU, copied into its bucket
 *     view (mul_out, no allocation), all-reduced in place, copied back
 *     (copy_bucket_to_grad: grad.copy_): the buckets are resident extra bytes,
 *     as large as the parameters.
 * ZeRO-1 (torch/distributed/optim/zero_redundancy_optimizer.py): DDP as above;
 *   the parameters sorted by numel, largest first (stable), each given to the
 *   rank with the fewest elements so far (_partition_parameters); the local
 *   Adam keeps state (and foreach temporaries) only for this rank's; the
 *   broadcasts after the step are in place.
 * FSDP2 (torch/distributed/fsdp/_fully_shard/: _fsdp_param.py,
 * _fsdp_param_group.py, _fsdp_collectives.py, _fsdp_state.py), one group per
 * block then the root (the parameters no block holds), world size N:
 *   - a parameter of dim-0 size d keeps a padded shard of ceil(d/N) rows
 *     (torch.chunk's chunk size; new_zeros(chunks[0].size())); this rank's
 *     DTensor (and so Adam's state) is its unpadded chunk: rows
 *     clamp(d - rank*ceil(d/N), 0, ceil(d/N));
 *   - unshard (N > 1): one all-gather output of N x (the group's padded shard
 *     elements), its input a view of it (all_gather_copy_in); wait_for_unshard
 *     allocates each parameter's unsharded storage (N x its padded shard) and
 *     copies out; in forward the output is kept until the next group's
 *     wait_for_unshard (implicit prefetch: AllGatherState) or the root's
 *     post-forward, in backward it is freed after the copy-out.  N = 1: no
 *     all-gather, the unsharded storage is a copy of the shard;
 *   - reshard (post-forward when reshard_after_forward, post-backward):
 *     the unsharded storages are freed (resize_(0)), whatever autograd saved;
 *     reshard_after_forward=True as the script passes it explicitly also
 *     reshards the root (_auto_reshard_after_forward False);
 *   - pre-backward (a hook on the group's forward outputs): unshard, then
 *     prefetch the group that finished its forward just before this one
 *     (its all-gather output held until its own pre-backward);
 *   - post-backward (when the gradient of the group's inputs is done, or in
 *     the final callback when no input needs one, root first): reshard, free
 *     the previous group's reduce-scatter input, allocate this group's
 *     (sum of ceil(d/N)*N-row padded sizes), copy the unsharded gradients
 *     in and free them, allocate the output (input / N elements): the sharded
 *     gradients are views of it until zero_grad(set_to_none=True); the input
 *     is kept until the next group's post-backward or the end of backward.
 * nn.LSTM under FSDP2 (torch/nn/modules/rnn.py): the first forward swaps the
 * unsharded parameters in (RNNBase.__setattr__ updates _flat_weights), finds
 * them changed (_weights_have_changed) and flatten_parameters() copies them
 * into a new cuDNN flat buffer that the parameters then view
 * (_cudnn_rnn_flatten_weight sets their storage); later unshards hand back
 * the same parameter objects, so it is not redone: the flat buffer stays
 * (as on one GPU), FSDP's unsharded storages are still gathered and freed
 * around it, and the shards are kept.
 * NCCL's own buffers are not allocated through PyTorch's caching allocator:
 * they are not in max_memory_allocated() and not in this timeline.
 */
#ifndef DLM_PARALLEL_H
#define DLM_PARALLEL_H

#include "ops/rule.h"

/* The walker's parallel state (NULL without --parallel). */
dlm_status par_init(tr *r);
void par_free(tr *r);
int par_fsdp(const tr *r);               /* parameters are FSDP2-sharded */

/* Resident bytes of parameter t's storage; bytes of its optimizer state
 * (and foreach temporaries) on this rank, `eb` bytes an element. */
dlm_poly par_param_bytes(const tr *r, int t);
dlm_poly par_state_bytes(const tr *r, int t, int64_t eb);
/* Parameter t's storage is there (r->slot[t]): FSDP keeps its shard. */
void par_hold_param(tr *r, int t);
/* The wrapper's construction (after the model is on the GPU). */
void par_construct(tr *r);
/* Forward: before it (first: the warm-up step), before and after op o, after
 * the last op. */
void par_forward_begin(tr *r, int first);
void par_pre_op(tr *r, int o);
void par_post_op(tr *r, int o);
/* Backward: its start (the loss's gradient is there), before and after op
 * o's backward, the engine's final callback. */
void par_backward_begin(tr *r);
void par_pre_bwd(tr *r, int o);
void par_post_bwd(tr *r, int o);
void par_backward_end(tr *r);
/* AccumulateGrad made parameter p's first gradient of the step. */
void par_grad_ready(tr *r, int p);
/* zero_grad(set_to_none=True): the sharded gradients go. */
void par_zero_grad(tr *r);

/* DDP's rebuilt buckets: compute_bucket_assignment_by_size over n gradients
 * of bytes[] in ready order with limits [1 MiB, 25 MiB] (one dtype); writes
 * the buckets' bytes to out[] (room for n) and returns how many. */
int par_ddp_buckets(const int64_t *bytes, int n, int64_t *out);

#endif
