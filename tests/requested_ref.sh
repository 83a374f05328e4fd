#!/bin/sh
# requested_ref.sh — the pytorch profile's requested bytes at the peak (the peak
# less dlmem's allocator rounding) against PyTorch's own count on the H200,
# torch.cuda.memory_stats()["requested_bytes.all.peak"] (data/reference/
# pytorch_memory_transformers.csv, requested_peak_bytes), for GPT-2 and the
# Llama-shaped GQA decoder (data/hf/llama-gqa-tiny.json) with eager attention in
# every mode and dtype: equal within 16 bytes.  The allocator's rounding (block splitting, segments) is
# checked separately by the peak's tolerance (test_memory_ref); this is the
# check of what each op allocates, saves and frees, byte for byte.
. "$top_srcdir/tests/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not installed"; exit 0; }
if [ "$no_json" -eq 1 ]; then echo "1..0 # SKIP built without jansson"; exit 0; fi
DLMEM="$DLMEM" python3 - "$top_srcdir/data/reference/pytorch_memory_transformers.csv" \
    >"$tmpdir/req.tap" 2>&1 <<'PY'
import csv, json, os, subprocess, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))
        if r["model"] in ("gpt2", "hf:llama-gqa-tiny") and r["variant"] == "base"
        and r["attention"] == "eager" and r["status"] == "ok"]
hf = os.path.join(os.path.dirname(sys.argv[1]), "..", "hf")
n = bad = 0
for r in rows:
    model = r["model"] if not r["model"].startswith("hf:") else os.path.join(hf, r["model"][3:] + ".json")
    cmd = [os.environ["DLMEM"], "memory", model, "-b", r["batch"], "-t", r["seq"],
           "--mode", r["mode"], "--dtype", r["dtype"], "--attention", "eager",
           "--profile", "pytorch", "--format", "json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    n += 1
    what = f"{r['model']} {r['mode']} {r['dtype']} B={r['batch']} T={r['seq']}"
    if p.returncode != 0:
        print(f"not ok {n} - {what}: {p.stderr.strip()}")
        bad += 1
        continue
    pt = json.loads(p.stdout)["points"][0]
    got = pt["peak_bytes"] - pt["named"].get("allocator_rounding", 0)
    want = int(r["requested_peak_bytes"])
    ok = abs(got - want) <= 16
    bad += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}: requested {got} B at "
          f"{pt['peak_where']}, the H200's {want} B ({got - want:+d} B)")
print(f"{'ok' if n >= 72 else 'not ok'} {n + 1} - {n} GPT-2 and Llama points compared (at least 72)")
print(f"1..{n + 1}")
PY
cat "$tmpdir/req.tap"
! grep -q "^not ok" "$tmpdir/req.tap" && grep -q "^1\.\." "$tmpdir/req.tap"
