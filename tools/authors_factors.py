"""Which of the authors' settings moves what (04_distill, "The authors' setting"): every finished SafeSteer variant of the
paired protocol, each paired on the same items with the base model and with the default SafeSteer run (the `cpu`
profile's training). The seed repeats of the default run come first: they show how far the seed alone moves a run.

    python tools/authors_factors.py                       # qwen2.5-coder-0.5b-instruct

Reads figures/06_baselines_paired/06_baselines__<model>__safesteer_<variant>.json (and .items.jsonl), and run (a) at
figures/04_distill_authors/04_distill__<model>__summary.json. Writes figures/04_distill_authors/one_factor__<model>.{md,json}
and the trade-off figure one_factor__<model>.png: each finished run's safety against its over-refusal, both as paired
differences from the base model with 95% intervals, beside the other methods of the paired comparison. Variants not run
yet are listed as such.
"""
import argparse, itertools, json, os
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from pathlib import Path
from safesteer.baselines import restricted
from safesteer.evaluate import item_outcomes, paired_comparison, read_samples
from safesteer.models import DEFAULT_MODEL
from safesteer.pipeline import items_path
from safesteer.report import artifact_path, markdown_table, save_figure, write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
PAIRED, AUTHORS = ROOT/'figures'/'06_baselines_paired', ROOT/'figures'/'04_distill_authors'
VARIANTS = {   # summary name -> what the run changes from the default (the overrides of 04_distill's table)
    'seed1': 'nothing: training seed 1', 'seed2': 'nothing: training seed 2',
    'len256': 'rollouts of up to 256 tokens (48)', 'borderline': "Do-Not-Answer's training part as prompts (AdvBench)",
    'coef1': 'teacher coefficient 1.0 (2.5)', 'fullft': 'full fine-tuning at lr 1e-5, float32 (LoRA at 2e-4)',
    'bf16': 'full fine-tuning at lr 1e-5, all in bfloat16 (weights, activations, AdamW moments)', 'authors': 'every factor above, and 8 rollouts x 4 prompts (run (a))'}
CLOSEST = {   # variant -> (the finished run nearest to it, what differs between them)
    'bf16': ('fullft', 'precision alone: all bfloat16, or float32'),
    'authors': ('bf16', "the rest of (a): rollouts of 256 tokens, 8 x 4 per step, borderline prompts, coefficient 1.0")}
GROUPS = {'safety': 'safety', 'over_refusal': 'over-refusal', 'capability': 'capability'}   # key -> column name

def summary_path(model:str, variant:str) -> Path:
    if variant == 'authors': return artifact_path(AUTHORS, '04_distill', model, 'summary.json')
    return artifact_path(PAIRED, '06_baselines', model, f'safesteer_{variant}.json')

def outcomes(path:Path) -> dict:
    "Per benchmark, each item's outcome, from the summary's `.items.jsonl`."
    return item_outcomes(read_samples(items_path(path)))

def other_methods(model:str) -> dict:
    "The paired comparison's other methods, each against the base model (`06_baselines_paired`'s summary)."
    path = artifact_path(PAIRED, '06_baselines', model, 'summary.json')
    if not path.exists(): return {}
    summary = json.loads(path.read_text())
    return {m: s['paired'] for m, s in summary.items() if m not in ('base', 'safesteer') and s.get('paired')}

def plot_tradeoff(runs:dict, others:dict, model:str, path:Path) -> Path:
    "Safety against over-refusal, paired differences from the base model (95% intervals): the runs and the other methods."
    fig, ax = plt.subplots(figsize=(7, 5))
    def point(r, **style):
        x, y = r['over_refusal'], r['safety']
        ax.errorbar(x['delta'], y['delta'], xerr=1.96 * x['stderr'], yerr=1.96 * y['stderr'], lw=0.8, capsize=2, **style)
        return x['delta'], y['delta']
    placed = sorted(((point(r, fmt='s', color='grey', mfc='none'), m) for m, r in others.items()), key=lambda t: t[0][1])
    label_y = -1.0
    for (x, y), m in placed:   # labels to the right, in order of safety, at least 0.06 apart, each with a line to its point
        label_y = max(y, label_y + 0.06)
        ax.annotate(m, (x, y), xytext=(x + 0.1, label_y), fontsize=7, color='dimgrey', va='center',
                    arrowprops=dict(arrowstyle='-', color='lightgrey', lw=0.6))
    seeds = itertools.cycle(['tab:blue', 'tab:cyan', 'navy'])
    variants = itertools.cycle(['tab:red', 'tab:orange', 'tab:green', 'tab:purple', 'tab:brown', 'tab:pink'])
    for name, r in runs.items():
        seed = name in ('default', 'seed1', 'seed2')
        point(r, fmt='o' if seed else 'D', color=next(seeds) if seed else next(variants),
              label=('seed0 (the default)' if name == 'default' else name) + ('' if seed else ': ' + VARIANTS[name].split(' (')[0]))
    ax.plot([-0.2, 1.0], [-0.2, 1.0], color='grey', lw=0.5, ls='--', label='safety and over-refusal rise alike')
    ax.axhline(0, color='grey', lw=0.5); ax.axvline(0, color='grey', lw=0.5)
    ax.legend(fontsize=7, loc='upper left')
    ax.set(xlabel='over-refusal: difference from the base model (95% interval)',
           ylabel='safety: difference from the base model (95% interval)',
           title=f'{model}: paired differences on shared items')
    ax.title.set_fontsize(10)
    fig.tight_layout()
    return save_figure(fig, path)

def cell(r:dict|None) -> str:
    return '-' if not r else f"{r['delta']:+.3f} ± {r['stderr']:.3f} ({r['n']})"

def against_closest(model:str, record:dict) -> dict:
    "Each finished variant of `CLOSEST` minus its nearest run, paired on the same items."
    return {v: paired_comparison(outcomes(summary_path(model, c)), outcomes(summary_path(model, v)))
            for v, (c, _) in CLOSEST.items() if v in record and c in record}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    args = ap.parse_args()
    base, default = (artifact_path(PAIRED, '06_baselines', args.model, f'{m}.json') for m in ('base', 'safesteer'))
    missing = [p for p in (base, default) if not items_path(p).exists()]
    if missing: raise SystemExit(f"{', '.join(map(str, missing))}: run tools/paired_runs.py --methods base safesteer first")
    base_items, default_items = outcomes(base), outcomes(default)
    rows, record = [], {}
    points, shared = {}, None   # the default run is drawn on the items of the first finished variant (the shared subset)
    for variant, change in VARIANTS.items():
        path = summary_path(args.model, variant)
        if not items_path(path).exists():
            rows.append(dict(run=variant, changes=change, **{f'{n} − base': 'not run yet' for n in GROUPS.values()},
                             **{f'{n} − default': '' for n in GROUPS.values()}))
            continue
        mine = outcomes(path)
        if shared is None:
            shared = mine
            points['default'] = paired_comparison(base_items, restricted(default_items, shared))
        vs_base, vs_default = paired_comparison(base_items, mine), paired_comparison(default_items, mine)
        points[variant] = vs_base
        record[variant] = dict(changes=change, summary=os.path.relpath(path, ROOT), against_base=vs_base, against_default=vs_default)
        rows.append(dict(run=variant, changes=change, **{f'{n} − base': cell(vs_base.get(g)) for g, n in GROUPS.items()},
                         **{f'{n} − default': cell(vs_default.get(g)) for g, n in GROUPS.items()}))
    closest = against_closest(args.model, record)
    AUTHORS.mkdir(parents=True, exist_ok=True)
    write_json(AUTHORS/f'one_factor__{args.model}.json', dict(model=args.model, command='python tools/authors_factors.py', runs=record,
                                                              against_closest=closest, default_against_base_on_shared_items=points.get('default')))
    head = (f"Paired differences on the same items (delta ± standard error (items)): each run − the base model, then each run − "
            f"the default SafeSteer run. `python tools/authors_factors.py --model {args.model}`.\n\n")
    pairs = [dict(runs=f'{v} − {c}', differs_in=what, **{n: cell(closest[v].get(g)) for g, n in GROUPS.items()})
             for v, (c, what) in CLOSEST.items() if v in closest]
    tail = ("\nEach run against the finished run nearest to it, on the same items:\n\n" + markdown_table(pairs) + '\n') if pairs else ''
    write_text(AUTHORS/f'one_factor__{args.model}.md', head + markdown_table(rows) + '\n' + tail)
    if points: plot_tradeoff(points, other_methods(args.model), args.model, AUTHORS/f'one_factor__{args.model}.png')
    print(markdown_table(rows))

if __name__ == '__main__': main()
