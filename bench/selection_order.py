"""Direction selection in the two orders of `DirectionConfig`: every filter first, candidate by candidate (today's default,
`best_first=False`), against the objective first and the filters down its ranking (`best_first=True`). Both run whole
(`find_direction`, prompt filtering and the difference of means included) on the real model with the profile's
selection settings and `02_steering`'s prompts, one after the other in this process (the order alternates with
`--best-first-first`). The result records each run's seconds by phase, the passes it made and the candidate it chose,
and whether both chose the committed direction's.

    OMP_NUM_THREADS=2 python bench/selection_order.py --model qwen2.5-coder-0.5b-instruct   # about 24 minutes, idle machine
"""
import argparse, dataclasses, time
from pathlib import Path
import torch
from safesteer.pipeline import Pipeline
from safesteer.steering import DirectionConfig, RefusalDirection, find_direction
from safesteer.report import artifact_path
from common import RESULTS, machine, write_result, log

def timed_selection(pipe:Pipeline, cfg:DirectionConfig) -> dict:
    "One whole selection: its seconds, the passes of each kind and the chosen candidate."
    p = pipe.direction_prompts()
    start = time.perf_counter()
    found = find_direction(pipe.model, pipe.tok, p['harmful_train'], p['harmless_train'], p['harmful_val'], p['harmless_val'],
                           cfg, progress=False)
    seconds = time.perf_counter() - start
    passes = {k: sum(c[k] is not None for c in found.candidates) for k in ('steer_score', 'kl', 'ablation_score')}
    return dict(best_first=cfg.best_first, seconds=round(seconds, 1), seconds_by_phase=found.meta['seconds_by_phase'],
                passes=passes, selected=[found.layer, found.position], load_average_after=machine('cpu', 1)['load_average'])

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--best-first-first', action='store_true', help='run the best-first selection first')
    args = ap.parse_args()
    pipe = Pipeline(args.model, args.profile, 'figures', progress=False)
    base = DirectionConfig(**{**pipe.settings.direction, 'best_first': False})
    committed = artifact_path(Path('figures'), '02_steering', args.model, 'direction')
    committed = RefusalDirection.load(committed) if committed.exists() else None   # none for the tiny model
    runs = []
    for best_first in ([True, False] if args.best_first_first else [False, True]):
        log(f'selection, best_first={best_first} ...')
        runs.append(timed_selection(pipe, dataclasses.replace(base, best_first=best_first)))
        log(runs[-1])
    by = {r['best_first']: r for r in runs}
    result = dict(benchmark='selection_order', model=args.model, profile=args.profile, config=dataclasses.asdict(base),
                  command=f'OMP_NUM_THREADS={torch.get_num_threads()} python bench/selection_order.py --model {args.model}', runs=runs,
                  speedup=round(by[False]['seconds'] / by[True]['seconds'], 2),
                  same_selection=by[False]['selected'] == by[True]['selected'],
                  committed=committed and [committed.layer, committed.position],
                  same_as_committed=committed is not None and all(r['selected'] == [committed.layer, committed.position] for r in runs),
                  machine=machine('cpu', torch.get_num_threads()))
    write_result(RESULTS/f'selection_order__{args.model}__cpu.json', result)
