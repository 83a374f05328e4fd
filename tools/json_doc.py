#!/usr/bin/env python3
"""json_doc.py DLMEM > doc/json.md: writes the tables of doc/json.md from real output
(run it after adding members; keep the conditions and meanings below up to date)."""
import json, subprocess, sys
# members whose type varies with the input beyond what the sample runs show
TYPES = {'fits_unless_workspace_exceeds_bytes': {'integer', 'null'}}
D = {
 'complete': 'true when every term of the prediction is known; false: the peak is a lower bound',
 'n_unknown': 'how many terms are not known', 'unknown': 'the terms not known (library workspaces no GPU measured)',
 'probe_command': 'the dlmem probe command that would measure them ("" when complete)',
 'fits_unless_workspace_exceeds_bytes': 'fits unless the unknown workspaces exceed this many bytes (null: complete or does not fit)',
 'cudnn_version': 'cuDNN version the workspace rows are for', 'cudnn_version_rows': 'the cuDNN version of the rows used',
 'checkpoint_segments': 'segments run under torch.utils.checkpoint (--checkpoint; 0: none)',
 'dlmem_version': 'the dlmem that wrote the document', 'schema': 'this document\'s schema, e.g. "dlmem.memory/1"; a new number means a changed meaning',
 'model': 'network name (built-in, or a network file\'s [net] name)',
 'set': 'the knobs the model was built with, as the data recorded them ("upsample=1", "height=160;base=32"; "" for the defaults)', 'pytorch': 'the PyTorch code the network matches',
 'batch': 'batch size B', 'seq': 'sequence length T (0: the model has none)', 'mode': 'infer, forward or train',
 'dtype': 'fp32, fp16, bf16 or mixed', 'profile': 'pytorch (max_memory_allocated) or runtime (dlmem\'s runtime)',
 'attention': 'eager or fused', 'optimizer': 'adam, sgd, sgd-momentum or adam8bit', 'gpu': 'the GPU named (or "given" for --memory)',
 'sm': 'GPU architecture x10 (selects measured workspace rows)', 'peak_where': 'where the peak happens, in words',
 'workspace_note': 'how library workspaces no law gives are known ("" when none)', 'peak_phase': 'forward, backward or step',
 'context_measured': 'true: the CUDA context figure was measured on this architecture; false: an estimate',
 'context_source': 'how the context figure is known', 'memory_source': 'where the memory figure comes from (or how --memory was read)',
 'text': 'explanation for people', 'max_batch': 'largest batch that fits (0: none)', 'max_seq': 'largest sequence length that fits (0: none)',
 'fits': 'the peak fits the usable memory', 'technique': 'technique name (dlmem advise --help lists them)', 'applicable': 'the technique applies to this network and workload',
 'model_only': 'priced by the model only (PyTorch did not run it for the reference data)', 'note': 'why not applicable, or a caveat', 'what': 'what the technique does, and its price',
 'saved_share': 'share of the baseline peak saved', 'recompute_share': 'extra forward work as a share of the forward', 'risk': 'none, low, medium or high',
 'gpus': 'GPUs the technique needs', 'gpu_batch': 'batch per GPU', 'family': 'precision, checkpoint, optimizer, ...', 'index': 'op number (1 = first)',
 'layer': 'op name', 'op': 'op kind', 'saved': 'what autograd keeps for backward', 'transient': 'the largest temporary inside the op',
 'output_elements': 'elements of the op\'s output', 'forward_rise_bytes': 'bytes the op adds while it runs forward (library workspaces included)',
 'backward_rise_bytes': 'the same in backward (train mode)', 'binding_term': 'the term of the peak that grows most with the searched variable',
 'binding_growth_bytes': 'its average growth per unit of B (or T)', 'rounding_step_bytes': 'the allocator rounding\'s jump from the best value to the next',
 'next_peak_bytes': 'the peak one step past the best value (0 at the search limit)', 'usable_bytes': 'memory minus context minus margin',
 'margin_bytes': 'headroom kept free (--margin)', 'searched': 'batch or seq', 'params': 'parameter count', 'numel': 'elements',
 'peak_formula_bytes': 'the peak as a polynomial in B and T around this point (bytes, before rounding)',
 'x': 'the varying B or T', 'line': 'line of the input file', 'predicted_bytes': 'dlmem\'s prediction at this point',
 'residual_bytes': 'measured minus predicted', 'kind': 'a finding\'s kind (or a tensor\'s: parameter, buffer)', 'fitted': '1 when the series was fitted',
 'fit_reason': 'why a series was not fitted', 'coef_bytes': 'fitted coefficients c0, c1, (c2) in bytes', 'se_bytes': 'their standard errors', 'verdict': 'right, wrong, ...', 'label': 'the series in words',
}
def meaning(path):
    k = path.split('.')[-1].replace('[]', '')
    if k in D: return D[k]
    if k.endswith('_bytes'): return 'bytes'
    if k.startswith('peak') or k.startswith('breakdown'): return 'bytes'
    return ''
CNT = {}
def walk(v, p, out):
    t = {dict:'object', list:'array', str:'string', bool:'boolean', int:'integer', float:'number', type(None):'null'}[type(v)]
    out.setdefault(p, set()).add(t)
    CNT[p] = CNT.get(p, 0) + 1
    if isinstance(v, dict):
        for k, x in v.items(): walk(x, (p + '.' if p else '') + k, out)
    elif isinstance(v, list):
        for x in v: walk(x, p + '[]', out)
docs = [
 ('dlmem.models/1', 'dlmem models --format json', ['models'], {}),
 ('dlmem.params/1', 'dlmem params MODEL --format json', ['params', 'resnet18', '--view', 'seed'], {'pytorch_reference': 'always (null for a network file or changed sizes)', 'seed': 'with --view seed or --seed FILE'}),
 ('dlmem.memory/1', 'dlmem memory MODEL --format json', ['memory', 'bert', '-b', '1,2', '-t', '64', '--mode', 'train', '--per-layer'], {'layers': 'with --per-layer'}),
 ('dlmem.fit/1', 'dlmem fit MODEL --format json', ['fit', 'bert', '--gpu', 'h200'], {}),
 ('dlmem.gpus/1', 'dlmem fit --gpu list --format json', ['fit', 'x', '--gpu', 'list'], {}),
 ('dlmem.advise/1', 'dlmem advise MODEL --format json', [['advise', 'resnet18', '--seed'], ['advise', 'resnet18', '--batch', '256'], ['advise', 'lstm', '--batch', '256', '--seq', '1000']], {'precision': 'training workloads', 'cheapest_fitting': 'when the workload does not fit', 'also_fitting': 'when the workload does not fit', 'lowest_single_gpu': 'when the workload does not fit', 'precision.seed_claimed_share': 'with --seed', 'combinations_evaluated': 'when the workload does not fit', 'combinations_fitting': 'when the workload does not fit', 'techniques[].rnn_chunks': 'checkpoint-chunks on an RNN', 'checkpoint_chunks': 'networks with an RNN'}),
 ('dlmem.reconcile/1', 'dlmem reconcile CSV... --format json', ['reconcile', 'data/reference/pytorch_memory.csv'], {'series[].linear': 'fitted series', 'series[].quadratic': 'fitted series', 'series[].power_law': 'fitted series', 'series[].prediction': 'series dlmem can predict'}),
 ('dlmem.audit/1', 'dlmem audit [FILE...] --format json', ['audit'], {}),
]
out = ['# dlmem\'s JSON documents', '',
'Every `--format json` output is one JSON object (written with jansson) whose first two',
'members are `dlmem_version` and `schema`.  The schema names what the document holds',
'and its version; fields are only ever added within a version, so a reader must ignore',
'members it does not know.  Bytes are JSON integers.  Strings are valid UTF-8: a byte',
'that is not (a network name from a file, say) is written as U+FFFD.',
'',
'Each table lists a schema\'s members as paths (`a.b`: member b of object a; `a[]`: every',
'element of array a) with their JSON type.  **when** says whether a member is always',
'there or under which condition.  `tests/json_schema.py` checks real output of every',
'command against these tables (`make check`, tests/cli_json.sh), so they are kept true;',
'tools/json_doc.py regenerates them from real output.',
'A build without jansson (`./configure --without-jansson`) refuses `--format json`.',
'']
dl = sys.argv[1]
for schema, how, args, cond in docs:
    runs = args if isinstance(args[0], list) else [args]
    CNT.clear()
    o = {}
    seen = []
    for r in runs:
        j = json.loads(subprocess.run([dl] + r + ['--format', 'json'], capture_output=True, text=True, check=True).stdout)
        oo = {}
        walk(j, '', oo)
        seen.append(set(oo))
        for k, v in oo.items(): o.setdefault(k, set()).update(v)
    out += ['## ' + schema, '', 'Produced by `' + how + '`.', '', '| field | type | when | meaning |', '| --- | --- | --- | --- |']
    for p, ts in o.items():
        if not p: continue
        parts = p.split('.')
        # open-ended name maps (terms by name) are documented as their object only
        if any(x in ('named', 'breakdown', 'param_bytes') for x in parts[:-1]) and not p.endswith('breakdown'):
            if parts[-2] in ('named',): continue
        parent = p.rsplit('.', 1)[0] if '.' in p else ''
        per_elem = (CNT.get(p, 0) == CNT.get(parent, 1) if parent else True) or p.endswith('[]')
        when = 'always' if all(p in x for x in seen) and per_elem else 'not always'
        if when == 'not always' and (parent.endswith('techniques[]') or parent.endswith('also_fitting[]') or parent in ('baseline', 'cheapest_fitting', 'lowest_single_gpu')):
            when = 'applicable techniques'
        for c, w in cond.items():
            if p == c or p.startswith(c + '.') or p.startswith(c + '['): when = w
        ts = set(ts) | TYPES.get(p.split('.')[-1].replace('[]', ''), set())
        if ts == {'integer', 'number'}: ts = {'number'}
        if when.startswith('always (null'): ts.add('null')
        out.append('| `%s` | %s | %s | %s |' % (p, '\\|'.join(sorted(ts)), when, meaning(p)))
    out.append('')
print('\n'.join(out))
