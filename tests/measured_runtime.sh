#!/bin/sh
# measured_runtime.sh — the committed measurements of dlmem's GPU runtime
# (data/measured/*.csv, measured on the GPU) against the analytic `runtime` profile: given the
# workspace sizes the runtime measured, `dlmem memory --profile runtime` must
# predict every ok row's peak, before and after bytes exactly.  Each row's model
# is built with the knobs of its set column ("upsample=1;base=32" -> --set
# upsample=1,base=32; a file without the column is the defaults).  Two independent
# counts of the same bytes: the runtime's allocator on the GPU, the liveness
# plan on paper.  And without those sizes, from dlmem probe's rows alone.  No GPU
# needed.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not found"; exit 77; }
set -- "$DLMEM_DATA"/measured/*.csv
[ -f "$1" ] || { echo "1..0 # SKIP no data/measured/*.csv"; exit 77; }

python3 - "$DLMEM" "$@" >"$tmpdir/log" 2>&1 <<'PY'
import csv, functools, os, re, subprocess, sys
dlmem, files = sys.argv[1], sys.argv[2:]
@functools.lru_cache(maxsize=None)
def model_arg(name):
    """a built-in by name; else a config of data/hf by its stem (the measure CSV names a
    config.json model after its file), looked up there only"""
    builtin = subprocess.run([dlmem, "params", name], capture_output=True).returncode == 0
    hf = os.path.join(os.environ["DLMEM_DATA"], "hf", name + ".json")
    return hf if not builtin and re.fullmatch(r"[A-Za-z0-9._-]+", name) and os.path.isfile(hf) else name
terms = ("cudnn_conv_workspace", "cudnn_rnn_workspace", "cudnn_rnn_reserve", "cublas_workspace",
         "rnn_seq_lengths")
n = bad = 0
for path in files:
    for r in csv.DictReader(open(path)):
        if r["status"] != "ok":
            continue
        n += 1
        inputs = ",".join(f"{t}={r[t + '_bytes']}" for t in terms if r[t + "_bytes"] != "0")
        cmd = [dlmem, "memory", model_arg(r["model"]), "--profile", "runtime", "--dtype", r["dtype"],
               "--batch", r["batch"], "--input", inputs, "--format", "csv"]
        if r.get("set"):
            cmd += ["--set", r["set"].replace(";", ",")]
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
                print(f"FAIL {path}: {r['model']} [{r.get('set', '')}] {r['dtype']} B={r['batch']} T={r['seq']} {k}: "
                      f"measured {r[k]} (peak at {r['peak_op']}), predicted {p[k]} ({p['peak_where']})")
print(f"{n} measured rows, {bad} mismatches")
sys.exit(1 if bad or n == 0 else 0)
PY
ok $? "the runtime profile predicts every measured row to the byte ($(tail -1 "$tmpdir/log"))"
grep FAIL "$tmpdir/log" | head -20 | diag

# Without the measured sizes: the runtime profile's own library terms (the RNN workspace
# from dlmem probe's dlmem-runtime rows, 0 B for the transient conv workspaces) for the
# rows measured with the cuDNN those rows come from (9.19): exact where the rows have the
# point, a lower bound naming the RNN where they do not (T = 333 is off their T grid)
python3 - "$DLMEM" "$@" >"$tmpdir/log2" 2>&1 <<'PY'
import csv, functools, os, re, subprocess, sys
dlmem, files = sys.argv[1], sys.argv[2:]
@functools.lru_cache(maxsize=None)
def model_arg(name):
    builtin = subprocess.run([dlmem, "params", name], capture_output=True).returncode == 0
    hf = os.path.join(os.environ["DLMEM_DATA"], "hf", name + ".json")
    return hf if not builtin and re.fullmatch(r"[A-Za-z0-9._-]+", name) and os.path.isfile(hf) else name
n = bad = gaps = 0
for path in files:
    for r in csv.DictReader(open(path)):
        if r["status"] != "ok" or r.get("cudnn") != "9.19.0":
            continue
        cmd = [dlmem, "memory", model_arg(r["model"]), "--profile", "runtime", "--dtype", r["dtype"],
               "--batch", r["batch"], "--format", "csv"] + (["--seq", r["seq"]] if r["seq"] != "0" else [])
        if r.get("set"):
            cmd += ["--set", r["set"].replace(";", ",")]
        out = subprocess.run(cmd, capture_output=True, text=True)
        p = next(csv.DictReader(out.stdout.splitlines())) if out.returncode == 0 else None
        n += 1
        if p is None:
            bad += 1
            print(f"FAIL {' '.join(cmd)}: {out.stderr.strip()}")
        elif p["complete"] == "1":
            if int(p["peak_bytes"]) != int(r["peak_bytes"]):
                bad += 1
                print(f"FAIL {path}: {r['model']} B={r['batch']} T={r['seq']}: measured "
                      f"{r['peak_bytes']}, predicted {p['peak_bytes']} without --input")
        else:
            gaps += 1
            if not (int(p["peak_bytes"]) < int(r["peak_bytes"]) and "cudnn_rnn_workspace" in p["unknown"]
                    and p["probe_command"].startswith("dlmem probe")):
                bad += 1
                print(f"FAIL {path}: {r['model']} B={r['batch']} T={r['seq']}: incomplete but "
                      f"not a lower bound naming the RNN workspace: {p['unknown']!r}")
print(f"{n} rows measured with cuDNN 9.19: {n - gaps - bad} exact, {gaps} lower bounds, {bad} wrong")
sys.exit(1 if bad or n == 0 or gaps == n else 0)
PY
ok $? "without --input: exact where the probe's runtime rows have the point ($(tail -1 "$tmpdir/log2"))"
grep FAIL "$tmpdir/log2" | head -20 | diag

# reconcile gives each point the workspaces its run measured (the model's set_input), which
# replace the probe's rows: every series of the RNN sweeps, T = 333 too, to the byte
# (a build without GSL has no reconciler: skipped there, as on the GPU machine)
for f in "$DLMEM_DATA"/measured/lstm-rows-h200.csv "$DLMEM_DATA"/measured/gru-rows-h200.csv; do
    if "$DLMEM" reconcile "$f" 2>&1 | grep -q "needs GSL"; then
        echo "ok $((tap_n = tap_n + 1)) - # SKIP reconcile $(basename "$f"): this dlmem was built without GSL"
        continue
    fi
    "$DLMEM" reconcile "$f" --format csv >"$tmpdir/rec.csv" 2>"$tmpdir/err"
    python3 - "$tmpdir/rec.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sys.exit(0 if rows and all(float(r["mean_abs_rel_err"]) == 0 for r in rows) else 1)
PY
    ok $? "reconcile $(basename "$f"): every series' mean error 0 with the measured workspaces"
done
done_testing
