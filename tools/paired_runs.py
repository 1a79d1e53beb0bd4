"""The main comparison under the paired evaluation protocol (profile `cpu_paired`), one method per process, so that two
processes use two cores. Each run resumes where it stopped: training from its checkpoint, evaluation from each finished
benchmark and each finished chunk of multiple-choice items (all under `$SAFESTEER_CACHE/runs`).

    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods base        # then, in another shell:
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer opd_full --train-seed 1   # repeats

Writes figures/06_baselines_paired/06_baselines__<model>__<method>.json (the summary, with its paired differences from the
base model once the base run is there) and .items.jsonl (every item's outcome). The direction and the safety tokens are
read from figures/ (02_steering, 03_voting).
"""
import argparse, json, time
from pathlib import Path
from safesteer.models import DEFAULT_MODEL
from safesteer.pipeline import Pipeline, METHODS, items_path
from safesteer.report import artifact_path

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    ap.add_argument('--methods', nargs='+', default=['base', 'safesteer'], choices=list(METHODS))
    ap.add_argument('--profile', default='cpu_paired')
    ap.add_argument('--figures-dir', default=str(ROOT/'figures'/'06_baselines_paired'))
    ap.add_argument('--inputs-dir', default=str(ROOT/'figures'))
    ap.add_argument('--train-seed', type=int, default=None, help='repeat training with this seed, on the same prompts and items '
                    '(the summary is <method>_seed<k>.json; evaluated on the shared subset)')
    args = ap.parse_args()
    if args.train_seed == 0: ap.error('--train-seed 0 is the main run itself (the profile seed): repeats take another seed')
    pipe = Pipeline(args.model, args.profile, args.figures_dir, inputs_dir=args.inputs_dir, progress=False, train_seed=args.train_seed)
    for method in args.methods:
        name = method if args.train_seed is None else f'{method}_seed{args.train_seed}'
        start, path = time.time(), artifact_path(args.figures_dir, '06_baselines', args.model, f'{name}.json')
        summary = pipe.run(method, path)
        print(json.dumps(dict(method=name, seconds=round(time.time() - start), summary=str(path), items=str(items_path(path)),
                              headline={k: summary.get(k) for k in ('safety_mean', 'over_refusal', 'capability_mean')},
                              paired=summary.get('paired'))), flush=True)

if __name__ == '__main__': main()
