"""Where rollout generation spends its time, on CPU: one `sample_rollouts` call of the trainer's shape under the
PyTorch profiler, its operators grouped into the output-head product, the decoder blocks, the per-token work
over the full vocabulary (sampling and logits processing) and the rest, with the output head's achieved memory
bandwidth against a plain copy of a tensor of the same size, and the head product's GFLOP/s alone by batch size.

    OMP_NUM_THREADS=1 python bench/generation_profile.py              # 4 blocks, cpu profile shape (4 x 2 x 48)
    OMP_NUM_THREADS=1 python bench/generation_profile.py --layers 24  # the full Qwen2.5-0.5B shape

The model is randomly initialised with the published Qwen2.5-0.5B shape, as in `opd_vs_trl.py`. End of turn is not
suppressed here (a logits processor would add its own full-vocabulary work); a random model practically never
samples it, and the generated lengths are recorded. Writes bench/results/generation_profile__<config>-<layers>l__cpu.json.
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from torch.profiler import profile
from common import RESULTS, add_bench_args, bench_tokenizer, bench_prompts, random_model, machine, write_result, log, best_seconds

def category(name:str, shapes:list, vocab:int) -> str:
    "The part of decoding an operator belongs to, from its name and input shapes."
    dims = [d for s in shapes if isinstance(s, list) for d in s]
    if name in ('aten::mm', 'aten::addmm', 'aten::matmul', 'aten::linear'):
        return 'output_head_product' if vocab in dims else 'decoder_blocks'
    if vocab in dims: return 'full_vocabulary_elementwise'
    if 'attention' in name or name in ('aten::silu', 'aten::mul', 'aten::add', 'aten::rsqrt', 'aten::pow', 'aten::mean',
                                       'aten::cat', 'aten::neg', 'aten::embedding'):
        return 'decoder_blocks'
    return 'other'

def head_product_rates(weight:torch.Tensor, batches=(1, 8, 64)) -> dict:
    """GFLOP/s of the output-head product alone at several batch sizes, as the model computes it (`linear` on the
    `[vocab, d]` weight) and against a contiguous transposed `[d, vocab]` copy, with a square product's rate."""
    d, rates = weight.shape[1], {}
    transposed = weight.t().contiguous()
    for b in batches:
        x = torch.randn(b, d)
        flop = 2 * b * d * weight.shape[0]
        rates[f'batch_{b}'] = dict(linear=flop / best_seconds(lambda: torch.nn.functional.linear(x, weight)) / 1e9,
                                   transposed=flop / best_seconds(lambda: x @ transposed) / 1e9)
    a = torch.randn(2048, 2048)
    rates['square_2048'] = 2 * 2048**3 / best_seconds(lambda: a @ a) / 1e9
    return rates

def copy_bandwidth_gb_s(numel:int) -> float:
    "Best GB per second moved (read + write) by copying a float32 tensor of `numel` elements."
    src, dst = torch.randn(numel), torch.empty(numel)
    return 2 * 4 * numel / best_seconds(lambda: dst.copy_(src)) / 1e9

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_args(ap, layers=4, steps=1)
    args = ap.parse_args()
    if args.device != 'cpu': sys.exit('generation_profile.py measures the CPU')
    from safesteer.distill import sample_rollouts
    import safesteer.models
    safesteer.models.DECODE_HEAD_ROWS = None   # one head product per token: `decode_head.py` measures the slices
    torch.set_num_threads(args.threads)
    tok = bench_tokenizer(args.tokenizer)
    prompts = bench_prompts(args.prompts)[:args.prompts_per_step]
    model = random_model(args.config, args.layers, tok=tok)
    call = lambda: sample_rollouts(model, tok, prompts, args.n_samples, args.max_new_tokens)
    call()                                                   # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    ro = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with profile(record_shapes=True) as prof: call()
    vocab, parts = model.config.vocab_size, {}
    ops = prof.key_averages(group_by_input_shape=True)
    for e in ops:
        part = category(e.key, e.input_shapes, vocab)
        parts[part] = parts.get(part, 0.) + e.self_cpu_time_total / 1e6
    total = sum(parts.values())
    top = sorted(ops, key=lambda e: -e.self_cpu_time_total)[:12]
    head = model.get_output_embeddings().weight
    head_s = next(e.self_cpu_time_total / 1e6 / e.count for e in top if category(e.key, e.input_shapes, vocab) == 'output_head_product')
    head_bytes = head.numel() * head.element_size()
    head_gb_s = head_bytes / head_s / 1e9
    copy_gb_s = copy_bandwidth_gb_s(head.numel())
    with torch.no_grad(): rates = head_product_rates(head.detach())
    log('head product GFLOP/s:', rates)
    log(f'one call: {wall:.1f}s wall, {cpu:.1f}s cpu; shares of profiled operator time: '
        + ', '.join(f'{k} {v / total:.1%}' for k, v in sorted(parts.items(), key=lambda kv: -kv[1])))
    log(f'output head product: {head_s * 1e3:.1f} ms per token, {head_gb_s:.1f} GB/s of weights read; copy bandwidth {copy_gb_s:.1f} GB/s')
    tokens = int(ro.mask.sum())
    result = dict(benchmark='generation_profile', command=' '.join(['python', 'bench/generation_profile.py', *sys.argv[1:]]),
                  model=f'random {args.config} configuration with {args.layers} decoder blocks, float32, no adapters',
                  settings={k: getattr(args, k) for k in ('config', 'layers', 'prompts_per_step', 'n_samples', 'max_new_tokens')},
                  machine=machine(args.device, args.threads),
                  call=dict(seconds=wall, cpu_seconds=cpu, completion_tokens=tokens, tokens_per_s=tokens / wall,
                            tokens_per_cpu_s=tokens / cpu, lengths=ro.mask.sum(1).tolist()),
                  profiled_seconds=parts, share={k: v / total for k, v in parts.items()},
                  output_head=dict(seconds_per_token=head_s, weight_mb=head_bytes / 2**20,
                                   weight_read_gb_s=head_gb_s, copy_gb_s=copy_gb_s, read_over_copy=head_gb_s / copy_gb_s,
                                   product_gflop_s=rates),
                  top_operators=[dict(name=e.key, shapes=e.input_shapes, calls=e.count, self_seconds=e.self_cpu_time_total / 1e6,
                                      part=category(e.key, e.input_shapes, vocab)) for e in top],
                  note='profiled operator self time (the profiler adds overhead; shares, not seconds, are the result); '
                       'copy_gb_s counts read and write, weight_read_gb_s only the read of the head weight')
    write_result(Path(args.out or RESULTS/f'generation_profile__{args.config}-{args.layers}l__cpu.json'), result)

if __name__ == '__main__': main()
