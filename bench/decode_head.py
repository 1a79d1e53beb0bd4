"""The output head in slices of vocabulary rows while decoding (`safesteer.models.sliced_output_head`) against one
product per token, on CPU, in one process: the head product alone by batch and slice size, then whole calls of the
trainer's `sample_rollouts` (the `cpu` profile's 4 prompts x 2 samples x 48 tokens) and of the evaluation's greedy
`generate` (16 prompts, 32 tokens), alternating one product and slices, with the outputs compared token for token.

    OMP_NUM_THREADS=1 python bench/decode_head.py                       # 1 thread, 4 blocks
    OMP_NUM_THREADS=2 python bench/decode_head.py --threads 2           # the notebooks' 2 threads
    OMP_NUM_THREADS=1 python bench/decode_head.py --layers 24           # the full Qwen2.5-0.5B shape

The model is randomly initialised with the published Qwen2.5-0.5B shape, as in `opd_vs_trl.py`. Writes
bench/results/decode_head__<config>-<layers>l__cpu_<threads>t.json.
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import (RESULTS, add_bench_args, bench_tokenizer, bench_prompts, random_model, fixed_length_rollouts, machine,
                    write_result, log, best_seconds)
import safesteer.models
from safesteer.models import generate, sliced_linear
from safesteer.distill import sample_rollouts

def sliced_against_one(x:torch.Tensor, weight:torch.Tensor, slices, repeats:int=5) -> tuple[torch.Tensor, dict]:
    "`x @ weight.T` as one product, and its seconds against slices of each size in `slices`: speed-up and equality."
    one = torch.nn.functional.linear(x, weight)
    row = dict(one_product_s=best_seconds(lambda: torch.nn.functional.linear(x, weight), repeats))
    for rows in slices:
        t = best_seconds(lambda: sliced_linear(x, weight, None, rows), repeats)
        row[f'rows_{rows}'] = dict(seconds=t, speedup=row['one_product_s'] / t, identical=torch.equal(sliced_linear(x, weight, None, rows), one))
    return one, row

def head_products(weight:torch.Tensor, batches, slices) -> dict:
    """Seconds of the head product at each batch size as one product, in slices of each size and with the weight stored
    `[in, out]` (`x @ weight.T.contiguous()`); speed-ups over one product and equality."""
    out, in_out = {}, weight.t().contiguous()
    for b in batches:
        x = torch.randn(b, weight.shape[1])
        one, row = sliced_against_one(x, weight, slices)
        t = best_seconds(lambda: x @ in_out)   # the weight stored [in, out]: one product, no slices
        row['in_out'] = dict(seconds=t, speedup=row['one_product_s'] / t, identical=torch.equal(x @ in_out, one),
                             identical_to_rows_1024=torch.equal(x @ in_out, sliced_linear(x, weight, None, 1024)))
        out[f'batch_{b}'] = row
        log(f'batch {b}: ' + ', '.join(f'{k} {v["speedup"]:.2f}x' for k, v in row.items() if k.startswith('rows_') or k == 'in_out'))
    return out

def mlp_products(hidden:int, intermediate:int, batches=(8, 16), slices=(512, 1024)) -> dict:
    """The same comparison for one decoder block's MLP products (gate and up: hidden -> intermediate; down: back), random
    weights: slices, and MKL's packed GEMM (the weight packed once for the batch size)."""
    out = {}
    for name, shape in dict(gate_up=(intermediate, hidden), down=(hidden, intermediate)).items():
        weight = torch.randn(*shape) * 0.02
        for b in batches:
            x = torch.randn(b, shape[1])
            one, row = sliced_against_one(x, weight, slices, repeats=30)
            packed = torch.ops.mkl._mkl_reorder_linear_weight(weight, b)   # MKL's packed GEMM, as inductor's CPU path uses it
            t = best_seconds(lambda: torch.ops.mkl._mkl_linear(x, packed, weight, None, b), 30)
            row['mkl_packed'] = dict(seconds=t, speedup=row['one_product_s'] / t, identical=torch.equal(torch.ops.mkl._mkl_linear(x, packed, weight, None, b), one))
            out[f'{name}_batch_{b}'] = row
            log(f'{name} batch {b}: one product {row["one_product_s"] * 1e3:.2f} ms, ' +
                ', '.join(f'{k} {v["speedup"]:.2f}x' for k, v in row.items() if k != 'one_product_s'))
    return out

def timed(call, rows:int|None):
    "Wall and CPU seconds and the output of `call()` with the head in slices of `rows` (None: one product)."
    safesteer.models.DECODE_HEAD_ROWS = rows
    torch.manual_seed(0)
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    return time.perf_counter() - wall, time.process_time() - cpu, out

def compare_calls(name:str, call, same, rows:int, repeats:int) -> dict:
    "Alternate `repeats` calls of one product and of slices (after a warm-up of each); the best times and equality."
    timed(call, None); timed(call, rows)
    runs = {None: [], rows: []}
    for _ in range(repeats):
        for r in runs: runs[r].append(timed(call, r))
    one, sliced = min(runs[None], key=lambda t: t[0]), min(runs[rows], key=lambda t: t[0])
    result = dict(one_product=dict(seconds=one[0], cpu_seconds=one[1]), sliced=dict(seconds=sliced[0], cpu_seconds=sliced[1]),
                  speedup_wall=one[0] / sliced[0], speedup_cpu=one[1] / sliced[1],
                  identical=all(same(a[2], b[2]) for a, b in zip(runs[None], runs[rows])))
    log(f'{name}: {one[0]:.1f}s -> {sliced[0]:.1f}s wall ({result["speedup_wall"]:.2f}x, cpu {result["speedup_cpu"]:.2f}x), '
        f'identical outputs: {result["identical"]}')
    return result

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_args(ap, layers=4, steps=1)
    ap.add_argument('--rows', type=int, default=safesteer.models.DECODE_HEAD_ROWS, help='slice size of the whole calls')
    ap.add_argument('--repeats', type=int, default=2, help='timed calls of each kind (the best counts)')
    ap.add_argument('--products-only', action='store_true', help='time the head products alone, not the whole calls')
    args = ap.parse_args()
    if args.device != 'cpu': sys.exit('decode_head.py measures the CPU (the slices are only used there)')
    torch.set_num_threads(args.threads)
    tok = bench_tokenizer(args.tokenizer)
    prompts = bench_prompts(args.prompts)
    model = random_model(args.config, args.layers, tok=tok)
    fixed_length_rollouts(model, args.max_new_tokens)
    with torch.no_grad():
        products = head_products(model.get_output_embeddings().weight.detach(), (1, 2, 4, 8, 16, 32, 64), (256, 512, 1024, 2048, 4096))
    if args.products_only:
        return write_result(Path(args.out or RESULTS/f'decode_head__products__cpu_{args.threads}t.json'),
                            dict(benchmark='decode_head', command=' '.join(['python', 'bench/decode_head.py', *sys.argv[1:]]),
                                 model=f'output head of the {args.config} configuration, float32', machine=machine(args.device, args.threads),
                                 head_product=products, mlp_product=mlp_products(model.config.hidden_size, model.config.intermediate_size), note='seconds are the best of the repeats; identical: equal to one product exactly'))
    rollouts = compare_calls(
        'sample_rollouts', lambda: sample_rollouts(model, tok, prompts[:args.prompts_per_step], args.n_samples, args.max_new_tokens),
        lambda a, b: torch.equal(a.completions, b.completions), args.rows, args.repeats)
    model.generation_config.min_new_tokens = None
    evaluation = compare_calls(
        'generate (greedy, batch 16, 32 tokens)', lambda: generate(model, tok, prompts[:16], max_new_tokens=32, progress=False),
        lambda a, b: a == b, args.rows, args.repeats)
    result = dict(benchmark='decode_head', command=' '.join(['python', 'bench/decode_head.py', *sys.argv[1:]]),
                  model=f'random {args.config} configuration with {args.layers} decoder blocks, float32, no adapters',
                  settings={k: getattr(args, k) for k in ('config', 'layers', 'prompts_per_step', 'n_samples', 'max_new_tokens',
                                                          'rows', 'repeats')},
                  machine=machine(args.device, args.threads),
                  head_product=products, sample_rollouts=rollouts, generate=evaluation,
                  note='seconds are the best of the repeats; identical: the sliced outputs equal the one-product outputs exactly')
    write_result(Path(args.out or RESULTS/f'decode_head__{args.config}-{args.layers}l__cpu_{args.threads}t.json'), result)

if __name__ == '__main__': main()
