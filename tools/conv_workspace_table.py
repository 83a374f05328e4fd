#!/usr/bin/env python3
"""conv_workspace_table.py — cuDNN convolution workspaces read off per-op logs.

What it is: the step that turns tools/torch_reference.py's per-aten-op memory
logs (`oplog`) into data/cudnn/conv_workspace.csv, the table dlmem's pytorch
profile reads for the workspace of each convolution (cuDNN's engine choice,
and with it the workspace, changes with the batch in ways no shape rule
predicts).  It only reads CSVs; it needs no GPU and no PyTorch.

What it is not: a measurement (torch_reference.py measures) or a model (the
rule between measured batch sizes lives in src/analytic/convtab.c).

Per convolution op of the log:
  forward   convolution: peak - max(before, after), i.e. what the op holds
            above its output while it runs (the engine's workspace);
  backward  convolution_backward: the same above the input and weight
            gradients it returns.  One aten op runs cuDNN's data-gradient and
            filter-gradient engines; the log's peak cannot tell them apart, so
            this is the larger of (data-gradient workspace - weight gradient)
            and the filter-gradient workspace: the op's peak, exactly.
A shape is keyed by input C, H, W, output channels, kernel and output H, W (the
stride and padding follow).  Layers of the same shape (and the infer, forward
and train modes' forward passes) agree except where the caching allocator hands
out a larger cached block; the table keeps the smallest value seen, the closest
bound on the bytes requested, and how many ops it was seen in.

Usage: conv_workspace_table.py -o data/cudnn/conv_workspace.csv
           data/reference/pytorch_oplog_resnet_fp32.csv [more oplogs...]
(any model's plain fp32 runs: with --set base=32 the half-width ResNet's)
"""
import argparse
import csv
import sys


def dims(s):
    return [int(v) for v in s.split(":")[0].split("x")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("oplogs", nargs="+")
    a = ap.parse_args()
    seen = {}   # (gpu, dtype, phase, key, B) -> [bytes...]
    meta = {}
    for path in a.oplogs:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                op = r["op"]
                if op not in ("convolution.default", "convolution_backward.default"):
                    continue
                # point: model:attention:dtype:mode:B<n>:T<n>[:ckpt-..][:autocast-..][:set-k=v]
                pt = r["point"].split(":")
                if any(f.startswith(("ckpt-", "autocast-")) for f in pt[6:]):
                    continue   # recomputed or autocast convolutions: not plain layers
                dtype, B = pt[2], int(pt[4][1:])
                ins = r["inputs"].split()
                outs = r["outputs"].split()
                if op == "convolution.default":
                    x, w, y = dims(ins[0]), dims(ins[1]), dims(outs[0])
                    phase = "forward"
                else:   # grad_output, input, weight
                    y, x, w = dims(ins[0]), dims(ins[1]), dims(ins[2])
                    phase = "backward"
                key = (x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3])
                b, af, pk = int(r["before"]), int(r["after"]), int(r["peak"])
                k = (r["gpu"], dtype, phase, key, B)
                seen.setdefault(k, []).append(pk - max(b, af))
                meta[r["gpu"]] = (r["torch"], path)
    rows = []
    for (gpu, dtype, phase, key, B), v in sorted(seen.items()):
        torch_v, path = meta[gpu]
        rows.append([gpu, dtype, phase, *key, B, min(v), len(v), path.split("/")[-1]])
    with open(a.output, "w", newline="") as f:
        f.write("# cuDNN convolution workspaces per conv shape and batch size, read off\n"
                "# tools/torch_reference.py oplog runs by tools/conv_workspace_table.py:\n"
                "# bytes = the op's peak above its outputs (forward: convolution; backward:\n"
                "# convolution_backward, above both gradients), the smallest over the ops\n"
                "# of that shape (`ops`).  PyTorch %s with its bundled cuDNN 9.19,\n"
                "# TF32 off, cudnn.benchmark off.  Regenerate with the script, never by hand.\n"
                % torch_v)
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["gpu", "sm", "dtype", "phase", "in_c", "in_h", "in_w", "out_c", "kernel_h",
                    "kernel_w", "out_h", "out_w", "batch", "bytes", "ops", "source"])
        for r in rows:
            sm = 90 if ("H100" in r[0] or "H200" in r[0]) else None
            if sm is None:
                sys.exit(f"conv_workspace_table.py: no compute capability known for {r[0]}")
            w.writerow([r[0], sm] + r[1:])
    print(f"conv_workspace_table.py: {len(rows)} rows -> {a.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
