"""Committed progress of a direction selection (`02_steering`), so that a long selection resumes on a fresh machine.

The selection keeps its finished stages (the filtered prompts, the candidates' means, each scored candidate) under
`$SAFESTEER_CACHE/runs/02_steering/<model>/`, keyed by the model's weights, the prompts and the settings.

    python tools/selection_progress.py --model qwen2.5-coder-1.5b-instruct --restore   # before the selection
    OMP_NUM_THREADS=1 safesteer reproduce --models qwen2.5-coder-1.5b-instruct --notebooks 02_steering 03_voting
    python tools/selection_progress.py --model qwen2.5-coder-1.5b-instruct --save      # now and then, then commit

`--save` copies the stages into figures/progress/02_steering/<model>/ where they are ahead; once the selection has
finished (its stages are gone and figures/02_steering__<model>__direction is written), it removes that folder instead.
"""
import argparse, shutil
from pathlib import Path
from progress import copy_newer
from safesteer.report import model_slug
from safesteer.packages import cache_dir

ROOT = Path(__file__).resolve().parents[1]
STAGES = ('filtered.json', 'means.json', 'candidates.jsonl')

def stages_folder(model:str) -> Path: return cache_dir('runs', '02_steering', model_slug(model))
def committed_folder(model:str, figures:Path) -> Path: return figures/'progress'/'02_steering'/model_slug(model)

def finished(model:str, figures:Path) -> bool:
    "The selection has written `figures/02_steering__<model>__direction` and removed its stages."
    has_stages = any((stages_folder(model)/s).exists() for s in STAGES)
    return not has_stages and (figures/f'02_steering__{model_slug(model)}__direction').exists()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--figures-dir', default=str(ROOT/'figures'))
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument('--save', action='store_true', help='copy the cache\'s stages into the figures folder (to commit)')
    what.add_argument('--restore', action='store_true', help='copy the committed stages into the cache where it lacks them')
    args = ap.parse_args()
    figures, model = Path(args.figures_dir), args.model
    if args.restore: print('restored', copy_newer(committed_folder(model, figures), stages_folder(model)))
    elif finished(model, figures):
        if committed_folder(model, figures).exists(): shutil.rmtree(committed_folder(model, figures))
        print('selection finished: committed stages removed')
    else: print('saved', copy_newer(stages_folder(model), committed_folder(model, figures)))

if __name__ == '__main__': main()
