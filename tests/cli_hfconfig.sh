#!/bin/sh
# cli_hfconfig.sh — a HuggingFace config.json as the model: data/hf's files
# (written by transformers' to_json_file) build the model transformers builds,
# and a broken file (derived here from a good one with python3's json module)
# is one error line naming the file and the key, exit 2.
. "$top_srcdir/tests/lib.sh"
hf="$top_srcdir/data/hf"

run params "$hf/llama-gqa-tiny.json"
if [ "$rc" -ne 0 ] && grep -q "without jansson" "$tmpdir/err"; then
    expect_rc 2 "without jansson a config.json is refused"
    one_line_error "built without jansson" "and the line says why"
    echo "# the rest needs jansson (dlmem built without it)"
    done_testing
    exit
fi
expect_rc 0 "params llama-gqa-tiny.json"
out_has "30,760,320 parameters" "LlamaForCausalLM's total (transformers 5.17)"
run params "$hf/llama-gqa-tiny.json" --view layers --format csv
out_has "layers.0.self_attn.k_proj,linear,B x T x 128,384\*128 = 49152," \
    "GQA: k_proj has kv_heads*head_dim = 128 rows"
out_has "layers.0.mlp.gate_proj,linear,B x T x 1000,384\*1000 = 384000," "SwiGLU: gate_proj"
out_has "layers.0.mlp.up_proj,linear,B x T x 1000,384\*1000 = 384000," "SwiGLU: up_proj"
out_has "layers.0.mlp.down_proj,linear,B x T x 384,1000\*384 = 384000," "SwiGLU: down_proj"
out_has "lm_head,linear,B x T x 32000,384\*32000 = 12288000," "untied lm_head counted"
run params "$hf/gpt2.json";      expect_rc 0 "params gpt2.json"
out_has "124,439,808 parameters" "GPT2LMHeadModel's total"
run params "$hf/gpt2.json" --view layers --format csv
out_has "lm_head,linear,B x T x 50257,0 (tied to transformer.wte.weight" \
    "the tied head says where it is counted"
out_has "h.0.attn.c_attn,linear,B x T x 2304,768\*2304 + 2304 = 1771776," "Conv1D c_attn"
run params "$hf/llama-gqa-tiny.json" --set layers=2; expect_rc 2 "--set does not apply to a config"

# broken variants of a good file: KEY=VALUE (JSON) or -KEY to delete it
variant() { # variant NAME EDIT...
    name=$1; shift
    python3 - "$hf/llama-gqa-tiny.json" "$tmpdir/$name.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for e in sys.argv[3:]:
    if e.startswith("-"):
        del d[e[1:]]
    else:
        k, v = e.split("=", 1)
        d[k] = json.loads(v)
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
}
check() { # check NAME PATTERN DESCRIPTION
    name=$1; pat=$2; shift 2
    run params "$tmpdir/$name.json"
    expect_rc 2 "$*"
    one_line_error "$name.json: .*$pat" "$*: one line naming the key"
}
variant t5 'model_type="t5"';               check t5 '"model_type" is "t5"' "unknown model_type"
variant nohidden -hidden_size;              check nohidden '"hidden_size" is missing' "missing size key"
variant nolayers -num_hidden_layers;        check nolayers '"num_hidden_layers" is missing' "missing layers"
variant zero 'intermediate_size=0';         check zero '"intermediate_size" is 0, outside' "zero size"
variant float 'vocab_size=32000.5';         check float '"vocab_size" must be an integer' "non-integer size"
variant str 'num_attention_heads="6"';      check str '"num_attention_heads" must be an integer' "string size"
variant kv 'num_key_value_heads=4';         check kv '"num_key_value_heads" does not divide' "kv heads must divide heads"
variant kvbig 'num_key_value_heads=12';     check kvbig '"num_key_value_heads" is 12, outside' "more kv heads than heads"
variant act 'hidden_act="gelu"';            check act '"hidden_act" is "gelu"' "unmodelled activation"
variant rope 'rope_parameters={"rope_type":"yarn","rope_theta":1e4}'
check rope 'rope_type "yarn"' "unmodelled rope type"
variant quant 'quantization_config={"load_in_4bit":true}'
check quant '"quantization_config" is set' "quantized checkpoint refused"
variant eps 'rms_norm_eps=-1';              check eps '"rms_norm_eps" is -1' "negative eps"
variant tie 'tie_word_embeddings="yes"';    check tie '"tie_word_embeddings" must be true or false' "boolean key"
variant huge 'vocab_size=9223372036854775807'; check huge '"vocab_size" is 9223372036854775807, outside' "64-bit integer kept exact"

printf '{"model_type": "llama",\n "hidden_size": 12,}\n' >"$tmpdir/syntax.json"
run params "$tmpdir/syntax.json"; expect_rc 2 "JSON syntax error"
one_line_error "syntax.json:2:.*" "syntax error names line and column"
printf '{"model_type": "gpt2", "model_type": "llama"}' >"$tmpdir/dup.json"
run params "$tmpdir/dup.json"; expect_rc 2 "duplicate key"
one_line_error "dup.json:1:.*duplicate" "duplicate keys are refused"
printf '[1, 2]' >"$tmpdir/array.json"
run params "$tmpdir/array.json"; expect_rc 2 "not an object"
printf '{"model_type": "bert"}' >"$tmpdir/empty.json"
run params "$tmpdir/empty.json"; expect_rc 2 "bert without sizes"
one_line_error '"vocab_size" is missing' "the first missing size is named"

# a size that only some key combinations can reach: old files without head_dim
variant nohd -head_dim;                     run params "$tmpdir/nohd.json"
expect_rc 0 "head_dim defaults to hidden_size / num_attention_heads"
out_has "30,760,320 parameters" "the same model without head_dim"
variant legacy -rope_parameters 'rope_theta=500000.0' 'rope_scaling={"rope_type":"llama3","factor":8.0}'
run params "$tmpdir/legacy.json";          expect_rc 0 "transformers 4.x rope_theta / rope_scaling keys"

# memory: BERT from its config is the built-in bert; the decoders are refused by op
run memory "$hf/bert-base.json" --batch 2,7 --seq 64,100 --format csv; expect_rc 0 "memory bert-base.json"
cp "$tmpdir/out" "$tmpdir/cfg.csv"
run memory bert --batch 2,7 --seq 64,100 --format csv
sed 's/^bert-base,/bert,/' "$tmpdir/cfg.csv" >"$tmpdir/cfg2.csv"
if cmp -s "$tmpdir/cfg2.csv" "$tmpdir/out"; then ok 0 "bert-base.json predicts the built-in bert's bytes"
else ok 1 "bert-base.json predicts the built-in bert's bytes"; diff "$tmpdir/cfg2.csv" "$tmpdir/out" | diag; fi
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16; expect_rc 0 "a decoder's inference is predicted"
out_has "forward of lm_head" "its peak is at the LM head"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --mode train
expect_rc 0 "a Llama-family decoder's training step (eager attention) is predicted"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --mode train --attention fused --dtype bf16
expect_rc 0 "... with SDPA in bf16 too"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --mode train --attention fused
expect_rc 0 "... and in fp32 (PyTorch's math SDPA over grouped key/value heads)"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --mode forward --attention fused
expect_rc 0 "fp32 SDPA over grouped heads under autograd: the math kernel"
out_has "math SDPA\|forward of" "predicted"
sed 's/"attention_dropout": 0.0/"attention_dropout": 0.1/' "$hf/llama-gqa-tiny.json" >"$tmpdir/llama-drop.json"
run memory "$tmpdir/llama-drop.json" --batch 1 --seq 16 --mode forward --attention fused
expect_rc 2 "... with attention dropout it is refused"
one_line_error "fp32 SDPA over grouped key/value heads and dropout" "it names the kernel case"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --mode forward; expect_rc 0 "forward, eager"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --profile runtime
expect_rc 0 "the runtime profile of a decoder in inference (dlmem's runtime runs it)"
run memory "$hf/llama-gqa-tiny.json" --batch 1 --seq 16 --profile runtime --mode train
expect_rc 2 "... is refused for a training step"
one_line_error "inference only" "it says the runtime profile of these ops is inference only"
run memory "$hf/roberta-base.json" --batch 1 --seq 16 --profile runtime
expect_rc 2 "the runtime profile of RoBERTa is refused (its positions from the ids are not run)"
one_line_error "positions from the ids" "it names the op the runtime does not run"
run memory "$hf/mistral-tiny.json" --batch 1 --seq 16; expect_rc 0 "sliding-window attention (eager) is predicted"
run memory "$hf/mistral-tiny.json" --batch 1 --seq 16 --attention fused; expect_rc 2 "... with SDPA it is refused"
one_line_error "(sliding-window attention with SDPA (its mask picks the kernel)) has no memory rule yet" "it names the op and why"
run memory vit_b_16 --batch 1;    expect_rc 0 "vit_b_16's inference is predicted"
! grep -q ">= " "$tmpdir/out"; ok $? "the patch conv's cuDNN workspace has a probed row at B=1: complete"
run memory vit_b_16 --batch 300;  expect_rc 0 "vit_b_16 at B=300"
out_has ">= " "the patch conv has no row at B=300 (rows go to 256): the peak is a lower bound"
run memory vit_b_16 --batch 1 --mode train; expect_rc 0 "vit_b_16's training step is predicted (nn.MultiheadAttention's training path)"
out_has "optimizer step\|backward of" "it names where the peak is"
run memory vit_b_16 --batch 1 --mode train --dtype mixed --autocast bf16
expect_rc 0 "... and under autocast (the module's slow path: autocast disables the fast one)"
out_has "dtype mixed" "the table names the autocast configuration"
# advise on a decoder's inference: techniques the rules do not cover are rows that say so
run advise gpt2 --mode infer --seq 512 --format csv; expect_rc 0 "advise gpt2 in inference"
out_has ",mixed,precision,1," "autocast is evaluated (the decoders' autocast rules)"
out_has ",bf16,precision,1," "bf16 inference is evaluated"
# GPT-2's training step has rules: advise evaluates it, autocast too; what the rules
# do not cover for it (data parallelism, sharding) are rows saying so
run advise gpt2 --format csv;   expect_rc 0 "advise gpt2's training step"
out_has ",mixed,precision,1," "autocast: evaluated"
out_has ",zero3,sharding,0,.*not modelled for this network" "ZeRO-3: a row saying it is not modelled"
out_has ",bf16,precision,1," "pure bf16 training is evaluated"
out_has ",checkpoint-block,checkpoint,1," "checkpointing a decoder's layers is evaluated (gradient_checkpointing_enable)"
out_has ",checkpoint-stage,checkpoint,0,.*every layer or none" "... the whole ModuleList is not a technique: a row says why"
# --checkpoint block on memory and fit: transformers' gradient checkpointing
run memory gpt2 -b 4 -t 1024 --mode train --checkpoint block; expect_rc 0 "memory gpt2 --checkpoint block"
out_has "around each of 12 segments" "it says what is checkpointed (GPT-2's 12 layers)"
run memory gpt2 -b 4 -t 1024 --mode train --checkpoint block --format json; expect_rc 0 "... as JSON"
out_has '"checkpoint_segments": *12' "the JSON names the segments"
run memory gpt2 -b 4 -t 1024 --checkpoint block; expect_rc 2 "--checkpoint in inference (exit 2)"
one_line_error "inference keeps no activations" "it says why"
run memory gpt2 -b 4 -t 1024 --mode train --checkpoint stage; expect_rc 2 "--checkpoint stage on a decoder (exit 2)"
one_line_error "one by one" "it says transformers checkpoints each layer"
run memory gpt2 -b 4 -t 1024 --mode train --checkpoint layers; expect_rc 2 "--checkpoint layers (exit 2)"
one_line_error "not block or stage" "it names the values"
run memory lstm --mode train --checkpoint block; expect_rc 2 "--checkpoint on a network without blocks (exit 2)"
one_line_error "no blocks" "it says there is nothing to wrap"
run fit gpt2 --gpu rtx4090 --mode train --seq 1024 --checkpoint block; expect_rc 0 "fit gpt2 --checkpoint block"
out_has "largest batch" "it answers with a batch"
run memory gpt2 -b 2 -t 64 --mode train --lora 8 --checkpoint block; expect_rc 0 "LoRA with the decoder's checkpointing"
out_has "around each of 12 segments" "... checkpointed as without LoRA"
run memory gpt2 -b 2 -t 64 --mode train --attention fused; expect_rc 0 "GPT-2 training with SDPA is predicted"

# LoRA's memory (--lora): the adapters train, the rest is frozen
run memory gpt2 -b 4 -t 128 --mode train --attention fused --lora 8 --format json; expect_rc 0 "memory gpt2 --lora 8"
cp "$tmpdir/out" "$tmpdir/lora.json"
run memory gpt2 -b 4 -t 128 --mode train --attention fused --format json
json_eq "$tmpdir/lora.json" "d['points'][0]['breakdown']['optimizer'] == 2 * 4 * 12 * 8 * (768 + 2304)" True \
    "Adam keeps two fp32 states of the 12 adapters only (2 x 4 B x 12 x 8 x (768 + 2304))"
run memory gpt2 -b 4 -t 128 --mode train --lora 8 --profile runtime; expect_rc 2 "--lora with the runtime profile"
one_line_error "does not run adapters" "says the runtime runs no adapters"
run memory "$top_srcdir/data/nets/mlp.net" -b 4 --mode train --lora 8; expect_rc 2 "--lora on a network file without targets"
one_line_error "no default target modules" "asks for the target modules"
run memory "$top_srcdir/data/nets/mlp.net" -b 4 --mode train --lora 8,8,fc1+fc2; expect_rc 0 "--lora with targets named on a network file"

# LoRA adapters against peft (data/reference/peft_lora.csv: torch_reference.py lora)
ref="$top_srcdir/data/reference/peft_lora.csv"
tail -n +2 "$ref" | while IFS=, read -r model r alpha targets modules trainable total rest; do
    m=$model
    case $m in hf:*) m="$hf/${m#hf:}.json" ;; esac
    "$DLMEM" params "$m" --lora "$r" >"$tmpdir/lora.out" 2>&1
    want="on $targets ($modules modules): $(printf "%'d" "$trainable" 2>/dev/null || echo "$trainable") trainable"
    if grep -q "on $targets ($modules modules): " "$tmpdir/lora.out" &&
       grep -q "$(echo "$trainable" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') trainable" "$tmpdir/lora.out"; then
        echo "ok - $model --lora $r: $targets, $modules modules, $trainable trainable as peft"
    else
        echo "not ok - $model --lora $r: peft has $want"; sed 's/^/#   /' "$tmpdir/lora.out"
    fi
done >"$tmpdir/lora.tap"
n_lora=$(grep -c '^ok' "$tmpdir/lora.tap"); bad_lora=$(grep -c '^not ok' "$tmpdir/lora.tap")
sed 's/^/# /' "$tmpdir/lora.tap"
[ "$bad_lora" -eq 0 ] && [ "$n_lora" -ge 12 ]; ok $? "--lora matches peft on all $n_lora rows of peft_lora.csv ($bad_lora differ)"
run params resnet18 --lora 8;   expect_rc 2 "--lora without peft defaults for the model"
one_line_error "no default target modules" "it asks for the targets"
run params gpt2 --lora 8,8,q_proj; expect_rc 2 "--lora targets that match nothing"
run params gpt2 --lora 0;       expect_rc 2 "--lora rank 0"
done_testing
