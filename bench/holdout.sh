#!/bin/sh
# holdout.sh — the pytorch profile over a validation set no rule of dlmem was
# read from: networks written for it (data/nets/vgg_small.net, mlp.net),
# built-ins at other sizes (ResNet-18 at B 3..96 and 160 x 160 images, LSTMs
# and GRUs of other widths and depths, a 4-layer BERT-style encoder), against
# PyTorch 2.11's measured peaks in data/reference/pytorch_holdout.csv
# (tools/torch_reference.py holdout, on the GPU by tools/holdout_gpu.sh).
# Also the training steps of data/reference/pytorch_oplog_probe_check_*.csv
# (per-op logs at sizes outside the old table: the step's peak is the largest
# op peak).  Prints one row per point (measured, predicted, error, complete)
# and the mean and largest |error| over the complete points; goal 2% mean,
# 5% max.
# An incomplete point (a library workspace without a probed row) is a lower
# bound: it is listed, marked, and kept out of the error statistics.
# Run from a built tree: sh bench/holdout.sh   (DLMEM names the binary)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
DLMEM_DATA=${DLMEM_DATA:-$top/data}; export DLMEM_DATA
dlmem=${DLMEM:-$top/dlmem}
dlmem=$(cd "$(dirname "$dlmem")" && pwd)/$(basename "$dlmem")
DLMEM_DATA=$(cd "$DLMEM_DATA" && pwd); export DLMEM_DATA
csv=$DLMEM_DATA/reference/pytorch_holdout.csv
# the hold-out rows name their network files relative to the source tree
# (data/nets/...): run from there, whatever the caller's directory (make distcheck)
cd "$top"
python3 - "$csv" "$dlmem" "$DLMEM_DATA"/reference/pytorch_oplog_probe_check_*.csv <<'PY'
import csv, os, subprocess, sys

path, dlmem, oplogs = sys.argv[1], sys.argv[2], sys.argv[3:]
errs, incomplete, failed = [], 0, 0
fmt = "{:<44} {:>7} {:>4} {:>5} {:>11} {:>12} {:>8}  {}"


def predict(model, mode, dtype, batch, seq, sets, attention="", optimizer=""):
    """dlmem's prediction at one point, from its CSV (JSON needs jansson, which
    the GPU machine lacks): peak_bytes, complete, n_unknown."""
    if model.startswith("data/"):  # a network file of the data folder, from any build folder
        model = os.path.join(os.environ.get("DLMEM_DATA", "data"), model[len("data/"):])
    cmd = [dlmem, "memory", model, "--mode", mode, "--dtype", dtype, "--batch", str(batch),
           "--format", "csv"]
    if int(seq) > 0:
        cmd += ["--seq", str(seq)]
    if sets:
        cmd += ["--set", sets]
    if attention:
        cmd += ["--attention", "fused" if attention == "sdpa" else attention]
    if mode == "train" and optimizer:
        cmd += ["--optimizer", optimizer]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    r = next(csv.DictReader(p.stdout.splitlines()))
    return {"peak_bytes": int(r["peak_bytes"]), "complete": r["complete"] == "1",
            "n_unknown": int(r["n_unknown"])}, ""


def show(name, mode, batch, seq, meas, pt, why=""):
    global incomplete, failed
    if pt is None:
        failed += 1
        print(fmt.format(name[:44], mode, batch, seq, "-", "error", "-", why[:60]))
        return
    pred, done = pt["peak_bytes"], pt["complete"]
    err = (pred - meas) / meas
    if done:
        errs.append(err)
    else:
        incomplete += 1
    print(fmt.format(name[:44], mode, batch, seq, f"{meas / 2**20:.1f} MiB",
                     f"{'>= ' if not done else ''}{pred / 2**20:.1f} MiB", f"{100 * err:+.2f}%",
                     "yes" if done else f"no ({pt['n_unknown']} unknown)"))


# 1. the training steps of the probe's own check logs (torch_reference.py oplog
#    after a warm-up: the step's peak is the largest op peak), sizes outside the
#    old table and the reference grid
print("per-op logs (data/reference/pytorch_oplog_probe_check_*.csv: the step's largest op peak)")
print(fmt.format("point", "mode", "B", "T", "measured", "predicted", "error", "complete"))
for f in oplogs:
    if not os.path.exists(f):
        continue
    peaks = {}
    for r in csv.DictReader(l for l in open(f) if not l.startswith("#")):
        v = max(int(r[k] or 0) for k in ("before", "after", "peak"))
        peaks[r["point"]] = max(peaks.get(r["point"], 0), v)
    for point, meas in peaks.items():
        parts = point.split(":")
        model, dt, mode, B, T = parts[0], parts[2], parts[3], parts[4][1:], parts[5][1:]
        if mode != "train":   # infer/forward logs run without a warm-up (zero states, caches)
            continue
        sets = ",".join(x[4:] for x in parts[6:] if x.startswith("set-"))
        pt, why = predict(model, mode, dt, B, T, sets)
        show(f"{model} {sets} {dt}".replace("  ", " "), mode, B, T, meas, pt, why)

if not os.path.exists(path):
    print(f"\nno {path}: the hold-out networks are not measured yet (on the GPU: "
          f"tools/holdout_gpu.sh OUTDIR)")
    rows = []
else:
    rows = [r for r in csv.DictReader(l for l in open(path) if not l.startswith("#"))]
if rows:
    print(f"\nhold-out set: {path} ({len(rows)} points; measured on {rows[0]['gpu']}, "
          f"torch {rows[0]['torch']}, cuDNN {rows[0]['cudnn']})")
    print(fmt.format("point", "mode", "B", "T", "measured", "predicted", "error", "complete"))
for r in rows:
    name = r["model"].replace("data/nets/", "").replace(".net", "")
    if r.get("set"):
        name += " " + r["set"]
    name += " " + r["dtype"] + (" " + r["attention"] if r["attention"] else "")
    if r["status"] != "ok":
        print(fmt.format(name[:44], r["mode"], r["batch"], r["seq"], r["status"], "-", "-", "-"))
        continue
    pt, why = predict(r["model"], r["mode"], r["dtype"], r["batch"], r["seq"], r.get("set", ""),
                      r["attention"], r["optimizer"])
    show(name, r["mode"], r["batch"], r["seq"], int(r["peak_bytes"]), pt, why)
if errs:
    mean = sum(abs(e) for e in errs) / len(errs)
    worst = max(errs, key=abs)
    print(f"\ncomplete points: {len(errs)}; mean |error| {100 * mean:.2f}% (goal 2%), largest "
          f"{100 * worst:+.2f}% (goal 5%); incomplete: {incomplete}; errors: {failed}")
else:
    print(f"\nno complete point; incomplete: {incomplete}; errors: {failed}")
sys.exit(1 if failed else 0)
PY
