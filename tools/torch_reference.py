#!/usr/bin/env python3
"""torch_reference.py — PyTorch's own numbers for the networks dlmem models.

What it is: the independent reference dlmem is checked against.  It builds the
same networks in PyTorch (torchvision resnet18/34/50, vgg16, mobilenet_v2,
densenet121, efficientnet_b0, tools/unet.py's U-Net, the seed's LSTM/GRU +
Linear, transformers BertModel) and writes

  params      every named parameter and buffer (name, shape, count) -> CSV
  memory      torch.cuda.max_memory_allocated() over a grid of batch sizes and
              sequence lengths, in three modes (infer / forward / train), with
              one protocol for every point (below)                    -> CSV
  oplog       per-aten-op memory for a few small points: allocated bytes before
              and after each op and the peak inside it, forward and backward,
              so the analytic model's per-op rules can be read off    -> CSV
  lora        peft's LoRA adapters (modules, trainable parameters) on the CPU -> CSV
  techniques  the memory-saving techniques of `dlmem advise` measured with the
              same protocol (autocast, checkpointing per block, layer or chunk
              of LSTM time steps, SDPA, optimizers, GRU, 6-layer BERT,
              narrower ResNet)                                        -> CSV

What it is not: part of dlmem.  dlmem never imports PyTorch; it reads the CSVs.

Memory protocol, per point: nothing left from earlier points (gc,
torch.cuda.empty_cache(), cuBLAS workspaces cleared, peak reset); build the
model (a copy of one CPU-built model, moved to the GPU in the point's dtype) and
the input; one warm-up step; reset_peak_memory_stats(); one measured step;
record memory_allocated() before, max_memory_allocated() (absolute bytes:
weights, inputs, optimizer state, workspaces), memory_allocated() after, and the
unrounded requested-bytes peak.  A step is:
  infer    model.eval(), torch.no_grad(): out = model(x)
  forward  model.train(): out = model(x) with autograd recording (dropout on,
           BatchNorm on batch statistics), outputs and saved tensors alive
  train    model.train(): optimizer.zero_grad(set_to_none=True); out = model(x);
           loss = sum(o.pow(2).mean() for o in outputs); loss.backward();
           optimizer.step()   (Adam, PyTorch's default foreach implementation)
Causal language models (gpt2 and the decoders of data/hf, `hf:NAME`) run as people
run them: infer and forward call model(input_ids=x) with the config's defaults (the
KV cache it returns lives with the output); train calls model(input_ids=x,
labels=x).loss.backward() (transformers' ForCausalLMLoss: fp32 logits, labels shifted
by one) and the optimizer step.  LoRA points wrap the model with peft's
get_peft_model(LoraConfig(r, lora_alpha=r)) (its default target modules) and give the
optimizer the adapters only.  QLoRA points (variant qlora-...) are the recipe
people follow: the model saved with save_pretrained and loaded again by
from_pretrained(quantization_config=BitsAndBytesConfig(load_in_4bit, nf4 or fp4,
double quantization or not, bnb_4bit_compute_dtype=bfloat16), dtype=bfloat16), then
peft's prepare_model_for_kbit_training (the non-4-bit parameters cast to fp32;
gradient checkpointing unless the point's checkpoint column is none) and
get_peft_model as above; a 4-bit infer point is the loaded model alone.
TF32 is off (torch.backends.cuda.matmul.allow_tf32 = False, cudnn.allow_tf32 =
False) unless --tf32; cudnn.benchmark stays False (PyTorch's default).
"""
import argparse
import copy
import csv
import gc
import os
import platform
import sys
import time

import torch
import torch.nn as nn

SEED_LSTM = dict(input=100, hidden=256, layers=2, classes=10)
TORCHVISION_CNNS = ("resnet50", "vgg16", "mobilenet_v2", "densenet121", "efficientnet_b0")
UNET_KNOBS = ("in_channels", "classes", "base", "depth", "upsample")


# ---------------------------------------------------------------- the networks
class SeedRNN(nn.Module):
    """The seed's network: nn.LSTM (or nn.GRU) over (T, B, I), Linear on out[-1].

    With `chunks` = K > 1 (checkpointed(model, "chunksK")) the RNN runs over K
    chunks of time steps instead, x.tensor_split(K) along T (views; the first
    T % K chunks one step longer), the state (h, c) passed from chunk to
    chunk, each chunk under torch.utils.checkpoint(use_reentrant=False), the
    Linear on the last step as before: the same parameters with the same
    names, activation checkpointing of the LSTM in chunks of time steps."""

    def __init__(self, cell="lstm", input=100, hidden=256, layers=2, classes=10):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        setattr(self, cell, rnn(input, hidden, num_layers=layers))
        self.cell = cell
        self.fc = nn.Linear(hidden, classes)
        self.chunks = 1

    def forward(self, x):
        if self.chunks > 1:
            return self.forward_chunked(x)
        out, _ = getattr(self, self.cell)(x)
        return self.fc(out[-1])

    def run_chunk(self, x, *state):
        """One chunk: the RNN from `state` (none: its zero initial state);
        returns (out, h_n[, c_n]) as separate tensors, so that the next
        chunk's checkpoint keeps them as its tensor inputs."""
        rnn = getattr(self, self.cell)
        if not state:
            out, st = rnn(x)
        else:
            out, st = rnn(x, tuple(state) if self.cell == "lstm" else state[0])
        return (out,) + (tuple(st) if self.cell == "lstm" else (st,))

    def forward_chunked(self, x):
        from torch.utils.checkpoint import checkpoint
        state = []
        for xc in x.tensor_split(self.chunks):
            out, *state = checkpoint(self.run_chunk, xc, *state, use_reentrant=False)
        return self.fc(out[-1])


def bert_config(large=False, attention="eager", layers=None):
    from transformers import BertConfig
    kw = {}
    if large:
        kw = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096)
    if layers is not None:
        kw["num_hidden_layers"] = layers
    cfg = BertConfig(**kw)
    cfg._attn_implementation = attention
    return cfg


class VggSmall(nn.Module):
    """data/nets/vgg_small.net in PyTorch (a hold-out network, bench/holdout.sh):
    three stages of two 3x3 conv (no bias) + BatchNorm + in-place ReLU, 2x2
    max-pooling after each stage, flatten, Linear 4096->512, in-place ReLU,
    Linear 512->10, on 32 x 32 RGB input; one module call per section of the
    file, the result rebound to x as the file's sections follow each other."""

    def __init__(self):
        super().__init__()
        cin = 3
        for i, c in enumerate((64, 64, 128, 128, 256, 256), 1):
            setattr(self, f"c{i}", nn.Conv2d(cin, c, 3, padding=1, bias=False))
            setattr(self, f"b{i}", nn.BatchNorm2d(c))
            setattr(self, f"r{i}", nn.ReLU(inplace=True))
            cin = c
        self.p1, self.p2, self.p3 = nn.MaxPool2d(2), nn.MaxPool2d(2), nn.MaxPool2d(2)
        self.fc1 = nn.Linear(256 * 4 * 4, 512)
        self.r7 = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x):
        for i in range(1, 7):
            x = getattr(self, f"c{i}")(x)
            x = getattr(self, f"b{i}")(x)
            x = getattr(self, f"r{i}")(x)
            if i % 2 == 0:
                x = getattr(self, f"p{i // 2}")(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = self.r7(x)
        return self.fc2(x)


class Mlp(nn.Module):
    """data/nets/mlp.net in PyTorch (a hold-out network): Linear 784->2048,
    ReLU, two more 2048->2048 + ReLU, Linear 2048->10."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 2048), nn.Linear(2048, 2048)
        self.fc3, self.fc4 = nn.Linear(2048, 2048), nn.Linear(2048, 10)
        self.r1, self.r2, self.r3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x):
        x = self.r1(self.fc1(x))
        x = self.r2(self.fc2(x))
        x = self.r3(self.fc3(x))
        return self.fc4(x)


class WideHead(nn.Module):
    """data/nets/wide_head.net in PyTorch: Linear 512->2048, ReLU, Linear
    2048->32000 (a vocabulary-sized classifier head)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.r1, self.head = nn.Linear(512, 2048), nn.ReLU(), nn.Linear(2048, 32000)

    def forward(self, x):
        return self.head(self.r1(self.fc1(x)))


# network files with a PyTorch twin here: dlmem's path -> the class
NET_TWINS = {"data/nets/vgg_small.net": VggSmall, "data/nets/mlp.net": Mlp,
             "data/nets/wide_head.net": WideHead}


def build(name, attention="eager", knobs=None):
    """A freshly initialised CPU model by dlmem's model name."""
    knobs = knobs or {}
    torch.manual_seed(0)
    if name in ("resnet18", "resnet34"):
        import torchvision
        if "base" in knobs:
            return narrow_resnet(name, knobs["base"])
        return getattr(torchvision.models, name)(weights=None)
    if name in TORCHVISION_CNNS:
        import torchvision
        kw = {"num_classes": knobs["classes"]} if "classes" in knobs else {}
        if name == "mobilenet_v2" and "width_pct" in knobs:
            kw["width_mult"] = knobs["width_pct"] / 100
        return getattr(torchvision.models, name)(weights=None, **kw)
    if name == "unet":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from unet import UNet
        return UNet(**{k: v for k, v in knobs.items() if k in UNET_KNOBS})
    if name in ("lstm", "gru"):
        # --set input=, hidden=, layers=, classes= change the seed's sizes
        return SeedRNN(name, **{k: knobs.get(k, v) for k, v in SEED_LSTM.items()})
    if name in ("bert", "bert-large"):
        from transformers import BertModel
        cfg = bert_config(name == "bert-large", attention, knobs.get("layers"))
        # --set hidden=, heads=, ffn= as dlmem's BERT knobs
        for knob, field in (("hidden", "hidden_size"), ("heads", "num_attention_heads"),
                            ("ffn", "intermediate_size")):
            if knob in knobs:
                setattr(cfg, field, knobs[knob])
        return BertModel(cfg)
    if name in NET_TWINS:
        return NET_TWINS[name]()
    if name == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel
        cfg = GPT2Config()
        cfg._attn_implementation = attention
        return GPT2LMHeadModel(cfg)
    if name == "vit_b_16":
        import torchvision
        return torchvision.models.vit_b_16(weights=None)
    if name.startswith("hf:"):
        return build_hf(name[3:], attention)
    raise SystemExit(f"torch_reference.py: unknown model {name!r}")


HF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hf")
HF_DECODERS = ("gpt2", "llama", "mistral", "qwen2")


def build_hf(stem, attention="eager"):
    """hf:STEM: data/hf/STEM.json (tools/hf_configs.py) as dlmem reads it: decoders as
    AutoModelForCausalLM.from_config, encoders as AutoModel.from_config."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
    cfg = AutoConfig.from_pretrained(os.path.join(HF_DIR, stem + ".json"))
    cfg._attn_implementation = attention
    auto = AutoModelForCausalLM if cfg.model_type in HF_DECODERS else AutoModel
    return auto.from_config(cfg)


def hf_models():
    return ["hf:" + f[:-5] for f in sorted(os.listdir(HF_DIR)) if f.endswith(".json")]


def narrow_resnet(name, base):
    """torchvision's ResNet with `base` channels in the first stage (64 normally)."""
    import torchvision
    from torchvision.models.resnet import BasicBlock, ResNet

    class Narrow(ResNet):
        def __init__(self, layers):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes = base
            self.dilation = 1
            self.groups = 1
            self.base_width = 64
            self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(BasicBlock, base, layers[0])
            self.layer2 = self._make_layer(BasicBlock, base * 2, layers[1], stride=2)
            self.layer3 = self._make_layer(BasicBlock, base * 4, layers[2], stride=2)
            self.layer4 = self._make_layer(BasicBlock, base * 8, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(base * 8, 1000)

    del torchvision
    return Narrow([2, 2, 2, 2] if name == "resnet18" else [3, 4, 6, 3])


IMAGE_SIZE = {"unet": 256}   # dlmem's default height = width where it is not 224


def hf_config_dict(name):
    import json
    with open(os.path.join(HF_DIR, name[3:] + ".json")) as f:
        return json.load(f)


def is_causal_lm(name):
    """gpt2 and the decoders of data/hf: the causal-LM protocol (below)."""
    return name == "gpt2" or (name.startswith("hf:") and
                              hf_config_dict(name)["model_type"] in HF_DECODERS)


def is_image(name):
    return (name.startswith("resnet") or name == "vit_b_16" or
            (name.startswith("hf:") and hf_config_dict(name)["model_type"] == "vit"))


def make_input(name, B, T, device, dtype, knobs=None):
    """The input of a point; knobs height= and width= (image models) and input=
    (RNN) change its size as `dlmem --set` does."""
    knobs = knobs or {}
    g = torch.Generator().manual_seed(1)
    if name.startswith("resnet") or name in TORCHVISION_CNNS or name == "unet":
        s = IMAGE_SIZE.get(name, 224)
        c = knobs.get("in_channels", 3)
        return torch.randn(B, c, knobs.get("height", s), knobs.get("width", s),
                           generator=g).to(device, dtype)
    if is_image(name):
        return torch.randn(B, 3, 224, 224, generator=g).to(device, dtype)
    if name in ("lstm", "gru"):
        return torch.randn(T, B, knobs.get("input", SEED_LSTM["input"]),
                           generator=g).to(device, dtype)
    if name == "data/nets/vgg_small.net":
        return torch.randn(B, 3, 32, 32, generator=g).to(device, dtype)
    if name == "data/nets/mlp.net":
        return torch.randn(B, 784, generator=g).to(device, dtype)
    if name == "data/nets/wide_head.net":
        return torch.randn(B, 512, generator=g).to(device, dtype)
    vocab = 50257 if name == "gpt2" else (hf_config_dict(name)["vocab_size"]
                                          if name.startswith("hf:") else 30522)
    return torch.randint(0, vocab, (B, T), generator=g).to(device)


def outputs_of(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if getattr(out, "logits", None) is not None:
        return [out.logits]
    return [o for o in (out.last_hidden_state, out.pooler_output) if o is not None]


def forward_and_loss(name, model, x, mode, ac):
    """One forward (and the loss in train mode) by the protocol of the model:
    causal LMs as people run them, model(input_ids=x) with the config's
    defaults (the returned KV cache lives with the output) and in training
    model(input_ids=x, labels=x).loss (transformers' ForCausalLMLoss: fp32
    logits, shifted labels); the others model(x) and, in training, the sum of
    o.pow(2).mean() over the outputs."""
    with ac:
        if is_causal_lm(name):
            out = model(input_ids=x, labels=x) if mode == "train" else model(input_ids=x)
            return out, (out.loss if mode == "train" else None)
        out = model(x)
        return out, (sum(o.pow(2).mean() for o in outputs_of(out)) if mode == "train" else None)


def with_lora(model, r):
    """peft's LoRA with its defaults for the model type (r, lora_alpha = r, no
    dropout, target modules from peft's table): base weights frozen."""
    from peft import LoraConfig, get_peft_model
    return get_peft_model(model, LoraConfig(r=r, lora_alpha=r))


def versions():
    import torchvision
    try:
        import transformers
        tv = transformers.__version__
    except ImportError:
        tv = "none"
    v = dict(torch=torch.__version__.split("+")[0], torchvision=torchvision.__version__.split("+")[0],
             transformers=tv)
    for mod in ("peft", "bitsandbytes"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            v[mod] = "none"
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        v.update(gpu=p.name, gpu_memory=p.total_memory, cuda=torch.version.cuda,
                 cudnn=str(torch.backends.cudnn.version()), driver=driver_version(),
                 sm=f"{p.major}.{p.minor}")
    else:
        v.update(gpu="none", gpu_memory=0, cuda="none", cudnn="none", driver="none", sm="none")
    return v


def driver_version():
    try:
        import subprocess
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - provenance only
        return "unknown"


# ---------------------------------------------------------------- params
def split_model_spec(spec):
    """"unet,upsample=2" -> ("unet", {"upsample": 2}): a model with knobs as
    dlmem's --set has them (the reference file's model column keeps the spec)."""
    name, *kv = spec.split(",")
    knobs = {}
    for item in kv:
        k, _, v = item.partition("=")
        if not k or not v.lstrip("-").isdigit():
            raise SystemExit(f"model {spec!r}: {item!r} is not KNOB=N")
        knobs[k] = int(v)
    return name, knobs


def cmd_params(args):
    v = versions()
    rows = []
    for name in args.models:
        base, knobs = split_model_spec(name)
        m = build(base, knobs=knobs)
        for kind, items in (("param", m.named_parameters()), ("buffer", m.named_buffers())):
            for i, (n, t) in enumerate(items):
                rows.append(dict(model=name, kind=kind, index=i, name=n,
                                 shape="x".join(str(s) for s in t.shape) or "scalar",
                                 numel=t.numel(), dtype=str(t.dtype).replace("torch.", ""),
                                 torch=v["torch"], torchvision=v["torchvision"],
                                 transformers=v["transformers"]))
        total = sum(p.numel() for p in m.parameters())
        nbuf = sum(b.numel() for b in m.buffers())
        print(f"{name}: {total:,} parameters, {nbuf:,} buffer elements", file=sys.stderr)
    write_csv(args.output, rows)


def write_csv(path, rows, header=None):
    header = header or list(rows[0].keys())
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    os.replace(tmp, path)


# ---------------------------------------------------------------- memory
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def clean():
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch._C._cuda_clearCublasWorkspaces()
    torch.cuda.reset_peak_memory_stats()


class Point:
    """One measured configuration."""

    FIELDS = ["model", "variant", "mode", "dtype", "attention", "optimizer", "checkpoint",
              "autocast", "batch", "seq", "status", "before_bytes", "peak_bytes", "after_bytes",
              "requested_peak_bytes", "reserved_peak_bytes", "param_bytes", "ms"]

    def __init__(self, model, mode, dtype, B, T, attention="", optimizer="adam",
                 checkpoint="none", autocast="none", variant="base", knobs=None, lora=0,
                 quant=""):
        self.__dict__.update(model=model, mode=mode, dtype=dtype, B=B, T=T, attention=attention,
                             optimizer=optimizer, checkpoint=checkpoint, autocast=autocast,
                             variant=variant, knobs=knobs or {}, lora=lora, quant=quant)


QLORA_DIRS = {}   # model name -> the directory its fp32 weights were saved to


def build_qlora(name, attention, quant, checkpoint, r, mode, device):
    """The QLoRA recipe on a decoder: the freshly initialised model saved and
    loaded again with bitsandbytes' 4-bit weights (quant: nf4, fp4, nf4-dq,
    fp4-dq: with double quantization), compute dtype bfloat16; in training
    prepare_model_for_kbit_training (gradient checkpointing when checkpoint is
    layer) and peft's LoRA (r, its default targets).  mode infer: the 4-bit
    model alone, as people run one."""
    import atexit
    import shutil
    import tempfile
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    if not is_causal_lm(name):
        raise SystemExit(f"torch_reference.py: QLoRA points are for the decoders, not {name}")
    kind, _, dq = quant.partition("-")
    if kind not in ("nf4", "fp4") or dq not in ("", "dq"):
        raise SystemExit(f"torch_reference.py: quant {quant!r}: expected nf4, fp4, nf4-dq, fp4-dq")
    if name not in QLORA_DIRS:
        d = tempfile.mkdtemp(prefix="dlmem-qlora-")
        atexit.register(shutil.rmtree, d, True)   # a 1B model's weights are 5 GB
        build(name, "eager").save_pretrained(d)
        QLORA_DIRS[name] = d
    q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=kind,
                           bnb_4bit_use_double_quant=(dq == "dq"),
                           bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(
        QLORA_DIRS[name], quantization_config=q, dtype=torch.bfloat16,
        device_map={"": device.index or 0}, attn_implementation=attention or "sdpa")
    if mode == "infer":
        return model
    from peft import prepare_model_for_kbit_training
    model = prepare_model_for_kbit_training(model,
                                            use_gradient_checkpointing=(checkpoint == "layer"))
    return with_lora(model, r)


def make_optimizer(name, params):
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    raise SystemExit(f"unknown optimizer {name}")


def checkpointed(model, how):
    """Wraps blocks in torch.utils.checkpoint (use_reentrant=False)."""
    from torch.utils.checkpoint import checkpoint

    class Ckpt(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *a, **k):
            return checkpoint(self.inner, *a, use_reentrant=False, **k)

    if how == "none":
        return model
    if how.startswith("chunks"):   # the seed's RNN over K checkpointed chunks of time steps
        k = how[len("chunks"):]
        if not isinstance(model, SeedRNN) or not k.isdigit() or int(k) < 2:
            raise SystemExit(f"checkpoint {how!r}: chunksK (K >= 2) applies to the seed's LSTM/GRU")
        model.chunks = int(k)
        return model
    if how in ("block", "stage") and hasattr(model, "layer1"):
        for s in ("layer1", "layer2", "layer3", "layer4"):
            seq = getattr(model, s)
            if how == "stage":
                setattr(model, s, Ckpt(seq))
            else:
                for i in range(len(seq)):
                    seq[i] = Ckpt(seq[i])
        return model
    if how in ("layer", "block") and (hasattr(model, "encoder") or
                                      getattr(model, "supports_gradient_checkpointing", False)):
        # BERT's blocks are its layers, a decoder's its decoder layers (transformers'
        # GradientCheckpointingLayer; in training it turns the KV cache off)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        return model
    raise SystemExit(f"checkpoint {how!r} does not apply to this model")


def run_point(p, base_models, device):
    key = (p.model, p.attention, tuple(sorted(p.knobs.items())))
    if key not in base_models and not p.quant:
        base_models[key] = build(p.model, p.attention or "eager", p.knobs)
    clean()
    dtype = DTYPES[p.dtype]
    if p.quant:
        model = build_qlora(p.model, p.attention, p.quant, p.checkpoint, p.lora, p.mode, device)
    else:
        model = copy.deepcopy(base_models[key]).to(device=device, dtype=dtype)
        if p.lora:
            model = with_lora(model, p.lora)
        if p.checkpoint != "none":
            model = checkpointed(model, p.checkpoint)
    x = make_input(p.model, p.B, p.T, device, dtype, p.knobs)
    opt = (make_optimizer(p.optimizer, [q for q in model.parameters() if q.requires_grad])
           if p.mode == "train" else None)
    model.train(p.mode != "infer")
    ac = (torch.autocast("cuda", dtype=DTYPES[p.autocast]) if p.autocast != "none"
          else torch.autocast("cuda", enabled=False))

    def step():
        if p.mode == "infer":
            with torch.no_grad():
                return forward_and_loss(p.model, model, x, p.mode, ac)[0]
        if p.mode == "forward":
            return forward_and_loss(p.model, model, x, p.mode, ac)[0]
        opt.zero_grad(set_to_none=True)
        out, loss = forward_and_loss(p.model, model, x, p.mode, ac)
        del out
        loss.backward()
        opt.step()
        return None

    out = step()          # warm-up
    del out
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1e3
    st = torch.cuda.memory_stats()
    res = dict(before_bytes=before, peak_bytes=torch.cuda.max_memory_allocated(),
               after_bytes=torch.cuda.memory_allocated(),
               requested_peak_bytes=st.get("requested_bytes.all.peak", 0),
               reserved_peak_bytes=torch.cuda.max_memory_reserved(),
               param_bytes=sum(q.numel() * q.element_size() for q in model.parameters()),
               ms=f"{ms:.3f}")
    del out, model, x, opt
    return res


def measure(points, path, v, extra=None):
    """Every point by the memory protocol into `path`; `extra` adds columns
    (name -> function of the point)."""
    extra = extra or {}
    device = torch.device("cuda")
    rows, base = [], {}
    header = Point.FIELDS + ["gpu", "gpu_memory", "driver", "cuda", "cudnn", "torch",
                             "torchvision", "transformers", "tf32"] + list(extra)
    t_start = time.time()
    for i, p in enumerate(points):
        row = dict(model=p.model, variant=p.variant, mode=p.mode, dtype=p.dtype,
                   attention=p.attention, optimizer=p.optimizer if p.mode == "train" else "",
                   checkpoint=p.checkpoint, autocast=p.autocast, batch=p.B, seq=p.T)
        try:
            row.update(run_point(p, base, device), status="ok")
        except torch.cuda.OutOfMemoryError:
            row.update(status="oom")
        row.update({k: v[k] for k in ("gpu", "gpu_memory", "driver", "cuda", "cudnn", "torch",
                                      "torchvision", "transformers")},
                   tf32=int(torch.backends.cuda.matmul.allow_tf32))
        row.update({k: f(p) for k, f in extra.items()})
        rows.append(row)
        if (i + 1) % 10 == 0 or i + 1 == len(points):
            print(f"  [{i + 1}/{len(points)}] {time.time() - t_start:.0f}s {p.model} {p.mode} "
                  f"{p.dtype} B={p.B} T={p.T} peak={row.get('peak_bytes')}", file=sys.stderr)
            write_csv(path, rows, header)   # keep what is measured if interrupted
    write_csv(path, rows, header)


RESNET_B = [1, 2, 4, 8, 16, 32, 64, 128]
CNN_B = [1, 3, 8, 24]   # small enough for a short device budget; 3 and 24 are no powers of two
LSTM_T = [50, 100, 200, 300, 500, 1000]
BERT_T = [8, 16, 32, 64, 128, 256, 512]


def grid(models, modes, dtypes, quick=False):
    pts = []
    rb = [1, 8] if quick else RESNET_B
    lt = [50, 300] if quick else LSTM_T
    bt = [8, 128] if quick else BERT_T
    for dt in dtypes:
        for mode in modes:
            if "resnet18" in models:
                pts += [Point("resnet18", mode, dt, b, 0) for b in rb]
            if "lstm" in models:
                pts += [Point("lstm", mode, dt, b, t) for b in (1, 32) for t in lt]
            if "bert" in models:
                pts += [Point("bert", mode, dt, b, t, attention=a)
                        for a in ("eager", "sdpa") for b in (1, 8) for t in bt]
            for m in models:   # the convolutional networks of issue 12
                if m in TORCHVISION_CNNS or m == "unet":
                    pts += [Point(m, mode, dt, b, 0) for b in (CNN_B[:2] if quick else CNN_B)]
    return pts


def transformer_points():
    """The transformer families of issue 13 (data/reference/pytorch_memory_transformers.csv):
    gpt2 and a small Llama-shaped GQA decoder by the causal-LM protocol, eager and SDPA,
    fp32 and bf16, sizes that are not powers of two; Llama-3.2-1B's shape in bf16;
    torchvision's vit_b_16; BERT from its config.json; LoRA (peft defaults, r=8) on the
    decoders."""
    P = []
    for dt in ("fp32", "bf16"):   # LoRA first: the other points follow in the same order
        for name in ("gpt2", "hf:llama-gqa-tiny"):
            P += [Point(name, "train", dt, 4, t, attention="sdpa", lora=8, variant="lora-r8")
                  for t in (128, 512)]
    for dt in ("fp32", "bf16"):
        for mode in ("infer", "forward", "train"):
            for a in ("eager", "sdpa"):
                P += [Point("gpt2", mode, dt, b, t, attention=a)
                      for b in (1, 4) for t in (100, 333, 1024)]
                P += [Point("hf:llama-gqa-tiny", mode, dt, b, t, attention=a)
                      for b in (1, 4) for t in (128, 500, 2048)]
                P += [Point("hf:bert-base", mode, dt, b, t, attention=a)
                      for b in (2, 7) for t in (64, 300)]
            P += [Point("vit_b_16", mode, dt, b, 0) for b in (1, 5, 32)]
    for mode in ("infer", "train"):
        P += [Point("hf:llama-3.2-1b", mode, "bf16", 1, t, attention="sdpa") for t in (256, 1000)]
    P.append(Point("hf:llama-3.2-1b", "train", "bf16", 1, 1000, attention="sdpa", lora=8,
                   variant="lora-r8"))
    return P


def transformer_autocast_points(holdout=False):
    """The decoders, ViT and BERT under autocast (bf16) with fp32 weights, the
    causal-LM protocol (data/reference/pytorch_memory_transformers_autocast.csv),
    variant "base" with the autocast column set.  holdout: other sizes and
    configs no rule was read from (..._autocast_holdout.csv)."""
    P = []
    if holdout:
        for mode in ("infer", "forward", "train"):
            for a in ("eager", "sdpa"):
                P += [Point("gpt2", mode, "fp32", 3, 777, attention=a, autocast="bf16")]
                P += [Point("hf:llama-gqa-tiny", mode, "fp32", 2, 1500, attention=a,
                            autocast="bf16")]
                P += [Point("hf:qwen2-tiny", mode, "fp32", b, t, attention=a, autocast="bf16")
                      for b, t in ((1, 700), (6, 96))]
                P += [Point("hf:bert-base", mode, "fp32", 3, 200, attention=a, autocast="bf16")]
            P += [Point("vit_b_16", mode, "fp32", 12, 0, autocast="bf16")]
        P += [Point("hf:llama-3.2-1b", "train", "fp32", 1, 600, attention="sdpa",
                    autocast="bf16")]
        return P
    for mode in ("infer", "forward", "train"):
        for a in ("eager", "sdpa"):
            P += [Point("gpt2", mode, "fp32", b, t, attention=a, autocast="bf16")
                  for b in (1, 4) for t in (100, 333, 1024)]
            P += [Point("hf:llama-gqa-tiny", mode, "fp32", b, t, attention=a, autocast="bf16")
                  for b in (1, 4) for t in (128, 500, 2048)]
            P += [Point("hf:bert-base", mode, "fp32", b, t, attention=a, autocast="bf16")
                  for b in (2, 7) for t in (64, 300)]
        P += [Point("vit_b_16", mode, "fp32", b, 0, autocast="bf16") for b in (1, 5, 32)]
    return P


def transformer_checkpoint_points():
    """Activation checkpointing of the decoders as transformers does it
    (gradient_checkpointing_enable(use_reentrant=False): every decoder layer
    under torch.utils.checkpoint; training turns the KV cache off), training
    steps with Adam (data/reference/pytorch_techniques_transformers.csv), each
    with its plain baseline at the same point."""
    P = []
    for dt, ac in (("fp32", "none"), ("bf16", "none"), ("fp32", "bf16")):
        for a in ("eager", "sdpa"):
            for name, sizes in (("gpt2", ((1, 333), (4, 1024))),
                                ("hf:llama-gqa-tiny", ((1, 500), (4, 2048)))):
                for b, t in sizes:
                    P.append(Point(name, "train", dt, b, t, attention=a, autocast=ac,
                                   variant="opt-adam"))
                    P.append(Point(name, "train", dt, b, t, attention=a, autocast=ac,
                                   checkpoint="layer", variant="ckpt-layer"))
    return P


def transformer_checkpoint_holdout_points():
    """The validation set of the decoders' checkpointing rules, apart from the
    points they were checked against: other sizes, qwen2-tiny, Llama-3.2-1B's
    shape, autocast with SDPA and eager (..._transformers_holdout.csv)."""
    P = []
    for dt, ac in (("fp32", "none"), ("bf16", "none"), ("fp32", "bf16")):
        for a in ("eager", "sdpa"):
            for name, b, t in (("gpt2", 3, 700), ("hf:qwen2-tiny", 2, 900),
                               ("hf:llama-gqa-tiny", 2, 1300)):
                P.append(Point(name, "train", dt, b, t, attention=a, autocast=ac,
                               checkpoint="layer", variant="ckpt-layer"))
    P.append(Point("hf:llama-3.2-1b", "train", "bf16", 2, 1024, attention="sdpa",
                   checkpoint="layer", variant="ckpt-layer"))
    P.append(Point("hf:llama-3.2-1b", "train", "fp32", 1, 512, attention="sdpa", autocast="bf16",
                   checkpoint="layer", variant="ckpt-layer"))
    return P


def transformer_lora_checkpoint_points():
    """LoRA (peft defaults, r=8) with the decoders' gradient checkpointing, the way
    people fine-tune on a small GPU, with LoRA alone at each point
    (..._transformers_lora_ckpt.csv)."""
    P = []
    for dt, ac in (("fp32", "none"), ("bf16", "none"), ("fp32", "bf16")):
        for name, b, t in (("gpt2", 4, 512), ("hf:llama-gqa-tiny", 2, 1500)):
            P.append(Point(name, "train", dt, b, t, attention="sdpa", autocast=ac, lora=8,
                           variant="lora-r8"))
            P.append(Point(name, "train", dt, b, t, attention="sdpa", autocast=ac, lora=8,
                           checkpoint="layer", variant="lora-r8-ckpt-layer"))
    P.append(Point("gpt2", "train", "bf16", 2, 700, attention="eager", lora=8,
                   checkpoint="layer", variant="lora-r8-ckpt-layer"))
    P.append(Point("hf:llama-3.2-1b", "train", "bf16", 1, 1024, attention="sdpa", lora=8,
                   checkpoint="layer", variant="lora-r8-ckpt-layer"))
    return P


def transformer_qlora_points(holdout=False):
    """QLoRA (4-bit base weights, peft's LoRA r=8 on its default targets) by the
    recipe of build_qlora, training with and without prepare_model_for_kbit_training's
    gradient checkpointing, and 4-bit inference
    (data/reference/pytorch_memory_transformers_qlora.csv; holdout: other sizes
    and qwen2-tiny, apart from the points the rules were read from,
    ..._qlora_holdout.csv).  The dtype column is the compute dtype."""
    def tr(name, b, t, quant="nf4-dq", ck="layer", a="sdpa"):
        return Point(name, "train", "bf16", b, t, attention=a, checkpoint=ck, lora=8,
                     quant=quant, variant=f"qlora-{quant}-r8")

    def inf(name, b, t, quant="nf4-dq", a="sdpa"):
        return Point(name, "infer", "bf16", b, t, attention=a, quant=quant,
                     variant=f"4bit-{quant}")
    if holdout:
        return [tr("hf:qwen2-tiny", 3, 700), tr("hf:qwen2-tiny", 2, 1500, a="eager"),
                tr("hf:qwen2-tiny", 2, 600, ck="none"), tr("hf:llama-gqa-tiny", 3, 1300, "nf4"),
                tr("hf:llama-gqa-tiny", 5, 333, "fp4-dq"), tr("gpt2", 2, 700, ck="none"),
                tr("gpt2", 3, 900), tr("hf:llama-3.2-1b", 2, 1500),
                inf("hf:qwen2-tiny", 2, 500), inf("gpt2", 3, 777), inf("hf:llama-3.2-1b", 2, 700)]
    return [tr("hf:llama-gqa-tiny", 1, 128), tr("hf:llama-gqa-tiny", 4, 512),
            tr("hf:llama-gqa-tiny", 2, 2048), tr("hf:llama-gqa-tiny", 8, 1000),
            tr("hf:llama-gqa-tiny", 4, 512, "nf4"), tr("hf:llama-gqa-tiny", 4, 512, "fp4"),
            tr("hf:llama-gqa-tiny", 4, 512, a="eager"),
            tr("hf:llama-gqa-tiny", 2, 1000, ck="none"), tr("hf:llama-gqa-tiny", 4, 512, ck="none"),
            tr("gpt2", 4, 512), tr("gpt2", 1, 1024), tr("gpt2", 8, 256), tr("gpt2", 4, 512, ck="none"),
            tr("gpt2", 2, 333, a="eager"),
            tr("hf:llama-3.2-1b", 1, 1024), tr("hf:llama-3.2-1b", 4, 2048),
            tr("hf:llama-3.2-1b", 1, 1024, ck="none"),
            inf("hf:llama-gqa-tiny", 1, 128), inf("hf:llama-gqa-tiny", 4, 2048),
            inf("hf:llama-gqa-tiny", 4, 512, "nf4"), inf("gpt2", 1, 100), inf("gpt2", 4, 1024),
            inf("hf:llama-3.2-1b", 1, 1000), inf("hf:llama-3.2-1b", 1, 3)]


def technique_points():
    """The techniques `dlmem advise` models, where PyTorch can run them."""
    P = []
    for b in (8, 32, 64):
        for opt in ("sgd", "sgd-momentum", "adam"):
            P.append(Point("resnet18", "train", "fp32", b, 0, optimizer=opt, variant=f"opt-{opt}"))
        P.append(Point("resnet18", "train", "fp32", b, 0, autocast="bf16", variant="autocast-bf16"))
        P.append(Point("resnet18", "train", "fp32", b, 0, autocast="fp16", variant="autocast-fp16"))
        P.append(Point("resnet18", "train", "bf16", b, 0, variant="pure-bf16"))
        P.append(Point("resnet18", "infer", "fp16", b, 0, variant="infer-fp16"))
        P.append(Point("resnet18", "train", "fp32", b, 0, checkpoint="block", variant="ckpt-block"))
        P.append(Point("resnet18", "train", "fp32", b, 0, checkpoint="stage", variant="ckpt-stage"))
        P.append(Point("resnet18", "train", "fp32", b, 0, knobs={"base": 32}, variant="base32"))
    for t in (100, 500):
        for opt in ("sgd", "sgd-momentum", "adam"):
            P.append(Point("lstm", "train", "fp32", 32, t, optimizer=opt, variant=f"opt-{opt}"))
        P.append(Point("gru", "train", "fp32", 32, t, variant="gru"))
        P.append(Point("gru", "infer", "fp32", 32, t, variant="gru"))
        P.append(Point("lstm", "train", "fp32", 32, t, autocast="fp16", variant="autocast-fp16"))
        P.append(Point("lstm", "infer", "fp16", 32, t, variant="infer-fp16"))
    for t in (128, 512):
        for opt in ("sgd", "sgd-momentum", "adam"):
            P.append(Point("bert", "train", "fp32", 8, t, attention="eager", optimizer=opt,
                           variant=f"opt-{opt}"))
        P.append(Point("bert", "train", "fp32", 8, t, attention="eager", autocast="bf16",
                       variant="autocast-bf16"))
        P.append(Point("bert", "train", "fp32", 8, t, attention="sdpa", autocast="bf16",
                       variant="autocast-bf16-sdpa"))
        P.append(Point("bert", "train", "fp32", 8, t, attention="eager", checkpoint="layer",
                       variant="ckpt-layer"))
        P.append(Point("bert", "train", "fp32", 8, t, attention="eager", knobs={"layers": 6},
                       variant="layers6"))
        P.append(Point("bert", "infer", "fp16", 8, t, attention="eager", variant="infer-fp16"))
        P.append(Point("bert", "infer", "fp16", 8, t, attention="sdpa", variant="infer-fp16-sdpa"))
    return P


def technique_points_extra():
    """More technique runs for `dlmem advise` (tests/test_techniques.c reads them
    when data/reference/pytorch_techniques_extra.csv exists): the workloads of
    the report's advice section, the combinations it recommends, fused
    attention without autocast, checkpointing at more sizes, and GRU series."""
    P = []
    # ResNet-18 at the batches the advice section trains with (fits an H200)
    for b in (128, 256):
        P.append(Point("resnet18", "train", "fp32", b, 0, variant="opt-adam"))
        P.append(Point("resnet18", "train", "fp32", b, 0, autocast="bf16", variant="autocast-bf16"))
        P.append(Point("resnet18", "train", "fp32", b, 0, checkpoint="block", variant="ckpt-block"))
        P.append(Point("resnet18", "train", "fp32", b, 0, autocast="bf16", checkpoint="block",
                       variant="autocast-bf16-ckpt-block"))
    # the seed's LSTM at the advice section's workload
    P.append(Point("lstm", "train", "fp32", 256, 1000, variant="opt-adam"))
    P.append(Point("lstm", "train", "fp32", 256, 1000, autocast="fp16", variant="autocast-fp16"))
    P.append(Point("lstm", "train", "bf16", 256, 1000, variant="pure-bf16"))
    P.append(Point("gru", "train", "fp32", 256, 1000, variant="gru"))
    # GRU series (the RNN workspace laws were read off the LSTM)
    for b in (1, 32):
        for t in (50, 200, 1000):
            P.append(Point("lstm", "train", "fp32", b, t, variant="opt-adam"))
            P.append(Point("gru", "train", "fp32", b, t, variant="gru"))
            P.append(Point("gru", "infer", "fp32", b, t, variant="gru"))
    # BERT: fused attention in fp32 training, checkpointing at more sizes, combinations
    for b, t in ((8, 256), (16, 512)):
        P.append(Point("bert", "train", "fp32", b, t, attention="eager", variant="opt-adam"))
        P.append(Point("bert", "train", "fp32", b, t, attention="sdpa", variant="sdpa-fp32"))
        P.append(Point("bert", "train", "fp32", b, t, attention="eager", checkpoint="layer",
                       variant="ckpt-layer"))
        P.append(Point("bert", "train", "fp32", b, t, attention="sdpa", autocast="bf16",
                       checkpoint="layer", variant="autocast-bf16-sdpa-ckpt-layer"))
    for t in (128, 512):
        P.append(Point("bert", "train", "fp32", 8, t, attention="eager", variant="opt-adam"))
        P.append(Point("bert", "train", "fp32", 8, t, attention="sdpa", variant="sdpa-fp32"))
    return P


RNN_CHUNKS = (2, 4, 10)


def technique_points_rnn_chunks():
    """Activation checkpointing of the seed's LSTM in K chunks of time steps
    (SeedRNN.forward_chunked), training steps in fp32 with Adam, each with its
    unchunked baseline (opt-adam) at the same point, for
    data/reference/pytorch_techniques_rnn_chunks.csv (tests/test_techniques.c
    reads it when it exists); one combination with autocast."""
    P = []
    for b, t in ((32, 500), (32, 1000), (256, 1000)):
        P.append(Point("lstm", "train", "fp32", b, t, variant="opt-adam"))
        for k in RNN_CHUNKS:
            P.append(Point("lstm", "train", "fp32", b, t, checkpoint=f"chunks{k}",
                           variant=f"ckpt-chunks{k}"))
    P.append(Point("lstm", "train", "fp32", 256, 1000, autocast="fp16", checkpoint="chunks4",
                   variant="autocast-fp16-ckpt-chunks4"))
    return P


def cmd_lora(args):
    """peft's LoRA on the CPU: what dlmem params --lora counts (adapted modules and
    trainable parameters at r, alpha = r, peft's default target modules)."""
    import peft
    from peft import LoraConfig, get_peft_model
    v = versions()
    rows = []
    for name in args.models:
        for r in args.ranks:
            m = with_lora(build(name), r)
            cfg = m.peft_config["default"]
            adapted = sorted({n.rsplit(".lora_A", 1)[0] for n, _ in m.named_parameters()
                              if ".lora_A." in n})
            trainable = sum(q.numel() for q in m.parameters() if q.requires_grad)
            total = sum(q.numel() for q in m.parameters())
            rows.append(dict(model=name, r=r, alpha=cfg.lora_alpha,
                             targets="+".join(sorted(cfg.target_modules)),
                             modules=len(adapted), trainable=trainable, total=total,
                             peft=peft.__version__, torch=v["torch"],
                             transformers=v["transformers"]))
            print(f"{name} r={r}: {len(adapted)} modules, {trainable:,} trainable of {total:,}",
                  file=sys.stderr)
    write_csv(args.output, rows)


def cmd_memory(args):
    v = versions()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference.py memory: no CUDA device")
    pts = ({"base": transformer_points, "autocast": transformer_autocast_points,
            "autocast-holdout": lambda: transformer_autocast_points(holdout=True),
            "checkpoint": transformer_checkpoint_points,
            "checkpoint-holdout": transformer_checkpoint_holdout_points,
            "lora-checkpoint": transformer_lora_checkpoint_points,
            "qlora": transformer_qlora_points,
            "qlora-holdout": lambda: transformer_qlora_points(holdout=True)}[args.transformers]()
           if args.transformers else grid(args.models, args.modes, args.dtypes, args.quick))
    if args.set:
        # knobs for every point, named in the variant column ("upsample=2" -> "upsample2")
        _, knobs = split_model_spec("," + ",".join(args.set))
        for p in pts:
            p.knobs = dict(p.knobs, **knobs)
            p.variant = "".join(f"{k}{v}" for k, v in knobs.items())
    if args.skip_done:
        # an interrupted sweep goes on: the points a file already holds are not run again
        def key(model, variant, mode, dtype, attention, batch, seq):
            return (model, variant, mode, dtype, attention, str(batch), str(seq))
        with open(args.skip_done, newline="") as f:
            done = {key(r["model"], r["variant"], r["mode"], r["dtype"], r["attention"],
                        r["batch"], r["seq"]) for r in csv.DictReader(f)}
        left = [p for p in pts if key(p.model, p.variant, p.mode, p.dtype, p.attention, p.B,
                                      p.T) not in done]
        print(f"memory: {len(pts) - len(left)} of {len(pts)} points already in {args.skip_done}",
              file=sys.stderr)
        pts = left
    print(f"memory: {len(pts)} points on {v['gpu']}", file=sys.stderr)
    extra = ({k: (lambda p, k=k: v[k]) for k in ("peft", "bitsandbytes")}
             if any(p.quant for p in pts) else None)
    measure(pts, args.output, v, extra)


# The hold-out set (bench/holdout.sh): networks and sizes no rule of dlmem was
# read from.  Each is (dlmem model, --set knobs, mode, dtype, B, T, attention).
HOLDOUT = (
    [("resnet18", {}, "train", "fp32", b, 0, "") for b in (3, 12, 24, 48, 96)] +
    [("resnet18", {}, "infer", "fp32", b, 0, "") for b in (3, 24, 96)] +
    [("resnet18", {}, "train", "bf16", b, 0, "") for b in (12, 48)] +
    [("resnet18", {"height": 160, "width": 160}, "train", "fp32", 24, 0, "")] +
    [("data/nets/vgg_small.net", {}, m, "fp32", b, 0, "") for m in ("train", "infer")
     for b in (8, 32, 128)] +
    [("data/nets/mlp.net", {}, m, "fp32", b, 0, "") for m in ("train", "infer") for b in (64, 512)] +
    [("lstm", {"hidden": 512, "layers": 3}, m, "fp32", 32, 100, "") for m in ("train", "infer")] +
    [("gru", {"hidden": 384, "layers": 3}, m, "fp32", 32, 100, "") for m in ("train", "infer")] +
    [("lstm", {"hidden": 128, "layers": 1}, "train", "fp32", 16, 250, "")] +
    [("gru", {}, "train", "bf16", 8, 300, "")] +
    [("bert", {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024}, "train", "fp32", 8, 128,
      "eager"),
     ("bert", {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024}, "infer", "fp32", 32, 256,
      "sdpa")])


def holdout_set(knobs):
    return ",".join(f"{k}={v}" for k, v in sorted(knobs.items()))


def cmd_holdout(args):
    """The hold-out points with the memory protocol, plus the dlmem command
    line of each (dlmem_model, set) for bench/holdout.sh."""
    v = versions()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference.py holdout: no CUDA device")
    pts = [Point(m, mode, dt, b, t, attention=a, variant="holdout", knobs=k)
           for m, k, mode, dt, b, t, a in HOLDOUT]
    print(f"holdout: {len(pts)} points on {v['gpu']}", file=sys.stderr)
    measure(pts, args.output, v, extra={"set": lambda p: holdout_set(p.knobs)})


def cmd_techniques(args):
    v = versions()
    if not torch.cuda.is_available():
        raise SystemExit("torch_reference.py techniques: no CUDA device")
    if args.extra and args.rnn_chunks:
        raise SystemExit("torch_reference.py techniques: --extra and --rnn-chunks write different "
                         "files: give one")
    pts = (technique_points_extra() if args.extra else
           technique_points_rnn_chunks() if args.rnn_chunks else technique_points())
    print(f"techniques: {len(pts)} points on {v['gpu']}", file=sys.stderr)
    measure(pts, args.output, v)


# ---------------------------------------------------------------- oplog
def cmd_oplog(args):
    """Per aten op: memory allocated before/after it and the peak inside it."""
    from torch.utils._python_dispatch import TorchDispatchMode

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_reference.py oplog: no CUDA device")
    v = versions()
    rows = []

    class Log(TorchDispatchMode):
        phase = "forward"

        def __torch_dispatch__(self, func, types, a=(), kw=None):
            kw = kw or {}
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            out = func(*a, **(kw))
            torch.cuda.synchronize()
            shapes = []
            for o in (out if isinstance(out, (tuple, list)) else [out]):
                if isinstance(o, torch.Tensor):
                    shapes.append("x".join(map(str, o.shape)) + ":" + str(o.dtype).replace("torch.", ""))
            ins = [("x".join(map(str, t.shape))) for t in a if isinstance(t, torch.Tensor)]
            rows.append(dict(point=self.point, phase=self.phase, op=str(func.__name__),
                             inputs=" ".join(ins), outputs=" ".join(shapes), before=before,
                             after=torch.cuda.memory_allocated(),
                             peak=torch.cuda.max_memory_allocated()))
            return out

    device = torch.device(args.device)
    specs = [("resnet18", 2, 0, "eager"), ("lstm", 2, 50, "eager"), ("bert", 2, 64, "eager"),
             ("bert", 2, 64, "sdpa")]
    def parse_knobs(items, where):
        out = {}
        for kv in items:   # e.g. base=32: the half-width ResNet's conv shapes
            knob, _, val = kv.partition("=")
            if not val.isdigit():
                raise SystemExit(f"torch_reference.py oplog: {where} {kv!r}: expected KNOB=INTEGER")
            out[knob] = int(val)
        return out

    point_knobs = {}
    if args.points:   # model:B:T[:attention[:k=v,k=v]], e.g. resnet18:128:0 lstm:32:1000
        specs = []
        for p in args.points:
            f = p.split(":")
            if f[0] == "hf":   # hf:STEM:B:T[:ATTN[:KNOBS]]
                f = [f[0] + ":" + f[1]] + f[2:]
            specs.append((f[0], int(f[1]), int(f[2]), f[3] if len(f) > 3 and f[3] else "eager"))
            if len(f) > 4:   # this point's own knobs, e.g. lstm:32:100:eager:hidden=512,layers=3
                point_knobs[len(specs) - 1] = parse_knobs(f[4].split(","), "point " + p)
    global_knobs = parse_knobs(args.set or [], "--set")
    if args.qlora and (args.dtypes != ["bf16"] or args.set or args.autocast != "none" or
                       args.rnn_chunks or args.checkpoint not in ("none", "layer")):
        # build_qlora computes in bf16 and takes no knobs: a point named otherwise would lie
        raise SystemExit("torch_reference.py oplog: --qlora takes --dtypes bf16 and --checkpoint "
                         "layer or none, without --set, --autocast or --rnn-chunks")
    if args.rnn_chunks and args.checkpoint != "none":
        raise SystemExit("torch_reference.py oplog: --rnn-chunks and --checkpoint: give one")
    if any(k < 2 for k in args.rnn_chunks or []):
        raise SystemExit("torch_reference.py oplog: --rnn-chunks K needs K >= 2")
    if args.rnn_chunks and any(n not in ("lstm", "gru") for n, _, _, _ in specs):
        raise SystemExit("torch_reference.py oplog: --rnn-chunks applies to the lstm and gru "
                         "points only (give --points lstm:B:T ...)")
    for si, name, B, T, attn, chunks in [(i,) + s + (k,) for i, s in enumerate(specs)
                                         for k in args.rnn_chunks or [1]]:
        knobs = {**global_knobs, **point_knobs.get(si, {})}
        for dt in args.dtypes:
            for mode in args.modes:
                clean()
                if args.qlora:
                    model = build_qlora(name, attn, args.qlora, args.checkpoint, 8, mode, device)
                else:
                    model = build(name, attn, knobs).to(device=device, dtype=DTYPES[dt])
                    model = checkpointed(model, args.checkpoint)
                if chunks > 1:
                    model = checkpointed(model, f"chunks{chunks}")
                model.train(mode != "infer")
                x = make_input(name, B, T, device, DTYPES[dt], knobs)
                opt = make_optimizer("adam", [q for q in model.parameters() if q.requires_grad]
                                     or model.parameters())
                ac = (torch.autocast(args.device, dtype=DTYPES[args.autocast])
                      if args.autocast != "none" else torch.autocast(args.device, enabled=False))
                # a first step so that Adam's state exists, as in the memory protocol
                if mode == "train":
                    out, loss = forward_and_loss(name, model, x, mode, ac)
                    del out
                    loss.backward()
                    opt.step()
                    del loss
                point = f"{name}:{attn}:{dt}:{mode}:B{B}:T{T}"
                if args.checkpoint != "none":
                    point += f":ckpt-{args.checkpoint}"
                if chunks > 1:
                    point += f":ckpt-chunks{chunks}"
                if args.autocast != "none":
                    point += f":autocast-{args.autocast}"
                if args.qlora:
                    point += f":qlora-{args.qlora}"
                for knob, val in sorted(knobs.items()):
                    point += f":set-{knob}={val}"
                log = Log()
                log.point = point
                torch.cuda.synchronize()
                rows.append(dict(point=point, phase="start", op="", inputs="", outputs="",
                                 before=torch.cuda.memory_allocated(), after=0, peak=0))
                with log:
                    if mode == "infer":
                        with torch.no_grad():
                            out = forward_and_loss(name, model, x, mode, ac)[0]
                    elif mode == "forward":
                        out = forward_and_loss(name, model, x, mode, ac)[0]
                    else:
                        log.phase = "zero_grad"
                        opt.zero_grad(set_to_none=True)
                        log.phase = "forward"
                        out, loss = forward_and_loss(name, model, x, mode, ac)
                        log.phase = "backward"
                        loss.backward()
                        log.phase = "step"
                        opt.step()
                        del loss
                del out, model, x, opt
                print(f"oplog {point}: {len(rows)} rows so far", file=sys.stderr)
    for r in rows:
        r.update(gpu=v["gpu"], torch=v["torch"], transformers=v["transformers"])
        if args.qlora:
            r.update(peft=v["peft"], bitsandbytes=v["bitsandbytes"])
    write_csv(args.output, rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (PyTorch's default for cuDNN)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("params")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--models", nargs="+",
                   default=["resnet18", "resnet34", "lstm", "gru", "bert", "bert-large",
                            *TORCHVISION_CNNS, "unet", "gpt2", "vit_b_16", *hf_models()],
                   help="dlmem model names; hf:STEM is data/hf/STEM.json")
    a = sub.add_parser("lora")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--models", nargs="+",
                   default=["gpt2", "hf:llama-gqa-tiny", "hf:qwen2-tiny", "hf:mistral-tiny",
                            "hf:bert-base", "hf:roberta-base"])
    a.add_argument("--ranks", nargs="+", type=int, default=[8, 16])
    a = sub.add_parser("memory")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--models", nargs="+", default=["resnet18", "lstm", "bert"])
    a.add_argument("--modes", nargs="+", default=["infer", "forward", "train"])
    a.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"])
    a.add_argument("--quick", action="store_true", help="two points per series")
    a.add_argument("--transformers", nargs="?", const="base", default=None,
                   choices=["base", "autocast", "autocast-holdout", "checkpoint",
                            "checkpoint-holdout", "lora-checkpoint", "qlora", "qlora-holdout"],
                   help="a transformer grid instead of --models: base (gpt2, Llama-shaped GQA, "
                        "Llama-3.2-1B, vit_b_16, BERT from config.json, LoRA), autocast (the same "
                        "families under bf16 autocast), autocast-holdout (other sizes and configs), "
                        "checkpoint (the decoders' gradient checkpointing with baselines), "
                        "checkpoint-holdout (its validation set), lora-checkpoint (LoRA with "
                        "and without the decoders' checkpointing), qlora (4-bit base weights with LoRA by "
                        "peft's prepare_model_for_kbit_training, and 4-bit inference), qlora-holdout "
                        "(its validation set)")
    a.add_argument("--skip-done", metavar="CSV",
                   help="leave out the points this CSV (an earlier run's output) already holds")
    a.add_argument("--set", nargs="+", metavar="KNOB=N",
                   help="knobs for every point (unet upsample=2), named in the variant column")
    a = sub.add_parser("techniques")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--extra", action="store_true",
                   help="the extra points (advice workloads, combinations, fp32 SDPA, GRU series) "
                        "for data/reference/pytorch_techniques_extra.csv")
    a.add_argument("--rnn-chunks", action="store_true",
                   help="the LSTM checkpointed in K chunks of time steps (K 2, 4, 10) with its "
                        "baselines, for data/reference/pytorch_techniques_rnn_chunks.csv")
    a = sub.add_parser("holdout")
    a.add_argument("-o", "--output", required=True)
    a = sub.add_parser("oplog")
    a.add_argument("-o", "--output", required=True)
    a.add_argument("--dtypes", nargs="+", default=["fp32"])
    a.add_argument("--modes", nargs="+", default=["infer", "forward", "train"])
    a.add_argument("--checkpoint", default="none", choices=["none", "block", "stage", "layer"],
                   help="torch.utils.checkpoint per ResNet block/stage or BERT layer (backward "
                        "then shows the recomputation)")
    a.add_argument("--rnn-chunks", nargs="+", type=int, metavar="K",
                   help="the LSTM/GRU over K chunks of time steps, each checkpointed (one log per "
                        "K and point; point names end in :ckpt-chunksK)")
    a.add_argument("--autocast", default="none", choices=["none", "bf16", "fp16"],
                   help="torch.autocast around forward and loss, as the techniques run it")
    a.add_argument("--set", nargs="+", metavar="KNOB=N",
                   help="model knobs as dlmem's --set has them (base=32: a half-width ResNet)")
    a.add_argument("--qlora", metavar="QUANT",
                   help="the decoders by the QLoRA recipe (nf4, fp4, nf4-dq, fp4-dq; --checkpoint "
                        "layer or none is prepare_model_for_kbit_training's checkpointing; infer "
                        "is the 4-bit model alone)")
    a.add_argument("--points", nargs="+", metavar="MODEL:B:T[:ATTN]",
                   help="points to log (default: resnet18 B=2, lstm B=2 T=50, bert B=2 T=64 "
                        "eager and sdpa)")
    a.add_argument("--device", default="cuda", help=argparse.SUPPRESS)  # cpu: dry run of the code
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    {"params": cmd_params, "lora": cmd_lora, "memory": cmd_memory, "techniques": cmd_techniques,
     "oplog": cmd_oplog, "holdout": cmd_holdout}[args.cmd](args)
    print(f"python {platform.python_version()}: done", file=sys.stderr)


if __name__ == "__main__":
    main()
