"""How much of each optimiser update survives when full fine-tuning stores its weights in bfloat16 (the authors' runs)
against float32: `weights_changed` (the fraction of weights a step changes) and `update_ratio` (the norm of the realised
update over the norm of the update AdamW intended), per step of masked OPD on the real model at lr 1e-5 and 2e-4.

    OMP_NUM_THREADS=2 python bench/bf16_updates.py --model qwen2.5-coder-0.5b-instruct --steps 2

Warm-up is off, so every measured step runs at the nominal learning rate. Rollouts follow the `cpu` profile's shape
(4 prompts x 2 samples), shortened to `--max-new-tokens`: the measurement is of the update, not of the rollouts."""
import argparse, gc, json, tempfile, types
from pathlib import Path
import torch
from safesteer.pipeline import Pipeline, load_subject, training_prompts
from safesteer.distill import SafeSteerTrainer, profile_config
from safesteer.training import changed_fraction

def measured_step(optimizer, params, log):
    "A float32 `optimizer.step` that records the same statistics `rounded_step` does, without rounding."
    def step(self, *args, **kwargs):
        before = [p.detach().clone() for p in params]
        type(self).step(self, *args, **kwargs)
        log.append(dict(weights_changed=changed_fraction(params, before), update_ratio=1.0))
    return types.MethodType(step, optimizer)   # bound, as the lr scheduler expects

def run(pipe, fresh_model, tok, safety_ids, lr:float, dtype:str, steps:int, max_new_tokens:int) -> list[dict]:
    cfg, _ = profile_config(pipe.profile, lora=False, lr=lr, warmup_ratio=0.0, weights_dtype=dtype, max_new_tokens=max_new_tokens)
    model = fresh_model()
    teacher = pipe.teacher(model)
    with tempfile.TemporaryDirectory() as folder:
        trainer = SafeSteerTrainer(model, tok, teacher, safety_ids, cfg, folder)
        fp32_stats = []
        if dtype == 'float32': trainer.optimizer.step = measured_step(trainer.optimizer, trainer.params, fp32_stats)
        log = trainer.train(training_prompts(100), stop_after=steps, progress=False)
    rows = [dict(step=r['step'], lr=r['lr'], seconds=r['seconds'], **({k: r[k] for k in ('weights_changed', 'update_ratio')} if dtype == 'bfloat16' else fp32_stats[i]))
            for i, r in enumerate(log)]
    return rows

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--profile', default='cpu', help="'tiny' with --model tiny for a quick check")
    ap.add_argument('--steps', type=int, default=2)
    ap.add_argument('--max-new-tokens', type=int, default=16)
    ap.add_argument('--out', default=None)
    args = ap.parse_args()
    figures = 'figures' if args.model != 'tiny' else tempfile.mkdtemp()
    pipe = Pipeline(args.model, args.profile, figures, progress=False)
    tok, safety_ids = pipe.tok, pipe.safety_tokens().check_compatible(pipe.tok).ids
    pipe.direction()
    pipe._loaded = None   # each configuration trains a fresh load: no base copy held beside the trainer's (full fine-tuning fills 24 GB)
    fresh_model = lambda: load_subject(args.model)[0]
    results = {}
    for lr in (1e-5, 2e-4):
        for dtype in ('float32', 'bfloat16'):
            results[f'{dtype} lr {lr:g}'] = run(pipe, fresh_model, tok, safety_ids, lr, dtype, args.steps, args.max_new_tokens)
            gc.collect()
    for name, rows in results.items(): print(name, [(round(r['weights_changed'], 4), round(r['update_ratio'], 4)) for r in rows])
    out = Path(args.out or f'bench/results/bf16_updates__{args.model}__cpu.json')
    out.write_text(json.dumps(dict(model=args.model, steps=args.steps, max_new_tokens=args.max_new_tokens, threads=torch.get_num_threads(),
                                   results=results), indent=1) + '\n')
    print(f'wrote {out}')
