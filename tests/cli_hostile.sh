#!/bin/sh
# cli_hostile.sh — hostile and careless input through the command line (issue 11),
# each case a defect found by hand or by the fuzzers (tests/fuzz/), kept as a
# regression: no command runs from data, no file the user did not name is
# opened, no undefined behaviour (this script also runs in the ASan + UBSan
# build), no silent wrong answer, bounded work, whole outputs, and the exit
# status the README promises (2 for usage, input and file errors).
. "$top_srcdir/tests/lib.sh"
data=${DLMEM_DATA:-$top_srcdir/data}

# ---- code execution from data: gnuplot runs `...` inside double quotes --------------
# gnuplot runs in the plots folder: `touch pwned` would make evilplots/pwned
flag="$tmpdir/evilplots/pwned"
{
    echo 'model,mode,batch,seq,peak_bytes'
    for b in 1 2 4; do echo "\`touch pwned\`,infer,$b,0,$((81399616 + 7024640 * b))"; done
} >"$tmpdir/evil.csv"
run reconcile "$tmpdir/evil.csv" --plots "$tmpdir/evilplots"; expect_rc 0 "reconcile --plots with a backtick model name"
[ ! -e "$flag" ]; ok $? "gnuplot ran no command from the model name"
gp=$(ls "$tmpdir/evilplots"/*.gp 2>/dev/null | head -1)
! grep -q '"[^"]*`' "$gp" 2>/dev/null && [ -s "$gp" ]; ok $? "no backtick inside a double-quoted gnuplot string ($gp)"

# ---- data fields are never paths --------------------------------------------------------
grep -v '^#' "$data/seed/table1.csv" | awk -F, 'NR == 1 { print; next } NR == 2 { $1 = "/etc/passwd" } { print }' OFS=, >"$tmpdir/t1.csv"
run audit "$tmpdir/t1.csv"; expect_rc 2 "audit: a model field that looks like a path"
one_line_error "t1.csv:2: unknown model '/etc/passwd'" "refused as an unknown model, naming file and line"
! grep -q 'root:' "$tmpdir/err"; ok $? "the file it names is not opened or quoted"

# ---- lists and integers --------------------------------------------------------------
for l in , 1,,2 4, ,4; do
    run memory resnet18 --batch "$l"; expect_rc 2 "memory --batch '$l'"
    one_line_error "is empty" "--batch '$l': the empty item is named"
done
run params lstm --set hidden=512,,layers=3; expect_rc 2 "--set with an empty item"
run memory resnet18 --batch 99999999999999999999; expect_rc 2 "an integer beyond 64 bits"
one_line_error "out of range" "is out of range, not saturated"
run memory resnet18 --batch 2097152 --format csv; expect_rc 0 "B = 2^21 (B^3 would overflow int64)"
out_has "^resnet18,pytorch,infer,fp32,eager,adam,2097152,0,[0-9]" "a positive peak at B = 2^21"
run memory resnet18 --batch 1000000000 --format json; expect_rc 0 "B = 10^9, the top of the range"
json_valid "$tmpdir/out" "and its JSON parses"
json_eq "$tmpdir/out" "d['points'][0]['peak_bytes'] > 0" True "with a positive peak"

# ---- sizes that do not fit in 64 bits: an error naming the layer -----------------------
printf '[input x]\nshape = B x 1000 x 1000 x 1000\n[conv2d c]\nout_channels = 1048576\nkernel = 1024\npadding = 1024\n' >"$tmpdir/wide.net"
run memory "$tmpdir/wide.net" --batch 1000000000; expect_rc 2 "a layer whose output does not fit in 64 bits"
one_line_error "at B=1000000000: layer c: output: more than" "the error names the point and the layer"
printf '[input x]\nshape = B x 3000000000\n[linear l]\nout_features = 3\n' >"$tmpdir/int.net"
run params "$tmpdir/int.net"; expect_rc 2 "a dimension above INT_MAX"
one_line_error "int.net:2: shape dimension 3000000000 is out of range" "refused with file and line"

printf '[input x]\nshape = B x 2147483647\n[linear l]\nout_features = 1073741824\n' >"$tmpdir/params.net"
run params "$tmpdir/params.net"; expect_rc 2 "2^61 parameters (their bytes would overflow)"
one_line_error "params.net:3: .*would exceed 2^56 elements" "refused, not printed as negative TiB"

# ---- what PyTorch rejects, dlmem rejects, with PyTorch's words ------------------------
printf '[input x]\nshape = B x 1 x 2 x 2\n[conv2d c]\nout_channels = 1\nkernel = 3\nstride = 2\n' >"$tmpdir/k.net"
run params "$tmpdir/k.net"; expect_rc 2 "conv kernel larger than its padded input"
one_line_error "k.net:3: \[conv2d c\].*Kernel size can't be greater than actual input size" "PyTorch's error with file and line"
printf '[input x]\nshape = B x 1 x 8 x 8\n[maxpool2d p]\nkernel = 2\npadding = 2\n' >"$tmpdir/p.net"
run params "$tmpdir/p.net"; expect_rc 2 "max-pool padding over half the kernel"
one_line_error "p.net:3: .*pad should be at most half of effective kernel size" "PyTorch's error"
printf '[input x]\nshape = B x 4\ntype = int64\n[linear l]\nout_features = 2\n' >"$tmpdir/i.net"
run params "$tmpdir/i.net"; expect_rc 2 "int64 into a linear layer"
one_line_error "i.net:4: .*mat1 and mat2 must have the same dtype" "PyTorch's error"

# ---- silent truncation and dropped data -------------------------------------------------
printf 'model,mode,batch,seq,peak_bytes\nresnet18,infer,1,0,88488960\nresnet18,infer,2,0,95964160\000\nresnet18,infer,4,0,99964160\n' >"$tmpdir/nul.csv"
run reconcile "$tmpdir/nul.csv"; expect_rc 2 "a NUL byte in a CSV"
one_line_error "nul.csv:3: NUL byte" "is named with its line, not the end of the file"
printf 'model,mode,batch,seq,peak_bytes,batch\nresnet18,infer,1,0,88488960,2\n' >"$tmpdir/dup.csv"
run reconcile "$tmpdir/dup.csv"; expect_rc 2 "a repeated header column"
one_line_error "dup.csv:1: header column 'batch' repeats" "is named"
printf 'model,mode,batch,seq,status,peak_bytes\nresnet18,infer,1,0,OK,88488960\nresnet18,infer,2,0,ok,95964160\n' >"$tmpdir/st.csv"
run reconcile "$tmpdir/st.csv"; expect_rc 2 "status OK is not out of memory"
one_line_error "st.csv:2: column 'status': 'OK' is not a status" "it is refused"
printf 'model,mode,batch,seq,peak_bytes\nresnet18,infer,1,0,1e19\nresnet18,infer,2,0,1e19\n' >"$tmpdir/e19.csv"
run reconcile "$tmpdir/e19.csv" --format json; expect_rc 2 "a 1e19-byte peak"
one_line_error "e19.csv:2: column 'peak_bytes': 1e19 is more than 2^62 bytes" "is refused, not written negative"
printf 'model,mode,batch,seq,peak_bytes,cudnn_conv_workspace_bytes\nresnet18,infer,1,0,88488960,1e25\n' >"$tmpdir/e25.csv"
run reconcile "$tmpdir/e25.csv"; expect_rc 2 "a 1e25-byte workspace"
one_line_error "column 'cudnn_conv_workspace_bytes': 1e25 is more than" "is refused"
printf 'model,mode,batch,seq,peak_bytes\n"\033[31mred",infer,1,0,88488960\n' >"$tmpdir/esc.csv"
run reconcile "$tmpdir/esc.csv"; expect_rc 2 "an escape sequence in a model name"
one_line_error "esc.csv:2: column 'model': a control character" "is refused (it would reach the terminal)"
! grep -q "$(printf '\033')" "$tmpdir/err" "$tmpdir/out"; ok $? "and no escape byte is printed"
long=$(printf '%0600d' 0 | tr 0 m)
printf 'model,mode,batch,seq,peak_bytes\n%s,infer,1,0,88488960\n' "$long" >"$tmpdir/long.csv"
run reconcile "$tmpdir/long.csv"; expect_rc 2 "a 600-character model name"
one_line_error "long.csv:2: column 'model': 600 characters" "is refused, not cut"
{
    echo 'table,model,batch,seq,before_mb,peak_mb,setup'
    b=1; while [ $b -le 70 ]; do
        p=$(awk -v b=$b 'BEGIN { printf "%.2f", 91.78 + 6.70 * (b - 1) + (b == 70 ? 500 : 0) }')
        q=$(awk -v b=$b 'BEGIN { printf "%.2f", 45.26 + 0.57 * b }')
        echo "2,resnet18,$b,,$q,$p,x"; b=$((b + 1))
    done
} >"$tmpdir/t70.csv"
run audit "$tmpdir/t70.csv"; expect_rc 0 "audit of a 70-row table"
out_has "B 1..70" "every row is read (no 64-row cap)"
out_has "outlier: the point B=70" "and the point at row 70 is judged"
printf 'table,model,batch,seq,before_mb,peak_mb,setup\n2,resnet18,,,45.26,91.78,x\n2,resnet18,2,,45.83,98.48,x\n' >"$tmpdir/nob.csv"
run audit "$tmpdir/nob.csv"; expect_rc 2 "an audit row with neither batch nor seq"
one_line_error "nob.csv:2: neither batch nor seq" "is refused, not judged right"

printf 'model,profile\nresnet18,runtime' >"$tmpdir/cut.csv"
run measure resnet18 --batch 1 -o "$tmpdir/cut.csv" --resume; expect_rc 2 "measure --resume on a file whose last row was cut"
if grep -q "built without CUDA" "$tmpdir/err"; then
    ok 0 "# SKIP this dlmem has no GPU runtime"
else
    one_line_error "cut.csv:2: --resume: the file does not end in a newline" "refused before the GPU is touched"
fi

# ---- unbounded work ---------------------------------------------------------------------
start=$(date +%s)
run measure resnet18 --batch 1-1000000; expect_rc 2 "measure --batch 1-1000000"
one_line_error "1000000 points (at most 100000" "is refused at once"
run memory resnet18 --batch 1-1000000,1-1000000 --format csv; expect_rc 2 "a list of two million values"
awk 'BEGIN { print "model,mode,batch,seq,peak_bytes"; for (b = 1; b <= 100000; b++) printf "resnet18,infer,%d,0,%d\n", b, 81399616 + 7024640 * b }' >"$tmpdir/big.csv"
run reconcile "$tmpdir/big.csv" --format csv; expect_rc 0 "reconcile a 100,000-point series"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -lt 120 ]; ok $? "in $elapsed s (quadratic reconcile took over a minute without sanitizers)"
yes '# an endless network file' | "$DLMEM" params /dev/stdin >"$tmpdir/out" 2>"$tmpdir/err"; rc=$?
expect_rc 2 "an endless stream as a network file"
one_line_error "larger than 4194304 bytes" "stops at the size cap"

# ---- exit codes: 2 for what the user named ------------------------------------------------
run reconcile /nonexistent.csv; expect_rc 2 "reconcile /nonexistent.csv"
one_line_error "/nonexistent.csv: cannot open" "named"
run reconcile "$tmpdir"; expect_rc 2 "a directory as the input"
one_line_error "is a directory" "named as one"
run params "$tmpdir/"; expect_rc 2 "a directory as a network file"
if [ "$(id -u)" -ne 0 ]; then
    printf 'x' >"$tmpdir/unreadable.csv"; chmod 000 "$tmpdir/unreadable.csv"
    run reconcile "$tmpdir/unreadable.csv"; expect_rc 2 "an unreadable input"
else
    ok 0 "# SKIP an unreadable input (running as root)"
fi
: >"$tmpdir/afile"
printf 'model,mode,batch,seq,peak_bytes
resnet18,infer,1,0,88488960
resnet18,infer,2,0,95964160
' >"$tmpdir/two.csv"
run reconcile "$tmpdir/two.csv" --plots "$tmpdir/afile/plots"; expect_rc 2 "--plots under a file"
run report --out "$tmpdir/afile/report"; expect_rc 2 "report --out under a file"
[ ! -e "$tmpdir/afile/report" ]; ok $? "nothing written"

# ---- gzip-compressed CSV (zlib): read like the plain file, or one line why not ----------
cfg=${abs_top_builddir:-.}/config.h
[ -f "$cfg" ] || cfg=$(dirname "$DLMEM")/config.h
if grep -q '^#define HAVE_ZLIB 1' "$cfg" 2>/dev/null; then
    run reconcile "$tmpdir/two.csv" --format csv; expect_rc 0 "reconcile a plain CSV"
    cp "$tmpdir/out" "$tmpdir/plain.out"
    gzip -c "$tmpdir/two.csv" >"$tmpdir/two.csv.gz"
    run reconcile "$tmpdir/two.csv.gz" --format csv; expect_rc 0 "reconcile the same CSV gzip-compressed"
    sed 's/two\.csv\.gz/two.csv/g' "$tmpdir/out" | cmp -s - "$tmpdir/plain.out"; ok $? "the same output"
    head -c 40 "$tmpdir/two.csv.gz" >"$tmpdir/cut.csv.gz"
    run reconcile "$tmpdir/cut.csv.gz"; expect_rc 2 "a gzip file cut short"
    one_line_error "cut.csv.gz: cannot decompress" "is named, not read as a shorter series"
    printf 'not gzip at all' >"$tmpdir/bad.csv.gz"
    printf '\037\213\010\000garbage-after-the-magic-bytes' >"$tmpdir/bad.csv.gz"
    run reconcile "$tmpdir/bad.csv.gz"; expect_rc 2 "corrupt gzip data"
    one_line_error "bad.csv.gz: cannot decompress" "is named"
    # a small file that inflates past the CSV cap (256 MiB) stops at the cap
    head -c 300000000 /dev/zero | tr '\0' 'a' | gzip -1 >"$tmpdir/bomb.csv.gz"
    run reconcile "$tmpdir/bomb.csv.gz"; expect_rc 2 "a gzip bomb"
    one_line_error "bomb.csv.gz: larger than 268435456 bytes" "stops at the size cap, decompressed"
else
    printf 'x' | gzip -c >"$tmpdir/two.csv.gz"
    run reconcile "$tmpdir/two.csv.gz"; expect_rc 2 "a .gz CSV without zlib"
    one_line_error "built without zlib" "says why"
fi

done_testing
