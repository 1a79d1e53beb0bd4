"""Which of the authors' settings moves what (04_distill, "The authors' setting"): every finished SafeSteer variant of the
paired protocol, each paired on the same items with the base model and with the default SafeSteer run (the `cpu`
profile's training). The seed repeats of the default run come first: they show how far the seed alone moves a run.

    python tools/authors_factors.py                       # qwen2.5-coder-0.5b-instruct

Reads figures/06_baselines_paired/06_baselines__<model>__safesteer_<variant>.json (and .items.jsonl), and run (a) at
figures/04_distill_authors/04_distill__<model>__summary.json. Writes figures/04_distill_authors/one_factor__<model>.{md,json}.
Variants not run yet are listed as such.
"""
import argparse, json, os
from pathlib import Path
from safesteer.evaluate import item_outcomes, paired_comparison, read_samples
from safesteer.models import DEFAULT_MODEL
from safesteer.pipeline import items_path
from safesteer.report import artifact_path, markdown_table, write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
PAIRED, AUTHORS = ROOT/'figures'/'06_baselines_paired', ROOT/'figures'/'04_distill_authors'
VARIANTS = {   # summary name -> what the run changes from the default (the overrides of 04_distill's table)
    'seed1': 'nothing: training seed 1', 'seed2': 'nothing: training seed 2',
    'len256': 'rollouts of up to 256 tokens (48)', 'borderline': "Do-Not-Answer's training part as prompts (AdvBench)",
    'coef1': 'teacher coefficient 1.0 (2.5)', 'fullft': 'full fine-tuning at lr 1e-5, float32 (LoRA at 2e-4)',
    'bf16': 'full fine-tuning at lr 1e-5, weights in bfloat16', 'authors': 'run (a): all of the above, 8 rollouts x 4 prompts'}
GROUPS = {'safety': 'safety', 'over_refusal': 'over-refusal', 'capability': 'capability'}   # key -> column name

def summary_path(model:str, variant:str) -> Path:
    if variant == 'authors': return artifact_path(AUTHORS, '04_distill', model, 'summary.json')
    return artifact_path(PAIRED, '06_baselines', model, f'safesteer_{variant}.json')

def outcomes(path:Path) -> dict:
    "Per benchmark, each item's outcome, from the summary's `.items.jsonl`."
    return item_outcomes(read_samples(items_path(path)))

def cell(r:dict|None) -> str:
    return '-' if not r else f"{r['delta']:+.3f} ± {r['stderr']:.3f} ({r['n']})"

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    args = ap.parse_args()
    base, default = (artifact_path(PAIRED, '06_baselines', args.model, f'{m}.json') for m in ('base', 'safesteer'))
    missing = [p for p in (base, default) if not items_path(p).exists()]
    if missing: raise SystemExit(f"{', '.join(map(str, missing))}: run tools/paired_runs.py --methods base safesteer first")
    base_items, default_items = outcomes(base), outcomes(default)
    rows, record = [], {}
    for variant, change in VARIANTS.items():
        path = summary_path(args.model, variant)
        if not items_path(path).exists():
            rows.append(dict(run=variant, changes=change, **{f'{n} − base': 'not run yet' for n in GROUPS.values()},
                             **{f'{n} − default': '' for n in GROUPS.values()}))
            continue
        mine = outcomes(path)
        vs_base, vs_default = paired_comparison(base_items, mine), paired_comparison(default_items, mine)
        record[variant] = dict(changes=change, summary=os.path.relpath(path, ROOT), against_base=vs_base, against_default=vs_default)
        rows.append(dict(run=variant, changes=change, **{f'{n} − base': cell(vs_base.get(g)) for g, n in GROUPS.items()},
                         **{f'{n} − default': cell(vs_default.get(g)) for g, n in GROUPS.items()}))
    AUTHORS.mkdir(parents=True, exist_ok=True)
    write_json(AUTHORS/f'one_factor__{args.model}.json', dict(model=args.model, command='python tools/authors_factors.py', runs=record))
    head = (f"Paired differences on the same items (delta ± standard error (items)): each run − the base model, then each run − "
            f"the default SafeSteer run. `python tools/authors_factors.py --model {args.model}`.\n\n")
    write_text(AUTHORS/f'one_factor__{args.model}.md', head + markdown_table(rows) + '\n')
    print(markdown_table(rows))

if __name__ == '__main__': main()
