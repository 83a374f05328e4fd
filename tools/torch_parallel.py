#!/usr/bin/env python3
"""torch_parallel.py — per-rank GPU memory of data-parallel and sharded training.

What it is: the reference for `dlmem memory --parallel ...` (issue 15).  Run under
torchrun, one process per GPU, NCCL:

    torchrun --standalone --nproc_per_node 2 tools/torch_parallel.py \
        --models resnet18 lstm bert --parallel ddp fsdp --batch 8 32 -o parallel.csv

Every rank measures the same protocol as tools/torch_reference.py's `memory`
(train mode): nothing left from earlier points, the model built on the CPU
(torch.manual_seed(0)), wrapped, one warm-up step, reset_peak_memory_stats(),
one measured step, then memory_allocated() before, max_memory_allocated() and
memory_allocated() after.  A step is optimizer.zero_grad(set_to_none=True);
out = model(x); loss = sum(o.pow(2).mean()); loss.backward(); optimizer.step()
(Adam, foreach).  The batch given is the batch PER GPU.  Rank 0 gathers every
rank's numbers and writes one CSV row per rank and point.

Wrappings (PyTorch 2.11, defaults unless stated):
  ddp      torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank])
           (bucket_cap_mb 25, gradient_as_bucket_view False, broadcast of the
           module states at construction)
  fsdp     FSDP2: torch.distributed.fsdp.fully_shard on every block (ResNet:
           each BasicBlock; BERT: each encoder layer; RNN: the RNN module),
           then on the root; reshard_after_forward True
  zero1/zero2/zero3  FSDP2's expressions of the ZeRO stages: zero3 = fsdp;
           zero2 = fully_shard(reshard_after_forward=False);
           zero1 = DDP + torch.distributed.optim.ZeroRedundancyOptimizer(Adam)

NCCL's own buffers live outside PyTorch's caching allocator: they are not in
max_memory_allocated(); the script records cudaMemGetInfo's used bytes before
and after process-group warm-up as nccl_bytes (device-wide, 2 MiB steps).

With --nproc_per_node 1 the script is a dry run of the same code on one GPU
(world size 1: DDP still builds its buckets, FSDP2 still all-gathers a shard of
the whole); without CUDA it runs on the CPU over gloo and records no memory
(a check of the wrappings and the protocol only).

What it is not: part of dlmem.  dlmem never imports PyTorch.
"""
import argparse
import copy
import gc
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402  (build, make_input, outputs_of, versions, write_csv)

FIELDS = ["model", "parallel", "world_size", "rank", "dtype", "batch", "seq", "status",
          "before_bytes", "peak_bytes", "after_bytes", "requested_peak_bytes",
          "reserved_peak_bytes", "param_bytes", "nccl_bytes", "ms", "gpu", "gpu_memory",
          "driver", "cuda", "cudnn", "nccl", "torch", "torchvision", "transformers"]


def blocks_of(model):
    """The modules FSDP2 shards one by one (a block each, as users wrap them)."""
    if hasattr(model, "layer1"):  # torchvision ResNet
        return [b for s in ("layer1", "layer2", "layer3", "layer4") for b in getattr(model, s)]
    if hasattr(model, "encoder") and hasattr(model.encoder, "layer"):  # transformers BERT
        return list(model.encoder.layer)
    if hasattr(model, "cell"):  # the seed's RNN
        return [getattr(model, model.cell)]
    raise SystemExit(f"torch_parallel.py: no block list for {type(model).__name__}")


def wrap(model, how, rank, use_cuda):
    """The wrapped model and its optimizer."""
    from torch.nn.parallel import DistributedDataParallel as DDP
    dev = [rank] if use_cuda else None
    if how == "ddp":
        m = DDP(model, device_ids=dev)
        return m, torch.optim.Adam(m.parameters(), lr=1e-4)
    if how == "zero1":
        from torch.distributed.optim import ZeroRedundancyOptimizer
        m = DDP(model, device_ids=dev)
        return m, ZeroRedundancyOptimizer(m.parameters(), optimizer_class=torch.optim.Adam, lr=1e-4)
    if how in ("fsdp", "zero3", "zero2"):
        from torch.distributed.fsdp import fully_shard
        reshard = how != "zero2"
        for b in blocks_of(model):
            fully_shard(b, reshard_after_forward=reshard)
        fully_shard(model, reshard_after_forward=reshard)
        return model, torch.optim.Adam(model.parameters(), lr=1e-4)
    raise SystemExit(f"torch_parallel.py: unknown --parallel {how!r} "
                     "(valid: ddp, fsdp, zero1, zero2, zero3)")


def run_point(name, how, dtype, B, T, rank, world, device, use_cuda):
    gc.collect()
    if use_cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch._C._cuda_clearCublasWorkspaces()
        torch.cuda.reset_peak_memory_stats()
    base = ref.build(name)
    model = copy.deepcopy(base).to(device=device, dtype=ref.DTYPES[dtype])
    del base
    model, opt = wrap(model, how, rank, use_cuda)
    x = ref.make_input(name, B, T, device, ref.DTYPES[dtype])
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = sum(o.pow(2).mean() for o in ref.outputs_of(out))
        loss.backward()
        opt.step()

    step()  # warm-up
    res = dict(before_bytes=0, peak_bytes=0, after_bytes=0, requested_peak_bytes=0,
               reserved_peak_bytes=0)
    if use_cuda:
        torch.cuda.synchronize()
        res["before_bytes"] = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    dist.barrier()
    t0 = time.perf_counter()
    step()
    if use_cuda:
        torch.cuda.synchronize()
        st = torch.cuda.memory_stats()
        res.update(peak_bytes=torch.cuda.max_memory_allocated(),
                   after_bytes=torch.cuda.memory_allocated(),
                   requested_peak_bytes=st.get("requested_bytes.all.peak", 0),
                   reserved_peak_bytes=torch.cuda.max_memory_reserved())
    res["ms"] = f"{(time.perf_counter() - t0) * 1e3:.3f}"
    # this rank's own parameter bytes (FSDP2's parameters are DTensors: the local shard)
    res["param_bytes"] = sum(loc.numel() * loc.element_size() for loc in
                             (getattr(p, "to_local", lambda q=p: q)() for p in model.parameters()))
    del model, opt, x
    return res


def nccl_warmup_bytes(device, use_cuda):
    """Device-wide bytes that the first collectives add (NCCL's own buffers)."""
    if not use_cuda:
        dist.all_reduce(torch.ones(1))
        return 0
    t = torch.ones(1 << 20, device=device)  # the CUDA context and the first segment first
    torch.cuda.synchronize()
    free0, _ = torch.cuda.mem_get_info()
    dist.all_reduce(t)
    dist.all_gather_into_tensor(torch.empty(t.numel() * dist.get_world_size(), device=device), t)
    dist.reduce_scatter_tensor(torch.empty(t.numel() // dist.get_world_size(), device=device),
                               t)
    torch.cuda.synchronize()
    free1, _ = torch.cuda.mem_get_info()
    del t
    return max(0, free0 - free1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["resnet18", "lstm", "bert"])
    ap.add_argument("--parallel", nargs="+", default=["ddp", "fsdp"])
    ap.add_argument("--dtypes", nargs="+", default=["fp32"])
    ap.add_argument("--batch", nargs="+", type=int, default=[8, 32])
    ap.add_argument("--seq", type=int, default=0,
                    help="sequence length (0: the model's default: lstm 100, bert 128)")
    ap.add_argument("-o", "--output", default="parallel.csv")
    a = ap.parse_args()

    use_cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    if use_cuda:
        torch.cuda.set_device(local)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    v = ref.versions()
    v["nccl"] = ".".join(map(str, torch.cuda.nccl.version())) if use_cuda else "none"
    nccl = nccl_warmup_bytes(device, use_cuda)

    rows = []
    for name in a.models:
        T = a.seq or {"lstm": 100, "gru": 100, "bert": 128, "bert-large": 128}.get(name, 0)
        for how in a.parallel:
            for dt in a.dtypes:
                for B in a.batch:
                    row = dict(model=name, parallel=how, world_size=world, rank=rank, dtype=dt,
                               batch=B, seq=T, nccl_bytes=nccl)
                    try:
                        row.update(run_point(name, how, dt, B, T, local, world, device,
                                             use_cuda), status="ok")
                    except torch.cuda.OutOfMemoryError:
                        row.update(status="oom")
                    row.update({k: v[k] for k in FIELDS if k in v})
                    got = [None] * world
                    dist.all_gather_object(got, row)
                    rows += got
                    if rank == 0:
                        print(f"  {name} {how} {dt} B={B} T={T}: "
                              + " ".join(f"rank{r['rank']}={r.get('peak_bytes')}" for r in got),
                              file=sys.stderr)
                        ref.write_csv(a.output, rows, FIELDS)  # keep what is measured
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
