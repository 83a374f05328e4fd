#!/bin/bash
# holdout_gpu.sh — the GPU runs behind bench/holdout.sh, on the GPU machine
# (one call of the device tool, about 5 minutes on an H200):
#   tools/holdout_gpu.sh OUTDIR
# 1. builds dlmem (configure --without-gsl);
# 2. probes, with PyTorch's bundled cuDNN (the nvidia-cudnn wheel's lib on
#    LD_LIBRARY_PATH, as tools/probe_gpu.sh does), the library workspaces of
#    every hold-out point (torch_reference.py's HOLDOUT), the training steps
#    of data/reference/pytorch_oplog_probe_check_*.csv, and the reference
#    points the shipped rows lack (fp16 convolutions and RNNs; the LSTM's
#    chunk lengths 125 and 250 of the checkpoint-chunks runs) into
#    OUTDIR/probe-sm90-cudnn<version>-holdout.csv, to ship as
#    data/cudnn/probe-sm90-cudnn<version>-holdout.csv;
# 3. measures the hold-out points with PyTorch (torch_reference.py holdout)
#    into OUTDIR/pytorch_holdout.csv, to commit as
#    data/reference/pytorch_holdout.csv;
# 4. prints bench/holdout.sh's table with those rows (OUTDIR/holdout.txt).
# OUTDIR gets 6 files: build.log, probe.log, the rows, measure.log,
# pytorch_holdout.csv, holdout.txt.
# DLMEM names the binary (default ./dlmem in the source tree).
set -o pipefail
out=${1:?usage: holdout_gpu.sh OUTDIR}
cd "$(dirname "$0")/.." || exit 2
t0=$(date +%s)
(autoreconf -fi && ./configure --without-gsl && make -j"$(nproc)") > "$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
dlmem=${DLMEM:-$PWD/dlmem}
echo "holdout_gpu.sh: built in $(( $(date +%s) - t0 )) s"
# (nvidia.cudnn is a namespace package: __file__ is None, __path__ has the directory)
lib=$(python3 -c 'import nvidia.cudnn;print(list(nvidia.cudnn.__path__)[0])')/lib
[ -e "$lib/libcudnn.so.9" ] || { echo "holdout_gpu.sh: no libcudnn.so.9 in $lib" >&2; exit 2; }
v=$(python3 -c 'import torch;print(torch.backends.cudnn.version())')
p=$out/probe-sm90-cudnn$v-holdout.csv
pr() { LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$dlmem" probe "$@" -o "$p"; }
t0=$(date +%s)
# the hold-out points (the same list as torch_reference.py's HOLDOUT)
probes=$(mktemp)
python3 - > "$probes" <<'PY' || exit 1
import sys
sys.argv = ["torch_reference.py"]
sys.path.insert(0, "tools")
import torch_reference as tr
for m, k, mode, dt, b, t, a in tr.HOLDOUT:
    s = tr.holdout_set(k)
    print(" ".join([m, "--mode", mode, "--dtype", dt, "--batch", str(b)] +
                   (["--seq", str(t)] if t else []) + (["--set", s] if s else [])))
PY
while read -r line; do
  # shellcheck disable=SC2086
  pr $line 2>>"$out/probe.log" || { echo "holdout_gpu.sh: dlmem probe $line failed (going on)"; tail -3 "$out/probe.log"; }
done < "$probes"
rm -f "$probes"
# the training steps of the probe's check logs (bench/holdout.sh's first table)
pr resnet18 --set height=256,width=256 --batch 32 --mode train 2>>"$out/probe.log" &&
pr resnet18 --set height=160,width=160 --batch 16 --mode train 2>>"$out/probe.log" &&
pr resnet18 --set base=48 --batch 16 --mode train 2>>"$out/probe.log" &&
pr lstm --set hidden=512,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 2>>"$out/probe.log" &&
pr gru --set hidden=384,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 2>>"$out/probe.log" &&
pr lstm --set hidden=128,layers=1 --batch 16 --seq 50 --dtype fp32,bf16 2>>"$out/probe.log" &&
pr gru --set hidden=160 --batch 8 --seq 64 --dtype fp32,bf16 2>>"$out/probe.log" ||
  { echo "holdout_gpu.sh: probing the check logs' shapes failed (going on)"; tail -3 "$out/probe.log"; }
# the reference points the shipped rows lack
pr resnet18 --batch 8,32,64 --dtype fp16 2>>"$out/probe.log" &&
pr lstm --batch 32 --seq 100,500 --dtype fp16 2>>"$out/probe.log" &&
pr lstm --batch 256 --seq 250,1000 --dtype fp16 --mode train 2>>"$out/probe.log" &&
pr lstm --batch 32 --seq 125,250 --mode train 2>>"$out/probe.log" &&
pr lstm --batch 256 --seq 250 --mode train 2>>"$out/probe.log" ||
  { echo "holdout_gpu.sh: probing the reference gaps failed (going on)"; tail -3 "$out/probe.log"; }
echo "holdout_gpu.sh: probed $(($(wc -l < "$p") - 1)) rows in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
python3 tools/torch_reference.py holdout -o "$out/pytorch_holdout.csv" 2> "$out/measure.log" ||
  { tail -20 "$out/measure.log"; exit 1; }
echo "holdout_gpu.sh: measured in $(( $(date +%s) - t0 )) s"
# the table, with these rows beside the shipped ones
data=$(mktemp -d)
cp -r data/. "$data/"
cp "$p" "$data/cudnn/"
cp "$out/pytorch_holdout.csv" "$data/reference/"
DLMEM_DATA=$data DLMEM=$dlmem sh bench/holdout.sh | tee "$out/holdout.txt"
rm -rf "$data"
