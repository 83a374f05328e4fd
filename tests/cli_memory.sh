#!/bin/sh
# cli_memory.sh — `dlmem memory` and `dlmem fit`: output formats, the peak
# formula, and one-line errors (exit 2) for invalid points, names and sizes.
. "$top_srcdir/tests/lib.sh"

run memory resnet18 --batch 1,2,4;  expect_rc 0 "memory resnet18"
out_has "infer peak (around B=4" "the peak formula is printed"
out_has "MiB\*B + " "... as a law in B"
run memory resnet18 --batch 8 --per-layer; expect_rc 0 "memory --per-layer"
out_has "Per op at B=8 " "per-layer values are at the asked point"
out_has "^   1  conv1 .*conv2d .*24.50 MiB" "conv1's output at B=8: 8 x 3211264 B = 24.50 MiB"
out_has "^   1  conv1 .*3.062 MiB\*B" "and its formula, 3211264*B bytes"
run memory resnet18 --batch 8 --per-layer --wide; expect_rc 0 "memory --per-layer --wide"
out_has "^   1  conv1 .*24.50 MiB.*3.062 MiB\*B" "--wide: the formula beside the value"
# --mode and --dtype as lists; each point equals the single-configuration run
run memory resnet18 -b 1,8 --mode infer,train --dtype fp32,mixed --format csv; expect_rc 0 "mode and dtype lists"
[ "$(wc -l <"$tmpdir/out")" -eq 9 ]; ok $? "one header and 2 modes x 2 dtypes x 2 batches = 8 rows"
cp "$tmpdir/out" "$tmpdir/lists.csv"
run memory resnet18 -b 8 --mode train --dtype mixed --format csv
row=$(sed -n 2p "$tmpdir/out")
grep -qxF "$row" "$tmpdir/lists.csv"; ok $? "the train/mixed/B=8 row is the single run's"
run memory resnet18 -b 1 --mode infer,train --format json
json_eq "$tmpdir/out" '[p["mode"] for p in d["points"]]' "['infer', 'train']" "JSON: one point per mode"
run memory resnet18 -b 1 --mode infer,train; expect_rc 0 "table with a mode list"
out_has "mode train" "a table for each mode"
run memory resnet18 --mode infer,,train; expect_rc 2 "an empty item in the mode list"
run memory resnet18 --dtype fp32,fp8; expect_rc 2 "an unknown dtype in the list"
run memory resnet18 --mode infer,train --per-layer; expect_rc 2 "--per-layer with a list"
run fit resnet18 --gpu h200 --mode infer,train; expect_rc 2 "fit takes one mode"
one_line_error "fit takes one mode" "says so"
# --loss ce: F.cross_entropy's allocations.  For a linear 64 -> 1000 classifier under SGD the
# train peak is in the loss's backward either way.  The protocol's `del out` before backward
# leaves the logits o alive only where autograd saved them.  MSE: PowBackward0 saved o, and
# pow_backward's grad * (2 * o.pow(1)) holds the grad of mean, o^1 and 2*o while it makes the
# product: five (B, 1000) fp32 tensors.  CE: nothing saves o; log_softmax's result,
# nll_loss's zeros_like grad and log_softmax's grad: three.  So in requested bytes (the peak
# less the allocator's rounding) CE - MSE = the int64 target - 2 tensors = 8B - 8000B.
# (tests/meta_ref.sh checks both against PyTorch's own step on the meta device.)
printf '[net]\nname = clf\n[input x]\nshape = B x 64\n[linear fc]\nout_features = 1000\n' >"$tmpdir/clf.net"
req='d["points"][0]["peak_bytes"] - d["points"][0]["named"].get("allocator_rounding", 0)'
for b in 64 1000; do
    run memory "$tmpdir/clf.net" -b $b --mode train --optimizer sgd --loss mse --format json
    mse=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($req)" "$tmpdir/out")
    run memory "$tmpdir/clf.net" -b $b --mode train --optimizer sgd --loss ce --format json; expect_rc 0 "--loss ce, B=$b"
    json_eq "$tmpdir/out" "$req - $mse" $(( b * 8 - 2 * b * 1000 * 4 )) "CE peak = MSE peak + the target - two (B, 1000) tensors, requested bytes (B=$b)"
    json_eq "$tmpdir/out" 'd["points"][0]["peak_where"]' "backward of the loss (log_softmax backward)" "the CE peak is log_softmax's backward"
    json_eq "$tmpdir/out" 'd["loss"]' ce "JSON names the loss"
done
# --keep-outputs: a loop that keeps `out` through backward; with CE nothing else holds
# the logits, so the loss's backward holds one more (B, 1000) fp32 tensor: 4000B bytes
run memory "$tmpdir/clf.net" -b 64 --mode train --optimizer sgd --loss ce --format json
del=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($req)" "$tmpdir/out")
run memory "$tmpdir/clf.net" -b 64 --mode train --optimizer sgd --loss ce --keep-outputs --format json
expect_rc 0 "--keep-outputs"
json_eq "$tmpdir/out" "$req - $del" 256000 "--keep-outputs: the peak holds the logits too (64 x 1000 x 4 bytes)"
run memory "$tmpdir/clf.net" -b 64 --keep-outputs; expect_rc 2 "--keep-outputs without a training step"
one_line_error "applies to a training step" "says so"
run memory resnet18 --loss ce; expect_rc 2 "--loss without a training step"
one_line_error "use it with --mode train" "says the loss needs --mode train"
run memory resnet18 --mode train --loss hinge; expect_rc 2 "an unknown loss"
one_line_error "valid: mse, ce" "lists the losses"
printf '[net]\nname = seqout\n[input x]\nshape = B x T\n[relu r]\n' >"$tmpdir/seq.net"
run memory "$tmpdir/seq.net" --mode train --loss ce; expect_rc 2 "CE over a last dimension that is not a class count"
one_line_error "no fixed last dimension of classes" "says why"
run memory resnet18 --mode train -b 8; out_has "loss mse" "the table names the loss"

# --attention where there is none
run memory lstm --attention fused; expect_rc 2 "--attention on an LSTM"
one_line_error "lstm has no attention layer" "is refused, not ignored"
run fit resnet18 --gpu h200 --attention fused; expect_rc 2 "fit: --attention on ResNet-18"
run advise resnet18 --attention eager; expect_rc 2 "advise: --attention on ResNet-18"
run memory bert --attention fused --format json; expect_rc 0 "--attention fused on BERT"

run memory bert --seq 64 --batch 2 --mode train --format json; expect_rc 0 "memory bert train json"
cp "$tmpdir/out" "$tmpdir/m.json"
json_valid "$tmpdir/m.json" "JSON parses"
json_eq "$tmpdir/m.json" 'set(d["points"][0]) >= {"batch","dtype","mode","peak_bytes","seq","breakdown"}' True "point keys"
json_eq "$tmpdir/m.json" 'd["points"][0]["peak_bytes"] == sum(d["points"][0]["breakdown"].values())' True "breakdown sums to the peak"
json_eq "$tmpdir/m.json" 'd["points"][0]["mode"]' train "mode in the point"
json_eq "$tmpdir/m.json" 'type(d["points"][0]["peak_bytes"]).__name__' int "bytes are integers"
run memory lstm --seq 50,100 --batch 1,32 --format csv; expect_rc 0 "memory csv"
head -1 "$tmpdir/out" | grep -q '^model,profile,mode,dtype,attention,optimizer,batch,seq,peak_bytes,'
ok $? "CSV header"
n=$(wc -l <"$tmpdir/out"); [ "$n" -eq 5 ]; ok $? "CSV: 4 points + header ($n lines)"
run memory resnet18 --profile runtime --input cudnn_conv_workspace=1MiB --format json
expect_rc 0 "runtime profile with a workspace input"
cp "$tmpdir/out" "$tmpdir/r.json"
json_eq "$tmpdir/r.json" 'd["points"][0]["named"]["cudnn_conv_workspace"]' 1048576 "the input is a named term"

run memory resnet18 --profile runtime --input cudnn_workspace=1MiB; expect_rc 2 "unknown workspace input"
one_line_error "unknown workspace 'cudnn_workspace' (valid: cublas_workspace" "workspace names listed"
run memory resnet18 --input cublas_workspace=1MiB; expect_rc 2 "--input without --profile runtime"
run memory bert --seq 32 --per-layer --format json; expect_rc 0 "per-layer JSON"
cp "$tmpdir/out" "$tmpdir/l.json"
json_eq "$tmpdir/l.json" '[l["saved"] for l in d["layers"] if l["layer"]=="encoder.layer.0.attention.self"][0]' "" "infer: attention saves nothing"
json_eq "$tmpdir/l.json" 'len(d["layers"]) > 100' True "one entry per op"

# cuDNN's convolution workspaces: exact rows (data/cudnn/) or not known, never interpolated
run memory resnet18 --batch 300,32 --format json; expect_rc 0 "memory resnet18 fp32 json"
cp "$tmpdir/out" "$tmpdir/c.json"
json_eq "$tmpdir/c.json" 'd["points"][0]["complete"]' False "B=300 (no row at that batch size): incomplete"
json_eq "$tmpdir/c.json" 'd["points"][0]["n_unknown"] > 0 and all(u["term"] == "cudnn_conv_workspace" and u["phase"] == "forward" and u["batch"] == 300 for u in d["points"][0]["unknown"])' True "B=300: the unknown terms are the convolutions' forward workspaces at B=300"
json_eq "$tmpdir/c.json" 'd["points"][0]["probe_command"]' "dlmem probe resnet18 --mode infer --dtype fp32 --batch 300" "B=300: the command that would close it"
json_eq "$tmpdir/c.json" 'd["points"][1]["complete"] and d["points"][1]["unknown"] == [] and d["points"][1]["probe_command"] == ""' True "B=32: complete"
json_eq "$tmpdir/c.json" '"conv_workspace.csv" in d["points"][1]["workspace_note"]' True "B=32: the rows' source is named"
json_eq "$tmpdir/c.json" 'd["points"][1]["named"]["cudnn_conv_workspace"] > 100 * 2**20' True "B=32: the 128-channel layers' workspace (>100 MiB) in the peak"
run memory resnet18 --batch 300,32 --format csv; expect_rc 0 "memory resnet18 csv"
python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); sys.exit(0 if [x["complete"] for x in r] == ["0", "1"] and r[0]["unknown"].startswith("cudnn_conv_workspace:conv1:forward") and r[0]["probe_command"] else 1)' "$tmpdir/out"
ok $? "CSV: complete, unknown and probe_command columns"
run memory resnet18 --batch 300,32; expect_rc 0 "memory resnet18 table"
out_has "^  300  >= " "B=300's peak is printed as a lower bound"
out_has "dlmem probe resnet18 --mode infer --dtype fp32 --batch 300" "the table's note gives the probe command"
run memory resnet18 --batch 32 --gpu rtx3050; expect_rc 0 "memory resnet18 on sm_86"
out_has ">= " "sm_86 (no rows): the peak is a lower bound"
out_has "no probed or measured rows for sm_86" "sm_86: the output says no rows exist"
out_has "dlmem probe resnet18 --mode infer --dtype fp32 --batch 32" "sm_86: and how to get them"
run memory resnet18 --batch 32 --gpu rtx3050 --format json; expect_rc 0 "memory resnet18 on sm_86 json"
json_eq "$tmpdir/out" 'd["points"][0]["complete"]' False "sm_86: incomplete in JSON too"
run memory bert --format json; expect_rc 0 "memory bert json"
cp "$tmpdir/out" "$tmpdir/n.json"
json_eq "$tmpdir/n.json" 'd["points"][0]["workspace_note"]' "" "no note where no such term exists"
json_eq "$tmpdir/n.json" 'd["points"][0]["complete"]' True "BERT (no cuDNN terms): complete"
# the hold-out networks (bench/holdout.sh): the parameter counts of their PyTorch twins
# (tools/torch_reference.py VggSmall and Mlp, counted by torch 2.11 on the CPU)
run params "$top_srcdir/data/nets/vgg_small.net"; expect_rc 0 "params vgg_small.net"
out_has "total .*3,249,098" "vgg_small: 3,249,098 parameters, as PyTorch counts its twin"
run params "$top_srcdir/data/nets/mlp.net"; expect_rc 0 "params mlp.net"
out_has "total .*10,020,874" "mlp: 10,020,874 parameters, as PyTorch counts its twin"
# the runtime profile: its RNN workspace from dlmem probe's dlmem-runtime rows (shipped for
# the H200 at B 1..256, T 50..1000), not known off them; no reserve in inference
run memory lstm --profile runtime --batch 7 --seq 1000 --format json; expect_rc 0 "runtime profile without --input"
json_eq "$tmpdir/out" 'd["points"][0]["complete"] and d["points"][0]["peak_bytes"] == 74891972' True "runtime: complete from the probe's rows, the H200's measured peak to the byte"
run memory lstm --profile runtime --batch 7 --seq 333 --format json; expect_rc 0 "runtime profile off the rows' T grid"
json_eq "$tmpdir/out" '[u["term"] for u in d["points"][0]["unknown"]] == ["cudnn_rnn_workspace"] and d["points"][0]["probe_command"] == "dlmem probe lstm --mode infer --dtype fp32 --batch 7 --seq 333"' True "runtime: the RNN's workspace is unknown there, dlmem probe gives it"
run memory lstm --profile runtime --input cudnn_rnn_workspace=1000,cudnn_rnn_reserve=1KiB --format json; expect_rc 0 "runtime profile with --input"
json_eq "$tmpdir/out" 'd["points"][0]["complete"]' True "runtime: complete with the measured sizes"
# its convolution workspaces live inside the plan's headroom (--conv-workspace auto): 0 B
# at the peak whatever engine the timing picks, so a conv net's point is complete as it is
run memory resnet18 --profile runtime --batch 32 --format json; expect_rc 0 "runtime profile of a conv net"
json_eq "$tmpdir/out" 'd["points"][0]["complete"] and d["points"][0]["unknown"] == []' True "runtime: complete without --input (transient conv workspaces add nothing)"
run memory resnet18 --profile runtime --batch 32 --input cudnn_conv_workspace=4MiB --format csv; expect_rc 0 "a resident conv buffer"
out_has "^resnet18,runtime,infer,fp32,.*,32,0,$((80351040 + 7024640 * 32 + 4194304))," "runtime: a resident 4 MiB buffer adds its 4 MiB"
# rows from a file: exact batch sizes only, other versions said
printf '%s\n' 'gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq,workspace_bytes,reserve_bytes,engine,status' \
  'NVIDIA RTX 3050,86,90100,0,pytorch-2.11,conv2d,forward,fp32,nchw,c3x32x32-o32x32x32-k3x3-s1x1-p1x1-d1x1-g1,8,0,1048576,0,eng0,ok' > "$tmpdir/ws.csv"
run memory "$top_srcdir/data/nets/cifar_cnn.net" --batch 8 --gpu rtx3050 --workspaces "$tmpdir/ws.csv" --format json; expect_rc 0 "--workspaces FILE"
json_eq "$tmpdir/out" '(not any(u["op"] == "conv1" for u in d["points"][0]["unknown"])) and any(u["op"] == "conv2" for u in d["points"][0]["unknown"])' True "a row from --workspaces closes that op's term, and only that one"
json_eq "$tmpdir/out" 'd["points"][0]["cudnn_version_rows"]' 90100 "the rows' cuDNN version is reported"
printf 'gpu,sm\nx,86\n' > "$tmpdir/bad.csv"
run memory resnet18 --workspaces "$tmpdir/bad.csv"; expect_rc 2 "--workspaces: a file without the row columns"
one_line_error "bad.csv" "names the file"
mkdir -p "$tmpdir/data/cudnn"
printf 'gpu,sm,dtype,phase,in_c,in_h,in_w,out_c,kernel_h,kernel_w,out_h,out_w,batch,bytes\nH200,90,fp32,sideways,3,224,224,64,7,7,112,112,1,0\n' \
    >"$tmpdir/data/cudnn/conv_workspace.csv"
(DLMEM_DATA="$tmpdir/data"; export DLMEM_DATA; run memory resnet18 --batch 32; exit $rc); rc=$?
expect_rc 2 "a malformed table"
one_line_error "conv_workspace.csv:2: column 'phase': 'sideways'" "error names the file, line and column"

run memory bert --seq 513;           expect_rc 2 "T beyond BERT's positions"
one_line_error "'513' is out of range (valid: 1 to 512" "T error names value and range"
run memory resnet18 --batch 0;      expect_rc 2 "batch 0"
one_line_error "'0' is out of range (valid: 1 to" "batch error names value and range"
run memory resnet18 --dtype fp8;    expect_rc 2 "unknown dtype"
one_line_error "unknown dtype 'fp8' (valid: fp32, fp16, bf16, mixed)" "dtype error lists the valid"
run memory resnet18 --mode backward; expect_rc 2 "unknown mode"
one_line_error "unknown mode 'backward' (valid: infer, forward, train)" "mode error lists the valid"
run memory resnet18 --gpu v100;     expect_rc 2 "unknown GPU"
one_line_error "unknown GPU 'v100' (valid: rtx3050-4gb" "GPU error lists the valid"
run memory resnet18 --seq 10;       expect_rc 2 "--seq for a model without T"

run fit resnet18 --gpu "NVIDIA GeForce RTX 3050" --mode train; expect_rc 0 "GPU names as nvidia-smi spells them"
out_has "RTX 3050 Laptop 4 GB" "... resolve to the table's entry"
run fit resnet18 --gpu "H100 80GB HBM3"; expect_rc 0 "H100 by its nvidia-smi name"
run fit resnet18 --gpu rtx3050 --mode train; expect_rc 0 "fit on the seed's GPU"
out_has "largest batch B that fits: [0-9]" "largest batch"
out_has "binding term: saved" "binding term"
out_has "headroom" "headroom"
run fit bert --memory 16GiB --batch 8 --format json; expect_rc 0 "fit: largest T"
cp "$tmpdir/out" "$tmpdir/f.json"
json_eq "$tmpdir/f.json" 'd["max_seq"]' 512 "BERT fits T=512 at B=8 in 16 GiB (infer)"
run fit bert --memory 1GiB --mode train; expect_rc 0 "fit: nothing fits"
out_has "Does not fit even at B=1" "says when nothing fits"
run fit resnet18 --memory lots;     expect_rc 2 "unparseable size"
one_line_error "'lots' is not a memory size" "size error in one line"
run fit resnet18;                   expect_rc 2 "fit needs --gpu or --memory"

# --parallel (src/analytic/parallel.h): one rank's training step, the batch per GPU
run memory resnet18 --parallel ddp --gpus 2 --batch 8; expect_rc 0 "memory --parallel ddp"
out_has "ddp_gradient_buckets 44.59 MiB" "DDP's buckets hold every parameter (44.59 MiB) at the peak"
# (prose wraps at 80 columns: the note is read with its lines joined)
tr '\n' ' ' <"$tmpdir/out" | tr -s ' ' | grep -q "multi-GPU points not measured on 2 GPUs"
ok $? "says multi-GPU points are not measured"
tr '\n' ' ' <"$tmpdir/out" | tr -s ' ' | grep -q "NCCL's own buffers (outside max_memory_allocated) not counted"
ok $? "names NCCL's buffers as not counted"
run memory resnet18 --parallel fsdp --gpus 2 --rank 1 --batch 8 --format csv; expect_rc 0 "memory --parallel fsdp csv"
out_has "parallel fsdp on 2 GPUs, rank 1" "the CSV row says how and which rank"
run memory bert --parallel zero3 --gpus 4 --batch 2 --seq 64 --format json; expect_rc 0 "memory --parallel zero3 json"
json_eq "$tmpdir/out" '"not measured on 2 GPUs" in d["points"][0]["workspace_note"]' True "JSON says multi-GPU points are not measured"
json_eq "$tmpdir/out" '(d["parallel"], d["gpus"], d["rank"])' "('zero3', 4, None)" "JSON names the way, the GPUs and the rank (null: the one keeping the most)"
run memory bert --parallel zero1 --gpus 3 --batch 4 --seq 128; expect_rc 0 "memory --parallel zero1 on 3 GPUs"
out_has "each rank's peak at B=4, T=128 (MiB): rank 0 .*, rank 1 .*, rank 2 " "every rank's peak is listed"
run memory resnet18 --gpus 2 --batch 8;       expect_rc 2 "--gpus without --parallel"
one_line_error "need --parallel" "--gpus without --parallel: one line"
run memory resnet18 --parallel fsdp --gpus 2 --rank 2 --batch 8; expect_rc 2 "--rank beyond the GPUs"
one_line_error "the ranks of 2 GPUs are 0..1" "--rank out of range: one line"
run memory lstm --parallel fsdp --gpus 2 --batch 8 --seq 100; expect_rc 0 "the seed's LSTM under fully_shard"
out_has "fsdp_unsharded_params" "its unsharded parameters are a named term"
run memory resnet18 --parallel ddp --mode infer --batch 8; expect_rc 2 "--parallel needs a training step"
run memory resnet18 --parallel fsdb --batch 8; expect_rc 2 "unknown --parallel"
one_line_error "valid: none, ddp, fsdp, zero1, zero2, zero3" "lists the valid ways"
run fit bert --parallel fsdp --gpus 8 --gpu h100; expect_rc 0 "fit --parallel fsdp"
tr '\n' ' ' <"$tmpdir/out" | tr -s ' ' | grep -q "multi-GPU points not measured on 2 GPUs"
ok $? "fit says multi-GPU points are not measured"
done_testing
