#!/bin/sh
# measured_runtime.sh — the committed measurements of dlmem's GPU runtime
# (data/measured/*.csv, measured on the GPU) against the analytic `runtime` profile: given the
# workspace sizes the runtime measured, `dlmem memory --profile runtime` must
# predict every ok row's peak, before and after bytes exactly.  Two independent
# counts of the same bytes: the runtime's allocator on the GPU, the liveness
# plan on paper.  No GPU needed.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not found"; exit 77; }
set -- "$DLMEM_DATA"/measured/*.csv
[ -f "$1" ] || { echo "1..0 # SKIP no data/measured/*.csv"; exit 77; }

python3 - "$DLMEM" "$@" >"$tmpdir/log" 2>&1 <<'PY'
import csv, subprocess, sys
dlmem, files = sys.argv[1], sys.argv[2:]
terms = ("cudnn_conv_workspace", "cudnn_rnn_workspace", "cudnn_rnn_reserve", "cublas_workspace",
         "rnn_seq_lengths")
n = bad = 0
for path in files:
    for r in csv.DictReader(open(path)):
        if r["status"] != "ok":
            continue
        n += 1
        inputs = ",".join(f"{t}={r[t + '_bytes']}" for t in terms if r[t + "_bytes"] != "0")
        cmd = [dlmem, "memory", r["model"], "--profile", "runtime", "--dtype", r["dtype"],
               "--batch", r["batch"], "--input", inputs, "--format", "csv"]
        if r["seq"] != "0":
            cmd += ["--seq", r["seq"]]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            bad += 1
            print(f"FAIL {' '.join(cmd)}: {out.stderr.strip()}")
            continue
        p = next(csv.DictReader(out.stdout.splitlines()))
        for k in ("peak_bytes", "before_bytes", "after_bytes"):
            if int(p[k]) != int(r[k]):
                bad += 1
                print(f"FAIL {path}: {r['model']} {r['dtype']} B={r['batch']} T={r['seq']} {k}: "
                      f"measured {r[k]} (peak at {r['peak_op']}), predicted {p[k]} ({p['peak_where']})")
print(f"{n} measured rows, {bad} mismatches")
sys.exit(1 if bad or n == 0 else 0)
PY
ok $? "the runtime profile predicts every measured row to the byte ($(tail -1 "$tmpdir/log"))"
grep FAIL "$tmpdir/log" | head -20 | diag
done_testing
