#!/bin/sh
# cli_params.sh — `dlmem params` and the command line's manners: exit codes,
# one-line errors listing valid choices, help, CSV and JSON output.
. "$top_srcdir/tests/lib.sh"

run --help;                      expect_rc 0 "dlmem --help"
out_has "params" "--help lists the params command"
run params --help;               expect_rc 0 "dlmem params --help"
out_has "--format" "params --help describes --format"
run;                             expect_rc 2 "no command"
run frobnicate;                  expect_rc 2 "unknown command"
one_line_error "valid: .*params" "unknown command lists the commands"

run params resnet51;             expect_rc 2 "unknown model"
one_line_error "unknown model 'resnet51' (valid: resnet18, resnet34, resnet50, vgg16, mobilenet_v2, densenet121, efficientnet_b0, unet, lstm, gru, bert, bert-large, gpt2, vit_b_16, a network file path or a config.json)" \
    "unknown model: one line with the valid models"
run params resnet18 --fromat csv; expect_rc 2 "unknown option"
one_line_error "unknown option '--fromat' (valid: .*--format" "unknown option lists the options"
run params resnet18 --format xml; expect_rc 2 "unknown format"
one_line_error "valid: table, csv, json" "unknown format lists the formats"
run params lstm --set layers=0;  expect_rc 2 "knob out of range"
one_line_error "layers=0: out of range \[1, 1000\]" "knob range in the error"
run params;                      expect_rc 2 "missing model"

run params resnet18;             expect_rc 0 "params resnet18"
out_has "11,689,512 parameters" "resnet18 total"
out_has "conv1 .*7\*7\*3\*64 = 9408" "conv1 formula"
out_has "All 62 parameter tensors and 60 buffers match PyTorch" "every tensor matches PyTorch"
if grep -qi "seed" "$tmpdir/out"; then ok 1 "no seed material without --view seed"; else ok 0 "no seed material without --view seed"; fi
run params resnet18 --view seed; expect_rc 0 "params resnet18 --view seed"
out_has "counts conv1.bias (64)" "the seed's conv1 error explained"
out_has "Its PyTorch column says 9,472 where PyTorch counts 9,408: no PyTorch model" "the seed's PyTorch column flagged"

run params lstm --view seed;     expect_rc 0 "params lstm --view seed"
out_has "895,498" "lstm total"
out_has "misses lstm.bias_ih_l\* .* or lstm.bias_hh_l\*" "the seed's LSTM formula error explained"

run params bert --format json --view seed; expect_rc 0 "params bert --format json --view seed"
cp "$tmpdir/out" "$tmpdir/bert.json"
json_valid "$tmpdir/bert.json" "JSON parses"
json_eq "$tmpdir/bert.json" 'd["total_params"]' 109482240 "JSON total_params"
json_eq "$tmpdir/bert.json" 'd["total_buffers"]' 1024 "JSON total_buffers"
json_eq "$tmpdir/bert.json" 'len(d["layers"]) > 100' True "JSON layers array"
json_eq "$tmpdir/bert.json" 'd["pytorch_reference"]["mismatches"]' 0 "JSON: no mismatch with PyTorch"
json_eq "$tmpdir/bert.json" 'd["seed"][0]["verdict"]' wrong "JSON: seed embedding row is wrong"

run params resnet34 --format csv; expect_rc 0 "params --format csv"
head -1 "$tmpdir/out" | grep -q '^model,kind,name,shape,dlmem,pytorch,match$'
ok $? "CSV header"
n=$(grep -c ',same$' "$tmpdir/out")
[ "$n" -eq $((110 + 0)) ] || [ "$n" -gt 100 ]
ok $? "CSV: resnet34 tensors all 'same' ($n rows)"
run params lstm --format csv --view layers; expect_rc 0 "CSV layer view"
grep -q '^lstm,1,lstm,rnn,T x B x 256,' "$tmpdir/out"
ok $? "CSV layer row with symbolic shape"

run params lstm --set hidden=512; expect_rc 0 "params with --set"
out_has "skipped (--set changed the sizes" "reference comparison skipped for custom sizes"

DLMEM_DATA=/nonexistent run params resnet18 --reference /nonexistent/ref.csv
expect_rc 2 "missing reference file"
one_line_error "/nonexistent/ref.csv: cannot open" "missing file named in one line"
printf 'model,kind\nresnet18,param\n' >"$tmpdir/bad.csv"
run params resnet18 --reference "$tmpdir/bad.csv"; expect_rc 2 "malformed reference"
one_line_error "bad.csv:1: missing column 'name'" "malformed reference: file, line and column"
printf 'model,kind,name,shape,numel,torch,torchvision,transformers\nresnet18,param,conv1.weight,x,many,1,1,1\n' >"$tmpdir/bad2.csv"
run params resnet18 --reference "$tmpdir/bad2.csv"; expect_rc 2 "text where a number belongs"
one_line_error "bad2.csv:2: column 'numel': 'many' is not an integer" "bad number: file:line"

run models;                      expect_rc 0 "dlmem models"
out_has "bert-large" "models lists bert-large"
done_testing
