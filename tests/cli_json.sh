#!/bin/sh
# cli_json.sh — every command's --format json: valid JSON with dlmem_version and
# schema, checked against doc/json.md's tables by tests/json_schema.py; invalid
# UTF-8 in a network name still gives valid JSON; CSV and JSON agree on bytes.
. "$top_srcdir/tests/lib.sh"
data="$top_srcdir/data"
doc="$top_srcdir/doc/json.md"

if [ "$("$DLMEM" models --format json >/dev/null 2>&1; echo $?)" -ne 0 ] &&
   "$DLMEM" models --format json 2>&1 | grep -q "without jansson"; then
    run models --format json; expect_rc 2 "a build without jansson refuses --format json"
    one_line_error "built without jansson" "and says why in one line"
    done_testing; exit $?
fi

check() { # check SCHEMA DESCRIPTION ARGS...: run ARGS --format json, validate
    schema=$1; what=$2; shift 2
    run "$@" --format json; expect_rc 0 "$what"
    python3 "$top_srcdir/tests/json_schema.py" "$doc" "$schema" "$tmpdir/out" >"$tmpdir/schema.err" 2>&1
    st=$?
    ok $st "$what: matches doc/json.md's $schema"
    [ $st -eq 0 ] || diag "$tmpdir/schema.err"
}

check dlmem.models/1    "models"                  models
check dlmem.params/1    "params resnet18 (seed)"  params resnet18 --view seed
check dlmem.params/1    "params lstm"             params lstm
check dlmem.params/1    "params of a network file" params "$data/nets/cifar_cnn.net"
check dlmem.memory/1    "memory bert per layer"   memory bert -b 1,2 -t 64 --mode train --per-layer
check dlmem.memory/1    "memory resnet18"         memory resnet18 -b 1,8 --mode train --dtype mixed
check dlmem.fit/1       "fit bert on an H200"     fit bert --gpu h200
check dlmem.fit/1       "fit with --memory"       fit resnet18 --memory 4GB --margin 10%
check dlmem.gpus/1      "the GPU list"            fit x --gpu list
check dlmem.advise/1    "advise resnet18"         advise resnet18 --seed
check dlmem.advise/1    "advise, not fitting"     advise resnet18 --batch 256
check dlmem.advise/1    "advise lstm (chunks)"    advise lstm --batch 256 --seq 1000
check dlmem.advise/1    "advise inference"        advise bert --mode infer --batch 8
if "$DLMEM" reconcile --help >/dev/null 2>&1 && ! "$DLMEM" reconcile "$data/measured/lstm-infer-h200.csv" 2>&1 | grep -q "needs GSL"; then
    check dlmem.reconcile/1 "reconcile PyTorch's runs" reconcile "$data/reference/pytorch_memory.csv"
    check dlmem.reconcile/1 "reconcile a sweep"   reconcile "$data/measured/lstm-infer-h200.csv"
    check dlmem.audit/1     "audit"               audit
    check dlmem.report/1    "report on a network file and a sweep" report "$data/nets/cifar_cnn.net" \
        --data "$data/measured/lstm-infer-h200.csv" --out "$tmpdir/rep"
    json_eq "$tmpdir/out" 'd["measured"]["compared"]' 2 "... counts the two lstm series compared"
    json_eq "$tmpdir/out" 'd["report"]' "$tmpdir/rep/report.md" "... names the file it wrote"
    [ -s "$tmpdir/rep/report.md" ]; ok $? "... and that file is there"
    check dlmem.report/1    "the seed report"     report --out "$tmpdir/seedrep"
    json_eq "$tmpdir/out" 'd["parameters"]["networks_matching_pytorch"]' 3 "... all three seed networks match PyTorch"
    json_eq "$tmpdir/out" 'd["audit"]["items"] > 0' True "... and the audit checked claims"
    run report "$data/nets/cifar_cnn.net" --out "$tmpdir/rep" --format csv; expect_rc 0 "report --format csv"
    n1=$(head -1 "$tmpdir/out" | tr ',' '\n' | wc -l); n2=$(sed -n 2p "$tmpdir/out" | tr ',' '\n' | wc -l)
    ok $([ "$(wc -l <"$tmpdir/out")" -eq 2 ] && [ "$n1" -eq 16 ] && [ "$n2" -eq 16 ] && echo 0 || echo 1) \
        "... a header and one row of 16 fields ($n1, $n2)"
    run report --out "$tmpdir/rep" --format yaml; expect_rc 2 "report --format yaml"
fi

# the checker itself catches a wrong type and a missing member
printf '{"dlmem_version":"x","schema":"dlmem.fit/1","model":1}' >"$tmpdir/bad.json"
python3 "$top_srcdir/tests/json_schema.py" "$doc" dlmem.fit/1 "$tmpdir/bad.json" >"$tmpdir/bad.err"
[ $? -eq 1 ] && grep -q "model: 1 is not string" "$tmpdir/bad.err" && grep -q "peak_bytes: missing" "$tmpdir/bad.err"
ok $? "the schema check fails a document with a wrong type and missing members"

# invalid UTF-8 in a network name: valid JSON, the bad byte as U+FFFD
printf '[net]\nname = caf\351\377net\n[input x]\nshape = B x 8\n[linear fc]\nout_features = 4\n' >"$tmpdir/latin1.net"
run params "$tmpdir/latin1.net" --format json; expect_rc 0 "params of a network whose name is not UTF-8"
json_valid "$tmpdir/out" "the JSON is valid"
json_eq "$tmpdir/out" 'd["model"]' "caf��net" "each invalid byte became U+FFFD"
run memory "$tmpdir/latin1.net" --format json; expect_rc 0 "memory of that network"
json_valid "$tmpdir/out" "its JSON is valid too"

# bytes are integers in JSON and agree with CSV
run memory resnet18 -b 4 --format json; cp "$tmpdir/out" "$tmpdir/m.json"
run memory resnet18 -b 4 --format csv
peak_csv=$(awk -F, 'NR==2 {print $9}' "$tmpdir/out")
json_eq "$tmpdir/m.json" 'd["points"][0]["peak_bytes"]' "$peak_csv" "JSON and CSV give the same peak bytes"
json_eq "$tmpdir/m.json" 'all(isinstance(v, int) for v in d["points"][0]["breakdown"].values())' True \
    "every breakdown term is an integer"

done_testing
