#!/usr/bin/env python3
"""meta_check.py [-o CSV] [--only SUBSTRING]: tools/torch_meta.py's step on the meta device
against the H200's requested-bytes peaks, point by point: every row of
data/reference/pytorch_memory_transformers.csv, the bert rows of
data/reference/pytorch_memory.csv.  For each it prints (stderr) and writes (CSV) the
measured requested_peak_bytes, the GPU-only bytes it holds that the meta device cannot
make (gpu_only_bytes, each term named in gpu_only_source), what of that is not known
(gpu_only_unknown: those points' diff includes it), the meta step's requested peak, the
SDPA backends it ran, and diff = sim - (measured - gpu_only) in bytes and percent.

GPU-only terms, from PyTorch's source as dlmem models them (src/analytic/trace.c
tr_gemm, tr_gemm_lt; src/measure/probe.c on aten/src/ATen/cuda/CublasHandlePool.cpp):
the cuBLAS workspace of the thread that runs the forward's first GEMM (32 MiB on
compute capability 9.x), a second one for the autograd thread in training, and the 1 MiB
cuBLASLt workspace of the main thread when the forward has an addmm with a bias
(at::linear of a biased Linear, GPT-2's Conv1D); a model whose GEMMs are all bias-free
(the Llama-shaped decoder) has none.  Unknown here: cuDNN's workspaces (ViT's
conv_proj; cuDNN SDPA's execution plan), the memory-efficient attention backward's
scratch (delta, workspace), the global-reduction buffer of at::sum over many rows
(aten/src/ATen/native/cuda/Reduce.cuh, the bias gradients in training), all allocated
through the caching allocator and so in the measured peak when it falls inside those
calls; data/reference/README.md says where they show."""
import argparse
import csv
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_meta as tm  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# (file, rows, whether its step held the outputs to its end): pytorch_memory.csv was
# measured on 2026-11-27 (commit 09e4182) by a torch_reference.py whose train step had
# no `del out` before loss.backward()
SOURCES = (("data/reference/pytorch_memory_transformers.csv", lambda r: True, False),
           ("data/reference/pytorch_memory.csv", lambda r: r["model"] == "bert", True))
MIB = 1 << 20
CUBLAS_WS = 32 * MIB   # CublasHandlePool.cpp: 32 MiB default on sm 9.x, 10.x, 12.x
CUBLASLT_WS = MIB      # dlmem tr_gemm_lt: the main thread's first addmm with a bias

HEADER = ["source", "model", "variant", "mode", "dtype", "attention", "optimizer", "batch",
          "seq", "measured_requested_peak_bytes", "gpu_only_bytes", "gpu_only_source",
          "gpu_only_unknown", "sim_requested_peak_bytes", "sdpa_backends", "diff_bytes",
          "diff_pct"]


def biased_gemm(model):
    """Whether the forward runs an addmm with a bias (cuBLASLt's gemm-and-bias path):
    a Linear with a bias, transformers' Conv1D (always biased), an nn.MultiheadAttention
    with in-projection biases."""
    for m in model.modules():
        if isinstance(m, torch.nn.Linear) and m.bias is not None:
            return True
        if type(m).__name__ == "Conv1D":
            return True
        if isinstance(m, torch.nn.MultiheadAttention) and m.in_proj_bias is not None:
            return True
    return False


def gpu_only(model_name, mode, attention, knobs=None):
    """(bytes, source, unknown) of the GPU-only terms of a point."""
    with torch.device("meta"):
        model = tm.ref.build(model_name, attention or "eager", knobs)
    terms = [("cublas_workspace", CUBLAS_WS)]
    if biased_gemm(model):
        terms.append(("cublaslt_workspace", CUBLASLT_WS))
    if mode == "train":
        terms.append(("cublas_workspace_autograd", CUBLAS_WS))
    unknown = []
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        unknown.append("cudnn_conv_workspace")
    return (sum(b for _, b in terms), "+".join(f"{n}={b}" for n, b in terms), unknown)


def backend_unknowns(log, mode):
    """GPU-only scratch of the SDPA backends that ran, not known here."""
    used = {e[0] for e in log}
    u = []
    if "cudnn" in used:
        u.append("cudnn_sdpa_workspace")
    if "efficient" in used and mode == "train":
        u.append("mem_efficient_backward_scratch")
    if mode == "train":   # the bias gradients' column sums (Reduce.cuh global reduction)
        u.append("reduce_global_buffer")
    return u


def check(row, source, hold_out):
    B, T = int(row["batch"]), int(row["seq"])
    lora = int(row["variant"][len("lora-r"):]) if row["variant"].startswith("lora-r") else 0
    if row["variant"] not in ("base",) and not lora:
        raise ValueError(f"variant {row['variant']!r} is not run by torch_meta.py")
    g, src, unknown = gpu_only(row["model"], row["mode"], row["attention"])
    tm.SDPA_LOG.clear()
    _, _, _, sim = tm.run(row["model"], B, "mse", row["optimizer"] or "adam", row["dtype"],
                          T, row["mode"], row["attention"] or "eager", lora=lora,
                          hold_out=hold_out)
    unknown += backend_unknowns(tm.SDPA_LOG, row["mode"])
    measured = int(row["requested_peak_bytes"])
    ref = measured - g
    return dict(source=os.path.basename(source), model=row["model"], variant=row["variant"],
                mode=row["mode"], dtype=row["dtype"], attention=row["attention"],
                optimizer=row["optimizer"], batch=B, seq=T,
                measured_requested_peak_bytes=measured, gpu_only_bytes=g,
                gpu_only_source=src, gpu_only_unknown="+".join(unknown),
                sim_requested_peak_bytes=sim,
                sdpa_backends="+".join(sorted({e[0] for e in tm.SDPA_LOG})),
                diff_bytes=sim - ref, diff_pct=f"{100.0 * (sim - ref) / ref:.4f}")


def key(res):
    """family (model and variant), attention, dtype, mode of a result"""
    fam = res["model"] + ("" if res["variant"] == "base" else "/" + res["variant"])
    return f"{fam} {res['attention'] or '-'} {res['dtype']} {res['mode']}"


def summary(rows):
    """Per family, attention, dtype and mode: exact points and the largest difference."""
    groups = {}
    for res in rows:
        groups.setdefault(key(res), []).append(res)
    print("meta_check.py: summary (exact: diff 0 B)", file=sys.stderr)
    for k in sorted(groups):
        g = groups[k]
        worst = max(g, key=lambda res: abs(res["diff_bytes"]))
        exact = sum(res["diff_bytes"] == 0 for res in g)
        print(f"  {k}: {exact}/{len(g)} exact, largest diff {worst['diff_bytes']} B "
              f"({worst['diff_pct']}%)", file=sys.stderr)
    exact = sum(res["diff_bytes"] == 0 for res in rows)
    print(f"  all: {exact}/{len(rows)} exact", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--only", help="run the points whose key contains this")
    a = ap.parse_args()
    tm.cuda_dispatch()
    torch.backends.cuda.matmul.allow_tf32 = False
    points = []
    for path, keep, hold in SOURCES:
        with open(os.path.join(ROOT, path), newline="") as f:
            points += [(path, r, hold) for r in csv.DictReader(f)
                       if keep(r) and r["status"] == "ok"]
    if a.only:
        points = [p for p in points if a.only in ",".join(p[1].values())]
    rows = []
    t0 = time.time()
    for i, (path, r, hold) in enumerate(points, 1):
        res = check(r, path, hold)
        rows.append(res)
        unknown = f" unknown: {res['gpu_only_unknown']}" if res["gpu_only_unknown"] else ""
        print(f"meta_check.py: [{i}/{len(points)} {time.time() - t0:.0f}s] {key(res)} "
              f"B={res['batch']} T={res['seq']} [{res['sdpa_backends'] or '-'}]: measured-gpu "
              f"{res['measured_requested_peak_bytes'] - res['gpu_only_bytes']} sim "
              f"{res['sim_requested_peak_bytes']} diff {res['diff_bytes']} "
              f"({res['diff_pct']}%){unknown}", file=sys.stderr)
    summary(rows)
    f = sys.stdout if a.output == "-" else open(a.output, "w", newline="")
    w = csv.DictWriter(f, HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    if f is not sys.stdout:
        f.close()


if __name__ == "__main__":
    main()
