#!/bin/sh
# cli_advise.sh — `dlmem advise`: the ranked table, JSON/CSV for programs,
# agreement with `dlmem memory` and `dlmem fit` on the same configurations
# (the advisor must evaluate techniques with the same engine, not with a
# percentage), a budget below the weights, and one-line errors (exit 2).
. "$top_srcdir/tests/lib.sh"

run advise resnet18 --batch 256; expect_rc 0 "advise resnet18 training on the seed's GPU"
if grep -q "FP16 reduces memory by 50" "$tmpdir/out"; then ok 1 "no seed claim without --seed"; else ok 0 "no seed claim without --seed"; fi
run advise resnet18 --batch 256 --seed; expect_rc 0 "advise --seed"
out_has "does NOT fit" "B=256 does not fit 4 GB"
out_has "Techniques, ranked by memory saved" "ranked table"
out_has "checkpoint-block" "checkpointing per block is evaluated"
out_has "cheapest that fits: " "the cheapest combination"
out_has "what halves and what does not" "precision composition"
out_has "FP16 reduces memory by 50%" "the seed's claim is checked"

run advise bert --batch 8 --seq 512 --format json; expect_rc 0 "advise bert json"
cp "$tmpdir/out" "$tmpdir/a.json"
json_valid "$tmpdir/a.json" "JSON parses"
json_eq "$tmpdir/a.json" 'type(d["baseline"]["peak_bytes"]).__name__' int "bytes are integers"
json_eq "$tmpdir/a.json" 'all(t["saved_bytes"] == d["baseline"]["peak_bytes"] - t["peak_bytes"] for t in d["techniques"] if t["applicable"])' True "saved = baseline peak - new peak"
json_eq "$tmpdir/a.json" '[t["technique"] for t in d["techniques"] if t["applicable"]] == [t["technique"] for t in sorted([t for t in d["techniques"] if t["applicable"]], key=lambda t: -t["saved_bytes"])]' True "ranked by bytes saved"
json_eq "$tmpdir/a.json" '{t["technique"]: t["model_only"] for t in d["techniques"]}["adam8bit"]' True "8-bit Adam is model-only"
json_eq "$tmpdir/a.json" '{t["technique"]: t["model_only"] for t in d["techniques"]}["zero2"]' False "ZeRO's rules are read from PyTorch's source, not model-only"
json_eq "$tmpdir/a.json" '"not measured on 2 GPUs" in {t["technique"]: t["note"] for t in d["techniques"]}["zero2"]' True "ZeRO says its multi-GPU points are not measured"
json_eq "$tmpdir/a.json" '{t["technique"]: t["model_only"] for t in d["techniques"]}["mixed"]' False "autocast is not model-only"
json_eq "$tmpdir/a.json" 'd["cheapest_fitting"]["fits"]' True "the cheapest combination fits"
json_eq "$tmpdir/a.json" 'd["cheapest_fitting"]["peak_bytes"] <= d["budget"]["usable_bytes"]' True "... within the usable bytes"
json_eq "$tmpdir/a.json" '{t["technique"]: t for t in d["techniques"]}["gru"]["applicable"]' False "a GRU does not replace BERT"

# the same engine as dlmem memory: each technique's peak is memory's peak for its configuration
peak_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["points"][0]["peak_bytes"])' "$1"; }
tech_peak() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({t["technique"]: t.get("peak_bytes") for t in d["techniques"]}[sys.argv[2]])' "$1" "$2"; }
for spec in "mixed|--dtype mixed" "fused-attention|--attention fused" "layers6|--set layers=6" "sgd|--optimizer sgd" "adam8bit|--optimizer adam8bit"; do
    tech=${spec%%|*}; opt=${spec#*|}
    run memory bert --mode train --batch 8 --seq 512 --gpu rtx3050 --format json $opt
    cp "$tmpdir/out" "$tmpdir/m.json"
    want=$(peak_of "$tmpdir/m.json"); got=$(tech_peak "$tmpdir/a.json" "$tech")
    [ "$got" = "$want" ]; ok $? "advise's $tech peak is dlmem memory's with $opt ($got = $want)"
done
run memory bert --mode train --batch 8 --seq 512 --gpu rtx3050 --format json
cp "$tmpdir/out" "$tmpdir/m.json"
want=$(peak_of "$tmpdir/m.json")
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["baseline"]["peak_bytes"])' "$tmpdir/a.json")
[ "$got" = "$want" ]; ok $? "the baseline is dlmem memory's peak ($got = $want)"
run fit bert --gpu rtx3050 --mode train --seq 512 --format json
cp "$tmpdir/out" "$tmpdir/f.json"
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_batch"])' "$tmpdir/f.json")
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["baseline"]["max_batch"])' "$tmpdir/a.json")
[ "$got" = "$want" ]; ok $? "the largest batch as given is dlmem fit's ($got = $want)"

run advise gru --batch 32 --seq 100 --techniques gru; expect_rc 0 "a technique that does not apply"
out_has "a GRU replaces the seed's LSTM only" "says why it does not apply"
run advise lstm --batch 32 --seq 100 --techniques gru,checkpoint-block --format csv; expect_rc 0 "advise csv"
head -1 "$tmpdir/out" | grep -q '^model,mode,dtype,optimizer,attention,batch,seq,usable_bytes,technique,'
ok $? "CSV header"
grep -q '^lstm,.*,checkpoint-block,checkpoint,0,' "$tmpdir/out"; ok $? "LSTM: no blocks to checkpoint"
run advise resnet18 --mode infer --batch 16 --techniques fp16,mixed+checkpoint-block,checkpoint-stage
expect_rc 0 "inference workload with a combination"
out_has "inference keeps no activations for backward" "checkpointing does not apply to inference"

# the LSTM checkpointed in chunks of time steps: the chosen K, the trade-off, the same engine.
# On the seed's card (sm_86) no cuDNN RNN rows are shipped, so these runs get rows as inputs
# (--workspaces): the sizes the H200's per-op logs gave at the seed's LSTM sizes (see
# test_advise_engine.c's rnn_rows), at B=256 for every t <= 1000 steps, fp32 and fp16
# (autocast); what is checked is the advisor's choice of K, not the values.
python3 - "$tmpdir/rnn_rows.csv" <<'PY'
import sys
B, H, I = 256, 256, 100
with open(sys.argv[1], "w") as f:
    f.write("gpu,sm,cudnn_version,cublas_version,logic,op,phase,dtype,layout,key,batch,seq,"
            "workspace_bytes,reserve_bytes,engine,status\n")
    for dt, fb, c in (("fp32", 4, 20333056), ("fp16", 2, 18555392)):
        for t in range(1, 1001):
            inf = c + fb * B * (20 * H + t * (I + H) + min(t, 256) * 4 * H)
            trn = max(inf, c + fb * 19025 + B * (fb * t * (2 * I + 3 * H) + fb * 48 * H - fb * 2213 // 2))
            res = 11 * t * B * H * fb + 256
            for ph, ws, rs in (("inference", inf, 0), ("training", trn, res), ("backward", trn, 0)):
                f.write(f"test input,86,91900,0,pytorch-2.11,lstm,{ph},{dt},-,i100-h256-l2-b1-d1-p0,"
                        f"{B},{t},{ws},{rs},rnn-standard,ok\n")
PY
rows="--workspaces $tmpdir/rnn_rows.csv"
run advise lstm --batch 256 --seq 1000 --wide $rows; expect_rc 0 "advise the seed's LSTM training (B=256, T=1000)"
out_has "checkpoint-chunks, the trade-off over K" "the trade-off over K is shown"
out_has "checkpoint-chunks .*K=2 chunks of 500 time steps .*the fewest chunks that fit" "K=2 is the fewest chunks that fit 4 GB"
run advise lstm --batch 256 --seq 1000 --format json $rows; expect_rc 0 "advise lstm json"
cp "$tmpdir/out" "$tmpdir/l.json"
json_valid "$tmpdir/l.json" "JSON parses"
json_eq "$tmpdir/l.json" '{t["technique"]: t for t in d["techniques"]}["checkpoint-chunks"]["rnn_chunks"] == d["checkpoint_chunks"]["chosen"]' True "the row uses the chosen K"
json_eq "$tmpdir/l.json" 'all(r["fits"] == (r["chunks"] >= d["checkpoint_chunks"]["chosen"]) for r in d["checkpoint_chunks"]["tradeoff"] if r["chunks"] <= d["checkpoint_chunks"]["lowest_peak"])' True "every K below the chosen one does not fit, every one from it on does (up to the lowest peak)"
json_eq "$tmpdir/l.json" 'min(d["checkpoint_chunks"]["tradeoff"], key=lambda r: r["peak_bytes"])["chunks"] == d["checkpoint_chunks"]["lowest_peak"]' True "the lowest peak of the trade-off is where it says"
json_eq "$tmpdir/l.json" 'sorted(t["technique"] for t in [d["cheapest_fitting"]] + d["also_fitting"] if "checkpoint-chunks" in t["technique"])' "['checkpoint-chunks', 'mixed+checkpoint-chunks']" "the combinations include checkpointing in chunks"
for k in 2 10; do
    run advise lstm --batch 256 --seq 1000 --techniques checkpoint-chunks$k --format json $rows
    cp "$tmpdir/out" "$tmpdir/k.json"
    run memory lstm --mode train --batch 256 --seq 1000 --gpu rtx3050 --rnn-chunks $k --format json $rows
    cp "$tmpdir/out" "$tmpdir/m.json"
    want=$(peak_of "$tmpdir/m.json"); got=$(tech_peak "$tmpdir/k.json" "checkpoint-chunks$k")
    [ "$got" = "$want" ]; ok $? "advise's checkpoint-chunks$k peak is dlmem memory's with --rnn-chunks $k ($got = $want)"
done
run advise lstm --techniques checkpoint-chunks1; expect_rc 2 "one chunk is no technique"
one_line_error "unknown technique 'checkpoint-chunks1' (valid: .*checkpoint-chunksK for K chunks, 2 to 4096" "says which K are valid"
run advise bert --batch 8 --seq 128 --techniques checkpoint-chunks; expect_rc 0 "checkpoint-chunks on BERT"
out_has "bert has no RNN to run in chunks of time steps" "says why it does not apply"
run memory resnet18 --mode train --rnn-chunks 4; expect_rc 2 "memory --rnn-chunks on a network without RNN"
one_line_error "resnet18 has no RNN to run in chunks of time steps" "says so in one line"
run memory lstm --mode train --seq 3 --rnn-chunks 4; expect_rc 2 "fewer steps than chunks"
one_line_error "sequence length 3 is shorter than the 4 chunks" "names the value and the range"

# a budget smaller than the weights alone: a clear answer, not an empty table
run advise bert --memory 1GB --batch 8 --seq 128 --wide; expect_rc 0 "budget below the weights"
out_has "The weights alone (417.64 MiB" "says the weights exceed the budget"
out_has "lowest single-GPU peak found: " "gives the minimum on one GPU"
out_has "cheapest that fits: .*lora.* 1 GPU" "LoRA (adapters only, the rest frozen) fits it on one GPU"
out_has "zero3  *sharding .*GPUs, batch" "and ZeRO-3's row says how many GPUs it needs"

run advise resnet18 --techniques fp8;  expect_rc 2 "unknown technique"
one_line_error "unknown technique 'fp8' (valid: mixed, bf16, fp16, checkpoint-block" "lists the valid techniques"
run advise resnet18 --techniques mixed+bogus;  expect_rc 2 "unknown technique in a combination"
one_line_error "unknown technique 'bogus'" "names it"
run advise resnet18 --gpu v100;         expect_rc 2 "unknown GPU"
one_line_error "unknown GPU 'v100' (valid: rtx3050-4gb" "lists the valid GPUs"
run advise resnet18 --batch 0;          expect_rc 2 "batch 0"
one_line_error "0 is out of range (valid: 1 to" "names the value and range"
run advise bert --seq 513;              expect_rc 2 "T beyond BERT's positions"
run advise resnet18 --memory 100MiB;    expect_rc 2 "a budget below the CUDA context"
one_line_error "do not exceed the context" "says so"
run advise;                             expect_rc 2 "no model"

# never a plain "fits" with unknown library workspaces (the seed's card, sm_86: no rows)
run advise resnet18 --batch 16 --techniques mixed; expect_rc 0 "advise on sm_86 (no workspace rows)"
out_has "fits (only unless" "as given: fits only unless cuDNN's workspace exceeds the headroom"
out_has "unless ws > " "the technique's fits column says the same"
out_has ">= " "peaks are lower bounds"
run advise resnet18 --batch 16 --techniques mixed --format json; expect_rc 0 "advise json on sm_86"
json_eq "$tmpdir/out" 'd["baseline"]["complete"] is False and d["baseline"]["fits_unless_workspace_exceeds_bytes"] == d["budget"]["usable_bytes"] - d["baseline"]["peak_bytes"]' True "JSON: incomplete, fits unless a workspace exceeds the headroom"
run fit resnet18 --gpu rtx3050 --mode train --format json; expect_rc 0 "fit json on sm_86"
json_eq "$tmpdir/out" 'd["complete"] is False and d["fits_unless_workspace_exceeds_bytes"] == d["headroom_bytes"] and len(d["unknown"]) > 0' True "fit JSON: incomplete, fits unless a workspace exceeds the headroom"
run fit resnet18 --gpu rtx3050 --mode train; expect_rc 0 "fit table on sm_86"
out_has "incomplete: fits only unless cuDNN's workspace exceeds" "fit says a fit holds only if the unknown workspaces are small"
out_has "dlmem probe resnet18 --mode train --dtype fp32 --batch" "and how to close it"
done_testing
