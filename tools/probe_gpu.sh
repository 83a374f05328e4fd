#!/bin/bash
# probe_gpu.sh — the GPU runs behind data/cudnn/probe-*.csv and the probe's
# checks against PyTorch (data/cudnn/README.md), on the GPU machine:
#   tools/probe_gpu.sh OUTDIR build     configure --without-gsl and make dlmem
#   tools/probe_gpu.sh OUTDIR oplogs    the per-op logs (torch_reference.py oplog) of
#                                       data/reference/pytorch_oplog_probe_check_*.csv
#   tools/probe_gpu.sh OUTDIR check     probe the shapes of every per-op log in
#                                       data/reference and compare (tools/probe_check.py)
#   tools/probe_gpu.sh OUTDIR rnnmath   diagnosis: bf16 RNN rows per math type vs the logs
#   tools/probe_gpu.sh OUTDIR ship      every built-in network and data/nets example,
#                                       B 1..256 (RNNs over T 50,100,200,300,500,1000),
#                                       fp32 and bf16, infer and train, into
#                                       OUTDIR/probe-sm90-cudnn<version>.csv
#   tools/probe_gpu.sh OUTDIR zoo       the networks the ship stage predates (resnet50,
#                                       vgg16, mobilenet_v2, densenet121, efficientnet_b0,
#                                       unet with its transposed convolutions, vit_b_16's
#                                       patch conv, data/nets' mobilenet_block, unet_level,
#                                       vgg_small) at B 1..256, fp32 and bf16, infer and
#                                       train, plus the check stage's shapes, in parallel
#                                       jobs (ZOO_JOBS, default 14; ZOO_SECONDS, default
#                                       480, stops them): only keys no data/cudnn/probe-*.csv
#                                       has, into OUTDIR/probe-sm90-cudnn<version>-zoo.csv
#   tools/probe_gpu.sh OUTDIR unetup    the same for the U-Net's other ways up (--set
#                                       upsample=1: its 1x1 convs), into
#                                       OUTDIR/probe-sm90-cudnn<version>-unetup.csv
#   tools/probe_gpu.sh OUTDIR fp16      the same for fp16 (autocast's default half type,
#                                       --autocast fp16): vit_b_16's patch conv first, then
#                                       the ship and zoo networks' convolutions and RNNs,
#                                       into OUTDIR/probe-sm90-cudnn<version>-fp16.csv
#   tools/probe_gpu.sh OUTDIR runtime   dlmem's own runtime's rows (logic dlmem-runtime: its RNN
#                                       workspace) for every built-in RNN and data/nets one at
#                                       B 1..256 and T 50..1000, fp32, into
#                                       OUTDIR/probe-sm90-cudnn<version>-runtime.csv, and a
#                                       `dlmem measure` sweep to check them against
#   tools/probe_gpu.sh OUTDIR unetcheck the U-Net's per-op logs' convolutions (B=2, fp32,
#                                       bf16: data/reference/pytorch_oplog_cnn.csv, transposed
#                                       ones too) probed and compared
# dlmem runs with PyTorch's bundled cuDNN (the nvidia-cudnn wheel's lib on
# LD_LIBRARY_PATH), so its rows are the choices PyTorch makes on this machine.
# DLMEM names the binary (default ./dlmem in the source tree).
set -o pipefail
out=${1:?usage: probe_gpu.sh OUTDIR STAGE...}
shift
dlmem=${DLMEM:-$PWD/dlmem}
cd "$(dirname "$0")/.." || exit 2
# (nvidia.cudnn is a namespace package: __file__ is None, __path__ has the directory)
lib=$(python3 -c 'import nvidia.cudnn;print(list(nvidia.cudnn.__path__)[0])')/lib
[ -e "$lib/libcudnn.so.9" ] || { echo "probe_gpu.sh: no libcudnn.so.9 in $lib" >&2; exit 2; }
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ref=data/reference
pr() { "$dlmem" probe "$@" -o "$p"; }
for stage in "$@"; do
  t0=$(date +%s)
  case $stage in
  build)
    (autoreconf -fi && ./configure --without-gsl && make -j"$(nproc)") > "$out/build.log" 2>&1 ||
      { tail -40 "$out/build.log"; exit 1; }
    dlmem=$PWD/dlmem ;;
  oplogs)
    o=$out/pytorch_oplog_probe_check
    python3 tools/torch_reference.py oplog --dtypes fp32 --modes train --points \
      resnet18:3:0 resnet18:12:0 resnet18:48:0 \
      resnet18:32:0:eager:height=256,width=256 resnet18:16:0:eager:height=160,width=160 \
      resnet18:16:0:eager:base=48 -o "${o}_fp32.csv" > "$out/oplog.log" 2>&1 &&
    python3 tools/torch_reference.py oplog --dtypes bf16 --modes train --points \
      resnet18:8:0 resnet18:24:0 -o "${o}_bf16.csv" >> "$out/oplog.log" 2>&1 &&
    python3 tools/torch_reference.py oplog --dtypes fp32 bf16 --modes infer train --points \
      lstm:32:100:eager:hidden=512,layers=3 gru:32:100:eager:hidden=384,layers=3 \
      lstm:16:50:eager:hidden=128,layers=1 gru:8:64:eager:hidden=160,layers=2 \
      -o "${o}_rnn.csv" >> "$out/oplog.log" 2>&1 || { tail -20 "$out/oplog.log"; exit 1; } ;;
  check)
    p=$out/probe_ref.csv
    pr resnet18 --batch 1,2,3,4,8,12,16,32,48,64,128,256 --dtype fp32 &&
    pr resnet18 --set base=32 --batch 1,4,8,16,32,64,128 &&
    pr resnet18 --batch 2,8,24,32,64 --dtype bf16,fp16 &&
    pr resnet18 --set height=256,width=256 --batch 32 &&
    pr resnet18 --set height=160,width=160 --batch 16 &&
    pr resnet18 --set base=48 --batch 16 &&
    pr lstm --batch 2,32 --seq 50,300,500,1000 --dtype fp32,bf16 &&
    pr gru --batch 2,32 --seq 50,100,500 --dtype fp32,bf16 &&
    pr lstm --set hidden=512,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 &&
    pr gru --set hidden=384,layers=3 --batch 32 --seq 100 --dtype fp32,bf16 &&
    pr lstm --set hidden=128,layers=1 --batch 16 --seq 50 --dtype fp32,bf16 &&
    pr gru --set hidden=160 --batch 8 --seq 64 --dtype fp32,bf16 &&
    pr mobilenet_v2 --batch 3 --dtype fp32,bf16 --mode train &&
    pr efficientnet_b0 --batch 3 --dtype fp32,bf16 --mode train &&
    pr unet --batch 2 --dtype fp32,bf16 --mode train || exit 1
    python3 tools/probe_check.py "$p" $ref/pytorch_oplog*.csv \
      --known data/cudnn/probe_check_known.txt > "$out/check_ref.txt"
    echo "probe_check.py: exit $?" >> "$out/check_ref.txt"
    grep -v '^CACHED' "$out/check_ref.txt" | tail -20 ;;
  rnnmath)
    for m in fma default tensor-op; do
      p=$out/probe_bf16_$m.csv
      for a in "lstm --batch 2,32 --seq 50,300,500,1000" "gru --batch 2,32 --seq 50,100,500" \
               "lstm --set hidden=512,layers=3 --batch 32 --seq 100" \
               "gru --set hidden=384,layers=3 --batch 32 --seq 100" \
               "lstm --set hidden=128,layers=1 --batch 16 --seq 50" \
               "gru --set hidden=160 --batch 8 --seq 64"; do
        # shellcheck disable=SC2086
        DLMEM_PROBE_BF16_RNN_MATH=$m pr $a --dtype bf16 2>/dev/null || exit 1
      done
      echo "bf16 RNN math $m: $(python3 tools/probe_check.py "$p" $ref/pytorch_oplog.csv \
        $ref/pytorch_oplog_gru_bf16.csv $ref/pytorch_oplog_lstm_long.csv \
        $ref/pytorch_oplog_probe_check_rnn.csv | tail -1)"
    done ;;
  ship)
    v=$(python3 -c 'import torch;print(torch.backends.cudnn.version())')
    p=$out/probe-sm90-cudnn$v.csv
    for m in resnet18 resnet34 data/nets/cifar_cnn.net; do
      pr "$m" --batch 1-256 --dtype fp32,bf16 || exit 1
    done
    for m in lstm gru data/nets/seed_lstm.net; do
      pr "$m" --batch 1-256 --seq 50,100,200,300,500,1000 --dtype fp32,bf16 || exit 1
    done
    for m in bert bert-large data/nets/tiny_encoder.net; do
      pr "$m" --batch 1 --seq 128 --dtype fp32,bf16 || exit 1
    done ;;
  zoo|unetup|fp16)
    v=$(python3 -c 'import torch;print(torch.backends.cudnn.version())')
    jobs=${ZOO_TMP:-/tmp}/dlmem-$stage-jobs
    mkdir -p "$jobs" || exit 1
    # every job starts from the shipped rows, so the probe asks only for keys
    # they lack (it skips the keys its -o file has); a job's own rows follow
    # the seed's lines
    seed=$jobs/seed.csv
    { head -1 data/cudnn/probe-sm90-cudnn$v.csv
      for f in data/cudnn/probe-sm90-cudnn$v*.csv; do tail -n +2 "$f"; done
      for f in data/cudnn/probe-sm90-cudnn$v*.csv.gz; do [ -e "$f" ] && zcat "$f" | tail -n +2; done
    } > "$seed" || exit 1
    nseed=$(wc -l < "$seed")
    K=${ZOO_CHUNKS:-4}
    lists=()  # K interleaved batch lists over 1..256: each as slow as the others
    for ((k = 1; k <= K; k++)); do
      l=""; for ((b = k; b <= 256; b += K)); do l+="${l:+,}$b"; done; lists+=("$l")
    done
    spec=$jobs/spec.txt
    : > "$spec"
    if [ "$stage" = fp16 ]; then   # the networks in the order their rows matter most:
      echo "vit_b_16 --dtype fp16 --batch 1-256" >> "$spec"   # issue 13's ViT first
      for m in resnet18 resnet34 data/nets/cifar_cnn.net resnet50 vgg16 mobilenet_v2 \
               densenet121 efficientnet_b0 unet; do
        for l in "${lists[@]}"; do echo "$m --dtype fp16 --batch $l" >> "$spec"; done
      done
      for m in lstm gru data/nets/seed_lstm.net; do
        for l in "${lists[@]}"; do
          echo "$m --dtype fp16 --batch $l --seq 50,100,200,300,500,1000" >> "$spec"
        done
      done
      for m in mobilenet_block unet_level vgg_small; do
        echo "data/nets/$m.net --dtype fp16 --batch 1-256" >> "$spec"
      done
    elif [ "$stage" = unetup ]; then  # the U-Net's 1x1 convs after upsampling (nearest and
      for d in fp32 bf16; do        # bilinear have the same conv shapes)
        for l in "${lists[@]}"; do echo "unet --set upsample=1 --dtype $d --batch $l" >> "$spec"; done
      done
    else
    for d in fp32 bf16; do
      for m in resnet50 vgg16 mobilenet_v2 densenet121 efficientnet_b0 unet; do
        for l in "${lists[@]}"; do echo "$m --dtype $d --batch $l" >> "$spec"; done
      done
      echo "vit_b_16 --dtype $d --batch 1-256" >> "$spec"
      for m in mobilenet_block unet_level vgg_small; do
        echo "data/nets/$m.net --dtype $d --batch 1-256" >> "$spec"
      done
    done
    cat >> "$spec" <<'SPEC'
unet --batch 2 --dtype fp32,bf16
resnet18 --set height=256,width=256 --batch 32 --dtype fp32,bf16
resnet18 --set height=160,width=160 --batch 16,24 --dtype fp32,bf16
resnet18 --set base=48 --batch 16 --dtype fp32,bf16
resnet18 --set base=32 --batch 1,4,8,16,32,64,128 --dtype fp32,bf16
lstm --set hidden=512,layers=3 --batch 32 --seq 100 --dtype fp32,bf16
gru --set hidden=384,layers=3 --batch 32 --seq 100 --dtype fp32,bf16
lstm --set hidden=128,layers=1 --batch 16 --seq 50,250 --dtype fp32,bf16
gru --set hidden=160 --batch 8 --seq 64 --dtype fp32,bf16
SPEC
    fi
    # the U-Net's large-B jobs hold the most memory: they go first, so that
    # the rest run beside them
    n=0
    grep '^unet' "$spec" > "$spec.o"; grep -v '^unet' "$spec" >> "$spec.o"
    while read -r line; do
      n=$((n + 1)); echo "$n $line"
    done < "$spec.o" > "$spec.n"
    echo "probe_gpu.sh zoo: $n jobs, ${ZOO_JOBS:-14} at a time, seed $nseed lines" >&2
    # shellcheck disable=SC2016
    timeout "${ZOO_SECONDS:-480}" xargs -P "${ZOO_JOBS:-14}" -L 1 sh -c '
      j=$1; shift
      cp "$0/seed.csv" "$0/job$j.csv" || exit 0
      "'"$dlmem"'" probe "$@" -o "$0/job$j.csv" 2>"$0/job$j.log" && echo ok > "$0/job$j.done"
      exit 0' "$jobs" < "$spec.n"
    echo "probe_gpu.sh zoo: xargs exit $? after $(( $(date +%s) - t0 )) s" >&2
    # merge: each job's rows past the seed, whole lines only, one per key; a
    # row a configuration was skipped for memory in is not shipped
    z=$out/probe-sm90-cudnn$v-$stage.csv
    python3 - "$jobs" "$nseed" "$z" <<'PY' || exit 1
import csv, glob, io, os, sys
jobs, nseed, outp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen, rows, oom, cut = set(), [], 0, 0
header = None
for path in sorted(glob.glob(os.path.join(jobs, "job*.csv"))):
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")
    header = header or lines[0]
    tail = lines[nseed:]
    if tail and tail[-1] != "":
        cut += 1  # a job stopped mid-row: its last line is dropped
    tail = tail[:-1]
    for r in csv.reader(io.StringIO("\n".join(tail))):
        if len(r) != 16:
            continue
        if r[14].startswith("oom-skipped-"):
            oom += 1
            continue
        k = tuple(r[:3] + r[4:12])
        if k not in seen:
            seen.add(k)
            rows.append(r)
with open(outp, "w", newline="") as f:
    f.write(header + "\n")
    w = csv.writer(f, lineterminator="\n")
    w.writerows(rows)
done = len(glob.glob(os.path.join(jobs, "job*.done")))
print(f"zoo: {len(rows)} new rows, {oom} dropped (a config skipped for memory), "
      f"{cut} jobs stopped mid-row, {done} jobs finished", file=sys.stderr)
PY
    grep -h "dlmem probe: " "$jobs"/job*.log | grep -v "op instances x points" | sort | uniq -c | head -40 >&2
    for f in "$jobs"/job*.log; do tail -1 "$f"; done > "$out/$stage-progress.txt" ;;
  runtime)
    v=$(python3 -c 'import torch;print(torch.backends.cudnn.version())')
    p=$out/probe-runtime-all.csv
    for m in lstm gru data/nets/seed_lstm.net; do
      pr "$m" --mode infer --dtype fp32 --batch 1-256 --seq 50,100,200,300,500,1000 || exit 1
    done
    { head -1 "$p"; awk -F, '$5 == "dlmem-runtime"' "$p"; } > "$out/probe-sm90-cudnn$v-runtime.csv"
    rm -f "$p"
    for m in lstm gru; do
      "$dlmem" measure "$m" --batch 1,7,32,256 --seq 50,333,1000 -o "$out/measure-runtime-$m.csv" \
        2>>"$out/measure-runtime.log" || { tail -5 "$out/measure-runtime.log"; exit 1; }
    done ;;
  unetcheck)
    p=$out/probe_unet.csv
    pr unet --batch 2 --dtype fp32,bf16 --mode train &&
    python3 tools/probe_check.py "$p" $ref/pytorch_oplog_cnn.csv > "$out/check_unet.txt"
    echo "probe_check.py: exit $?" >> "$out/check_unet.txt"
    grep -v '^CACHED' "$out/check_unet.txt" | grep -v "no probe row" | tail -12 ;;
  *) echo "probe_gpu.sh: unknown stage $stage" >&2; exit 2 ;;
  esac
  echo "probe_gpu.sh: $stage $(( $(date +%s) - t0 )) s"
done
