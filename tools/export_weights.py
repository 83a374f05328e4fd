#!/usr/bin/env python3
"""export_weights.py — PyTorch weights, inputs and outputs in dlmem's tensor file.

What it is: the bridge that lets dlmem's GPU runtime (src/measure/) run the
very weights PyTorch runs, and be checked against PyTorch's outputs.  It builds
the networks with tools/torch_reference.py's builders (torchvision resnet18,
the seed's LSTM/GRU + Linear, transformers BertModel with eager attention) and
writes files in the format of src/measure/tensorfile.h:

  weights MODEL -o FILE        parameters then buffers, named_parameters() /
                               named_buffers() order, float32 / int64
                               (for `dlmem measure --weights FILE`)
  verify --outdir DIR --case MODEL:B:T[:fp32+bf16] ...
                               per case DIR/MODEL.weights and, per dtype,
                               DIR/MODEL.DTYPE.io with meta.B, meta.T,
                               (knobs as dlmem's --set has them: MODEL-KNOB-N
                               in the file names),
                               input.<name>, output.<k> (PyTorch's outputs on
                               the GPU, eval mode, no_grad) and, with
                               --activations, act.<module> (each module's first
                               output; a module called twice gets "#2")
For verification, BatchNorm statistics and affine parameters and LayerNorm
affine parameters are drawn at random (seeded) so that they are not the
identity.  TF32 is off in PyTorch unless --tf32.

What it is not: part of dlmem, or a general checkpoint converter.
"""
import argparse
import copy
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402  (the one place the networks are built)

MAGIC = b"DLMEMTNS"
VERSION = 1
F32, I64 = 1, 2
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def write_tensors(path, items):
    """items: list of (name, tensor); float tensors are written as float32."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, len(items)))
        for name, t in items:
            t = t.detach().cpu()
            if t.dtype in (torch.int64, torch.int32):
                code, t = I64, t.to(torch.int64)
            else:
                code, t = F32, t.to(torch.float32)
            t = t.contiguous()
            b = name.encode()
            f.write(struct.pack("<I", len(b)) + b)
            f.write(struct.pack("<II", code, t.dim()))
            f.write(struct.pack("<%dq" % t.dim(), *t.shape))
            data = t.numpy().tobytes()
            f.write(struct.pack("<Q", len(data)))
            f.write(data)
    os.replace(tmp, path)


def state_items(model):
    return list(model.named_parameters()) + list(model.named_buffers())


def perturb_norms(model, seed=3):
    """Non-trivial BatchNorm/LayerNorm/RMSNorm values and no all-zero Linear, so that
    the test sees them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_((torch.rand(n, generator=g) - 0.5) * 0.2)
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_((torch.rand(n, generator=g) - 0.5) * 0.2)
            elif isinstance(m, torch.nn.Linear) and not m.weight.any():
                # torchvision's ViT zero-initialises its head: drawn, so that the
                # compared logits are not 0 on both sides
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) - 0.5) * 0.05)
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.05)
            elif type(m).__name__.endswith("RMSNorm"):  # transformers' LlamaRMSNorm & co.
                n = m.weight.numel()
                m.weight.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
            elif isinstance(m, torch.nn.LayerNorm):
                n = m.weight.numel()
                m.weight.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
                m.bias.copy_((torch.rand(n, generator=g) - 0.5) * 0.1)


def input_name(model_name):
    """The name dlmem's graph gives the model's input."""
    if model_name.startswith("bert") or ref.is_causal_lm(model_name):
        return "input_ids"
    return "pixel_values" if ref.is_image(model_name) and "vit" in model_name else "x"


def cmd_weights(args):
    model = ref.build(args.model)
    write_tensors(args.output, state_items(model))
    print(f"{args.model}: {len(state_items(model))} tensors -> {args.output}", file=sys.stderr)


def run_case(spec, args, device):
    parts = spec.split(":")
    if parts[0] == "hf" and len(parts) > 1:  # hf:STEM, a config of data/hf
        parts = ["hf:" + parts[1]] + parts[2:]
    if len(parts) not in (3, 4):
        raise SystemExit(f"--case {spec!r}: expected MODEL:B:T or MODEL:B:T:fp32+bf16")
    name, B, T = parts[0], int(parts[1]), int(parts[2])
    dtypes = parts[3].split("+") if len(parts) == 4 else args.dtypes
    name, knobs = ref.split_model_spec(name)
    model = ref.build(name, knobs=knobs)
    # files: hf:STEM as hf-STEM
    stem = name.replace(":", "-") + "".join(f"-{k}-{v}" for k, v in knobs.items())
    perturb_norms(model)
    model.eval()
    wpath = os.path.join(args.outdir, f"{stem}.weights")
    write_tensors(wpath, state_items(model))
    for dt in dtypes:
        m = copy.deepcopy(model).to(device=device, dtype=DTYPES[dt])
        x32 = ref.make_input(name, B, T, torch.device("cpu"), torch.float32, knobs)
        x = x32.to(device) if x32.dtype == torch.int64 else x32.to(device, DTYPES[dt])
        acts, counts, hooks = [], {}, []

        def hook(mod_name):
            def f(_mod, _inp, out):
                k = counts.get(mod_name, 0) + 1
                counts[mod_name] = k
                o = out[0] if isinstance(out, (tuple, list)) else out
                if isinstance(o, torch.Tensor) and o.is_floating_point():
                    acts.append((f"act.{mod_name}" + (f"#{k}" if k > 1 else ""),
                                 o.detach().float().cpu().clone()))
            return f

        if args.activations:
            for mod_name, mod in m.named_modules():
                if mod_name:
                    hooks.append(mod.register_forward_hook(hook(mod_name)))
        with torch.no_grad():  # causal LMs: model(input_ids=x), the config's use_cache
            outs = ref.outputs_of(m(input_ids=x) if ref.is_causal_lm(name) else m(x))
        for h in hooks:
            h.remove()
        items = [("meta.B", torch.tensor(B)), ("meta.T", torch.tensor(T)),
                 (f"input.{input_name(name)}", x32)]
        items += [(f"output.{k}", o.float()) for k, o in enumerate(outs)]
        items += acts
        io = os.path.join(args.outdir, f"{stem}.{dt}.io")
        write_tensors(io, items)
        print(f"{name} {dt} B={B} T={T}: {len(outs)} outputs, {len(acts)} activations -> {io}",
              file=sys.stderr)


def cmd_verify(args):
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("export_weights.py verify: PyTorch sees no CUDA GPU")
    os.makedirs(args.outdir, exist_ok=True)
    for spec in args.case:
        run_case(spec, args, torch.device(args.device))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in PyTorch")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("weights", help="weights of a freshly built model (seed 0)")
    a.add_argument("model")
    a.add_argument("-o", "--output", required=True)
    a = sub.add_parser("verify", help="weights, inputs and PyTorch's outputs for the GPU tests")
    a.add_argument("--outdir", required=True)
    a.add_argument("--case", action="append", required=True, help="MODEL:B:T")
    a.add_argument("--dtypes", nargs="+", default=["fp32"], choices=sorted(DTYPES))
    a.add_argument("--activations", action="store_true")
    a.add_argument("--device", default="cuda", help=argparse.SUPPRESS)  # cpu: dry run of the code
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    {"weights": cmd_weights, "verify": cmd_verify}[args.cmd](args)


if __name__ == "__main__":
    main()
