#!/bin/sh
# probe_rows_ref.sh — the shipped probe rows (data/cudnn/probe-*.csv and .csv.gz, taken on an
# H200 with PyTorch's cuDNN 9.19) against PyTorch's own per-op logs in data/reference
# (tools/probe_check.py, no GPU): every convolution workspace (forward, backward; transposed
# and native depthwise convolutions too) and every RNN workspace and reserve the logs show is
# the probe's to the byte, or a large request served whole from a cached block; the only
# other rows are the ones data/cudnn/probe_check_known.txt names, each with its reason.
. "$top_srcdir/tests/lib.sh"
py=${PYTHON3:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "1..0 # SKIP no python3"; exit 77; }
d=$top_srcdir/data/cudnn
all=$tmpdir/all.csv
{ head -1 "$d/probe-sm90-cudnn91900.csv"
  for f in "$d"/probe-sm90-*.csv; do tail -n +2 "$f"; done
  for f in "$d"/probe-sm90-*.csv.gz; do gzip -dc "$f" | tail -n +2; done; } >"$all"
"$py" "$top_srcdir/tools/probe_check.py" "$all" "$top_srcdir"/data/reference/pytorch_oplog*.csv \
    --known "$d/probe_check_known.txt" >"$tmpdir/out" 2>"$tmpdir/err"
ok $? "probe_check.py: every logged workspace reproduced or named in probe_check_known.txt"
grep -v '^CACHED' "$tmpdir/out" | diag
for kind in "conv forward" "conv backward" "conv_transpose forward" "conv_transpose backward" \
            "conv depthwise (native, 0 B)" "rnn inference workspace" "rnn training workspace" \
            "rnn training reserve" "rnn backward workspace"; do
    grep -qF "$kind " "$tmpdir/out" && grep -F "$kind " "$tmpdir/out" | grep -q " [1-9][0-9]* / "; ok $? "$kind: rows compared"
done
n=$(awk '/^all / { print $2 }' "$tmpdir/out")
[ "${n:-0}" -ge 1000 ]; ok $? "at least 1,000 logged calls equal to the byte ($n)"
done_testing
