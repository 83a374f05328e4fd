#!/bin/sh
# holdout.sh — the pytorch profile over a validation set no rule of dlmem was
# read from: networks written for it (data/nets/vgg_small.net, mlp.net),
# built-ins at other sizes (ResNet-18 at B 3..96 and 160 x 160 images, LSTMs
# and GRUs of other widths and depths, a 4-layer BERT-style encoder), against
# PyTorch 2.11's measured peaks in data/reference/pytorch_holdout.csv
# (tools/torch_reference.py holdout, on the GPU by tools/holdout_gpu.sh).
# Prints one row per point (measured, predicted, error, complete) and the
# mean and largest |error| over the complete points; goal 2% mean, 5% max.
# An incomplete point (a library workspace without a probed row) is a lower
# bound: it is listed, marked, and kept out of the error statistics.
# Run from a built tree: sh bench/holdout.sh   (DLMEM names the binary)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
DLMEM_DATA=${DLMEM_DATA:-$top/data}; export DLMEM_DATA
dlmem=${DLMEM:-$top/dlmem}
csv=$DLMEM_DATA/reference/pytorch_holdout.csv
if [ ! -f "$csv" ]; then
    echo "holdout.sh: no $csv (measure it on the GPU: tools/holdout_gpu.sh OUTDIR)" >&2
    exit 2
fi
python3 - "$csv" "$dlmem" <<'PY'
import csv, json, subprocess, sys

path, dlmem = sys.argv[1], sys.argv[2]
rows = [r for r in csv.DictReader(l for l in open(path) if not l.startswith("#"))]
print(f"hold-out set: {path} ({len(rows)} points; measured on {rows[0]['gpu'] if rows else '-'}, "
      f"torch {rows[0]['torch'] if rows else '-'}, cuDNN {rows[0]['cudnn'] if rows else '-'})")
fmt = "{:<44} {:>7} {:>4} {:>5} {:>11} {:>12} {:>8}  {}"
print(fmt.format("point", "mode", "B", "T", "measured", "predicted", "error", "complete"))
errs, incomplete, failed = [], 0, 0
for r in rows:
    name = r["model"].replace("data/nets/", "").replace(".net", "")
    if r.get("set"):
        name += " " + r["set"]
    name += " " + r["dtype"] + (" " + r["attention"] if r["attention"] else "")
    if r["status"] != "ok":
        print(fmt.format(name[:44], r["mode"], r["batch"], r["seq"], r["status"], "-", "-", "-"))
        continue
    cmd = [dlmem, "memory", r["model"], "--mode", r["mode"], "--dtype", r["dtype"],
           "--batch", r["batch"], "--format", "json"]
    if int(r["seq"]) > 0:
        cmd += ["--seq", r["seq"]]
    if r.get("set"):
        cmd += ["--set", r["set"]]
    if r["attention"]:
        cmd += ["--attention", "fused" if r["attention"] == "sdpa" else r["attention"]]
    if r["mode"] == "train" and r["optimizer"]:
        cmd += ["--optimizer", r["optimizer"]]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        failed += 1
        print(fmt.format(name[:44], r["mode"], r["batch"], r["seq"], "-", "error", "-",
                         p.stderr.strip()[:60]))
        continue
    pt = json.loads(p.stdout)["points"][0]
    meas, pred = int(r["peak_bytes"]), pt["peak_bytes"]
    err = (pred - meas) / meas
    done = pt["complete"]
    if done:
        errs.append(err)
    else:
        incomplete += 1
    print(fmt.format(name[:44], r["mode"], r["batch"], r["seq"], f"{meas / 2**20:.1f} MiB",
                     f"{'>= ' if not done else ''}{pred / 2**20:.1f} MiB", f"{100 * err:+.2f}%",
                     "yes" if done else f"no ({pt['n_unknown']} unknown)"))
if errs:
    mean = sum(abs(e) for e in errs) / len(errs)
    worst = max(errs, key=abs)
    print(f"\ncomplete points: {len(errs)}; mean |error| {100 * mean:.2f}% (goal 2%), largest "
          f"{100 * worst:+.2f}% (goal 5%); incomplete: {incomplete}; errors: {failed}")
else:
    print(f"\nno complete point; incomplete: {incomplete}; errors: {failed}")
sys.exit(1 if failed else 0)
PY
