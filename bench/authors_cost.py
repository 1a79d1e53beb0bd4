"""What one training step of the authors' setting (run (a) of `04_distill`: full fine-tuning, 4 prompts x 8 rollouts
per step, rollouts up to 256 or 512 tokens, 25 steps) costs on this machine, estimated from timed pieces on the real
model: decoding steps at the rollouts' batch of 32, the teacher's forward and the student's forward and backward per
sequence, and AdamW's update per weight. Each piece is timed with the model in float32 (also the cost of bfloat16
weights computed in float32 and rounded, `rounded_step`) and in bfloat16 (`compute_dtype='bfloat16'`: weights,
activations and AdamW's moments, as the authors'), in the same process, so `bfloat16_speedup` is a ratio on one machine
under one load.

    OMP_NUM_THREADS=1 python bench/authors_cost.py --model qwen2.5-coder-0.5b-instruct

Every rollout is assumed to run to the length limit, so the estimate is an upper bound when replies end early. It
writes bench/results/authors_cost__<model>__cpu.json."""
import argparse, os, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import RESULTS, machine, write_result, log
from safesteer.distill import sample_rollouts
from safesteer.models import format_prompts, load_model
from safesteer.pipeline import borderline_splits
from safesteer.training import parameters_to

def seconds(call) -> float:
    start = time.perf_counter(); call(); return time.perf_counter() - start

def decoding(model, tok, prompts:list[str], n_samples:int, short:int, long:int) -> dict:
    "Seconds per decoding step at `len(prompts) * n_samples` rows, from two rollout lengths (prefill cancels out)."
    with torch.no_grad():
        times = {n: seconds(lambda: sample_rollouts(model, tok, prompts, n_samples, n)) for n in (short, long)}
    return dict(rows=len(prompts) * n_samples, calls=times, per_step=(times[long] - times[short]) / (long - short))

def sequence_costs(model, n_tokens:int, batch:int, safety_ids:list[int]) -> dict:
    "Seconds per sequence of `n_tokens`: a no-grad forward (the teacher), and forward plus backward of the sliced log-probabilities (the student)."
    ids = torch.randint(0, model.config.vocab_size, (batch, n_tokens))
    with torch.no_grad(): teacher = seconds(lambda: model(ids).logits)
    def student():
        logp = model(ids).logits.log_softmax(-1)[..., safety_ids]
        logp.sum().backward()
    student_s = seconds(student)
    model.zero_grad(set_to_none=True)
    return dict(tokens=n_tokens, batch=batch, teacher=teacher / batch, student=student_s / batch)

def adamw_per_weight(dtype:torch.dtype, n:int=50_000_000) -> float:
    "Seconds per weight of one AdamW step on `dtype` weights (its state in the same dtype), timed on `n` weights."
    w = torch.nn.Parameter(torch.randn(n, dtype=dtype)); w.grad = torch.randn(n, dtype=dtype)
    opt = torch.optim.AdamW([w], lr=1e-5)
    opt.step()   # the state is created on the first step
    return seconds(opt.step) / n

def estimate(dec:dict, seq:dict, adam:float, n_weights:int, sequences:int, new_tokens:int, prompt_tokens:int) -> dict:
    "One step's seconds by phase, every rollout `new_tokens` long."
    scale = (prompt_tokens + new_tokens) / seq['tokens']   # the forward and backward are linear in tokens at these lengths
    phases = dict(rollouts=dec['per_step'] * new_tokens, teacher=seq['teacher'] * scale * sequences,
                  student=seq['student'] * scale * sequences, optimizer=adam * n_weights)
    return dict(phases, step=sum(phases.values()))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--prompts', type=int, default=4, help='prompts per step')
    ap.add_argument('--n-samples', type=int, default=8, help='rollouts per prompt')
    ap.add_argument('--short', type=int, default=8); ap.add_argument('--long', type=int, default=24)
    ap.add_argument('--seq-tokens', type=int, default=296); ap.add_argument('--seq-batch', type=int, default=2)
    ap.add_argument('--steps', type=int, default=25)
    args = ap.parse_args()
    load0 = os.getloadavg()
    model, tok = load_model(args.model)
    prompts = borderline_splits()['train'][:args.prompts]   # run (a)'s training prompts
    prompt_tokens = max(len(ids) for ids in tok(format_prompts(tok, prompts), add_special_tokens=False).input_ids)
    n_weights, sequences = sum(p.numel() for p in model.parameters()), args.prompts * args.n_samples
    by_dtype = {}
    for dtype in (torch.float32, torch.bfloat16):
        name = str(dtype).split('.')[1]
        parameters_to(model, dtype)   # as the trainer casts: the rotary frequencies stay float32
        log(f'{name}: decoding'); dec = decoding(model, tok, prompts, args.n_samples, args.short, args.long)
        log(f'{name}: forward and backward'); seq = sequence_costs(model, args.seq_tokens, args.seq_batch, list(range(50)))
        log(f'{name}: AdamW'); adam = adamw_per_weight(dtype)
        per_length = {n: estimate(dec, seq, adam, n_weights, sequences, n, prompt_tokens) for n in (48, 256, 512)}
        for n, e in per_length.items(): e['run_hours'] = e['step'] * args.steps / 3600
        by_dtype[name] = dict(decoding=dec, per_sequence=seq, adamw_seconds_per_weight=adam, estimate_by_rollout_tokens=per_length)
    fp32, bf16 = (by_dtype[k]['estimate_by_rollout_tokens'][256] for k in ('float32', 'bfloat16'))
    speedup = {k: fp32[k] / bf16[k] for k in ('rollouts', 'teacher', 'student', 'optimizer', 'step')}
    result = dict(benchmark='authors_cost', model=args.model, command=' '.join(['python', 'bench/authors_cost.py', *sys.argv[1:]]),
                  sequences_per_step=sequences, steps=args.steps, prompt_tokens=prompt_tokens, weights=n_weights,
                  by_dtype=by_dtype, bfloat16_speedup=speedup,
                  machine=dict(machine('cpu', torch.get_num_threads()), load_average_before=load0, load_average_after=os.getloadavg()),
                  note='upper bound: every rollout runs to the limit; timings on a shared machine (see the load averages)')
    out = RESULTS/f'authors_cost__{Path(args.model).name}__cpu.json'
    write_result(out, result)
    for name, d in by_dtype.items():
        for n, e in d['estimate_by_rollout_tokens'].items():
            log(f"{name}, {n} tokens: {e['step']:.0f} s per step, {e['run_hours']:.1f} h for {args.steps} steps", {k: round(v) for k, v in e.items() if k not in ('step', 'run_hours')})
    log('bfloat16 speedup at 256 tokens', {k: round(v, 2) for k, v in speedup.items()})
