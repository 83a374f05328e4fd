#!/usr/bin/env python3
"""hf_configs.py — writes the config.json files dlmem's tests read (data/hf/).

What it is: the one source of the HuggingFace configurations in data/hf/.  Each
file is written by transformers' own PretrainedConfig.to_json_file(), never by
hand, so that dlmem reads exactly what a user's config.json holds (the full set
of keys transformers 5.x writes, rope settings as `rope_parameters`).

What it is not: a download.  No file comes from the Hub; the shapes of
published models (Llama-3.2-1B, roberta-base) are written out from their
published sizes with the same classes.

Usage: tools/hf_configs.py [-o data/hf]      (transformers 5.17)
"""
import argparse
import os
import sys


def configs():
    from transformers import (BertConfig, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config,
                              RobertaConfig, ViTConfig)
    return {
        # GPT2LMHeadModel(GPT2Config()): the 124M "gpt2"
        "gpt2": GPT2Config(),
        # a small Llama-shaped decoder with grouped-query attention (6 query heads, 2 kv heads),
        # sizes that are not powers of two
        "llama-gqa-tiny": LlamaConfig(hidden_size=384, intermediate_size=1000,
                                      num_hidden_layers=4, num_attention_heads=6,
                                      num_key_value_heads=2, vocab_size=32000,
                                      max_position_embeddings=4096),
        # Llama-3.2-1B's published shape (tied embeddings, llama3 rope scaling)
        "llama-3.2-1b": LlamaConfig(
            hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
            num_attention_heads=32, num_key_value_heads=8, head_dim=64, vocab_size=128256,
            max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
            bos_token_id=128000, eos_token_id=128001,
            rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0,
                                 low_freq_factor=1.0, high_freq_factor=4.0,
                                 original_max_position_embeddings=8192)),
        # Mistral-shaped, small: sliding window, GQA, untied head
        "mistral-tiny": MistralConfig(hidden_size=256, intermediate_size=704,
                                      num_hidden_layers=3, num_attention_heads=8,
                                      num_key_value_heads=4, head_dim=32, vocab_size=32000,
                                      max_position_embeddings=8192, sliding_window=1024),
        # Qwen2-shaped, small: q/k/v biases, tied embeddings
        "qwen2-tiny": Qwen2Config(hidden_size=320, intermediate_size=864, num_hidden_layers=3,
                                  num_attention_heads=5, num_key_value_heads=1,
                                  vocab_size=151936, max_position_embeddings=32768,
                                  tie_word_embeddings=True),
        # BertModel(BertConfig()): bert-base-uncased's shape
        "bert-base": BertConfig(),
        # roberta-base's published shape
        "roberta-base": RobertaConfig(vocab_size=50265, max_position_embeddings=514,
                                      type_vocab_size=1, layer_norm_eps=1e-5),
        # ViTModel(ViTConfig()): google/vit-base-patch16-224's shape (with pooler)
        "vit-base": ViTConfig(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="data/hf", help="folder (default data/hf)")
    args = ap.parse_args()
    import transformers
    os.makedirs(args.output, exist_ok=True)
    for name, cfg in configs().items():
        path = os.path.join(args.output, name + ".json")
        cfg.to_json_file(path)
        print(f"{path}: {cfg.model_type}, transformers {transformers.__version__}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
