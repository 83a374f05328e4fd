/* hfconfig.h — a HuggingFace config.json as the model.
 *
 * `dlmem params|memory|fit|advise path/to/config.json` builds the network that
 * transformers 5.17 builds from that file, without network access:
 *   decoders (model_type gpt2, llama, mistral, qwen2): the causal LM of
 *     AutoModelForCausalLM.from_config (LM head, tied to the embedding when
 *     tie_word_embeddings, then counted once);
 *   encoders (bert, roberta, vit): AutoModel.from_config (with the pooler).
 *
 * Read with jansson (strict JSON: line and column of a syntax error, exact
 * 64-bit integers, UTF-8 checked, duplicate keys refused).  Every key that
 * changes a tensor or an op is read.  Keys that set a size (hidden_size,
 * num_hidden_layers, vocab_size, ...) are required; a missing one is an error
 * naming it.  Keys that are not sizes and that transformers' config class
 * defaults (num_key_value_heads = num_attention_heads, head_dim =
 * hidden_size / num_attention_heads, biases, eps, dropout, rope settings,
 * tie_word_embeddings) take that default, as from_config does.  An unknown
 * model_type, a wrong type, an impossible value or a setting whose ops dlmem
 * does not model (a rope type other than default/linear/llama3, a
 * quantization_config, cross-attention) is one error line naming the file and
 * the key.  Keys that change nothing memory-wise are ignored.
 *
 * Built without jansson (./configure --without-jansson, as on the GPU
 * machine), dlm_hfconfig_build() says so and nothing else changes.
 */
#ifndef DLM_HFCONFIG_H
#define DLM_HFCONFIG_H

#include "graph.h"

/* 1 when name_or_path names a config file (it ends in ".json"). */
int dlm_hfconfig_is_path(const char *name_or_path);

/* Builds the network of the config.json at path; the graph is named after
 * the file ("llama-gqa-tiny" for .../llama-gqa-tiny.json, the folder's name
 * for .../NAME/config.json). */
dlm_status dlm_hfconfig_build(const char *path, dlm_graph **out);

#endif
