#!/usr/bin/env python3
"""torch_meta.py [-o CSV] [--model M]... [--batch LIST] [--loss LIST] [--optimizer LIST]
[--dtype LIST]: PyTorch's own training step run on the meta device (no GPU, no data), with
the bytes of every tensor storage its ops create counted as the CUDA caching allocator
counts them (each block rounded up to 512 bytes, held until the storage dies), so that
the peak is what torch.cuda.max_memory_allocated() would report for the same step minus
what only a GPU allocates: the cuBLAS/cuBLASLt workspaces and cuDNN's (dlmem names
those terms separately) and the handful of scalars CUDA kernels make outside
dispatch.  It checks the liveness of what autograd saves and frees (the loss, backward,
the optimizer), which is PyTorch's own code on every device; it does not check kernels'
device-side allocations, and it is no substitute for a measurement on a GPU.

Where PyTorch's CUDA build takes another path than its meta kernels, cuda_dispatch() and
the Allocator take CUDA's (the H200 of the reference facts: sm_90, cuDNN 9.19): the fused
native_dropout; F.scaled_dot_product_attention's backend choice (cuDNN, flash,
memory-efficient, math) and that backend's aten op; nn.MultiheadAttention's fast path;
LayerNorm's contiguous copies; host-side outputs not counted.  tools/meta_check.py
compares the result with every H200 transformer point.

The step is tools/torch_reference.py's protocol (one warm-up step, then the measured
one): optimizer.zero_grad(set_to_none=True); out = model(x); loss; del out;
loss.backward(); optimizer.step(), with the optimizer's CUDA defaults (foreach), and
the loss either mse, sum(o.pow(2).mean()) over the outputs, or ce,
sum(F.cross_entropy(o.reshape(-1, C), target)) with int64 class indices made with the
input (dlmem's --loss ce).  Networks: those tools/torch_reference.py builds that
run on the meta device (network files with a twin there; built-ins without cuDNN or
attention kernels of their own).  What it is not: part of dlmem, which never imports
PyTorch and reads the CSV this writes."""
import argparse
import contextlib
import copy
import csv
import os
import sys
import weakref

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

BLOCK = 512


class Allocator(TorchDispatchMode):
    """Counts the meta storages ops create, as the caching allocator would."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0
        self.req = self.req_peak = 0  # the same, unrounded (requested bytes)
        self.blocks = {}
        self.refs = []

    def track(self, t):
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            return
        st = t.untyped_storage()
        key = st._cdata
        if key in self.blocks:
            return
        n = st.nbytes()
        b = 0 if n == 0 else -(-n // BLOCK) * BLOCK
        self.blocks[key] = (b, n)
        self.live += b
        self.req += n
        self.peak = max(self.peak, self.live)
        self.req_peak = max(self.req_peak, self.req)

        def freed(_, key=key):
            b, n = self.blocks.pop(key, (0, 0))
            self.live -= b
            self.req -= n
        self.refs.append(weakref.ref(st, freed))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in CUDA_CONTIGUOUS:   # the CUDA kernel's contiguous copies, alive in it
            args = list(args)
            for i in CUDA_CONTIGUOUS[func]:
                if not args[i].is_contiguous():
                    args[i] = args[i].contiguous()
                    self.track(args[i])
        out = func(*args, **(kwargs or {}))
        host = HOST_OUTPUTS.get(func, ())
        for i, o in enumerate(out if isinstance(out, tuple) else (out,)):
            if i not in host:
                for t in tree_flatten(o)[0]:
                    self.track(t)
        return out


# Outputs that the op's CUDA kernel makes in host memory, where its meta kernel makes
# them on the meta device: not GPU bytes.  _efficient_attention_forward (called by
# _scaled_dot_product_efficient_attention_cuda, aten/src/ATen/native/transformers/
# cuda/attention.cu, Note [Seed and Offset Device]): outside CUDA-graph capture the
# philox seed and offset are at::scalar_tensor(...) / at::empty({}, kLong), CPU tensors.
HOST_OUTPUTS = {torch.ops.aten._scaled_dot_product_efficient_attention.default: (2, 3)}

# Inputs the op's CUDA kernel copies to contiguous memory for its own use (the copies die
# when it returns; autograd keeps the original): aten/src/ATen/native/cuda/
# layer_norm_kernel.cu, layer_norm_cuda `auto X = input.expect_contiguous()` (its output
# is then contiguous too, empty_like(*X)), layer_norm_backward_cuda the same for the
# input and LayerNormBackwardKernelImpl's `dY.contiguous()`.  The meta kernels copy
# nothing.  (torchvision's ViT in training mode feeds LayerNorm nn.MultiheadAttention's
# batch-first output, a transposed view, whenever B > 1.)
CUDA_CONTIGUOUS = {torch.ops.aten.native_layer_norm.default: (0,),
                   torch.ops.aten.native_layer_norm_backward.default: (0, 1)}


# ---- F.scaled_dot_product_attention as PyTorch 2.11's CUDA build runs it on the H200 ----
# The reference facts (sm_90, cuDNN 9.19 = 91900, a CUDA 13.0 build).  On the meta device
# the dispatcher's _fused_sdp_choice gives math; CUDA's select_sdp_backend
# (aten/src/ATen/native/transformers/cuda/sdp_utils.cpp) picks a fused kernel instead.
SM = (9, 0)
CUDNN = 91900


def _same_batch_and_heads(q, k, v, enable_gqa, supports_gqa=True):
    """check_batch_size_and_num_heads_dense (sdp_utils_cpp.h): equal batch sizes; equal
    head counts, or with enable_gqa (a backend that supports it) key/value heads
    equal to each other and dividing the query's."""
    if not (q.size(0) == k.size(0) == v.size(0)):
        return False
    hq, hk, hv = q.size(1), k.size(1), v.size(1)
    if hq == hk == hv:
        return True
    return supports_gqa and enable_gqa and hk == hv and hq % hk == 0


def _last_dim_stride_1(*ts, ignore_singleton=False):
    """check_last_dim_stride_equals_1_dense: q, k, v (and a mask) have stride 1 in their
    last dimension (the flash and cuDNN callers ignore a last dimension of size 1)."""
    return all(t.stride(-1) == 1 or (ignore_singleton and t.size(-1) == 1) for t in ts)


def _common(q, k, v):
    """check_tensor_shapes, check_nonzero_sequence_lengths_dense: 4-D, nothing empty."""
    return (q.dim() == k.dim() == v.dim() == 4 and
            q.size(-2) > 0 and k.size(-2) > 0 and q.size(-1) > 0)


def can_use_cudnn(q, k, v, mask, p, causal, enable_gqa, grad):
    """can_use_cudnn_attention on sm_90 with cuDNN 91900 (sdp_utils.cpp): fp16/bf16;
    check_cudnn_tensor_shapes: B and H <= 65535, head dims <= 128 (256 only above cuDNN
    9.22) and multiples of 8, key length not 1, no query length 1 with dropout; a mask
    of a broadcastable shape (check_attn_mask_shape); GQA (supports_gqa = true).  Later
    sources add check_cudnn_dropout (dropout a multiple of 1/16); 2.11 has no such
    check: the H200's per-op log (data/reference/pytorch_oplog.csv, bert sdpa bf16
    train, dropout 0.1) runs _scaled_dot_product_cudnn_attention."""
    del causal, grad  # d <= 128 passes check_cudnn_d256_bprop_head_dim
    if q.dtype not in (torch.float16, torch.bfloat16) or not (q.dtype == k.dtype == v.dtype):
        return False
    if not _common(q, k, v) or not _last_dim_stride_1(q, k, v, ignore_singleton=True):
        return False
    if not _same_batch_and_heads(q, k, v, enable_gqa):
        return False
    if q.size(0) > 65535 or q.size(1) > 65535:
        return False
    dqk, dv = q.size(3), v.size(3)
    if dqk > 128 or dv > 128 or dqk % 8 or dv % 8:
        return False
    if k.size(2) == 1 or (p != 0.0 and q.size(2) == 1):
        return False
    if mask is not None and mask.dim() not in (2, 4):
        return False
    return True


def can_use_flash(q, k, v, mask, p, causal, enable_gqa, grad):
    """can_use_flash_attention (sdp_utils.cpp): no attn_mask (check_for_attn_mask); q, k,
    v of one head dim <= 256; sm80..sm121 (the sm86/89/120 head-dim rule does not apply
    to sm_90); is_causal only with equal query and key lengths; fp16/bf16
    (check_dtypes_flash_attention, FA3 off by default); GQA supported."""
    del p, grad
    if mask is not None:
        return False
    if not (q.size(-1) == k.size(-1) == v.size(-1)) or q.size(-1) > 256:
        return False
    if causal and q.size(-2) != k.size(-2):
        return False
    if q.dtype not in (torch.float16, torch.bfloat16) or not (q.dtype == k.dtype == v.dtype):
        return False
    return (_common(q, k, v) and _same_batch_and_heads(q, k, v, enable_gqa) and
            _last_dim_stride_1(q, k, v, ignore_singleton=True))


def can_use_efficient(q, k, v, mask, p, causal, enable_gqa, grad):
    """can_use_mem_efficient_attention (sdp_utils.cpp): check_head_dim_size_mem_efficient
    (equal q/k head dims, q and v head dims multiples of minimum_gemm_alignment: 4 for
    fp32, 8 for fp16/bf16 on sm80+), check_data_ptr_alignment_mem_efficient (storage
    offsets aligned to that many elements), stride 1 in the last dimension, fp32, fp16
    or bf16.  No GQA: 2.11's own docstring of F.scaled_dot_product_attention says GQA
    "currently works only for Flash_attention and math kernel on CUDA tensor", and its
    meta kernel for the backward returns key/value gradients with the query's heads
    (later sources set supports_gqa here)."""
    del mask, p, causal, grad
    if q.dtype not in (torch.float32, torch.float16, torch.bfloat16) or \
            not (q.dtype == k.dtype == v.dtype):
        return False
    align = 4 if q.dtype == torch.float32 else 8
    if q.size(-1) != k.size(-1) or q.size(-1) % align or v.size(-1) % align:
        return False
    if any(t.storage_offset() % align for t in (q, k, v)):
        return False
    return (_common(q, k, v) and
            _same_batch_and_heads(q, k, v, enable_gqa, supports_gqa=False) and
            _last_dim_stride_1(q, k, v))


# select_sdp_backend's order: priority_order() puts cuDNN first when
# check_prefer_cudnn_attention() holds: cuDNN newer than 9.15 (91500) on compute
# capability 9.x or 10.x (a CUDA >= 13 build drops the minor-version test), unless
# TORCH_CUDNN_SDPA_DEPRIORITIZED is set.  2.11 has it (sdp_utils.cpp L78-99 at its
# commit 70d99e99); its bundled cuDNN 9.19 crosses the threshold, so on the H200 the
# order is cuDNN, flash, memory-efficient, math.
BACKENDS = (("cudnn", can_use_cudnn), ("flash", can_use_flash),
            ("efficient", can_use_efficient))


def sdp_backend(q, k, v, mask, p, causal, enable_gqa):
    """(backend, whether the inputs need grad) as select_sdp_backend picks it."""
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v))
    if os.environ.get("TORCH_CUDNN_SDPA_DEPRIORITIZED", "") in ("1", "true", "ON", "on"):
        order = BACKENDS[1:]
    else:
        order = BACKENDS if CUDNN > 91500 and SM[0] in (9, 10) else BACKENDS[1:]
    for name, ok in order:
        if ok(q, k, v, mask, p, causal, enable_gqa, grad):
            return name, grad
    return "math", grad


SDPA_LOG = []   # (backend, shape of q, dropout, is_causal, enable_gqa, grad) per call
_sdpa_math = torch._C._nn.scaled_dot_product_attention


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """at::scaled_dot_product_attention (aten/src/ATen/native/transformers/attention.cpp)
    with CUDA's backend choice, calling that backend's aten op as it does.  Their
    autograd formulas (derivatives.yaml) and meta kernels (torch/_meta_registrations.py)
    give the saved tensors and the backward's outputs."""
    name, lse = sdp_backend(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    SDPA_LOG.append((name, tuple(query.shape), dropout_p, is_causal, enable_gqa, lse))
    if name == "cudnn" and attn_mask is None:
        if lse:   # should_compute_logsumexp: an input requires grad, grad mode on
            return torch.ops.aten._scaled_dot_product_cudnn_attention(
                query, key, value, None, True, dropout_p, is_causal, False, scale=scale)[0]
        # Without grad, _scaled_dot_product_cudnn_attention_cuda makes its seed and
        # offset (at::zeros({1}, kLong) on the GPU) and run_cudnn_SDP_fprop
        # (aten/src/ATen/native/cudnn/MHA.cpp) the output by alloc_with_matching_layout
        # (query's dimension order) and no softmax statistics (return_softmaxstats
        # false); the meta kernel would make the statistics anyway.
        seed = torch.zeros(1, dtype=torch.long, device=query.device)
        offset = torch.zeros(1, dtype=torch.long, device=query.device)
        order = sorted(range(4), key=lambda i: query.stride(i), reverse=True)
        shape = (query.size(0), query.size(1), query.size(2), value.size(3))
        out = torch.empty([shape[i] for i in order], dtype=query.dtype,
                          device=query.device).permute([order.index(i) for i in range(4)])
        del seed, offset
        return out
    if name == "flash":
        # head dims are multiples of 8 (pad_last_dim<8> copies nothing), scale as given
        return torch.ops.aten._scaled_dot_product_flash_attention(
            query, key, value, dropout_p, is_causal, False, scale=scale)[0]
    if name == "efficient" and attn_mask is None:
        return torch.ops.aten._scaled_dot_product_efficient_attention(
            query, key, value, None, lse, dropout_p, is_causal, scale=scale)[0]
    if name != "math":
        raise SystemExit(f"torch_meta.py: SDPA backend {name} with an attn_mask is not "
                         "modelled (convert_boolean_attn_mask / preprocess_mask)")
    return _sdpa_math(query, key, value, attn_mask, dropout_p, is_causal, scale=scale,
                      enable_gqa=enable_gqa)


def native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight,
                                qkv_bias, proj_weight, proj_bias, mask=None,
                                need_weights=True, average_attn_weights=True, mask_type=None):
    """torch._native_multi_head_attention as native_multi_head_attention_cuda
    (aten/src/ATen/native/transformers/cuda/attention.cu) runs it: nn.MultiheadAttention's
    fast path (eval mode, no grad, batch_first, self-attention), which the meta device
    never takes (activation.py _check_arg_device).  Self-attention with head dims a
    multiple of 8, no mask and no weights goes through scaled_dot_product_attention
    when _fused_sdp_choice gives flash or memory-efficient attention; otherwise (cuDNN
    included) the fused math path: qkv_projection (matmul without the bias),
    _transform_bias_rescale_qkv (one (3, B, H, T, d) tensor; qkv freed), bmm_nt (the
    scores), masked_softmax without a mask (_softmax_out in place), bmm_nn into q's
    storage, transform0213_gemm_nt_bias (a contiguous (B, T, D) copy, linear)."""
    del average_attn_weights, mask_type
    if mask is not None or need_weights or query.is_nested:
        raise SystemExit("torch_meta.py: nn.MultiheadAttention's fast path with a mask, "
                         "attention weights or nested tensors is not modelled")
    D, B = embed_dim, query.size(0)
    d = D // num_head

    def heads(t):
        return t.view(t.size(0), -1, num_head, d).transpose(1, 2)

    if query is key and key is value and d % 8 == 0:
        backend, _ = sdp_backend(heads(query), heads(key), heads(value), None, 0.0, False,
                                 False)
        if backend in ("flash", "efficient"):
            x = F.linear(query, qkv_weight, qkv_bias)
            y = scaled_dot_product_attention(*(heads(c) for c in x.chunk(3, -1)))
            past = y.transpose(1, 2).reshape(B, -1, D)
            return F.linear(past, proj_weight, proj_bias), None
    SDPA_LOG.append(("mha-fused-math", tuple(query.shape), 0.0, False, False, False))
    qkv = torch.matmul(query, qkv_weight.t())
    T = qkv.size(1)
    q_k_v = torch.empty(3, B, num_head, T, d, dtype=qkv.dtype, device=qkv.device)
    del qkv
    q, k, v = q_k_v[0], q_k_v[1], q_k_v[2]
    qkt = torch.bmm(q.reshape(B * num_head, T, d), k.reshape(B * num_head, T, d).transpose(2, 1))
    torch.bmm(qkt, v.reshape(B * num_head, T, d), out=q.view(B * num_head, T, d))
    del qkt
    a = q.permute(0, 2, 1, 3).contiguous().view(B * T, D)
    return F.linear(a, proj_weight, proj_bias).view(B, T, D), None


def _check_arg_device(x):
    """activation.py's fast-path device test, with the meta device standing for CUDA."""
    return x is None or x.device.type in ("cpu", "cuda", "meta")


def cuda_dispatch():
    """Where PyTorch's CUDA build takes another path than its meta/CPU one, take
    CUDA's: F.dropout on a CUDA tensor is the fused native_dropout (its output and
    a bool mask, Dropout.cpp is_fused_kernel_acceptable), elsewhere a float mask
    (empty_like, bernoulli_, div_, mul)."""
    def dropout(input, p=0.5, training=True, inplace=False):
        if not training or p == 0 or input.numel() == 0:
            return input
        if p == 1:
            return input * 0
        out, _ = torch.native_dropout(input, p, True)
        return out
    F.dropout = dropout
    torch.nn.modules.dropout.F.dropout = dropout
    # transformers' sdpa_attention_forward calls torch.nn.functional.
    # scaled_dot_product_attention, F.multi_head_attention_forward (torchvision's
    # ViT) the module global of the same name: both see this replacement
    F.scaled_dot_product_attention = scaled_dot_product_attention
    # nn.MultiheadAttention's fast path, as on CUDA
    torch.nn.modules.activation._check_arg_device = _check_arg_device
    torch._native_multi_head_attention = native_multi_head_attention


def optimizer(name, params):
    """tools/torch_reference.py's optimizers with the implementation PyTorch picks on CUDA
    (foreach), which it would not pick on the meta device by itself."""
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4, foreach=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, foreach=True)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True)
    raise SystemExit(f"torch_meta.py: unknown optimizer {name!r}")


def run(model_name, B, loss_name, opt_name, dtype, T=0, mode_name="train",
        attention="eager", knobs=None, lora=0, hold_out=False):
    """One point by tools/torch_reference.py's protocol; returns (before, peak,
    after, requested peak) in bytes.  Causal LMs take their own loss
    (model(input_ids=x, labels=x).loss) whatever loss_name says.  lora=r wraps the
    model in peft's LoRA (tools/torch_reference.py with_lora) after the dtype cast,
    as its run_point does.  hold_out=True: the step of tools/torch_reference.py before
    commit c2a27e1 (2026-12-01), which held the outputs through backward and the
    optimizer step (no `del out`); data/reference/pytorch_memory.csv was measured so."""
    # built on the meta device (moving a CPU model there would untie tied weights:
    # Module._apply makes new Parameters when the tensor types differ)
    with torch.device("meta"):
        base = ref.build(model_name, attention, knobs)
    mode = Allocator()
    with mode:
        model = base.to(dtype=ref.DTYPES[dtype])
        if lora:
            with torch.device("meta"):
                model = ref.with_lora(model, lora)
        for q in model.parameters():
            mode.track(q)
        for q in model.buffers():
            mode.track(q)
        x = ref.make_input(model_name, B, T, "meta", ref.DTYPES[dtype], knobs)
        if x.dtype in (torch.int64, torch.int32):
            x = x.to("meta")
        opt = optimizer(opt_name, [q for q in model.parameters() if q.requires_grad]) \
            if mode_name == "train" else None
        model.train(mode_name != "infer")
        targets = None
        ac = contextlib.nullcontext()

        def forward_only():
            if mode_name == "infer":
                with torch.no_grad():
                    return ref.forward_and_loss(model_name, model, x, mode_name, ac)[0]
            return ref.forward_and_loss(model_name, model, x, mode_name, ac)[0]

        if mode_name != "train":
            out = forward_only()  # warm-up
            del out
            before = mode.live
            mode.peak, mode.req_peak = mode.live, mode.req
            out = forward_only()
            return before, mode.peak, mode.live, mode.req_peak

        def step():
            nonlocal targets
            opt.zero_grad(set_to_none=True)
            if ref.is_causal_lm(model_name):
                out, loss = ref.forward_and_loss(model_name, model, x, "train", ac)
                del out
                loss.backward()
                opt.step()
                return
            out = ref.outputs_of(model(x))
            if loss_name == "ce":
                if targets is None:  # made once, with the input
                    targets = [torch.zeros(o.numel() // o.shape[-1], dtype=torch.long,
                                           device="meta") for o in out]
                loss = sum(F.cross_entropy(o.reshape(-1, o.shape[-1]), t)
                           for o, t in zip(out, targets))
            else:
                loss = sum(o.pow(2).mean() for o in out)
            if not hold_out:
                del out
            loss.backward()
            opt.step()

        if loss_name == "ce" and not ref.is_causal_lm(model_name):  # made with the input
            out = ref.outputs_of(model(x))
            targets = [torch.zeros(o.numel() // o.shape[-1], dtype=torch.long, device="meta")
                       for o in out]
            del out
        step()
        before = mode.live
        mode.peak, mode.req_peak = mode.live, mode.req
        step()
        return before, mode.peak, mode.live, mode.req_peak


def main():
    cuda_dispatch()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--model", action="append")
    ap.add_argument("--batch", default="8,64,256")
    ap.add_argument("--loss", default="ce,mse")
    ap.add_argument("--optimizer", default="sgd,adam")
    ap.add_argument("--dtype", default="fp32,bf16")
    a = ap.parse_args()
    models = a.model or ["data/nets/wide_head.net", "data/nets/mlp.net"]
    rows = []
    for m in models:
        for dt in a.dtype.split(","):
            for opt in a.optimizer.split(","):
                for loss in a.loss.split(","):
                    for B in map(int, a.batch.split(",")):
                        before, peak, after, req = run(m, B, loss, opt, dt)
                        rows.append([m, "train", dt, opt, loss, B, 0, before, peak, after, req,
                                     "meta", torch.__version__])
                        print(f"torch_meta.py: {m} {dt} {opt} {loss} B={B}: peak {peak}",
                              file=sys.stderr)
    f = sys.stdout if a.output == "-" else open(a.output, "w", newline="")
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["model", "mode", "dtype", "optimizer", "loss", "batch", "seq", "before_bytes",
                "peak_bytes", "after_bytes", "requested_peak_bytes", "device", "torch"])
    w.writerows(rows)
    if f is not sys.stdout:
        f.close()


if __name__ == "__main__":
    main()
