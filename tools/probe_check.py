#!/usr/bin/env python3
"""probe_check.py — `dlmem probe` rows checked against PyTorch's own per-op logs.

What it is: the comparison behind `make check-gpu`'s probe test and the
reproduction counts in data/cudnn/README.md.  It reads CSVs only (no GPU, no
PyTorch): the probe's rows (logic pytorch-2.11) and tools/torch_reference.py
oplog files, and prints, per kind of row, how many the probe reproduces to the
byte.  Exit status 1 if any row disagrees (or nothing was compared).

How an oplog row becomes bytes (what max_memory_allocated() counts, PyTorch's
caching allocator): an allocation of n > 0 bytes holds a block of
r = n rounded up to 512 bytes, except that a large request (> 1 MiB) that
takes a block leaving at most 1 MiB is not split and holds the whole block
(a fresh segment: 20 MiB for r < 10 MiB, else r rounded up to 2 MiB).  The
logs do not say which block a request got, so a row is equal when the log's
bytes are r ("split") or the fresh-segment block ("whole").
  conv forward  convolution: peak - max(before, after) = block(ws_fwd)
                (a transposed convolution's rows are op conv_transpose2d);
  conv backward convolution_backward (grad_input first, then grad_weight, as
                cudnn_convolution_backward runs them): peak above both
                gradients = max(block(ws_data) - block(grad_weight),
                block(ws_filter), 0), without the data term where the input
                needs no gradient (the log then returns one tensor);
  as conv_workspace_table.py does, the smallest value over the ops of one
  shape, batch and dtype is compared (larger ones are cached blocks reused);
  rnn           _cudnn_rnn: reserve = the uint8 output's size exactly;
                workspace: peak - after = block(ws) (inference, training);
                _cudnn_rnn_backward: peak - max(before, after) compared with
                block(ws_backward) (both backward calls allocate one each,
                one after the other).

Usage: probe_check.py PROBE.csv OPLOG.csv [OPLOG.csv ...] [--table conv_workspace.csv]
                      [--known data/cudnn/probe_check_known.txt]
(--table: each row of the table, read the same way, counted apart as "table ...")
"""
import argparse
import csv
import sys

MiB = 1 << 20


def rnd(n):
    return 0 if n <= 0 else max(512, (n + 511) // 512 * 512)


def blocks(n):
    """The block sizes an allocation of n bytes can be counted at (fresh pool)."""
    r = rnd(n)
    if r == 0:
        return {0}
    if r <= MiB:
        return {r}
    seg = 20 * MiB if r < 10 * MiB else (r + 2 * MiB - 1) // (2 * MiB) * (2 * MiB)
    return {r, seg if seg - r <= MiB else r}


def slack(logged, n):
    """A large request (> 1 MiB) served whole from a cached block that a split
    would leave at most 1 MiB of: counted at that block's size, r..r+1 MiB."""
    r = rnd(n)
    return r > MiB and r <= logged <= r + MiB


def dims(s):
    return [int(v) for v in s.split(":")[0].split("x")] if s else []


def transposed(x, w, y):
    """A log row's convolution is transposed (nn.ConvTranspose2d): its weight is
    (in, out/groups, kh, kw), so w[0] is the input's channels and not the
    output's, or (equal channels) the output is larger than the input."""
    if w[0] != x[1]:
        return False
    return w[0] != y[1] or y[2] * y[3] > x[2] * x[3]


def depthwise(x, w, dtype):
    """PyTorch's _conv_depthwise2d (no cuDNN, no workspace): groups = C > 1 and
    K a multiple of C, NCHW, fp32 or bf16 (Convolution.cpp use_cudnn_depthwise)."""
    return w[1] == 1 and x[1] > 1 and w[0] % x[1] == 0 and dtype in ("fp32", "bf16")


def conv_key(x, w, y, dtype=None):
    """The probe's short key: (C, H, W, K, R, S, P, Q), ("T",) + it for a
    transposed convolution (K = its output's channels), ("DW",) + it for a
    native depthwise one."""
    if dtype and depthwise(x, w, dtype):
        return ("DW", x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3])
    if transposed(x, w, y):
        return ("T", x[1], x[2], x[3], y[1], w[2], w[3], y[2], y[3])
    return (x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3])


def load_probe(path):
    conv, rnn = {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["logic"] != "pytorch-2.11":
                continue
            if r["op"] in ("conv2d", "conv_transpose2d"):
                k = r["key"]  # c{C}x{H}x{W}-o{K}x{P}x{Q}-k{R}x{S}-...
                f_ = k.split("-")
                c = [int(v) for v in f_[0][1:].split("x")]
                o = [int(v) for v in f_[1][1:].split("x")]
                kk = [int(v) for v in f_[2][1:].split("x")]
                short = (c[0], c[1], c[2], o[0], kk[0], kk[1], o[1], o[2])
                if r["op"] == "conv_transpose2d":
                    short = ("T",) + short
                conv[(short, r["dtype"], r["layout"], int(r["batch"]), r["phase"])] = r
            elif r["op"] in ("lstm", "gru"):
                rnn[(r["op"], r["key"], r["dtype"], int(r["batch"]), int(r["seq"]),
                     r["phase"])] = r
    return conv, rnn


def knob_values(point):
    """model:attention:dtype:mode:B<n>:T<n>[:set-k=v...] -> dict of knobs."""
    out = {}
    for f in point.split(":")[6:]:
        if f.startswith("set-"):
            k, _, v = f[4:].partition("=")
            out[k] = int(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("probe")
    ap.add_argument("oplogs", nargs="+")
    ap.add_argument("--table", help="also check every row of data/cudnn/conv_workspace.csv")
    ap.add_argument("--known", help="a file of differences already explained: lines 'DIFF ...' "
                    "as this script prints them, each followed by a '# why' line; a listed "
                    "difference is printed KNOWN and does not fail the check")
    a = ap.parse_args()
    conv, rnn = load_probe(a.probe)
    table_rows = []
    if a.table:
        with open(a.table, newline="") as f:
            for r in csv.DictReader(row for row in f if not row.startswith("#")):
                key = tuple(int(r[c]) for c in ("in_c", "in_h", "in_w", "out_c", "kernel_h",
                                                 "kernel_w", "out_h", "out_w"))
                table_rows.append((r["phase"], key, r["dtype"], int(r["batch"]), r["gpu"],
                                   int(r["bytes"])))
    seen = {}      # (kind, shape, dtype, B) -> [bytes]
    rnn_rows = []  # (what, key tuple, logged value, source)
    for path in a.oplogs:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                op = r["op"]
                pt = r["point"].split(":")
                if pt[0] == "hf":   # hf:STEM:ATTN:... (a config.json's model)
                    pt = [pt[0] + ":" + pt[1]] + pt[2:]
                if len(pt) < 6 or any(x.startswith(("ckpt-", "autocast-", "qlora-"))
                                      for x in pt[6:]):
                    continue
                model, dtype, mode, B, T = pt[0], pt[2], pt[3], int(pt[4][1:]), int(pt[5][1:])
                b, af, pk = int(r["before"]), int(r["after"]), int(r["peak"])
                ins, outs = r["inputs"].split(), r["outputs"].split()
                if op == "convolution.default":
                    x, w, y = dims(ins[0]), dims(ins[1]), dims(outs[0])
                    key = conv_key(x, w, y, dtype)
                    seen.setdefault(("forward", key, dtype, B, 0, r["gpu"]), []).append(pk - max(b, af))
                elif op == "convolution_backward.default":
                    y, x, w = dims(ins[0]), dims(ins[1]), dims(ins[2])
                    key = conv_key(x, w, y, dtype)
                    has_gi = len(outs) >= 2 and dims(outs[0]) == x
                    esz = 4 if dtype == "fp32" else 2
                    gw = w[0] * w[1] * w[2] * w[3] * esz
                    # a bias's gradient (grad_output summed) is made after the
                    # cuDNN calls: in `after`, not at their peak
                    gb = rnd(dims(outs[-1])[0] * esz) if len(dims(outs[-1])) == 1 else 0
                    # a transposed conv's gradient in these logs (the U-Net's) arrives as a
                    # channel slice of the skip concatenation's gradient: at B > 1 not
                    # contiguous, and cudnn_convolution_transpose_backward's
                    # grad_output.contiguous() copies it for the cuDNN calls
                    gc = rnd(y[0] * y[1] * y[2] * y[3] * esz) if key[0] == "T" and B > 1 else 0
                    seen.setdefault(("backward", key, dtype, B, (has_gi, gw, gb, gc), r["gpu"]),
                                    []).append(pk - max(b, af))
                elif op in ("_cudnn_rnn.default", "_cudnn_rnn_backward.default"):
                    kn = knob_values(r["point"])
                    cell = "lstm" if model == "lstm" else "gru"
                    key = "i%d-h%d-l%d-b1-d1-p0" % (kn.get("input", 100), kn.get("hidden", 256),
                                                  kn.get("layers", 2))
                    if op == "_cudnn_rnn.default":
                        phase = "inference" if mode == "infer" else "training"
                        reserve = int(outs[3].split(":")[0])
                        rnn_rows.append(("rnn %s workspace" % phase,
                                         (cell, key, dtype, B, T, phase), pk - af, "ws", path))
                        if phase == "training":
                            rnn_rows.append(("rnn training reserve",
                                             (cell, key, dtype, B, T, phase), reserve, "reserve",
                                             path))
                    else:
                        # grad_hy / grad_cy the loss did not produce: the op makes zeros
                        L, H = kn.get("layers", 2), kn.get("hidden", 256)
                        state = "%dx%dx%d" % (L, B, H)
                        n_state = 2 if cell == "lstm" else 1
                        given = max(0, sum(1 for t in ins if t == state) - n_state)
                        zeros = (n_state - given) * rnd(L * B * H * (4 if dtype == "fp32" else 2))
                        rnn_rows.append(("rnn backward workspace",
                                         (cell, key, dtype, B, T, "backward"),
                                         pk - max(b, af) - zeros, "ws", path))
    for phase, key, dtype, B, gpu, v in table_rows:
        # a table row: a convolution whose input is the image (3 channels) has no grad_input
        k, c, R, S = key[3], key[0], key[4], key[5]
        extra = 0 if phase == "forward" else (c != 3, k * c * R * S * (4 if dtype == "fp32" else 2), 0, 0)
        seen[(phase, key, dtype, B, extra, "table " + gpu)] = [v]
    tally = {}
    bad = []

    cached = []

    def kind_of(kind, gpu):
        return ("table " + kind) if gpu.startswith("table ") else kind

    def count(kind, ok, how=""):
        t = tally.setdefault(kind, [0, 0, 0, 0])
        t[0] += ok
        t[1] += 1
        t[2] += how == "whole"
        t[3] += how == "cached"

    for (phase, key, dtype, B, extra, gpu), vals in sorted(seen.items(), key=lambda kv: repr(kv[0])):
        logged = min(vals)
        nm = "conv_transpose" if key[0] == "T" else "conv"
        if key[0] == "DW":  # no cuDNN call: the log must show no workspace
            count("conv depthwise (native, 0 B)", logged == 0)
            if logged != 0:
                bad.append(f"conv depthwise {phase} {key} {dtype} B={B} [{gpu}]: log {logged}, "
                           "expected 0 (no cuDNN call)")
            continue
        lay = "nchw"
        if phase == "forward":
            p = conv.get((key, dtype, lay, B, "forward"))
            if not p:
                bad.append(f"{nm} forward {key} {dtype} B={B}: no probe row")
                count(kind_of(nm + " forward", gpu), 0)
                continue
            ws = int(p["workspace_bytes"])
            cand = blocks(ws)
            ok = logged in cand
            if not ok and slack(logged, ws):
                count(kind_of(nm + " forward", gpu), 0, "cached")
                cached.append(f"{nm} forward {key} {dtype} B={B} [{gpu}]: log {logged} = probe "
                              f"ws {ws} in a cached block {logged - rnd(ws)} B larger")
                continue
            count(kind_of(nm + " forward", gpu), ok, "whole" if ok and logged != rnd(ws) else "")
            if not ok:
                bad.append(f"{nm} forward {key} {dtype} B={B} [{gpu}]: log {logged}, probe ws "
                           f"{ws} ({p['engine']}) -> {sorted(cand)}")
        else:
            has_gi, gw, gb, gc = extra
            pd = conv.get((key, dtype, lay, B, "backward_data"))
            pf = conv.get((key, dtype, lay, B, "backward_filter"))
            if not pf or (has_gi and not pd):
                bad.append(f"{nm} backward {key} {dtype} B={B}: no probe row")
                count(kind_of(nm + " backward", gpu), 0)
                continue
            wf = int(pf["workspace_bytes"])
            wd = int(pd["workspace_bytes"]) if has_gi else 0
            cand = set()
            for bf in blocks(wf):
                for bd in blocks(wd):
                    cand.add(max((max(bd - rnd(gw), bf) if has_gi else bf) + gc - gb, 0))
            ok = logged in cand
            exact = max((max(rnd(wd) - rnd(gw), rnd(wf)) if has_gi else rnd(wf)) + gc - gb, 0)
            # the larger term's request served from a cached block
            big = wf if rnd(wf) >= rnd(wd) - rnd(gw) else wd
            extra = 0 if big == wf else rnd(gw)
            if not ok and slack(logged + extra, big):
                count(kind_of(nm + " backward", gpu), 0, "cached")
                cached.append(f"{nm} backward {key} {dtype} B={B} [{gpu}]: log {logged} = probe "
                              f"{'filter' if big == wf else 'data'} ws {big} in a cached block "
                              f"{logged + extra - rnd(big)} B larger")
                continue
            count(kind_of(nm + " backward", gpu), ok, "whole" if ok and logged != exact else "")
            if not ok:
                bad.append(f"{nm} backward {key} {dtype} B={B} [{gpu}]: log {logged}, probe data {wd} "
                           f"({pd['engine'] if pd else '-'}) filter {wf} ({pf['engine']}) "
                           f"-> {sorted(cand)}")
    for what, k, logged, col, path in rnn_rows:
        p = rnn.get(k)
        if not p:
            bad.append(f"{what} {k}: no probe row")
            count(what, 0)
            continue
        v = int(p["workspace_bytes" if col == "ws" else "reserve_bytes"])
        cand = {v} if col == "reserve" else blocks(v)
        ok = logged in cand
        if not ok and col == "ws" and slack(logged, v):
            count(what, 0, "cached")
            cached.append(f"{what} {k}: log {logged} = probe {v} in a cached block "
                          f"{logged - rnd(v)} B larger")
            continue
        count(what, ok, "whole" if ok and col == "ws" and logged != rnd(v) else "")
        if not ok:
            bad.append(f"{what} {k}: log {logged}, probe {v} ({p['engine']}) -> {sorted(cand)} "
                       f"[{path.split('/')[-1]}]")
    for line in cached:
        print("CACHED " + line)
    known = set()
    if a.known:
        with open(a.known) as f:
            known = {ln.rstrip("\n")[5:] for ln in f if ln.startswith("DIFF ")}
    n_known = sum(1 for line in bad if line in known)
    for line in bad:
        print(("KNOWN " if line in known else "DIFF ") + line)
    total_ok = total = total_cached = 0
    for kind, (ok, n, whole, cach) in sorted(tally.items()):
        print(f"{kind:24s} {ok:5d} / {n:5d} equal to the byte ({whole} of them a fresh "
              f"segment's whole block); {cach} within a cached block's slack; "
              f"{n - ok - cach} differ")
        total_ok += ok
        total += n
        total_cached += cach
    print(f"{'all':24s} {total_ok:5d} / {total:5d} equal to the byte; {total_cached} within a "
          f"cached block's slack; {total - total_ok - total_cached} differ"
          + (f" ({n_known} of them known: {a.known})" if n_known else ""))
    return 0 if total and total_ok + total_cached + n_known == total else 1


if __name__ == "__main__":
    sys.exit(main())
