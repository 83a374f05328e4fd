#!/bin/sh
# cli_measure.sh — `dlmem measure` usage errors are one line with exit 2,
# checked before any GPU is touched, on every machine; with no GPU visible
# (CUDA_VISIBLE_DEVICES empty) or no CUDA in the build, one line and exit 2,
# and no output file is made.  (The GPU runs are tests/gpu_measure.gpu.)
. "$top_srcdir/tests/lib.sh"

run measure --help
expect_rc 0 "--help"
out_has "--batch LIST" "help names --batch"
run measure nosuchnet --batch 1
expect_rc 2 "unknown model"
one_line_error "unknown model 'nosuchnet'" "names the model and the valid ones"
run measure resnet18
expect_rc 2 "missing --batch"
one_line_error "--batch LIST is required" "says --batch is required"
run measure resnet18 --batch 1 --seq 8
expect_rc 2 "--seq for a model without a sequence"
one_line_error "has no sequence length" "says resnet18 has no sequence"
run measure lstm --batch 1
expect_rc 2 "lstm without --seq"
one_line_error "needs --seq" "says --seq is needed"
run measure bert --batch 1 --seq 513
expect_rc 2 "bert at T=513"
one_line_error "out of range (valid: 1 to 512" "names the valid range"
run measure resnet18 --batch 0
expect_rc 2 "batch 0"
run measure resnet18 --batch 1 --dtype fp16
expect_rc 2 "fp16 (not run by the GPU runtime)"
one_line_error "valid: fp32, bf16" "lists the valid dtypes"
run measure resnet18 --batch 1 --mode train
expect_rc 2 "--mode train"
run measure resnet18 --batch 1 --dtype bf16 --tf32
expect_rc 2 "--tf32 with bf16"
run measure resnet18 --batch 1 --resume
expect_rc 2 "--resume without -o"
run measure resnet18 --batch 1 --mem-limit lots
expect_rc 2 "--mem-limit that is not a size"
run measure resnet18 --batch 1 --conv-workspace lots
expect_rc 2 "--conv-workspace that is neither auto nor a size"
run measure resnet18 --batch 1 --conv-api cudnn
expect_rc 2 "--conv-api that is not all, legacy, graph or gemm"
one_line_error "valid: all, legacy, graph, gemm" "lists the valid interfaces"
run measure resnet18 --batch 1 --conv-algo fastest
expect_rc 2 "--conv-algo that is not search or heuristic"
one_line_error "valid: search, heuristic" "lists the valid ways"
run measure resnet18 --batch 1 --layout nhcw
expect_rc 2 "--layout that is not auto, nchw or nhwc"
one_line_error "valid: auto, nchw, nhwc" "lists the valid layouts"
run measure resnet18 --batch 1 --layout nhwc
expect_rc 2 "--layout nhwc in fp32"
one_line_error "bf16 only" "says channels-last is bf16's"

echo "keep me" >"$tmpdir/old.csv"
run measure resnet18 --batch 1 -o "$tmpdir/old.csv"
expect_rc 2 "an existing -o without --resume"
[ "$(cat "$tmpdir/old.csv")" = "keep me" ]
ok $? "... leaves the file as it was"

# --resume and the set column (the knobs each row records), checked before the GPU is
# touched: a file from before the column holds the defaults' rows, so --set may not add to it
data=${DLMEM_DATA:-$top_srcdir/data}
if ! "$DLMEM" measure resnet18 --batch 1 2>&1 | grep -q "without CUDA"; then
    cp "$data/measured/unet-fp32-infer-h200.csv" "$tmpdir/unet.csv"
    cp "$tmpdir/unet.csv" "$tmpdir/unet.orig"
    run measure unet --set upsample=1 --batch 2 -o "$tmpdir/unet.csv" --resume
    expect_rc 2 "--resume --set upsample=1 of a file without the set column"
    one_line_error "unet.csv:1: --resume: the file has no set column .* --set upsample=1 cannot be added" \
        "... says why, naming the file"
    cmp -s "$tmpdir/unet.csv" "$tmpdir/unet.orig"; ok $? "... and leaves it as it was"
    CUDA_VISIBLE_DEVICES= "$DLMEM" measure unet --set upsample=0 --batch 2 -o "$tmpdir/unet.csv" \
        --resume >"$tmpdir/out" 2>"$tmpdir/err"
    rc=$?
    expect_rc 2 "--resume of the defaults (upsample=0 is the default) is allowed: stops at the missing GPU"
    one_line_error "GPU\|CUDA" "... (one line about the GPU, not the header)"
    cmp -s "$tmpdir/unet.csv" "$tmpdir/unet.orig"; ok $? "... file unchanged"
    sed '1s/,layout$/,tiling/' "$tmpdir/unet.orig" >"$tmpdir/other.csv"
    run measure unet --batch 2 -o "$tmpdir/other.csv" --resume
    expect_rc 2 "--resume of a file with another header"
    one_line_error "other.csv:1: --resume: the header is not the one this dlmem writes (.*,layout,set)" \
        "... names the header it writes"
fi

CUDA_VISIBLE_DEVICES= "$DLMEM" measure resnet18 --batch 1 -o "$tmpdir/new.csv" \
    >"$tmpdir/out" 2>"$tmpdir/err"
rc=$?
expect_rc 2 "no GPU visible"
one_line_error "GPU\|CUDA" "one line about the missing GPU or CUDA"
[ ! -e "$tmpdir/new.csv" ]
ok $? "... and no output file made"

# no NVIDIA driver at all (this machine, when it has none): says so, not "insufficient driver"
run measure resnet18 --batch 1
if ! grep -q "without CUDA" "$tmpdir/err" && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
    expect_rc 2 "no NVIDIA driver"
    one_line_error "no usable GPU: no NVIDIA driver on this machine" "names the missing driver"
fi
done_testing
