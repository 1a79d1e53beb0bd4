"""Pilot of the capability evaluation on a real model: per-benchmark accuracy against chance on a few dozen items each,
per-item outcomes kept, and an estimate of how many items a paired base-vs-method comparison needs.

    OMP_NUM_THREADS=1 python bench/capability_pilot.py --n 20

Each benchmark is saved under runs/capability_pilot/<model>/ as it finishes (a rerun resumes), and the summary goes to
figures/05_evaluate__<model>__capability_pilot.json.

Sample size: for paired zero-one outcomes the per-item difference d has variance q - delta^2, q the share of items on
which the two models disagree (discordance), so the pooled difference's stderr is about sqrt(q / n) and a target
stderr s needs n >= q / s^2. The pilot has only the base model, so q is given for scenarios, and for the bound that
the two models' errors are independent at the base model's accuracy (q = 2 p (1 - p) per benchmark), far more
discordance than a method that keeps the base model's general behaviour."""
import argparse, json, math, os, platform, sys, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
MC = ('arc_easy', 'arc_challenge', 'boolq', 'piqa', 'sciq', 'hellaswag', 'winogrande', 'mmlu')

def summary(result, target_stderr:float) -> dict:
    from safesteer.evaluate import item_outcomes, binomial_stderr
    outcomes = item_outcomes(result.samples)
    benches, independent = {}, []
    for row in result.rows:
        name = row['benchmark']
        if name in benches: continue
        p, n, chance = row['value'], row['n'], row['chance']
        entry = dict(metric=row['metric'], n=n, value=round(p, 4), stderr=round(row['stderr'], 4),
                     chance=None if chance != chance else round(chance, 4))
        if entry['chance'] is not None:
            entry['above_chance_z'] = round((p - chance) / binomial_stderr(chance, n), 2)
            entry['well_above_chance'] = bool(p - chance > 2 * binomial_stderr(chance, n))
        entry['items'] = outcomes[name]
        benches[name] = entry
        independent += [2 * p * (1 - p)] * n
    q_indep = sum(independent) / len(independent) if independent else float('nan')
    need = lambda q: math.ceil(q / target_stderr ** 2)
    return dict(benchmarks=benches, sample_size=dict(
        target_stderr=target_stderr, formula='n >= q / s^2 (q: share of items on which base and method disagree)',
        independent_errors=dict(q=round(q_indep, 4), n=need(q_indep)),
        scenarios={f'q={q}': need(q) for q in (0.01, 0.02, 0.05, 0.1)},
        note='only the base model was scored: q is not measured here; score the method on these items '
             '(item ids under benchmarks.*.items) and use its measured discordance'))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    p.add_argument('--n', type=int, default=20, help='items per multiple-choice benchmark')
    p.add_argument('--gsm8k-n', type=int, default=0, help='GSM8K items (0: skip)')
    p.add_argument('--humaneval-n', type=int, default=0, help='HumanEval items (0: skip)')
    p.add_argument('--benchmarks', nargs='*', default=list(MC))
    p.add_argument('--more', nargs='*', default=[], metavar='NAME=N', help='another number of items for these benchmarks')
    p.add_argument('--target-stderr', type=float, default=0.005)
    args = p.parse_args(argv)
    from safesteer.models import load_model
    from safesteer.evaluate import evaluate, EvalConfig
    torch.set_num_threads(1)
    wanted = {b: args.n for b in args.benchmarks}
    wanted.update({k: int(v) for k, v in (m.split('=', 1) for m in args.more)})
    if args.gsm8k_n: wanted['gsm8k'] = args.gsm8k_n
    if args.humaneval_n: wanted['humaneval'] = args.humaneval_n
    t0 = time.time(); model, tok = load_model(args.model); load_s = time.time() - t0
    cfg = EvalConfig(logit_judge=False, batch_size=8, mc_batch_size=8, mc_shared_prefix=True, humaneval_max_new_tokens=256)
    res = evaluate(model, tok, wanted, cfg, model_name=args.model, on_error='warn',
                   output_dir=ROOT/'runs'/'capability_pilot'/args.model)
    out = summary(res, args.target_stderr)
    if 'humaneval' in res.samples:
        out['humaneval_status'] = {s['item_id']: s['status'] for s in res.samples['humaneval']}
    out['meta'] = dict(model=args.model, threads=1, load_seconds=round(load_s, 1), seconds=res.seconds, errors=res.errors,
                       resumed=res.resumed, load_average=round(os.getloadavg()[0], 2), torch=torch.__version__,
                       python=platform.python_version(), scoring='log-likelihood, shared-prefix KV cache (same scores)',
                       command='OMP_NUM_THREADS=1 python bench/capability_pilot.py ' + ' '.join(sys.argv[1:] if argv is None else argv))
    path = ROOT/'figures'/f'05_evaluate__{args.model}__capability_pilot.json'
    path.write_text(json.dumps(out, indent=1) + '\n')
    print(json.dumps({k: {m: v[m] for m in v if m != 'items'} for k, v in out['benchmarks'].items()}, indent=1))
    print(json.dumps(out['sample_size'], indent=1)); print('wrote', path)

if __name__ == '__main__': main()
