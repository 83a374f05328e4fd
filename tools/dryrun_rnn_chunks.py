#!/usr/bin/env python3
"""dryrun_rnn_chunks.py — a CPU dry run of tools/torch_reference.py's
checkpointing of the seed's RNN in chunks of time steps, so that the GPU run
(`techniques --rnn-chunks`, `oplog --rnn-chunks`) cannot fail on a Python
error, and a check of what dlmem's engine assumes about it:

  1. every technique point of --rnn-chunks through run_point() (torch.cuda's
     memory calls stubbed, sizes reduced, autocast on the CPU in bf16);
  2. oplog --rnn-chunks through cmd_oplog() (/tmp/dryrun_oplog_chunks.csv);
  3. the chunked LSTM and GRU compute the plain network's loss and gradients
     (float64, K = 2, 3, 4, 10, uneven chunks included);
  4. tensor lifetimes (weak references, no gc.collect: reference counting
     alone, as CUDA memory sees it): after forward only the last chunk's
     output and the states at the chunk boundaries are alive; when chunk k
     is recomputed in backward, the states of chunks >= k are gone.

What it is not: a memory measurement (the CPU runs other kernels than cuDNN).
Run from the repository root: python3 tools/dryrun_rnn_chunks.py"""
import gc, sys, weakref
sys.path.insert(0, "tools")
import torch
import torch_reference as R

torch.cuda.synchronize = lambda *a, **k: None
torch.cuda.empty_cache = lambda: None
torch._C._cuda_clearCublasWorkspaces = lambda: None
torch.cuda.reset_peak_memory_stats = lambda *a: None
torch.cuda.memory_allocated = lambda *a: 0
torch.cuda.max_memory_allocated = lambda *a: 0
torch.cuda.max_memory_reserved = lambda *a: 0
torch.cuda.memory_stats = lambda *a: {}
autocast_orig = torch.autocast
def ac(dev, dtype=None, enabled=True):
    return autocast_orig("cpu", dtype=torch.bfloat16, enabled=enabled and dtype is not None)
torch.autocast = ac
# oneDNN has no half-precision LSTM on this CPU (the plain network fails the same
# way); the native CPU kernels run every path
torch.backends.mkldnn.enabled = False

# 1. every technique point, at reduced sizes (same code path)
pts = R.technique_points_rnn_chunks()
assert len(pts) == 13, len(pts)
base = {}
for p in pts:
    p.B, p.T = min(p.B, 4), p.T // 50
    r = R.run_point(p, base, torch.device("cpu"))
    print("point", p.model, p.variant, p.mode, p.checkpoint, p.autocast, p.B, p.T, "ok", r["param_bytes"])

# 2. oplog --rnn-chunks through cmd_oplog (its own CSV)
class A:
    output = "/tmp/dryrun_oplog_chunks.csv"; dtypes = ["fp32"]; device = "cpu"; modes = ["infer", "forward", "train"]
    points = ["lstm:2:20", "gru:2:21"]; checkpoint = "none"; autocast = "none"; set = None; rnn_chunks = [2, 4]
R.cmd_oplog(A)
import csv
rows = list(csv.DictReader(open(A.output)))
names = sorted({r["point"] for r in rows})
print("oplog points:", names)
assert any(n.endswith(":ckpt-chunks4") for n in names)

# 3. the chunked network computes what the plain one does (loss and every gradient)
for cell in ("lstm", "gru"):
    for K, T in ((2, 10), (4, 10), (3, 7), (10, 10)):
        torch.manual_seed(0)
        m1 = R.SeedRNN(cell, **R.SEED_LSTM).double()
        m2 = R.checkpointed(R.SeedRNN(cell, **R.SEED_LSTM).double(), f"chunks{K}")
        m2.load_state_dict(m1.state_dict())
        assert [n for n, _ in m1.named_parameters()] == [n for n, _ in m2.named_parameters()]
        x = torch.randn(T, 3, 100, dtype=torch.double)
        l1 = m1(x).pow(2).mean(); l1.backward()
        l2 = m2(x).pow(2).mean(); l2.backward()
        assert torch.allclose(l1, l2, rtol=1e-12, atol=1e-12), (l1, l2)
        for (n, a), (_, b) in zip(m1.named_parameters(), m2.named_parameters()):
            assert torch.allclose(a.grad, b.grad, rtol=1e-9, atol=1e-12), (cell, K, n)
        print(f"{cell} K={K} T={T}: loss and gradients equal to the unchunked network's")

# 4. lifetimes the engine models: in forward each chunk's output dies when the
# next one returns, its (h, c) stay (the next chunk's checkpoint keeps them);
# in backward chunk k-1's (h, c) are gone before chunk k-1 is recomputed
K = 4
m = R.checkpointed(R.SeedRNN("lstm", **R.SEED_LSTM), f"chunks{K}")
made, phase, seen = [], ["forward"], []
orig = m.run_chunk
def spy(x, *state):
    if phase[0] == "backward":   # recomputing a chunk: which (h, c) of the forward are alive
        pass  # no gc.collect(): refcounting alone must free them, as CUDA memory sees it
        seen.append([all(w() is not None for w in made[j][1:]) for j in range(K)])
    r = orig(x, *state)   # (early stop ends a recomputation inside it)
    made.append([weakref.ref(t) for t in r])
    return r
m.run_chunk = spy
x = torch.randn(12, 2, 100)
loss = m(x).pow(2).mean()   # no gc.collect(): refcounting alone
assert len(made) == K
alive_out = [made[j][0]() is not None for j in range(K)]
alive_state = [all(w() is not None for w in made[j][1:]) for j in range(K)]
print("after forward: outputs alive", alive_out, "states alive", alive_state)
assert alive_out == [False] * (K - 1) + [True]      # the last one: fc saves out[-1], a view
assert alive_state == [True] * (K - 1) + [False]    # h_K, c_K: locals of forward
phase[0] = "backward"
loss.backward()
print("states alive when each chunk is recomputed (chunks K..1):", seen)
assert len(seen) == K, seen
# recomputing chunk i (i = K-1 .. 0, 0-based): states of chunks >= i are gone
for n, s in enumerate(seen):
    i = K - 1 - n
    assert s == [True] * i + [False] * (K - i), (i, s)
print("dry run: ok")
