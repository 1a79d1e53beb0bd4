"""How a model's zero-shot multiple-choice answers spread over the letters: accuracy against chance, and the share of
each predicted and each correct choice, from a saved evaluation of one benchmark (a `<benchmark>.json` that
`safesteer.evaluate.evaluate` keeps in its output folder), or computed now when none is given.

    python tools/mc_letter_bias.py --saved ~/.cache/safesteer/runs/qwen2.5-coder-0.5b-instruct/base-78fc2b60/eval-ad476834/mmlu.json
    OMP_NUM_THREADS=1 python tools/mc_letter_bias.py --benchmark mmlu --n 1000    # about 80 minutes on one thread

Writes figures/05_evaluate__<model>__<benchmark>_letters.json.
"""
import argparse, json, math
from collections import Counter
from pathlib import Path
from safesteer.evaluate import EvalConfig, evaluate
from safesteer.models import DEFAULT_MODEL, load_model
from safesteer.report import artifact_path, write_json

ROOT = Path(__file__).resolve().parents[1]

def letter_shares(samples:list[dict]) -> dict:
    "Accuracy, chance and the share of each predicted and each correct choice (A, B, ...)."
    n, letters = len(samples), 'ABCDEFGHIJ'
    share = lambda c: {letters[k]: round(v / n, 4) for k, v in sorted(c.items())}
    acc = sum(r['pred'] == r['label'] for r in samples) / n
    return dict(n=n, acc=round(acc, 4), stderr=round(math.sqrt(acc * (1 - acc) / n), 4),
                chance=round(sum(1 / r['n_choices'] for r in samples) / n, 4),
                predicted=share(Counter(r['pred'] for r in samples)), correct=share(Counter(r['label'] for r in samples)))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    ap.add_argument('--benchmark', default='mmlu')
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--saved', default='', help="a saved evaluation of the benchmark (its key must name --model's weights)")
    args = ap.parse_args()
    if args.saved:
        saved = json.loads(Path(args.saved).expanduser().read_text())
        samples, source = saved['value']['samples'], dict(saved=str(args.saved), key=saved['key'])
    else:
        model, tok = load_model(args.model)
        result = evaluate(model, tok, {args.benchmark: args.n}, EvalConfig(mc_shared_prefix=True, progress=False), model_name=args.model)
        samples, source = result.samples[args.benchmark], dict(computed=True)
    report = dict(model=args.model, benchmark=args.benchmark, **letter_shares(samples), source=source)
    path = write_json(artifact_path(ROOT/'figures', '05_evaluate', args.model, f'{args.benchmark}_letters.json'), report)
    print(json.dumps({k: v for k, v in report.items() if k != 'source'}, indent=1), '\n->', path)

if __name__ == '__main__': main()
