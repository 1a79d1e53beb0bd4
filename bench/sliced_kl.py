"""Memory and speed of the masked OPD loss (`safesteer.distill.distill_loss`, `chunked`: from hidden states, a chunk
of tokens at a time, each chunk's gradient taken in the forward pass) against a naive implementation that
materialises full-vocabulary log-softmaxes for student and teacher, and against `checkpointed`
(bench/checkpointed_loss.py), the loss before (each chunk recomputed in the backward pass by activation checkpointing).

    python bench/sliced_kl.py                       # Qwen's vocabulary, batch 2 x 256 tokens on CPU
    python bench/sliced_kl.py --batch 8 --seq 512   # the full-size comparison (naive needs ~11 GB on CPU)
    OMP_NUM_THREADS=1 python bench/sliced_kl.py --variants naive,chunked,checkpointed --batch 4 --seq 512 \
        --out bench/results/sliced_kl__b4s512__cpu.json    # half the full size, naive within ~6 GB; after vs before
    OMP_NUM_THREADS=1 python bench/sliced_kl.py --variants checkpointed,chunked --batch 8 --seq 48 --frozen-head \
        --chunk 64 --out bench/results/sliced_kl__cpu_profile.json   # the cpu profile's loss (LoRA: frozen head)

Each variant runs in its own process so its peak memory (RSS above the inputs, or CUDA peak allocation) is its own;
times are the best of --repeats, in wall and process-CPU seconds (the latter robust to other jobs on a shared CPU).
Values and gradients (of the hidden states, and of the head unless --frozen-head) are compared in the parent, each
variant against the first, and `chunked` against `checkpointed` (after/before). Writes bench/results/sliced_kl.json.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from safetensors.torch import save_file, load_file
from common import RESULTS, rss_mb, peak_rss_mb, reset_peak_rss, run_variant, forwarded_args, write_result

def build(args, device):
    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(args.hidden, args.vocab, bias=False)
    with torch.no_grad(): head.weight.copy_(torch.randn(args.vocab, args.hidden, generator=g) * 0.02)
    s_h = (torch.randn(args.batch, args.seq, args.hidden, generator=g)).to(device).requires_grad_(True)
    t_h = torch.randn(args.batch, args.seq, args.hidden, generator=g).to(device)
    targets = torch.randint(0, args.vocab, (args.batch, args.seq), generator=g).to(device)
    mask = torch.ones(args.batch, args.seq, device=device)
    ids = torch.randperm(args.vocab, generator=g)[:args.k].to(device)
    return head.to(device), s_h, t_h, targets, mask, ids

VARIANTS = ('naive', 'chunked', 'checkpointed')

def naive(head, s_h, t_h, mask, ids):
    s_logp = head(s_h).float().log_softmax(-1)                      # [b, T, V]
    with torch.no_grad(): t_logp = head(t_h).float().log_softmax(-1)
    s, t = s_logp[..., ids], t_logp[..., ids]
    per_token = (s.exp() * (s - t)).sum(-1)
    return ((per_token * mask).sum(1) / mask.sum(1)).mean()

def chunked(head, s_h, t_h, targets, mask, ids, chunk):
    from safesteer.distill import distill_loss, LossConfig
    return distill_loss(s_h, t_h, targets, mask, head, head, ids, LossConfig(chunk_size=chunk))[0]

def checkpointed(head, s_h, t_h, targets, mask, ids, chunk):
    from checkpointed_loss import checkpointed_distill_loss
    from safesteer.distill import LossConfig
    return checkpointed_distill_loss(s_h, t_h, targets, mask, head, head, ids, LossConfig(chunk_size=chunk))[0]

def child(args):
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    head, s_h, t_h, targets, mask, ids = build(args, device)
    head.requires_grad_(not args.frozen_head)
    base_rss = rss_mb(); reset_peak_rss()   # the peak from here on, not the inputs' construction
    if device == 'cuda': torch.cuda.reset_peak_memory_stats(); torch.cuda.synchronize()
    base_cuda = torch.cuda.memory_allocated() if device == 'cuda' else 0
    times, cpu_times = [], []
    for _ in range(args.repeats):
        s_h.grad = head.weight.grad = None
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = (naive(head, s_h, t_h, mask, ids) if args.variant == 'naive' else
                chunked(head, s_h, t_h, targets, mask, ids, args.chunk) if args.variant == 'chunked' else
                checkpointed(head, s_h, t_h, targets, mask, ids, args.chunk))
        loss.backward()
        if device == 'cuda': torch.cuda.synchronize()
        times.append(time.perf_counter() - start); cpu_times.append(time.process_time() - cpu_start)
    out = dict(variant=args.variant, loss=loss.item(), seconds=min(times), cpu_seconds=min(cpu_times),
               peak_rss_mb=peak_rss_mb() - base_rss,
               peak_cuda_mb=(torch.cuda.max_memory_allocated() - base_cuda) / 2**20 if device == 'cuda' else None)
    grads = {'grad': s_h.grad} if args.frozen_head else {'grad': s_h.grad, 'head_grad': head.weight.grad}
    save_file({k: v.cpu().contiguous() for k, v in grads.items()}, args.grad_file)
    print(json.dumps(out))

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--vocab', type=int, default=151_936); ap.add_argument('--hidden', type=int, default=896)
    ap.add_argument('--batch', type=int, default=2); ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--k', type=int, default=50, help='|S|'); ap.add_argument('--chunk', type=int, default=256)
    ap.add_argument('--repeats', type=int, default=2); ap.add_argument('--variant', choices=VARIANTS)
    ap.add_argument('--variants', default='naive,chunked', help=f'comma-separated, each compared with the first: {", ".join(VARIANTS)}')
    ap.add_argument('--frozen-head', action='store_true', help='no gradient for the output head (LoRA training)')
    ap.add_argument('--grad-file')
    ap.add_argument('--out', default=str(RESULTS/'sliced_kl.json'), help='where the JSON goes')
    args = ap.parse_args()
    if args.variant: return child(args)
    results, grads = {}, {}
    variants = args.variants.split(',')
    forwarded = forwarded_args(args, ['vocab', 'hidden', 'batch', 'seq', 'k', 'chunk', 'repeats']) + (
        ['--frozen-head'] if args.frozen_head else [])
    for variant in variants:
        grad_file = f'/tmp/sliced_kl_grad_{variant}.safetensors'
        results[variant] = run_variant(__file__, variant, ['--grad-file', grad_file, *forwarded])
        if 'error' in results[variant]: sys.exit(f'{variant} failed ({results[variant]["error"]}); its stderr is above')
        grads[variant] = load_file(grad_file)
        print(variant, results[variant], flush=True)
    mem = 'peak_cuda_mb' if results[variants[0]]['peak_cuda_mb'] is not None else 'peak_rss_mb'
    rel = lambda a, b: abs(a - b) / max(abs(b), 1e-30)
    def compare(v, base):
        ref = results[base]
        return dict(loss_rel_diff=rel(results[v]['loss'], ref['loss']),
                    **{f'{k}_rel_diff': ((grads[v][k] - grads[base][k]).norm() / grads[base][k].norm()).item() for k in grads[base]},
                    memory_ratio=results[v][mem] / ref[mem], speed_ratio=ref['seconds'] / results[v]['seconds'],
                    cpu_time_speed_ratio=ref['cpu_seconds'] / results[v]['cpu_seconds'])
    pairs = [(v, variants[0]) for v in variants[1:]] + (
        [('chunked', 'checkpointed')] if {'chunked', 'checkpointed'} <= set(variants[1:]) else [])
    comparisons = {f'{v}/{base}': compare(v, base) for v, base in pairs}
    summary = dict(command=' '.join(['python', 'bench/sliced_kl.py', *sys.argv[1:]]),
                   settings={k: getattr(args, k) for k in ('vocab', 'hidden', 'batch', 'seq', 'k', 'chunk', 'frozen_head')},
                   gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                   device='cuda' if torch.cuda.is_available() else 'cpu', machine=platform.machine(), cpu_count=os.cpu_count(),
                   threads=torch.get_num_threads(), load_average=os.getloadavg(), memory_metric=mem, comparisons=comparisons, **results)
    write_result(Path(args.out), summary)
    print(json.dumps(comparisons, indent=1))

if __name__ == '__main__': main()
