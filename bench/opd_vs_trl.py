"""Our masked OPD training loop (`safesteer.distill.SafeSteerTrainer`) against TRL's on-policy distillation
trainers set up as on-policy reverse KL: `trl.experimental.gkd.GKDTrainer` (lmbda=1, beta=1) and
`trl.DistillationTrainer` (beta=1; promoted from `trl.experimental.distillation`, always on-policy, chunked loss).

    OMP_NUM_THREADS=1 .venv/bin/python bench/opd_vs_trl.py       # CPU: random Qwen2.5-0.5B shape, 4 blocks (results/opd_vs_trl__cpu.json)
    python bench/opd_vs_trl.py --layers 24 --prompts-per-step 1 --n-samples 8 \\
        --max-new-tokens 512 --steps 2 --out bench/results/opd_vs_trl__h100.json   # GPU (not run yet): full 0.5B shape, paper rollouts

Needs TRL in the environment that runs it (`pip install -e ".[bench]"`, kept out of the core dependencies).
Same random model (seeded), same prompts (AdvBench), rollouts of exactly `--max-new-tokens` tokens in every variant
(end of turn suppressed until then), the same number of sequences per optimiser step in one micro-batch, LoRA
(r=16, alpha=32, the same targets) in all. The teacher is the steered model (`SteeredTeacher`: a random unit
direction at the middle block, coefficient 4). Ours shares the weights (adapters off + steering hook); TRL needs a
teacher model object, so it gets a frozen copy of the base model with the steering hook registered for good.
Ours uses loss chunks of the cpu profile's 64 tokens on a CPU (--chunk-size). TRL runs with our numerics: no gradient checkpointing, no autocast (weights in --dtype).

Variants, each in its own process (so its peak memory is its own):
  ours        SafeSteerTrainer, the paper's loss: reverse KL on the |S|=k safety-token slice, unnormalised
  ours_full   SafeSteerTrainer with LossConfig(slice='full'): the same objective as TRL's (full-vocabulary reverse KL)
  trl_gkd     trl.experimental.gkd.GKDTrainer, lmbda=1, beta=1, temperature=1
  trl_distill trl.DistillationTrainer, beta=1, temperature=1
  ours_before `ours` as it was before the fixes of bench/README.md: the checkpointed loss (bench/checkpointed_loss.py)
              in chunks of 256 tokens, one sampling call per micro-batch (the same here: one micro-batch per step)

Throughput is sequences per second of wall time between the ends of consecutive optimiser steps (the median over
the timed steps, after one warm-up step), so it counts generation, teacher, student, optimiser and whatever else
each loop does, checkpoints included for ours; on a shared CPU, process CPU seconds per step (single-threaded)
give a second, contention-robust throughput. Memory is peak RSS (and peak CUDA allocation on a GPU) above the process's footprint after
its imports: weights, the teacher copy, optimiser state and activations. Writes bench/results/opd_vs_trl__<device>.json.
"""
import argparse, copy, json, math, statistics, sys, tempfile
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import (RESULTS, add_bench_args, loss_chunk, setup, default_dtype, steered_teacher, safety_ids, distill_config, train_timed,
                    StepClock, Memory, machine, run_variant, forwarded_args, write_result)

VARIANTS = ('ours', 'ours_full', 'trl_gkd', 'trl_distill', 'ours_before')
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.0)
BEFORE_CHUNK = 256   # the loss chunk every profile used before the cpu profile's went to 64

def lora_config(cfg):
    from peft import LoraConfig
    return LoraConfig(**LORA, target_modules=list(cfg.lora_targets), task_type='CAUSAL_LM')

def run_ours(args, tok, prompts, model, mem, out_dir):
    from safesteer.distill import SafeSteerTrainer
    before = args.variant == 'ours_before'
    if before:
        import safesteer.distill
        from checkpointed_loss import checkpointed_distill_loss
        safesteer.distill.distill_loss = checkpointed_distill_loss    # the loss as it was
    loss = dict(slice='full' if args.variant == 'ours_full' else 'unnormalised', **(dict(chunk_size=BEFORE_CHUNK) if before else {}))
    cfg = distill_config(args, loss=loss)
    if before: cfg = replace(cfg, rollout_batch=cfg.micro_batch)    # one sampling call per micro-batch, as it was
    assert (cfg.lora_r, cfg.lora_alpha) == (LORA['r'], LORA['lora_alpha']), 'keep LORA in step with DistillConfig'
    trainer = SafeSteerTrainer(model, tok, steered_teacher(model), safety_ids(model.config.vocab_size, args.k), cfg, out_dir)
    mem.start_window()
    clock, _, records = train_timed(trainer, prompts)
    return clock, dict(loss=[r['loss'] for r in records], tokens=[r['tokens'] for r in records],
                      phases={k: [r[f'seconds_{k}'] for r in records] for k in ('generation', 'teacher', 'student')})

def trl_teacher(model):
    "A frozen copy of the base model with the steering hook registered for good (TRL wants a teacher model object)."
    teacher = copy.deepcopy(model).requires_grad_(False).eval()
    teacher.steering_hook = steered_teacher(teacher).steering()   # kept referenced: collecting it removes the hook
    teacher.steering_hook.__enter__()
    return teacher

def run_trl(args, tok, prompts, model, mem, out_dir):
    from datasets import Dataset
    from transformers import TrainerCallback
    cfg = distill_config(args)
    sequences = cfg.sequences_per_step
    teacher = trl_teacher(model)
    rows = [p for p in prompts for _ in range(args.n_samples)]
    common = dict(output_dir=out_dir, per_device_train_batch_size=sequences, gradient_accumulation_steps=1,
                  max_steps=args.steps + 1, learning_rate=cfg.lr, lr_scheduler_type='cosine',
                  warmup_steps=math.ceil((args.steps + 1) * cfg.warmup_ratio),
                  max_grad_norm=cfg.max_grad_norm, weight_decay=cfg.weight_decay, temperature=1.0, beta=1.0,
                  gradient_checkpointing=False, bf16=False, fp16=False, use_cpu=args.device == 'cpu', logging_steps=1,
                  save_strategy='no', report_to='none', disable_tqdm=True, dataloader_num_workers=0, seed=0, disable_dropout=True)
    if args.variant == 'trl_gkd':
        from trl.experimental.gkd import GKDConfig, GKDTrainer
        data = Dataset.from_dict({'messages': [[{'role': 'user', 'content': p}, {'role': 'assistant', 'content': ''}] for p in rows]})
        trainer = GKDTrainer(model=model, teacher_model=teacher, processing_class=tok, train_dataset=data,
                             peft_config=lora_config(cfg), args=GKDConfig(**common, lmbda=1.0, max_new_tokens=args.max_new_tokens))
        trainer.generation_config.min_new_tokens = args.max_new_tokens     # as fixed_length_rollouts does for ours
    else:
        from trl import DistillationConfig, DistillationTrainer
        data = Dataset.from_dict({'prompt': [[{'role': 'user', 'content': p}] for p in rows]})
        trainer = DistillationTrainer(model=model, teacher_model=teacher, processing_class=tok, train_dataset=data,
                                      peft_config=lora_config(cfg), args=DistillationConfig(
                                          **common, max_completion_length=args.max_new_tokens,
                                          generation_kwargs={'min_new_tokens': args.max_new_tokens}))
    clock, losses = StepClock(), []
    class Timer(TrainerCallback):
        def on_train_begin(self, *a, **kw): clock.mark()
        def on_step_end(self, *a, **kw): clock.mark()
        def on_log(self, _args, state, control, logs=None, **kw):
            if logs and 'loss' in logs: losses.append(logs['loss'])
    trainer.add_callback(Timer())
    mem.start_window()
    trainer.train()
    note = ("GKDTrainer divides the summed KL by the label tokens of the collated data set rows (the empty assistant turn), "
            "not by the generated tokens, so its logged loss is a multiple of the per-token mean; only the scale differs"
            if args.variant == 'trl_gkd' else None)
    return clock, dict(loss=losses, loss_note=note)

def child(args):
    if args.variant.startswith('trl'):
        import trl, datasets  # imported before the memory baseline, like ours below
    import safesteer.distill, peft, accelerate
    mem = Memory(args.device)
    tok, prompts, model = setup(args)
    with tempfile.TemporaryDirectory() as out_dir:
        run = run_ours if args.variant.startswith('ours') else run_trl
        clock, extra = run(args, tok, prompts, model, mem, out_dir)
    if len(clock.wall) != args.steps + 1: raise RuntimeError(f'{args.variant}: timed {len(clock.wall)} steps, expected {args.steps + 1}')
    sequences = args.prompts_per_step * args.n_samples
    wall, cpu = statistics.median(clock.wall[1:]), statistics.median(clock.cpu[1:])
    print(json.dumps(dict(variant=args.variant, step_seconds=clock.wall, step_cpu_seconds=clock.cpu, median_step_seconds=wall,
                          samples_per_s=sequences / wall, completion_tokens_per_s=sequences * args.max_new_tokens / wall,
                          samples_per_cpu_s=sequences / cpu, **mem.report(), **extra)))

def ratio(a, b): return None if a is None or b is None else a / b

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_args(ap, layers=4, steps=2)
    ap.add_argument('--variants', default=','.join(VARIANTS), help='comma-separated subset of ' + ', '.join(VARIANTS))
    ap.add_argument('--variant', choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant: return child(args)
    args.dtype = args.dtype or default_dtype(args.device)
    names = ['config', 'layers', 'prompts_per_step', 'n_samples', 'max_new_tokens', 'k', 'chunk_size', 'steps', 'threads', 'device',
             'dtype', 'tokenizer', 'prompts']
    env = dict(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM='false')
    results = {v: run_variant(__file__, v, forwarded_args(args, names), env) for v in args.variants.split(',')}
    mem = 'peak_cuda_mb' if args.device == 'cuda' else 'peak_rss_mb'
    ratios, ok = {}, {v for v, r in results.items() if 'error' not in r}
    for ours in ('ours', 'ours_full', 'ours_before'):
        for trl in ('trl_gkd', 'trl_distill'):
            if {ours, trl} <= ok:
                o, t = results[ours], results[trl]
                ratios[f'{ours}/{trl}'] = dict(throughput=ratio(o['samples_per_s'], t['samples_per_s']),
                                               throughput_cpu_time=ratio(o['samples_per_cpu_s'], t['samples_per_cpu_s']),
                                               peak_rss=ratio(o['peak_rss_mb'], t['peak_rss_mb']),
                                               peak_cuda=ratio(o['peak_cuda_mb'], t['peak_cuda_mb']),
                                               steps_peak_over_setup=ratio(o[f'steps_peak_over_setup_{mem[5:]}'],
                                                                           t[f'steps_peak_over_setup_{mem[5:]}']))
    if {'ours', 'ours_before'} <= ok:   # after/before the fixes
        f, o = results['ours'], results['ours_before']
        ratios['ours/ours_before'] = dict(throughput=ratio(f['samples_per_s'], o['samples_per_s']),
                                         throughput_cpu_time=ratio(f['samples_per_cpu_s'], o['samples_per_cpu_s']),
                                         student_seconds=ratio(statistics.median(f['phases']['student'][1:]),
                                                               statistics.median(o['phases']['student'][1:])),
                                         peak_rss=ratio(f['peak_rss_mb'], o['peak_rss_mb']), peak_cuda=ratio(f['peak_cuda_mb'], o['peak_cuda_mb']),
                                         steps_peak_over_setup=ratio(f[f'steps_peak_over_setup_{mem[5:]}'], o[f'steps_peak_over_setup_{mem[5:]}']))
    settings = {k: getattr(args, k) for k in names if k not in ('device', 'threads', 'tokenizer', 'prompts')}
    result = dict(benchmark='opd_vs_trl', command=' '.join(['python', 'bench/opd_vs_trl.py', *sys.argv[1:]]),
                  model=f'random {args.config} configuration with {args.layers} decoder blocks, {args.dtype}, Qwen2.5 tokenizer',
                  settings=settings, loss_chunk=dict(ours=loss_chunk(args), ours_before=BEFORE_CHUNK), sequences_per_step=args.prompts_per_step * args.n_samples,
                  targets=dict(throughput='>= 2', peak_memory='<= 0.6'), memory_metric=mem,
                  teacher=dict(ours='the student with adapters disabled and the steering hook on (shared weights)',
                               trl='a separate frozen copy of the base model with the steering hook registered permanently'),
                  trl_settings='gradient_checkpointing=False, bf16=False (no autocast), save_strategy=no, logging_steps=1',
                  machine=machine(args.device, args.threads), ratios=ratios, variants=results)
    write_result(Path(args.out or RESULTS/f'opd_vs_trl__{args.device}.json'), result)
    print(json.dumps(ratios, indent=1))

if __name__ == '__main__': main()
