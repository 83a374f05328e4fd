#!/bin/sh
# holdout_ref.sh — the pytorch profile over the hold-out set (bench/holdout.sh:
# networks and sizes no rule was written from, measured by PyTorch 2.11 on an
# H200 into data/reference/pytorch_holdout.csv, workspaces from the probe's rows
# in data/cudnn/): every point complete, each within 5% of PyTorch's
# max_memory_allocated(), the mean |error| within 2%.  No GPU needed.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not found"; exit 77; }
[ -f "$DLMEM_DATA/reference/pytorch_holdout.csv" ] || { echo "1..0 # SKIP no pytorch_holdout.csv"; exit 77; }
"$DLMEM" memory resnet18 --format json >/dev/null 2>&1 || { echo "1..0 # SKIP built without JSON (jansson)"; exit 77; }
DLMEM_DATA=$DLMEM_DATA DLMEM=$DLMEM sh "$top_srcdir/bench/holdout.sh" >"$tmpdir/table" 2>&1
ok $? "bench/holdout.sh runs"
python3 - "$tmpdir/table" >"$tmpdir/res" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.search(r"\s([+-]?\d+\.\d+)%\s+(yes|no)\s*$", line)
    if m:
        rows.append((line.split("  ")[0].strip(), float(m.group(1)), m.group(2) == "yes", line.rstrip()))
for name, err, complete, line in rows:
    print(("ok" if complete and abs(err) <= 5 else "not ok") + " - hold-out " + " ".join(line.split()[:-1]))
n = len(rows)
mean = sum(abs(e) for _, e, _, _ in rows) / n if n else 99
print(("ok" if n >= 20 and mean <= 2 else "not ok") +
      f" - {n} hold-out points, mean |error| {mean:.2f}% (within 2%)")
PY
while IFS= read -r line; do
    case $line in
    "ok - "*) ok 0 "${line#ok - }" ;;
    *) ok 1 "${line#not ok - }" ;;
    esac
done <"$tmpdir/res"
done_testing
