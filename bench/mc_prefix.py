"""Multiple-choice scoring with and without the shared prefix: the same items scored by `continuation_logprobs`
(every choice a full sequence, batched) and by `shared_prefix_logprobs` (the prefix once, the choices on its KV cache).
Prints and saves the seconds of each, their ratio, and the largest score difference.

    OMP_NUM_THREADS=1 python bench/mc_prefix.py --benchmark arc_easy --n 24
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import torch

RESULTS = Path(__file__).parent/'results'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    p.add_argument('--benchmark', default='arc_easy')
    p.add_argument('--n', type=int, default=24)
    p.add_argument('--batch-size', type=int, default=8, help='sequences per batch of the plain scoring')
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args(argv)
    from safesteer.models import load_model
    from safesteer.evaluate import load_items, mc_requests, continuation_logprobs, shared_prefix_logprobs, mc_predictions
    torch.set_num_threads(args.threads)
    t = time.time(); model, tok = load_model(args.model); load_s = time.time() - t
    items = load_items(args.benchmark, args.n, 0)
    requests = [mc_requests(args.benchmark, it) for it in items]
    flat = [(c, x) for cs, xs in requests for c, x in zip(cs, xs)]
    load0 = os.getloadavg()[0]
    t = time.time(); plain = continuation_logprobs(model, tok, flat, args.batch_size, progress=True); plain_s = time.time() - t
    t = time.time(); shared = shared_prefix_logprobs(model, tok, requests, progress=True); shared_s = time.time() - t
    shared_flat = [s for row in shared for s in row]
    diff = max(abs(a[0] - b[0]) for a, b in zip(plain, shared_flat))
    k, same = 0, 0
    for (cs, xs) in requests:
        a = [s for s, _ in plain[k:k + len(xs)]]; b = [s for s, _ in shared_flat[k:k + len(xs)]]; k += len(xs)
        same += mc_predictions(a, xs) == mc_predictions(b, xs)
    tokens = dict(plain=sum(len(tok(c + x).input_ids) for c, x in flat))
    out = dict(model=args.model, benchmark=args.benchmark, n_items=len(items), n_pairs=len(flat), threads=args.threads,
               plain_seconds=round(plain_s, 2), shared_prefix_seconds=round(shared_s, 2), speedup=round(plain_s / shared_s, 2),
               max_abs_score_diff=diff, same_predictions=f'{same}/{len(items)}', plain_input_tokens=tokens['plain'],
               load_seconds=round(load_s, 1), load_average=[round(load0, 2), round(os.getloadavg()[0], 2)],
               cpu_count=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
               note='wall-clock on a shared 2-core machine: the load average says how busy it was',
               command='OMP_NUM_THREADS=1 python bench/mc_prefix.py ' + ' '.join(sys.argv[1:] if argv is None else argv))
    print(json.dumps(out, indent=1))
    path = RESULTS/f'mc_prefix__{args.model}__cpu.json'
    path.write_text(json.dumps(out, indent=1) + '\n')
    print('wrote', path)

if __name__ == '__main__': main()
