#!/bin/sh
# cli_reconcile.sh — `dlmem reconcile`, `dlmem audit` and `dlmem report` from the
# command line: malformed CSVs refused in one line naming file and line (exit
# 2, nothing half-written), a too-short series reported as such, the seed audit
# finding the seed's errors by itself, and the report written with its plots.
. "$top_srcdir/tests/lib.sh"
data=${DLMEM_DATA:-$top_srcdir/data}

# ---- malformed input ---------------------------------------------------------------
: >"$tmpdir/empty.csv"
run reconcile "$tmpdir/empty.csv";  expect_rc 2 "reconcile: empty file"
one_line_error "empty.csv: empty file" "empty file: one line naming the file"
printf 'model,mode,batch,peak_bytes\nlstm,infer,1,5\n' >"$tmpdir/nocol.csv"
run reconcile "$tmpdir/nocol.csv";  expect_rc 2 "reconcile: missing column"
one_line_error "nocol.csv:1: missing column 'seq'" "missing column named with file:line"
printf 'model,mode,batch,seq,peak_bytes\nlstm,infer,1,50,100\nlstm,infer,2,50,12MB\n' >"$tmpdir/text.csv"
run reconcile "$tmpdir/text.csv";   expect_rc 2 "reconcile: text where a number belongs"
one_line_error "text.csv:3: column 'peak_bytes': '12MB' is not a number" "bad number: file, line, column"
run reconcile;                      expect_rc 2 "reconcile without a file"
run reconcile "$tmpdir/none.csv";   expect_rc 2 "reconcile: file that does not exist"
one_line_error "none.csv: cannot open" "missing file named"
run reconcile "$data/reference/pytorch_memory.csv" --format yaml; expect_rc 2 "unknown format"

# ---- a user's table, too short to fit --------------------------------------------
printf 'model,mode,batch,seq,peak_bytes\nresnet18,infer,1,0,88488960\nresnet18,infer,2,0,95964160\n' >"$tmpdir/two.csv"
run reconcile "$tmpdir/two.csv";    expect_rc 0 "reconcile: a two-point series"
out_has "too short" "a two-point series is reported too short"
out_has "not fitted: 2 distinct points" "and not fitted"


# ---- no silent acceptance: modes, units, a BOM, two points, the assumed GPU --------
printf 'model,mode,batch,seq,peak_bytes\nresnet18,INFER,1,0,88488960\n' >"$tmpdir/mode.csv"
run reconcile "$tmpdir/mode.csv"; expect_rc 2 "a mode in capitals"
one_line_error "mode.csv:2: column 'mode': 'INFER' is not a mode (valid: infer, forward, train" "names the row and the valid modes"
printf 'model,mode,batch,seq,peak_bytes\nresnet18,inference,1,0,88488960\n' >"$tmpdir/mode2.csv"
run reconcile "$tmpdir/mode2.csv"; expect_rc 2 "mode 'inference'"
printf '\357\273\277model,mode,batch,seq,peak_bytes\nresnet18,infer,1,0,88488960\nresnet18,infer,2,0,95964160\n' >"$tmpdir/bom.csv"
run reconcile "$tmpdir/bom.csv"; expect_rc 0 "a CSV with a UTF-8 byte-order mark"
out_has "B=2 .*91.52 MiB measured, 91.44 MiB predicted" "two points compared, measured against predicted"
out_has "sm 90 (assumed: no gpu column" "the assumed architecture is stated"
out_has "assumed sm_90 for series" "... also under the table"
printf 'model,mode,batch,seq,peak_mib\nresnet18,infer,1,0,84.39\nresnet18,infer,2,0,91.52\nresnet18,infer,4,0,105.77\n' >"$tmpdir/mib.csv"
run reconcile "$tmpdir/mib.csv" --format json; expect_rc 0 "peak_mib accepted"
json_eq "$tmpdir/out" 'd["series"][0]["peak_unit"]' MiB "the unit is kept"
json_eq "$tmpdir/out" 'd["series"][0]["points"][0]["peak_bytes"]' 88489329 "84.39 MiB = 88,489,329 bytes (84.39 x 2^20, rounded)"
run reconcile "$tmpdir/mib.csv"; out_has "peaks read from peak_mib, in MiB (2^20 bytes)" "the table says which unit"
printf 'model,mode,batch,seq,peak_mb\nresnet18,infer,1,0,88.49\nresnet18,infer,2,0,95.96\n' >"$tmpdir/mb.csv"
run reconcile "$tmpdir/mb.csv" --format json; expect_rc 0 "peak_mb accepted"
json_eq "$tmpdir/out" 'd["series"][0]["points"][0]["peak_bytes"]' 88490000 "88.49 MB = 88,490,000 bytes"
printf 'model,mode,batch,seq,peak\nresnet18,infer,1,0,1\n' >"$tmpdir/nopeak.csv"
run reconcile "$tmpdir/nopeak.csv"; expect_rc 2 "no peak column"
one_line_error "no peak column (valid: peak_bytes, peak_mib" "lists the peak columns it reads"

# ---- PyTorch's reference runs ----------------------------------------------------
run reconcile "$data/reference/pytorch_memory.csv" --wide; expect_rc 0 "reconcile the PyTorch reference"
out_has "resnet18 infer fp32, B varies (pytorch, NVIDIA H200)" "ResNet18 batch series found"
out_has "bert infer fp32 eager, B=8, T varies" "BERT sequence series found"
out_has "Degree rule: quadratic if the F-test" "the degree rule is printed"
run reconcile "$data/reference/pytorch_memory.csv" --format json; expect_rc 0 "reconcile --format json"
json_valid "$tmpdir/out" "reconcile JSON parses"
json_eq "$tmpdir/out" "len(d['series'])" 42 "42 series in the PyTorch grid"
json_eq "$tmpdir/out" "[s['chosen_degree'] for s in d['series'] if s['label'].startswith('bert infer fp32 eager, B=8')][0]" 2 \
    "BERT eager attention at B=8 is fitted quadratic in T"
json_eq "$tmpdir/out" "[s['chosen_degree'] for s in d['series'] if s['label'].startswith('bert infer fp32 fused, B=8')][0]" 1 \
    "BERT fused attention at B=8 is fitted linear in T"
run reconcile "$data/reference/pytorch_memory.csv" --format csv; expect_rc 0 "reconcile --format csv"
n=$(grep -c '^[0-9]' "$tmpdir/out"); [ "$n" -eq 42 ]; ok $? "CSV: one row per series ($n)"
run reconcile "$tmpdir/two.csv" --plots "$tmpdir/p"; expect_rc 0 "reconcile --plots"
[ -s "$tmpdir/p/resnet18-infer-fp32-pytorch-vs-B.gp" ]; ok $? "gnuplot script written"

# ---- dlmem's own sweep: measured workspaces go into the runtime profile ----------------
{
    echo "model,profile,mode,dtype,attention,batch,seq,status,before_bytes,peak_bytes,after_bytes,cublas_workspace_bytes,cudnn_conv_workspace_bytes,pool_used_peak_bytes,median_ms,gpu,cublas"
    for b in 1 2 4 8; do
        echo "resnet18,runtime,infer,fp32,,$b,0,ok,$((46796608 + 602112 * b)),$((60000000 + 7000000 * b)),$((46796608 + 602112 * b)),33554432,$((1000000 * b)),0,1.0,NVIDIA H100 80GB HBM3,130000"
    done
} >"$tmpdir/rt.csv"
run reconcile "$tmpdir/rt.csv" --format json; expect_rc 0 "reconcile a runtime sweep"
json_eq "$tmpdir/out" "d['series'][0]['profile']" runtime "a dlmem measure sweep is the runtime profile"
json_eq "$tmpdir/out" "d['series'][0]['prediction']['what']" \
    "runtime profile, sm 90, infer fp32; measured cublas_workspace, cudnn_conv_workspace" \
    "the measured workspaces the model takes are used, the other byte columns are not"

# ---- the seed audit ----------------------------------------------------------------
run audit;                          expect_rc 0 "dlmem audit (the seed's tables)"
out_has "counts conv1.bias (64)" "Table 1: conv1 bias counted"
out_has "misses lstm.bias_ih_l\* .* or lstm.bias_hh_l\*" "Table 1: the LSTM's second bias"
out_has "means MiB (2^20 bytes)" "the unit of MB decided: MiB"
out_has "Table 2, resnet18 memory vs batch: wrong\] drift: memory before the run grows 1[0-9]\.[0-9]* MiB" \
    "Table 2: baseline drift of ~12 MiB per sample"
out_has "grows 0.574 MiB per sample" "Table 2: against the 0.574 MiB input"
out_has "Table 3, lstm memory vs sequence length: wrong\] flat: the peak stays at 608.10 MiB" "Table 3: flat peak"
out_has "Table 4, bert memory vs sequence length: wrong\] flat: the peak stays at 608.60 MiB" "Table 4: flat peak"
out_has "lstm peak/parameter ratio: wrong" "Table 5: LSTM ratio not reproducible"
run audit --format json;            expect_rc 0 "audit --format json"
json_valid "$tmpdir/out" "audit JSON parses"
json_eq "$tmpdir/out" "int(d['mb_bytes'])" 1048576 "audit: MB is 2^20 bytes"
printf 'a,b\n1,2\n' >"$tmpdir/other.csv"
run audit "$tmpdir/other.csv";      expect_rc 2 "audit: a file that is no seed table"
one_line_error "other.csv:1: not a seed table" "audit names the file it cannot read"

# ---- the report ----------------------------------------------------------------------
run report --out "$tmpdir/rep";     expect_rc 0 "dlmem report --out DIR"
[ -s "$tmpdir/rep/report.md" ]; ok $? "report.md written"
grep -q "^## 1. Parameters" "$tmpdir/rep/report.md"; ok $? "report: parameters section"
grep -q "^## 4. The seed report audited" "$tmpdir/rep/report.md"; ok $? "report: audit section"
grep -q "^## 5. Advice" "$tmpdir/rep/report.md"; ok $? "report: issue 6's advice section"
grep -q "^Cheapest combination that fits" "$tmpdir/rep/report.md"; ok $? "report: advice says what makes training fit"
[ -s "$tmpdir/rep/seed-table3-lstm-infer-fp32-pytorch-rtx-3050-4-gb-seed-table-vs-T.gp" ]; ok $? "report: the seed's Table 3 plotted"
ls "$tmpdir/rep" | grep -q -- '-[0-9][0-9]*\.gp$'
[ $? -ne 0 ]; ok $? "report: no figure told apart only by a number (names carry the GPU and source)"
[ -s "$tmpdir/rep/lstm-infer-fp32-runtime-h100-80gb-hbm3-vs-T.gp" ] && [ -s "$tmpdir/rep/lstm-infer-fp32-runtime-h200-vs-T.gp" ]
ok $? "report: the H100 and H200 sweeps of one configuration named by their GPU"
grep -q "set key outside right" "$tmpdir/rep/resnet18-infer-fp32-pytorch-h200-vs-B.gp"; ok $? "report: the legend is outside the data"
grep -q "^## 3\." "$tmpdir/rep/report.md" && grep -q "^\*\*resnet18\*\*$" "$tmpdir/rep/report.md"
ok $? "report: the measured series table is split by model"
bad=0; nlog=0
for gp in "$tmpdir/rep"/*.gp; do
    grep -q "^set logscale y" "$gp" || continue
    nlog=$((nlog + 1))
    n=$(grep "^set ytics (" "$gp" | tr ',' '\n' | wc -l)
    [ "$n" -ge 4 ] || bad=$((bad + 1))
done
[ "$nlog" -gt 0 ] && [ "$bad" -eq 0 ]; ok $? "report: every log y axis carries at least 4 labels ($nlog plots, $bad short)"
out_has "seed audit: [0-9]* items" "report: summary on the terminal"
if command -v gnuplot >/dev/null 2>&1; then
    [ -s "$tmpdir/rep/resnet18-infer-fp32-pytorch-h200-vs-B.png" ] &&
        [ -s "$tmpdir/rep/resnet18-infer-fp32-pytorch-h200-vs-B.svg" ]
    ok $? "report: plots rendered to PNG and SVG"
else
    echo "ok $((tap_n = tap_n + 1)) - # SKIP gnuplot not installed"
fi
run report --out "$tmpdir/rep" stray; expect_rc 2 "report: stray argument"
# ---- a report on the user's own networks and measurements -------------------------------
run report resnet18 "$data/nets/cifar_cnn.net" --data "$data/measured/resnet18-infer-h200.csv" \
    --gpu rtx4090 --batch 1,8 --out "$tmpdir/urep"
expect_rc 0 "report on a built-in network and a network file, with measurements"
u="$tmpdir/urep/report.md"
grep -q "^# dlmem report: resnet18, .*cifar_cnn.net" "$u"; ok $? "the report names the user's networks"
grep -q "| cifar_cnn | .* | 29,354 |" "$u"; ok $? "the network file's parameters"
grep -q "| resnet18 | .* | 11,689,512 | .* 0 mismatches |" "$u"; ok $? "resnet18 checked against PyTorch"
grep -q "Predicted memory on NVIDIA GeForce RTX 4090" "$u"; ok $? "predicted for the GPU asked"
grep -q "| train | >= " "$u"; ok $? "lower bounds marked where sm_89 workspaces are not known"
grep -q "estimate: the sm_90 (H200) measurement" "$u"; ok $? "the context is labelled an estimate"
grep -q "resnet18 infer fp32, B varies" "$u"; ok $? "the measurements reconciled"
if grep -q "seed" "$u"; then ok 1 "no seed material in a user's report"; else ok 0 "no seed material in a user's report"; fi
run report resnet18 --measure --out "$tmpdir/urep2"; expect_rc 2 "--measure with MODEL"
run report --gpu h200 --out "$tmpdir/urep3"; expect_rc 2 "--gpu without MODEL"
one_line_error "give MODEL" "says the option is for a report on the user's networks"
run report nosuchnet --out "$tmpdir/urep4"; expect_rc 2 "an unknown network"
[ ! -e "$tmpdir/urep4/report.md" ]; ok $? "... and no report written"

run report --measure --out "$tmpdir/rep2"; expect_rc 2 "report --measure without a usable GPU"
[ "$(grep -c '^dlmem report --measure' "$tmpdir/err")" -eq 1 ] && grep -q '^dlmem report --measure: .*GPU' "$tmpdir/err"
ok $? "--measure says why it cannot, in one error line (after its progress line)"
test ! -e "$tmpdir/rep2/report.md"
ok $? "no report is written when the measurement cannot run"

# every byte column is read or refused: 25 extra *_bytes columns are more than dlmem keeps
python3 -c '
h = ["model", "mode", "batch", "seq", "peak_bytes"] + ["w%d_bytes" % i for i in range(25)]
print(",".join(h)); print(",".join(["resnet18", "infer", "1", "0", "100"] + ["1"] * 25))
print(",".join(["resnet18", "infer", "2", "0", "200"] + ["1"] * 25))' >"$tmpdir/wide.csv"
run reconcile "$tmpdir/wide.csv";  expect_rc 2 "reconcile: more byte columns than it keeps"
one_line_error "more than 24 byte columns" "says so, naming the column"

done_testing
