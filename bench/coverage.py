#!/usr/bin/env python3
"""coverage.py — issue 10's promise for data/cudnn/, swept whole: every shipped
network (built-ins and data/nets examples) on sm_90, batch sizes 1..256, fp32
and bf16, infer and train (the RNNs over T 50..1000, the encoders and GPT-2 at
T 128) is a complete point of `dlmem memory --profile pytorch`: no library
workspace without a probed row.  Prints one line per network, dtype and mode,
and the total of incomplete points; exit status 1 if there is any.
Run from a built tree: python3 bench/coverage.py   (DLMEM names the binary)."""
import os
import csv, subprocess, sys
bad = 0
nets = ["resnet18","resnet34","resnet50","vgg16","mobilenet_v2","densenet121","efficientnet_b0","unet","vit_b_16","data/nets/cifar_cnn.net","data/nets/mobilenet_block.net","data/nets/unet_level.net","data/nets/vgg_small.net","bert","bert-large","gpt2","data/nets/tiny_encoder.net","data/nets/mlp.net","data/nets/wide_head.net"]
rnns = ["lstm","gru","data/nets/seed_lstm.net"]
for m in nets + rnns:
    for d in ("fp32","bf16"):
        for mo in ("infer","train"):
            cmd = [os.environ.get("DLMEM", "./dlmem"),"memory",m,"--batch","1-256","--dtype",d,"--mode",mo,"--format","csv"]
            if m in rnns: cmd += ["--seq","50,100,200,300,500,1000"]
            elif m in ("bert","bert-large","gpt2","data/nets/tiny_encoder.net"): cmd += ["--seq","128"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                print(m, d, mo, "refused:", p.stderr.strip()[:150]); continue
            rows = list(csv.DictReader(p.stdout.splitlines()))
            inc = [r for r in rows if r["complete"] not in ("1","true")]
            print(f"{m} {d} {mo}: {len(rows)} points, {len(inc)} incomplete" + (f" e.g. B={inc[0]['batch']} T={inc[0]['seq']} {inc[0]['unknown'][:80]}" if inc else ""))
            bad += len(inc)
print("incomplete total", bad)
sys.exit(1 if bad else 0)
