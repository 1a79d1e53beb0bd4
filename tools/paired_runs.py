"""The main comparison under the paired evaluation protocol (profile `cpu_paired`), one method per process, so that two
processes use two cores. Each run resumes where it stopped: training from its checkpoint, evaluation from each finished
benchmark and each finished chunk of multiple-choice items (all under `$SAFESTEER_CACHE/runs`).

    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods base        # then, in another shell:
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer opd_full --train-seed 1   # repeats
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer --name borderline --overrides '{"distill": {"train_set": "borderline"}}'
    OMP_NUM_THREADS=1 python tools/paired_runs.py --methods safesteer --name authors --summary figures/04_distill_authors/04_distill__qwen2.5-coder-0.5b-instruct__summary.json \
        --overrides '{"distill": {"lora": false, "weights_dtype": "bfloat16", "compute_dtype": "bfloat16", "lr": 1e-5, "n_samples": 8, "sequences_per_step": 32, "max_new_tokens": 256, "train_set": "borderline"}, "direction": {"teacher_coef": 1.0}}'
    python tools/paired_runs.py --methods safesteer --status   # interim paired differences on the items scored so far
    python tools/paired_runs.py --methods safesteer --status --against opd_full   # the same, against another method
    python tools/paired_runs.py --methods base safesteer --save-progress   # finished benchmarks and chunks, to commit

Two processes may share one run's evaluation: the same command started twice (one thread each) trains once (the second
waits for the training slots, then resumes the finished checkpoint) and splits the benchmarks between them
(`safesteer.evaluate.benchmark_claim`).

A run restores the committed progress (figures/06_baselines_paired/progress/) into its cache folder where that lacks
it, so that a fresh machine resumes instead of starting over; each file is used only if its key matches the run.

Writes figures/06_baselines_paired/06_baselines__<model>__<method>.json (the summary, with its paired differences from the
base model once the base run is there) and .items.jsonl (every item's outcome). The direction and the safety tokens are
read from figures/ (02_steering, 03_voting).

Runs started side by side share the memory for training through slots (lock files in the runs folder), and evaluate side
by side. A LoRA training of the 0.5B model takes one of three slots (about 3 GB of its own). A full fine-tuning takes two:
8 GB counted for float32 weights, gradients and AdamW's two moments, 17 GB measured with the frozen teacher copy and the
activations (the kernel stopped one beside a 1.5B evaluation, so run full fine-tunings beside 0.5B work). So does a LoRA
training of the 1.5B model (about 15 GB, 8 GB of its own and 7 GB of mapped weights); a full fine-tuning of the 1.5B
model takes all three (it needs about 36 GB, more than the machine has). A full fine-tuning of the 0.5B model all in
bfloat16 (`compute_dtype`) also takes two; its process held 11.5 GB while training, the pipeline's float32 model
included. So a long full fine-tuning lets a LoRA run train beside it, and two large trainings, which do not fit in 24 GB
together, take turns. The slots count only trainings: a float32 full fine-tuning beside a LoRA run with 256-token
rollouts (7 GB) leaves too little for a third process of any size, and the kernel then stops the largest.
"""
import argparse, json, random, time
from contextlib import contextmanager
from pathlib import Path
from progress import copy_if_ahead, copy_newer, drop_finished
from safesteer.evaluate import BENCHMARKS, GROUPS, item_id, item_outcomes, load_items, pooled_difference, sample_outcome
from safesteer.models import DEFAULT_MODEL
from safesteer.pipeline import Pipeline, METHODS, items_path
from safesteer.packages import try_lock
from safesteer.report import artifact_path

ROOT = Path(__file__).resolve().parents[1]

def mc_outcomes_so_far(folder:Path, name:str, n:int, seed:int=0) -> dict:
    "Zero-one outcomes by item id of multiple-choice set `name` (`n` items): its saved result, else its finished chunks."
    saved, partial = folder/f'{name}.json', folder/f'{name}.partial.jsonl'
    if saved.exists(): records = json.loads(saved.read_text())['value']['samples']
    elif partial.exists(): records = [r for line in partial.read_text().splitlines()[1:] for r in json.loads(line)]
    else: return {}
    source = BENCHMARKS[name].source
    ids = [item_id(it) for it in load_items(source, n, seed)]   # chunks hold records in item order, without ids
    return {i: sample_outcome('multiple_choice', r, source) for i, r in zip(ids, records)}

def eval_folder(pipe:Pipeline, method:str) -> Path:
    "Where `method`'s run keeps its finished benchmarks (under `$SAFESTEER_CACHE/runs`)."
    config = pipe.run_config(method)
    return pipe.eval_folder(pipe.run_folder(method, config), config)

def progress_folder(pipe:Pipeline, method:str) -> Path:
    "The committed copy of that folder: `<figures>/progress/<run folder>/<evaluation folder>`."
    folder = eval_folder(pipe, method)
    return Path(pipe.figures)/'progress'/folder.parent.name/folder.name

def save_progress(pipe:Pipeline, method:str) -> list[str]:
    """Copy the run's finished benchmarks and chunks into the figures folder (to commit) where they are ahead; drop chunks
    whose result is there. The training log goes beside them: a retraining on another machine should log the same
    losses, and the evaluation's key (the weights' fingerprint) tells whether it gave the same weights."""
    source = eval_folder(pipe, method)
    target = progress_folder(pipe, method)
    copied = copy_newer(source, target)
    log = source.parent/'train_log.jsonl'
    if log.exists() and copy_if_ahead(log, target.parent): copied.append(log.name)
    drop_finished(target)
    return copied

def restore_progress(pipe:Pipeline, method:str) -> list[str]:
    """Copy the committed finished benchmarks and chunks into the run's folder where they are ahead of it (a fresh
    machine); each is used only if its key (model weights, judge, settings) matches the run's."""
    return copy_newer(progress_folder(pipe, method), eval_folder(pipe, method))

def status(pipe:Pipeline, method:str, reference:str='base') -> dict:
    """Interim paired differences of `method` from `reference` (the base model, or another method evaluated on the same
    items), per benchmark and pooled per group (safety, over-refusal, capability): on the multiple-choice items both runs
    have scored, and on every benchmark both finished (in the cache, after restoring the committed progress of both, as on
    a fresh machine). `base_mean` is the reference's mean on the paired items."""
    for m in (reference, method): restore_progress(pipe, m)
    folder = lambda m: eval_folder(pipe, m)
    pairs, shared = {}, pipe.benchmarks(reference)   # group -> benchmark -> (reference outcomes, method outcomes), paired by item id
    for name in (n for n in pipe.benchmarks(method) if n in shared):
        if BENCHMARKS[name].kind == 'multiple_choice':   # nested subsets: paired by item id, not by position
            b, o = (mc_outcomes_so_far(folder(m), name, pipe.benchmarks(m)[name], pipe.settings.seed) for m in (reference, method))
        else:   # a finished benchmark on both sides
            saved = [folder(m)/f'{name}.json' for m in (reference, method)]
            if not all(p.exists() for p in saved): continue
            b, o = (item_outcomes({name: json.loads(p.read_text())['value']['samples']})[name] for p in saved)
        ids = [i for i in b if i in o and b[i] is not None and o[i] is not None]
        if ids: pairs.setdefault(GROUPS[BENCHMARKS[name].kind], {})[name] = ([b[i] for i in ids], [o[i] for i in ids])
    mean = lambda xs: sum(xs) / len(xs)
    benchmarks, groups = {}, {}
    for g, group in pairs.items():
        pooled = pooled_difference(group)   # each benchmark's own difference too
        for name, (base, other) in group.items():
            benchmarks[name] = dict(pooled['benchmarks'][name], discordant=mean([x != y for x, y in zip(base, other)]), base_mean=mean(base))
        groups[g] = dict({k: v for k, v in pooled.items() if k != 'benchmarks'}, base_mean=mean([x for base, _ in group.values() for x in base]))
    return dict(benchmarks=benchmarks, groups=groups)

SLOTS = 3   # training slots per runs folder: one large training and one LoRA training of the 0.5B model fit beside each other

def try_slots(folder:Path, n:int) -> list:
    "Lock `n` free slot files `folder/.training<i>.lock` without waiting: the open files, or [] (none kept) if fewer are free."
    folder.mkdir(parents=True, exist_ok=True)
    held = []
    try:
        for i in random.sample(range(SLOTS), SLOTS):   # in random order, so that two waiters do not collide in step
            if lock := try_lock(folder/f'.training{i}.lock'): held.append(lock)
            if len(held) == n: return held
    except BaseException:
        for f in held: f.close()
        raise
    for f in held: f.close()   # closing releases the lock
    return []

@contextmanager
def training_slots(folder:Path, n:int, poll:float=20.0):
    """Hold `n` of the folder's `SLOTS` training slots while inside, waiting until that many are free at once. Not fair: a
    two-slot training may wait while one-slot trainings follow each other."""
    if not 1 <= n <= SLOTS: raise ValueError(f'a training takes 1 to {SLOTS} slots, not {n}')
    while not (held := try_slots(folder, n)): time.sleep(poll * random.uniform(0.5, 1.5))
    try: yield
    finally:
        for f in held: f.close()

def slots_needed(pipe:Pipeline, method:str) -> int:
    """One slot for a LoRA training of a model under one billion weights, two for a full fine-tuning of one or any LoRA
    training of a larger model, and all for a full fine-tuning of a larger one (the 1.5B model's needs about 36 GB)."""
    large, lora = sum(p.numel() for p in pipe.model.parameters()) > 1e9, pipe.distill_config(method)[0].lora
    return (2 if large else 1) if lora else (SLOTS if large else 2)

class TakingTurns(Pipeline):
    "A `Pipeline` whose training waits for training slots under its runs folder (see the module's docstring)."
    def align(self, method, *args, **kwargs):
        with training_slots(self.runs, slots_needed(self, method)): return super().align(method, *args, **kwargs)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    ap.add_argument('--methods', nargs='+', default=['base', 'safesteer'], choices=list(METHODS))
    ap.add_argument('--profile', default='cpu_paired')
    ap.add_argument('--figures-dir', default=str(ROOT/'figures'/'06_baselines_paired'))
    ap.add_argument('--inputs-dir', default=str(ROOT/'figures'))
    ap.add_argument('--train-seed', type=int, default=None, help='repeat training with this seed, on the same prompts and items '
                    '(the summary is <method>_seed<k>.json; evaluated on the shared subset)')
    ap.add_argument('--overrides', type=json.loads, default={}, help='profile parts merged over the profile, as JSON, e.g. '
                    '\'{"distill": {"train_set": "borderline"}, "direction": {"teacher_coef": 1.0}}\' (evaluated on the shared subset)')
    ap.add_argument('--name', default='', help='the variant\'s name in its summary file, <method>_<name>.json (required with --overrides)')
    ap.add_argument('--summary', default='', help='write the summary (and its .items.jsonl) here instead, e.g. '
                    'figures/04_distill_authors/04_distill__<model>__summary.json (one method only)')
    ap.add_argument('--save-progress', action='store_true', help='copy each run\'s finished benchmarks and chunks to '
                    '<figures-dir>/progress/ (to commit, so that a fresh machine resumes from them), and stop')
    ap.add_argument('--status', action='store_true', help='print the interim paired differences on the items both runs have '
                    'scored so far, and stop')
    ap.add_argument('--against', default='base', choices=list(METHODS), help='with --status: the run the methods are paired '
                    'with (default: the base model; e.g. opd_full for SafeSteer against its closest baseline)')
    args = ap.parse_args()
    if args.train_seed == 0: ap.error('--train-seed 0 is the main run itself (the profile seed): repeats take another seed')
    if args.overrides and not args.name: ap.error('--overrides needs --name: the variant\'s summary must not overwrite the main run\'s')
    if args.summary and len(args.methods) > 1: ap.error('--summary names one file: give one method')
    pipe = TakingTurns(args.model, args.profile, args.figures_dir, inputs_dir=args.inputs_dir, progress=False, train_seed=args.train_seed,
                    overrides=args.overrides)
    if args.save_progress:
        for method in args.methods: print(method, save_progress(pipe, method))
        return
    if args.status:
        for method in (m for m in args.methods if m != args.against):
            print(f'{method} - {args.against}', json.dumps(status(pipe, method, args.against), indent=1))
        return
    for method in args.methods:
        name = '_'.join([method] + ([f'seed{args.train_seed}'] if args.train_seed is not None else []) + ([args.name] if args.name else []))
        start, path = time.time(), Path(args.summary) if args.summary else artifact_path(args.figures_dir, '06_baselines', args.model, f'{name}.json')
        restored = restore_progress(pipe, method)
        if restored: print(f'{name}: resuming from the committed progress {restored}', flush=True)
        summary = pipe.run(method, path)
        print(json.dumps(dict(method=name, seconds=round(time.time() - start), summary=str(path), items=str(items_path(path)),
                              headline={k: summary.get(k) for k in ('safety_mean', 'over_refusal', 'capability_mean')},
                              paired=summary.get('paired'))), flush=True)

if __name__ == '__main__': main()
