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
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            self.track(t)
        return out


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
        attention="eager", knobs=None):
    """One point by tools/torch_reference.py's protocol; returns (before, peak,
    after, requested peak) in bytes.  Causal LMs take their own loss
    (model(input_ids=x, labels=x).loss) whatever loss_name says."""
    # built on the meta device (moving a CPU model there would untie tied weights:
    # Module._apply makes new Parameters when the tensor types differ)
    with torch.device("meta"):
        base = ref.build(model_name, attention, knobs)
    mode = Allocator()
    with mode:
        model = base.to(dtype=ref.DTYPES[dtype])
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
