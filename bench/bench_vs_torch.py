#!/usr/bin/env python3
"""bench_vs_torch.py — dlmem's GPU runtime against PyTorch eager, same GPU, same run.

What it is: the speed and memory comparison of `dlmem measure` with PyTorch
eager inference (model.eval(), torch.no_grad()) on the same networks, inputs,
dtype and TF32 setting, one after the other in one invocation:
  resnet18  B = 1, 2, 4, ..., 128
  lstm      B = 32, T = 50, 100, 200, 300, 500, 1000
  bert      B = 8,  T = 8, 16, ..., 512 (eager attention)
  and, named with --models, mobilenet_v2, efficientnet_b0, densenet121, resnet50, vgg16
  at B = 1, 8, 32; the U-Nets; gpt2 and hf:llama-gqa-tiny (data/hf) at (B, T) =
  (1, 128), (8, 128), (8, 512), (32, 256); vit_b_16 at B = 1, 8, 32
Both sides: warm-up (PyTorch one pass, `dlmem measure` two), a measured pass for the peak (PyTorch:
torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), with the
model, input and cuBLAS workspace resident, as tools/torch_reference.py
measures; dlmem: its exact peak_bytes), then N timed passes between CUDA
events, median reported.  It prints per point the latency ratio
(PyTorch ms / dlmem ms: above 1, dlmem is faster) and the peak-memory ratio
(dlmem / PyTorch: below 1, dlmem uses less).

dlmem links the system's cuDNN; PyTorch brings its own.  With --dlmem-cudnn
torch, dlmem runs on PyTorch's bundled libcudnn (found where this Python
process loaded it; same major version, so ABI-compatible) through
LD_LIBRARY_PATH, so that both sides use the same cuDNN.  The table's header
names the cuDNN each side ran with.

What it is not: a benchmark of training, or of fused/compiled PyTorch.

usage: bench/bench_vs_torch.py --dlmem ./dlmem [--dtype fp32|bf16] [--tf32]
                               [--repeat 20] [--models resnet18 lstm bert] [--csv FILE]
                               [--dlmem-args '--conv-workspace 1TiB']
                               [--dlmem-cudnn system|torch]
"""
import argparse
import copy
import csv
import os
import statistics
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_reference as ref  # noqa: E402

GRID = {
    "resnet18": [(b, 0) for b in (1, 2, 4, 8, 16, 32, 64, 128)],
    "lstm": [(32, t) for t in (50, 100, 200, 300, 500, 1000)],
    "bert": [(8, t) for t in (8, 16, 32, 64, 128, 256, 512)],
    # issue 12's networks (not in the default --models: name them)
    "mobilenet_v2": [(b, 0) for b in (1, 8, 32)],
    "efficientnet_b0": [(b, 0) for b in (1, 8, 32)],
    "densenet121": [(b, 0) for b in (1, 8, 32)],
    "resnet50": [(b, 0) for b in (1, 8, 32)],
    "vgg16": [(b, 0) for b in (1, 8, 32)],
    # the U-Net (256 x 256), each way up: 2x2 transposed convs, nearest, bilinear
    "unet": [(b, 0) for b in (1, 4, 16)],
    "unet,upsample=1": [(b, 0) for b in (1, 4, 16)],
    "unet,upsample=2": [(b, 0) for b in (1, 4, 16)],
    # issue 13's transformers (eager attention on both sides; the decoders return their
    # KV cache, use_cache, on both sides)
    "gpt2": [(1, 128), (8, 128), (8, 512), (32, 256)],
    "hf:llama-gqa-tiny": [(1, 128), (8, 128), (8, 512), (32, 256)],
    "vit_b_16": [(b, 0) for b in (1, 8, 32)],
}
DEFAULT_MODELS = ["resnet18", "lstm", "bert"]
DT = {"fp32": torch.float32, "bf16": torch.bfloat16}


def warm_gpu(seconds=1.0):
    """Runs matrix products for a while so that the GPU's clocks are up before
    a series is timed (both sides get the same treatment)."""
    a = torch.randn(4096, 4096, device="cuda")
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    while True:
        for _ in range(10):
            a = (a @ a).clamp_(-1, 1)
        e1.record()
        e1.synchronize()
        if e0.elapsed_time(e1) > seconds * 1e3:
            return


def torch_cudnn_dir():
    """The folder of the libcudnn.so this process (PyTorch) loaded."""
    torch.backends.cudnn.version()  # makes sure it is loaded
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.basename(parts[5]).startswith("libcudnn.so"):
                return os.path.dirname(parts[5])
    sys.exit("bench_vs_torch.py: PyTorch's libcudnn.so is not loaded in this process; "
             "--dlmem-cudnn torch needs a PyTorch with cuDNN")


def run_dlmem(args, model, points):
    """One `dlmem measure` sweep per model; returns {(B, T): row}."""
    batches = sorted({b for b, _ in points})
    seqs = sorted({t for _, t in points if t})
    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    os.unlink(path)
    name, knobs = ref.split_model_spec(model)
    if name.startswith("hf:"):  # a config of data/hf, by its path
        name = os.path.join(ref.HF_DIR, name[3:] + ".json")
    cmd = [args.dlmem, "measure", name, "--batch", ",".join(map(str, batches)),
           "--repeat", str(args.repeat), "--dtype", args.dtype, "-o", path]
    if seqs:
        cmd += ["--seq", ",".join(map(str, seqs))]
    if knobs:
        cmd += ["--set", ",".join(f"{k}={v}" for k, v in knobs.items())]
    if args.tf32:
        cmd.append("--tf32")
    cmd += args.dlmem_args.split()
    env = dict(os.environ)
    if args.dlmem_cudnn == "torch":
        d = torch_cudnn_dir()
        env["LD_LIBRARY_PATH"] = d + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        print(f"+ LD_LIBRARY_PATH={d} (PyTorch's cuDNN)", file=sys.stderr)
    print("+", " ".join(cmd), file=sys.stderr)
    warm_gpu()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    rows = {(int(r["batch"]), int(r["seq"])): r for r in csv.DictReader(open(path))}
    os.unlink(path)
    return rows


def run_torch(args, model, points):
    dev = torch.device("cuda")
    name, knobs = ref.split_model_spec(model)
    base = ref.build(name, "eager", knobs=knobs)
    out = {}
    warm_gpu()
    for B, T in points:
        ref.clean()
        m = copy.deepcopy(base).to(device=dev, dtype=DT[args.dtype]).eval()
        x = ref.make_input(name, B, T, dev, DT[args.dtype], knobs)
        try:
            with torch.no_grad():
                y = m(x)  # warm-up
                del y
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                y = m(x)
                torch.cuda.synchronize()
                peak = torch.cuda.max_memory_allocated()
                del y
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                ms = []
                for _ in range(args.repeat):
                    e0.record()
                    y = m(x)
                    e1.record()
                    del y
                    e1.synchronize()
                    ms.append(e0.elapsed_time(e1))
            out[(B, T)] = dict(peak=peak, ms=statistics.median(ms))
        except torch.cuda.OutOfMemoryError:
            out[(B, T)] = None
        del m, x
        print(f"  torch {model} B={B} T={T} done", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlmem", required=True, help="path of the dlmem binary")
    ap.add_argument("--dtype", default="fp32", choices=sorted(DT))
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS, choices=list(GRID))
    ap.add_argument("--csv", help="also write the table as CSV")
    ap.add_argument("--dlmem-args", default="", help="more options for dlmem measure, e.g. "
                    "'--conv-workspace 1TiB'")
    ap.add_argument("--dlmem-cudnn", default="system", choices=["system", "torch"],
                    help="the cuDNN dlmem runs with: the one it was linked with (default) or "
                    "PyTorch's bundled one")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    gpu = torch.cuda.get_device_name(0)
    rows = []
    dlmem_cudnn = set()
    for model in args.models:
        pts = GRID[model]
        if model == "lstm" and args.dtype != "fp32":
            continue  # the runtime's cuDNN RNN path is fp32 only
        d = run_dlmem(args, model, pts)
        t = run_torch(args, model, pts)
        for B, T in pts:
            r, p = d.get((B, T)), t.get((B, T))
            if not r or r["status"] != "ok" or not p:
                rows.append(dict(model=model, batch=B, seq=T, status="oom"))
                continue
            dlmem_cudnn.add(r["cudnn"])
            dm, dp = float(r["median_ms"]), int(r["peak_bytes"])
            rows.append(dict(model=model, batch=B, seq=T, status="ok", torch_ms=p["ms"],
                             dlmem_ms=dm, speedup=p["ms"] / dm, torch_peak=p["peak"],
                             dlmem_peak=dp, mem_ratio=dp / p["peak"]))
    print(f"\n{gpu}, {args.dtype}{' (TF32 allowed)' if args.tf32 else ' (TF32 off)'}, "
          f"PyTorch {torch.__version__} eager (its cuDNN {torch.backends.cudnn.version()}), "
          f"median of {args.repeat} passes; dlmem measure {args.dlmem_args or '(defaults)'} "
          f"with cuDNN {', '.join(sorted(dlmem_cudnn)) or '?'} ({args.dlmem_cudnn}'s)")
    hdr = ("model", "B", "T", "torch ms", "dlmem ms", "torch/dlmem", "torch peak MiB",
           "dlmem peak MiB", "dlmem/torch mem")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        if r["status"] != "ok":
            print(f"| {r['model']} | {r['batch']} | {r['seq']} | oom | | | | | |")
            continue
        print(f"| {r['model']} | {r['batch']} | {r['seq']} | {r['torch_ms']:.3f} | "
              f"{r['dlmem_ms']:.3f} | {r['speedup']:.2f} | {r['torch_peak'] / 2**20:.1f} | "
              f"{r['dlmem_peak'] / 2**20:.1f} | {r['mem_ratio']:.3f} |")
    ok = [r for r in rows if r["status"] == "ok"]
    slower = [r for r in ok if r["speedup"] < 1]
    bigger = [r for r in ok if r["mem_ratio"] > 1]
    print(f"\n{len(ok)} points: dlmem slower at {len(slower)}, higher peak at {len(bigger)}")
    if args.csv:
        keys = ["model", "batch", "seq", "status", "torch_ms", "dlmem_ms", "speedup",
                "torch_peak", "dlmem_peak", "mem_ratio"]
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys + ["gpu", "dtype", "tf32", "dlmem_cudnn"])
            w.writeheader()
            for r in rows:
                w.writerow({**{k: r.get(k, "") for k in keys}, "gpu": gpu, "dtype": args.dtype,
                            "tf32": int(args.tf32), "dlmem_cudnn": args.dlmem_cudnn})


if __name__ == "__main__":
    main()
