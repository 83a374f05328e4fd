#!/bin/sh
# oplog_train_ref.sh — the pytorch profile against PyTorch's per-op logs (data/reference/
# pytorch_oplog*.csv: tools/torch_reference.py oplog, each point a fresh process on the H200):
# for every training step logged (the warm-up done, as the memory protocol has it), the step's
# resident bytes before it (the log's start) and its peak (the largest peak inside one aten
# op) within 1.5% of `dlmem memory --mode train`.  Independent of the grids: the grids measure
# many points in one process, and their bf16 training points' bytes before the step (BERT from
# its config.json, ViT-B/16) come out 17-33 MB below what a fresh process (these logs) shows.
# Inference and forward-only points are not compared: the log's start is taken before their
# first pass (no warm-up), unlike the memory protocol.  No GPU needed.
. "$top_srcdir/tests/lib.sh"
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "1..0 # SKIP no python3"; exit 77; }
"$py" - "$DLMEM" "$top_srcdir"/data/reference/pytorch_oplog*.csv >"$tmpdir/out" 2>&1 <<'PY'
import csv, subprocess, sys
dlmem, files = sys.argv[1], sys.argv[2:]
pts = {}
for path in files:
    for r in csv.DictReader(open(path)):
        d = pts.setdefault((path, r["point"]), {"before": None, "peak": 0})
        if r["phase"] == "start":
            d["before"] = int(r["before"])
        elif r["op"]:
            d["peak"] = max(d["peak"], int(r["peak"]))
n = bad = 0
worst = 0.0
for (path, p), d in sorted(pts.items()):
    f = p.split(":")  # model:attention:dtype:mode:B<n>:T<n>, no checkpoint/autocast suffix
    if len(f) != 6 or f[3] != "train" or d["before"] is None:
        continue
    model, attn, dt, B, T = f[0], f[1], f[2], f[4][1:], f[5][1:]
    cmd = [dlmem, "memory", model, "--mode", "train", "--dtype", dt, "--batch", B,
           "--format", "csv"] + (["--seq", T] if T != "0" else []) + \
          (["--attention", "fused"] if attn == "sdpa" else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    n += 1
    if out.returncode:
        bad += 1
        print(f"FAIL {p}: {out.stderr.strip()}")
        continue
    row = next(csv.DictReader(out.stdout.splitlines()))
    for k, ref in (("before_bytes", d["before"]), ("peak_bytes", d["peak"])):
        e = (int(row[k]) - ref) / ref
        worst = max(worst, abs(e))
        ok = abs(e) <= 0.015
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {path.rsplit('/', 1)[-1]} {p} {k}: log {ref}, "
              f"predicted {row[k]} ({100 * e:+.2f}%)")
print(f"{n} training points, {bad} outside 1.5%, worst {100 * worst:.2f}%")
sys.exit(1 if bad or n < 20 else 0)
PY
ok $? "every logged training step within 1.5% ($(tail -1 "$tmpdir/out"))"
grep FAIL "$tmpdir/out" | diag
grep -q "vit_b_16:eager:bf16:train:B2:T0 peak" "$tmpdir/out"; ok $? "ViT-B/16's bf16 step (nn.MultiheadAttention's training path) is among them"
grep -q "bert:sdpa:bf16:train:B2:T64 before" "$tmpdir/out"; ok $? "BERT's bf16 SDPA step is among them"
done_testing
