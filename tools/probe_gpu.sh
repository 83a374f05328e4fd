#!/bin/bash
# probe_gpu.sh — the GPU runs behind data/cudnn/probe-*.csv and the probe's
# checks against PyTorch (data/cudnn/README.md), on the GPU machine:
#   tools/probe_gpu.sh OUTDIR build     configure --without-gsl and make dlmem
#   tools/probe_gpu.sh OUTDIR check     probe the shapes of data/reference's per-op
#                                       logs and compare (tools/probe_check.py)
#   tools/probe_gpu.sh OUTDIR oplogs    new per-op logs (torch_reference.py oplog) for
#                                       shapes outside data/reference, probed and compared
#   tools/probe_gpu.sh OUTDIR ship      every built-in network and data/nets example,
#                                       B 1..256 (RNNs over T 50,100,200,300,500,1000),
#                                       fp32 and bf16, infer and train, into
#                                       OUTDIR/probe-sm90-cudnn<version>.csv
# dlmem runs with PyTorch's bundled cuDNN (the nvidia-cudnn wheel's lib on
# LD_LIBRARY_PATH), so its rows are the choices PyTorch makes on this machine.
set -o pipefail
out=${1:?usage: probe_gpu.sh OUTDIR STAGE...}
shift
cd "$(dirname "$0")/.." || exit 2
lib=$(python3 -c 'import nvidia.cudnn,os;print(os.path.dirname(nvidia.cudnn.__file__))')/lib
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ref=data/reference
for stage in "$@"; do
  t0=$(date +%s)
  case $stage in
  build)
    (autoreconf -fi && ./configure --without-gsl && make -j"$(nproc)") > "$out/build.log" 2>&1 ||
      { tail -40 "$out/build.log"; exit 1; } ;;
  check)
    p=$out/probe_ref.csv
    ./dlmem probe resnet18 --batch 1,4,8,16,32,64,128,256 -o "$p" &&
    ./dlmem probe resnet18 --set base=32 --batch 1,4,8,16,32,64,128 -o "$p" &&
    ./dlmem probe resnet18 --batch 2,8,32,64 --dtype fp32,bf16,fp16 -o "$p" &&
    ./dlmem probe lstm --batch 2,32 --seq 50,300,500,1000 --dtype fp32,bf16 -o "$p" &&
    ./dlmem probe gru --batch 2,32 --seq 50,100,500 --dtype fp32,bf16 -o "$p" || exit 1
    python3 tools/probe_check.py "$p" $ref/pytorch_oplog*.csv > "$out/check_ref.txt"
    tail -12 "$out/check_ref.txt" ;;
  oplogs)
    o=$out/pytorch_oplog_probe_check.csv
    python3 tools/torch_reference.py oplog --dtypes fp32 --modes train --points \
      resnet18:3:0 resnet18:12:0 resnet18:48:0 \
      resnet18:32:0:eager:height=256,width=256 resnet18:16:0:eager:height=160,width=160 \
      resnet18:16:0:eager:base=48 -o "$o.fp32" > "$out/oplog.log" 2>&1 &&
    python3 tools/torch_reference.py oplog --dtypes bf16 --modes train --points \
      resnet18:8:0 resnet18:24:0 -o "$o.bf16" >> "$out/oplog.log" 2>&1 &&
    python3 tools/torch_reference.py oplog --dtypes fp32 bf16 --modes infer train --points \
      lstm:32:100:eager:hidden=512,layers=3 gru:32:100:eager:hidden=384,layers=3 \
      lstm:16:50:eager:hidden=128,layers=1 gru:8:64:eager:hidden=160,layers=2 \
      -o "$o.rnn" >> "$out/oplog.log" 2>&1 || { tail -20 "$out/oplog.log"; exit 1; }
    p=$out/probe_new.csv
    ./dlmem probe resnet18 --batch 3,12,48 -o "$p" &&
    ./dlmem probe resnet18 --set height=256,width=256 --batch 32 -o "$p" &&
    ./dlmem probe resnet18 --set height=160,width=160 --batch 16 -o "$p" &&
    ./dlmem probe resnet18 --set base=48 --batch 16 -o "$p" &&
    ./dlmem probe resnet18 --batch 8,24 --dtype bf16 -o "$p" &&
    ./dlmem probe lstm --set hidden=512,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 -o "$p" &&
    ./dlmem probe gru --set hidden=384,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 -o "$p" &&
    ./dlmem probe lstm --set hidden=128,layers=1 --batch 16 --seq 50 --dtype fp32,bf16 -o "$p" &&
    ./dlmem probe gru --set hidden=160 --batch 8 --seq 64 --dtype fp32,bf16 -o "$p" || exit 1
    python3 tools/probe_check.py "$p" "$o.fp32" "$o.bf16" "$o.rnn" > "$out/check_new.txt"
    tail -12 "$out/check_new.txt" ;;
  ship)
    v=$(python3 -c 'import torch;print(torch.backends.cudnn.version())')
    p=$out/probe-sm90-cudnn$v.csv
    for m in resnet18 resnet34 data/nets/cifar_cnn.net; do
      ./dlmem probe "$m" --batch 1-256 --dtype fp32,bf16 -o "$p" || exit 1
    done
    for m in lstm gru data/nets/seed_lstm.net; do
      ./dlmem probe "$m" --batch 1-256 --seq 50,100,200,300,500,1000 --dtype fp32,bf16 \
        -o "$p" || exit 1
    done
    for m in bert bert-large data/nets/tiny_encoder.net; do
      ./dlmem probe "$m" --batch 1 --seq 128 --dtype fp32,bf16 -o "$p" || exit 1
    done ;;
  *) echo "probe_gpu.sh: unknown stage $stage" >&2; exit 2 ;;
  esac
  echo "probe_gpu.sh: $stage $(( $(date +%s) - t0 )) s"
done
