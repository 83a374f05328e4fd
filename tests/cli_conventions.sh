#!/bin/sh
# cli_conventions.sh — the conventions a user relies on: --version/-V, `dlmem help
# CMD`, the man page (every option of every command in it), help within 80
# columns, both short-option forms, a repeated option refused, errors prefixed
# once, memory sizes with units, tables within 100 columns unless --wide.
. "$top_srcdir/tests/lib.sh"
man="$top_srcdir/doc/dlmem.1"
cmds=$("$DLMEM" --help | sed -n '/^commands:/,/^$/p' | awk 'NF && !/^commands:/ {print $1}')
[ -n "$cmds" ]; ok $? "dlmem --help lists the commands"

run --version; expect_rc 0 "--version"
out_has "^dlmem [0-9][0-9.]*$" "prints dlmem and its version"
cp "$tmpdir/out" "$tmpdir/v1"
run -V; expect_rc 0 "-V"
cmp -s "$tmpdir/out" "$tmpdir/v1"; ok $? "-V prints what --version prints"

for c in $cmds; do
    run help "$c"; cp "$tmpdir/out" "$tmpdir/h1"; rc1=$rc
    if [ "$rc1" -ne 0 ] && grep -q "needs GSL" "$tmpdir/err"; then
        ok 0 "dlmem help $c # SKIP built without GSL"; ok 0 "$c --help # SKIP"; ok 0 "$c options # SKIP"
        continue
    fi
    run "$c" --help
    [ "$rc1" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s "$tmpdir/out" "$tmpdir/h1"
    ok $? "dlmem help $c = dlmem $c --help"
    n=$(awk 'length($0) > 80' "$tmpdir/out" | wc -l)
    [ "$n" -eq 0 ]; ok $? "$c --help fits 80 columns ($n longer lines)"
    [ "$n" -eq 0 ] || awk 'length($0) > 80' "$tmpdir/out" | diag
    missing=""
    for o in $(grep -o -- '--[a-z][a-z0-9-]*' "$tmpdir/out" | sort -u); do
        case $o in --help | --wide | --format) continue ;; esac
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        grep -q -- "$esc" "$man" || missing="$missing $o"
    done
    [ -z "$missing" ]; ok $? "every option of $c is in dlmem.1${missing:+ (missing:$missing)}"
done
run help nosuchcmd; expect_rc 2 "help for an unknown command"
one_line_error "^dlmem help: unknown command 'nosuchcmd'" "says which command is unknown"
grep -q '^\.SH NETWORK FILES' "$man" && grep -q 'out_channels\*' "$man"
ok $? "the man page documents the network-file format"
grep -q 'sum(o.pow(2).mean()' "$man"; ok $? "the man page states the training step's loss"

# short options in both forms, the long form with =
run memory resnet18 -b 8 --format csv; cp "$tmpdir/out" "$tmpdir/b1"
run memory resnet18 -b8 --format csv; expect_rc 0 "-b8"
cmp -s "$tmpdir/out" "$tmpdir/b1"; ok $? "-b8 is -b 8"
run memory resnet18 --batch=8 --format csv
cmp -s "$tmpdir/out" "$tmpdir/b1"; ok $? "--batch=8 is -b 8"
run memory resnet18 -b 8 -b 16; expect_rc 2 "an option given twice"
one_line_error "^dlmem memory: option --batch given twice" "is refused, in one line, prefixed once"
run memory resnet18 --per-layer --per-layer; expect_rc 2 "a flag given twice"
run memory resnet18 -b; expect_rc 2 "an option without its value"
one_line_error "^dlmem memory: option --batch needs a value" "says so"
run fit resnet18; expect_rc 2 "fit without a GPU or memory"
if grep -q "dlmem: dlmem" "$tmpdir/err"; then ok 1 "one prefix"; else ok 0 "one prefix"; fi
one_line_error "^dlmem fit: give --gpu NAME" "the error names the command once"

# memory sizes: a unit is required, any case, and the reading is echoed
run fit resnet18 --memory 4gb; expect_rc 0 "--memory 4gb"
out_has "4gb = 4 GB = 4,000,000,000 bytes" "the size is echoed with its unit"
run fit resnet18 --memory 4GiB --format json
json_eq "$tmpdir/out" 'd["memory_bytes"]' 4294967296 "4GiB = 2^32 bytes"
run fit resnet18 --memory 4096MiB --format json
json_eq "$tmpdir/out" 'd["memory_bytes"]' 4294967296 "4096MiB = 2^32 bytes"
run fit resnet18 --memory 4000mb --format json
json_eq "$tmpdir/out" 'd["memory_bytes"]' 4000000000 "4000mb = 4e9 bytes"
run fit resnet18 --memory 4; expect_rc 2 "a bare number"
one_line_error "'4' has no unit" "is refused with the reason"
run fit resnet18 --memory 4furlongs; expect_rc 2 "an unknown unit"
run fit resnet18 --memory 8GiB --margin 25% --format json
json_eq "$tmpdir/out" 'd["margin_bytes"]' 2147483648 "--margin 25% of 8 GiB"
json_eq "$tmpdir/out" 'd["usable_bytes"] == d["memory_bytes"] - d["context_bytes"] - d["margin_bytes"]' True \
    "usable = memory - context - margin"
run fit resnet18 --memory 8GiB --margin 1GiB --format json
json_eq "$tmpdir/out" 'd["margin_bytes"]' 1073741824 "--margin 1GiB"
run fit resnet18 --memory 8GiB --margin 120%; expect_rc 2 "a margin of 120%"

# GPUs: the list, the estimate flag, the cards people own
run fit x --gpu list; expect_rc 0 "fit --gpu list"
for g in rtx3060-12gb rtx3090 rtx4060ti-16gb rtx4070 rtx4080 rtx4090 rtx5090 a10g l4 l40s \
         a100-40gb a100-80gb h100-pcie h100 h200; do
    grep -q "^  $g " "$tmpdir/out" || { ok 1 "GPU $g listed"; continue; }
    ok 0 "GPU $g listed"
done
run fit resnet18 --gpu rtx4090 --format json; expect_rc 0 "fit on an RTX 4090"
json_eq "$tmpdir/out" 'd["memory_bytes"]' $((24564 * 1048576)) "RTX 4090: 24564 MiB as nvidia-smi reports"
json_eq "$tmpdir/out" 'd["sm"], d["context_measured"]' "89 False" "sm_89, the context an estimate"
run fit resnet18 --gpu rtx4090; out_has "estimate" "the table says the context is an estimate"
run fit resnet18 --gpu h200 --format json
json_eq "$tmpdir/out" 'd["context_measured"]' True "H200: the context measured"
run fit resnet18 --gpu rtx4090 --format csv; expect_rc 0 "fit --format csv"
out_has "^model,gpu,sm,memory_bytes" "CSV header"
out_has "^resnet18,rtx4090,89,25757220864," "CSV row, bytes as integers"

# tables fit 100 columns; --wide lifts it (a UTF-8 character counts as one column)
cols() { LC_ALL=C sed 's/[\xc0-\xff][\x80-\xbf]*/x/g' "$tmpdir/out" | awk -v w="$1" 'length($0) > w' | wc -l; }
for args in "memory bert -b 1,8,32 -t 128,512 --mode train" "advise resnet18" "params resnet18" \
            "memory resnet18 -b 8 --per-layer --mode train" "fit x --gpu list"; do
    run $args; n=$(cols 100)
    [ "$n" -eq 0 ]; ok $? "dlmem $args fits 100 columns ($n longer lines)"
done
run memory resnet18 -b 8 --per-layer --mode train --wide
n=$(cols 100)
[ "$n" -gt 0 ]; ok $? "--wide prints tables whole (wider than 100 columns)"
done_testing
