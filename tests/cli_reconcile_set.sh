#!/bin/sh
# cli_reconcile_set.sh — measured CSVs that record the knobs a model was built
# with (`dlmem measure MODEL --set ...`: the set column, src/measure/columns.c)
# are reconciled against that model, not the default one.  The "measurements"
# are the runtime profile's own prediction of `unet --set upsample=1` and
# `resnet18 --set height=160,base=32`, written in dlmem measure's columns (a
# committed sweep's row as the template): with their set column every series
# has error 0; the same rows without it (the defaults) are far off, which is
# the silent wrong answer the column prevents.  Then hostile set cells: one
# line naming file, line and knob, exit 2.  No GPU needed.
. "$top_srcdir/tests/lib.sh"
data=${DLMEM_DATA:-$top_srcdir/data}
command -v python3 >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not found"; exit 77; }
tmpl="$data/measured/unet-fp32-infer-h200.csv"
[ -f "$tmpl" ] || { echo "1..0 # SKIP no data/measured/unet-fp32-infer-h200.csv"; exit 77; }

# sweep.py OUT MODEL SET COLUMN B...: rows of MODEL at each B, bytes from
# `dlmem memory MODEL --profile runtime --set SET`; COLUMN: the set cell to
# write ("-": no set column at all, a file from before it)
cat >"$tmpdir/sweep.py" <<'PY'
import csv, subprocess, sys
dlmem, tmpl, out, model, sets, cell = sys.argv[1:7]
batches = sys.argv[7:]
with open(tmpl) as f:
    r = csv.DictReader(f)
    header, row0 = r.fieldnames, next(r)
header = [h for h in header if h != "set"]
cmd = [dlmem, "memory", model, "--profile", "runtime", "--batch", ",".join(batches),
       "--format", "csv"] + (["--set", sets] if sets else [])
p = subprocess.run(cmd, capture_output=True, text=True, check=True)
rows = []
for pred in csv.DictReader(p.stdout.splitlines()):
    assert pred["complete"] == "1", pred
    row = dict(row0, model=model, batch=pred["batch"], peak_op=pred["peak_where"])
    for k in ("peak_bytes", "before_bytes", "after_bytes", "weights_bytes", "buffers_bytes",
              "inputs_bytes"):
        row[k] = pred[k]
    row["pool_used_peak_bytes"] = pred["peak_bytes"]
    rows.append(row)
with open(out, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=header + ([] if cell == "-" else ["set"]), lineterminator="\n")
    w.writeheader()
    for row in rows:
        if cell != "-":
            row["set"] = cell
        w.writerow(row)
PY
sweep() { python3 "$tmpdir/sweep.py" "$DLMEM" "$tmpl" "$@"; }

# mean_err FILE: each series' mean |relative error| of the reconcile --format csv in FILE
errs() { python3 -c 'import csv,sys; print(" ".join(r["mean_abs_rel_err"] for r in csv.DictReader(open(sys.argv[1]))))' "$1"; }
# all_below FILE LIMIT / all_above FILE LIMIT: every series' error below / above LIMIT
all_below() { python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); sys.exit(0 if r and all(x["mean_abs_rel_err"] != "" and float(x["mean_abs_rel_err"]) <= float(sys.argv[2]) for x in r) else 1)' "$1" "$2"; }
all_above() { python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); sys.exit(0 if r and all(x["mean_abs_rel_err"] != "" and float(x["mean_abs_rel_err"]) > float(sys.argv[2]) for x in r) else 1)' "$1" "$2"; }

B="1 2 3 4 6 8"
# shellcheck disable=SC2086
sweep "$tmpdir/unet-up1.csv" unet upsample=1 upsample=1 $B &&
    sweep "$tmpdir/unet-up1-noset.csv" unet upsample=1 - $B &&
    sweep "$tmpdir/resnet.csv" resnet18 height=160,base=32 "height=160;base=32" $B &&
    sweep "$tmpdir/resnet-noset.csv" resnet18 height=160,base=32 - $B &&
    sweep "$tmpdir/unet-default.csv" unet "" "" $B
ok $? "the runtime profile's predictions written in dlmem measure's columns"
head -1 "$tmpdir/unet-up1.csv" | grep -q ',layout,set$'
ok $? "... with the set column last, as dlmem measure writes it"

# ---- with the set column: the knobbed model, error 0 --------------------------------
run reconcile "$tmpdir/unet-up1.csv" --format csv; expect_rc 0 "reconcile unet --set upsample=1"
cp "$tmpdir/out" "$tmpdir/r1.csv"
all_below "$tmpdir/r1.csv" 0; ok $? "unet upsample=1 rows: every series' error 0 ($(errs "$tmpdir/r1.csv"))"
python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); sys.exit(0 if [x["set"] for x in r] == ["upsample=1"] else 1)' "$tmpdir/r1.csv"
ok $? "the reconcile CSV names the series' set"
run reconcile "$tmpdir/unet-up1.csv" --wide; expect_rc 0 "reconcile, table"
out_has "unet\[upsample=1\] infer fp32, B varies (runtime, NVIDIA H200)" "the series label carries the set"
run reconcile "$tmpdir/unet-up1.csv" --format json; expect_rc 0 "reconcile --format json"
json_eq "$tmpdir/out" "d['series'][0]['set']" "upsample=1" "JSON: the series' set"
json_eq "$tmpdir/out" "'; set upsample=1' in d['series'][0]['prediction']['what']" True \
    "JSON: the prediction says which knobs it was built with"
json_eq "$tmpdir/out" "max(abs(p['residual_bytes']) for p in d['series'][0]['points'])" 0 \
    "every point predicted to the byte"
run reconcile "$tmpdir/resnet.csv" --format csv; expect_rc 0 "reconcile resnet18 --set height=160,base=32"
cp "$tmpdir/out" "$tmpdir/r2.csv"
all_below "$tmpdir/r2.csv" 0; ok $? "resnet18 height=160;base=32 rows: error 0 ($(errs "$tmpdir/r2.csv"))"

# ---- the same rows without it: compared with the default model, far off --------------
run reconcile "$tmpdir/unet-up1-noset.csv" --format csv; expect_rc 0 "reconcile the rows without set"
cp "$tmpdir/out" "$tmpdir/r3.csv"
all_above "$tmpdir/r3.csv" 0.01; ok $? "unet upsample=1 rows read as the default unet: error above 1% ($(errs "$tmpdir/r3.csv"))"
run reconcile "$tmpdir/resnet-noset.csv" --format csv; expect_rc 0 "reconcile resnet rows without set"
cp "$tmpdir/out" "$tmpdir/r4.csv"
all_above "$tmpdir/r4.csv" 0.3; ok $? "resnet18 height=160;base=32 rows read as the default: error above 30% ($(errs "$tmpdir/r4.csv"))"
# a committed sweep (no set column): the defaults, still exact
run reconcile "$tmpl" --format csv; expect_rc 0 "a committed sweep without the set column"
cp "$tmpdir/out" "$tmpdir/r5.csv"
all_below "$tmpdir/r5.csv" 0; ok $? "... is the default model's, error 0 ($(errs "$tmpdir/r5.csv"))"

# ---- one file, two configurations: two series; one spelling per configuration ----------
{
    cat "$tmpdir/unet-default.csv"
    tail -n +2 "$tmpdir/unet-up1.csv"
    # an explicit default and a quoted ',' list (tools/torch_reference.py's holdout) are the same knobs
    tail -n +2 "$tmpdir/unet-up1.csv" | sed 's/,upsample=1$/,base=64;upsample=1/' | head -2
    tail -n +2 "$tmpdir/unet-up1.csv" | sed 's/,upsample=1$/,"upsample=1,depth=4"/' | sed -n 3,4p
} >"$tmpdir/mixed.csv"
run reconcile "$tmpdir/mixed.csv" --format csv; expect_rc 0 "reconcile defaults and knobs in one file"
cp "$tmpdir/out" "$tmpdir/r6.csv"
python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); sys.exit(0 if sorted(x["set"] for x in r) == ["", "upsample=1"] else 1)' "$tmpdir/r6.csv"
ok $? "two series: the defaults and upsample=1 ('base=64;upsample=1' and 'upsample=1,depth=4' are upsample=1)"
all_below "$tmpdir/r6.csv" 0; ok $? "each against its own model: error 0 ($(errs "$tmpdir/r6.csv"))"
run reconcile "$tmpdir/mixed.csv" --plots "$tmpdir/plots"; expect_rc 0 "reconcile --plots"
[ -s "$tmpdir/plots/unet-infer-fp32-runtime-h200-vs-B.gp" ] &&
    [ -s "$tmpdir/plots/unet-upsample_1-infer-fp32-runtime-h200-vs-B.gp" ]
ok $? "one figure per configuration, the set in its name"

# a model dlmem does not describe: its set is kept, the series has no prediction
sed 's/^unet,/mynet,/' "$tmpdir/unet-up1.csv" >"$tmpdir/mynet.csv"
run reconcile "$tmpdir/mynet.csv"; expect_rc 0 "a set for a model dlmem does not know"
out_has "dlmem has no model named 'mynet'" "... no prediction, and no error"

# ---- hostile set cells: one line, file, line and knob, exit 2 ---------------------------
bad() { # bad NAME CELL PATTERN DESCRIPTION: the 3rd row's set is CELL
    name=$1 cell=$2 pat=$3; shift 3
    awk -v c="$cell" 'NR == 3 { sub(/,upsample=1$/, "," c) } { print }' "$tmpdir/unet-up1.csv" >"$tmpdir/$name.csv"
    run reconcile "$tmpdir/$name.csv"
    expect_rc 2 "$*"
    one_line_error "$name.csv:3: column 'set': $pat" "$* (one line: file, line, knob)"
    [ ! -s "$tmpdir/out" ]; ok $? "$*: nothing written to stdout"
}
bad range upsample=7 "upsample=7: out of range \[0, 2\]" "a value out of range"
bad knob upsampel=1 "model unet has no knob 'upsampel' (valid: height, width" "an unknown knob"
bad noint "upsample=x" "upsample=x: not an integer" "a value that is not an integer"
bad noeq "upsample" "'upsample': expected name=value" "an item without ="
bad empty "upsample=1;;depth=4" "item 2 of 'upsample=1;;depth=4' is empty" "an empty item"
bad huge "base=99999999999999999999" "base=99999999999999999999: out of range" "a value beyond 64 bits"
bad shape "height=100" "height=100: .*height" "knobs in range that make no network (height 100, not a multiple of 16)"
printf 'model,mode,batch,seq,peak_bytes,set\nresnet18,infer,1,0,88488960,\nresnet18,infer,2,0,95964160,"width=64\001"\n' >"$tmpdir/ctl.csv"
run reconcile "$tmpdir/ctl.csv"; expect_rc 2 "a control character in a set"
one_line_error "ctl.csv:3: column 'set': a control character" "... refused in one line naming the row"
# dlmem memory's own --set keeps its wording
run memory unet --set upsample=7 --batch 1; expect_rc 2 "--set upsample=7 on the command line"
one_line_error "^dlmem memory: --set upsample=7: out of range \[0, 2\]" "... says --set, as before"
done_testing
