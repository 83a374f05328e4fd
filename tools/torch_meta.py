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


def run(model_name, B, loss_name, opt_name, dtype):
    base = ref.build(model_name)
    mode = Allocator()
    with mode:
        model = copy.deepcopy(base).to(device="meta", dtype=ref.DTYPES[dtype])
        x = ref.make_input(model_name, B, 0, "meta", ref.DTYPES[dtype])
        opt = optimizer(opt_name, list(model.parameters()))
        model.train()
        targets = None

        def step():
            nonlocal targets
            opt.zero_grad(set_to_none=True)
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

        if loss_name == "ce":  # the targets exist before the warm-up, as the input does
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
