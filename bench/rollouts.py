"""Where a SafeSteer training step spends its time, on CPU: rollout generation throughput at the trainer's batch
sizes against plain `generate` at batch 1, the share of a step's wall time in each phase, and the FLOP
utilisation of the student's forward/backward against the machine's peak (a large fp32 matrix product, measured
in the same run and at the same thread count, per process-CPU second so other jobs on the machine do not skew it),
with `distill_loss` (after) and with the loss as it was (bench/checkpointed_loss.py, 256-token chunks: before).

    OMP_NUM_THREADS=1 python bench/rollouts.py                 # random Qwen2.5-0.5B shape (24 blocks), cpu profile
    OMP_NUM_THREADS=1 python bench/rollouts.py --layers 4      # quicker

The model is randomly initialised with the published Qwen2.5-0.5B shape (the CPU reproduction's model), LoRA as
in the `cpu` profile (4 prompts x 2 samples of 48 tokens per step, one micro-batch); rollouts are exactly
`--max-new-tokens` long. Phases come from the trainer's own log (`seconds_generation`, `seconds_teacher`,
`seconds_student`); "everything else" is the rest of the wall time between the ends of consecutive steps
(gradient clipping, optimiser, refusal scoring, decoding, the per-step checkpoint, the loop).
Writes bench/results/rollouts__<config>-<layers>l__cpu.json.
"""
import argparse, statistics, sys, tempfile, time
from contextlib import nullcontext
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import (RESULTS, add_bench_args, setup, steered_teacher, safety_ids, distill_config, train_timed,
                    matmul_peak_gflops, matmul_params, machine, write_result, log)

def timed(fn, repeats:int) -> dict:
    "Median wall and process-CPU seconds of `repeats` calls of `fn` (the model is warm: the training steps ran first)."
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time(); fn()
        wall.append(time.perf_counter() - w); cpu.append(time.process_time() - c)
    return dict(seconds=statistics.median(wall), cpu_seconds=statistics.median(cpu))

def generation_rates(trainer, tok, prompts:list[str], args) -> dict:
    "Completion tokens per second: plain `generate` at batch 1, and `sample_rollouts` at the trainer's batch sizes."
    from safesteer.distill import sample_rollouts
    from safesteer.models import tokenize_prompts
    model, n_new = trainer.model, args.max_new_tokens
    def plain():
        enc = tokenize_prompts(tok, prompts[:1])
        return model.generate(**enc, do_sample=True, top_k=0, top_p=1.0, max_new_tokens=n_new, pad_token_id=tok.pad_token_id)
    def rollouts(n_prompts, n_samples): return lambda: sample_rollouts(model, tok, prompts[:n_prompts], n_samples, n_new)
    cases = {'plain generate, batch 1': (plain, 1),
             f'sample_rollouts, {args.prompts_per_step} prompts x {args.n_samples} samples (this profile)':
                 (rollouts(args.prompts_per_step, args.n_samples), args.prompts_per_step * args.n_samples),
             'sample_rollouts, 1 prompt x 8 samples (the paper\'s micro-batch)': (rollouts(1, 8), 8),
             'sample_rollouts, 4 prompts x 8 samples (the paper\'s optimiser step in one call)': (rollouts(4, 8), 32)}
    cases['sample_rollouts, this profile, LoRA adapters disabled'] = cases[list(cases)[1]]
    rates = {}
    for name, (fn, batch) in cases.items():
        with trainer.model.disable_adapter() if 'disabled' in name else nullcontext():
            t = timed(fn, args.repeats)
        rates[name] = dict(batch=batch, **t, tokens_per_s=batch * n_new / t['seconds'], tokens_per_cpu_s=batch * n_new / t['cpu_seconds'])
        log(f'{name}: {rates[name]["tokens_per_s"]:.1f} tokens/s ({rates[name]["tokens_per_cpu_s"]:.1f} per cpu second)')
    return rates

def ratio_of(rates:dict, after:str, before:str) -> dict:
    "Tokens per second and per CPU second of the generation case named with `after` over the one named with `before`."
    a, b = (next(r for name, r in rates.items() if label in name) for label in (after, before))
    return {k: a[k] / b[k] for k in ('tokens_per_s', 'tokens_per_cpu_s')}

def step_shares(step_s:list[float], saving:list[float], records:list[dict]) -> dict:
    "Mean seconds and share of the wall time per phase over the timed steps (the first step is a warm-up)."
    steps = list(zip(step_s, saving, records))[1:]
    mean = lambda f: sum(f(*s) for s in steps) / len(steps)
    wall = mean(lambda w, c, r: w)
    seconds = {k: mean(lambda w, c, r: r[f'seconds_{k}']) for k in ('generation', 'teacher', 'student')}
    seconds['everything_else'] = wall - sum(seconds.values())
    detail = dict(optimiser_and_logging=mean(lambda w, c, r: r['seconds']) - sum(seconds[k] for k in ('generation', 'teacher', 'student')),
                  checkpoint=mean(lambda w, c, r: c))
    detail['loop'] = seconds['everything_else'] - sum(detail.values())
    return dict(step_seconds=wall, seconds=seconds, share={k: v / wall for k, v in seconds.items()},
                everything_else_detail=detail)

def student_flops(model, batch:int, seq:int, counted:int) -> dict:
    "Model FLOPs of one student forward/backward with LoRA (frozen base weights: backward = activation gradients only)."
    from safesteer.models import decoder_blocks
    p, cfg = matmul_params(model), model.config
    linear = 2 * p['blocks'] * batch * seq
    attention = 4 * batch * seq**2 * cfg.hidden_size * len(decoder_blocks(model))   # QK^T and AV, forward
    head = 2 * p['head'] * counted                                                   # one output-head product
    return dict(backbone_forward=linear + attention, backbone_backward=linear + 2 * attention,
                loss_forward=2 * head, loss_backward=head, loss_recompute=2 * head)  # student and teacher heads

def student_rollout(trainer, tok, prompts:list[str]):
    "One micro-batch of rollouts and the teacher's hidden states on it."
    from safesteer.distill import sample_rollouts, completion_hidden
    cfg = trainer.cfg
    ro = sample_rollouts(trainer.model, tok, prompts[:cfg.micro_batch // cfg.n_samples], cfg.n_samples, cfg.max_new_tokens)
    with torch.no_grad(), trainer.method.teacher_context():
        return ro, completion_hidden(trainer.frozen, ro.prompt_ids, ro.prompt_mask, ro.completions, ro.mask)

def student_utilisation(trainer, ro, t_h, loss_fn, loss_cfg, peak:float, repeats:int, recomputes:bool) -> dict:
    """CPU seconds of the student's forward, loss and backward on one rollout with `loss_fn` (`distill_loss` or a
    drop-in) under `loss_cfg`, against the model FLOPs of each; `recomputes`: the loss runs its forward again in the
    backward pass."""
    from safesteer.distill import completion_hidden, output_head, _softcap
    parts = {'backbone_forward': [], 'loss_forward': [], 'backward': []}
    for _ in range(repeats):   # process CPU seconds: the work of this (single-threaded) process, robust to other jobs
        t0 = time.process_time()
        s_h = completion_hidden(trainer.hidden, ro.prompt_ids, ro.prompt_mask, ro.completions, ro.mask)
        t1 = time.process_time()
        loss, _ = loss_fn(s_h, t_h, ro.completions, ro.mask, output_head(trainer.model), output_head(trainer.frozen),
                          trainer.ids, loss_cfg, _softcap(trainer.model))
        t2 = time.process_time()
        loss.backward()
        t3 = time.process_time()
        trainer.optimizer.zero_grad(set_to_none=True)
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2)): parts[k].append(v)
    seconds = {k: statistics.median(v) for k, v in parts.items()}
    batch, seq = ro.prompt_ids.shape[0], ro.prompt_ids.shape[1] + ro.completions.shape[1]
    flops = student_flops(trainer.model, batch, seq, int(ro.mask.sum()))
    if not recomputes: flops['loss_recompute'] = 0
    model_flops = flops['backbone_forward'] + flops['backbone_backward'] + flops['loss_forward'] + flops['loss_backward']
    total = sum(seconds.values())
    gflops = lambda f, s: f / s / 1e9
    return dict(chunk_size=loss_cfg.chunk_size, batch=batch, sequence_tokens=seq, counted_tokens=int(ro.mask.sum()), cpu_seconds=seconds, total_cpu_seconds=total,
                gflop=dict({k: v / 1e9 for k, v in flops.items()}, model_total=model_flops / 1e9),
                gflop_per_cpu_s=dict(student=gflops(model_flops, total),
                                     backbone_forward=gflops(flops['backbone_forward'], seconds['backbone_forward']),
                                     loss_forward=gflops(flops['loss_forward'], seconds['loss_forward']),
                                     backward=gflops(flops['backbone_backward'] + flops['loss_backward'] + flops['loss_recompute'],
                                                     seconds['backward'])),
                mfu=model_flops / total / 1e9 / peak, hfu=(model_flops + flops['loss_recompute']) / total / 1e9 / peak)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_args(ap, layers=24, steps=1)
    ap.add_argument('--repeats', type=int, default=1, help='timed repeats of each generation measurement')
    ap.add_argument('--student-repeats', type=int, default=3, help='timed repeats of each student forward/backward (median)')
    ap.add_argument('--peak-size', type=int, default=2048, help='n of the n x n x n fp32 matrix product giving the peak')
    args = ap.parse_args()
    if args.device != 'cpu': sys.exit('rollouts.py measures the CPU; bench/train_step.py covers GPUs')
    from safesteer.distill import SafeSteerTrainer, distill_loss, LossConfig
    from checkpointed_loss import checkpointed_distill_loss
    tok, prompts, model = setup(args)
    peak = matmul_peak_gflops(args.peak_size)
    log(f'peak fp32 matmul, {args.threads} thread(s): {peak:.1f} GFLOP per cpu second')
    with tempfile.TemporaryDirectory() as out_dir:
        trainer = SafeSteerTrainer(model, tok, steered_teacher(model), safety_ids(model.config.vocab_size, args.k),
                                   distill_config(args), out_dir)
        clock, saving, records = train_timed(trainer, prompts)
        step_s = clock.wall
        shares = step_shares(step_s, saving, records)
        log('shares:', {k: round(v, 3) for k, v in shares['share'].items()})
        rates = generation_rates(trainer, tok, prompts, args)
        ro, t_h = student_rollout(trainer, tok, prompts)
        losses = dict(distill_loss=(distill_loss, trainer.cfg.loss, False),
                      checkpointed_before=(checkpointed_distill_loss, LossConfig(), True))   # the default chunk, as before
        student = {name: student_utilisation(trainer, ro, t_h, fn, cfg, peak, args.student_repeats, recomputes)
                   for name, (fn, cfg, recomputes) in losses.items()}
        for name, st in student.items():
            log(f'student forward/backward, {name}: {st["gflop_per_cpu_s"]["student"]:.1f} GFLOP per cpu second, MFU {st["mfu"]:.2f}')
    plain, batched = list(rates.values())[:2]
    result = dict(benchmark='rollouts', command=' '.join(['python', 'bench/rollouts.py', *sys.argv[1:]]),
                  model=f'random {args.config} configuration with {args.layers} decoder blocks, {args.dtype}, LoRA r=16',
                  settings={k: getattr(args, k) for k in ('config', 'layers', 'prompts_per_step', 'n_samples', 'max_new_tokens', 'k', 'steps')},
                  machine=machine(args.device, args.threads),
                  generation=dict(rates=rates, batched_over_plain=batched['tokens_per_s'] / plain['tokens_per_s'],
                                  paper_step_one_call_over_per_micro_batch=ratio_of(rates, 'optimiser step in one call', 'micro-batch)')),
                  step=shares, targets=dict(everything_else_share='<= 0.10'),
                  flops=dict(peak_matmul_gflop_per_cpu_s=peak, peak_matmul_size=args.peak_size, student=student,
                             note='FLOPs per process-CPU second (per core); model FLOPs leave out the recomputation of '
                                  'activation checkpointing, hfu counts it; LoRA: backward = activation gradients only; '
                                  'checkpointed_before is bench/checkpointed_loss.py (the loss before its fused gradient) '
                                  'at 256-token chunks, distill_loss runs at the cpu profile\'s chunk'),
                  step_seconds=step_s, step_cpu_seconds=clock.cpu, checkpoint_seconds=saving)
    write_result(Path(args.out or RESULTS/f'rollouts__{args.config}-{args.layers}l__cpu.json'), result)

if __name__ == '__main__': main()
