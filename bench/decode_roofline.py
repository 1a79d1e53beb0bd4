"""How close decoding comes to this machine's floor: the memory read bandwidth and the fp32 matrix-product rate measured in
the same run, the floor of each decoding step as max(bytes read / bandwidth, FLOPs / product rate), and the achieved
seconds per step of the two decoding workloads of the pipeline:

- `rollouts`: the trainer's `sample_rollouts` at the `cpu` profile's shape (4 prompts x 2 samples = 8 sequences, 48 new
  tokens, temperature 1), on the plain model and with peft LoRA adapters attached as in training (r16 on q,k,v,o,gate,up,down);
- `evaluation`: `safesteer.models.generate`, greedy, batch 16, 32 new tokens, on 16 harmless prompts;

each with 1 and 2 threads (`torch.set_num_threads`), interleaved, repeated; medians are reported.

    .venv/bin/python bench/decode_roofline.py                       # the embedded qwen2.5-coder-0.5b-instruct
    .venv/bin/python bench/decode_roofline.py --model tiny --repeats 1   # a check of the script in seconds

Bytes per step: every weight matrix of the decoder blocks and the output head (151,936 x 896) read once, the norms, the
embedding rows of the step's tokens, the LoRA matrices when attached, and the whole KV cache (K and V of every layer at
the step's length). FLOPs per step: 2 x batch x (matrix weights + LoRA) plus attention (QK^T and AV over the cache).
The achieved time of a step is measured between the ends of consecutive forward passes (hooks on the model), so it
includes the sampling and the bookkeeping of `generate`; the prefill (the first forward) is reported apart.
`decode_roofline_fraction` = floor / achieved seconds per decoding step (1.0 would be the hardware's limit).
Writes bench/results/decode_roofline__<model>__cpu.json.
"""
import argparse, copy, os, statistics, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import RESULTS, machine, write_result, log

MODEL = 'qwen2.5-coder-0.5b-instruct'

# -- the machine ----------------------------------------------------------------------------------------------------
def best_wall(fn, repeats:int) -> float:
    fn(); best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter(); fn(); best = min(best, time.perf_counter() - start)
    return best

def read_bandwidth(gb:float=1.0, repeats:int=5) -> dict:
    "Bytes per second of a sum over (read) and a copy of (read + write) a `gb` GB float32 tensor: the best of `repeats`."
    x = torch.ones(int(gb * 2**30) // 4); y = torch.empty_like(x)
    n = x.numel() * 4
    s_sum, s_copy = best_wall(lambda: x.sum(), repeats), best_wall(lambda: y.copy_(x), repeats)
    return dict(read_gb_s=n / s_sum / 1e9, copy_read_write_gb_s=2 * n / s_copy / 1e9, tensor_gb=n / 1e9)

def matmul_rates(shapes:dict, repeats:int=5) -> dict:
    "GFLOP per second (wall, best of `repeats`) of fp32 products [m, k] x [k, n] at each named shape (m, k, n)."
    out = {}
    for name, (m, k, n) in shapes.items():
        a, w = torch.randn(m, k), torch.randn(n, k)   # weights stored [out, in] as in nn.Linear
        s = best_wall(lambda: torch.nn.functional.linear(a, w), repeats)
        out[name] = dict(shape=[m, k, n], gflop_s=2 * m * k * n / s / 1e9)
    return out

def product_shapes(cfg, batch:int) -> dict:
    d, f, v = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
    kv = cfg.num_key_value_heads * (d // cfg.num_attention_heads)
    return {f'b{batch}_qo': (batch, d, d), f'b{batch}_kv': (batch, d, kv), f'b{batch}_gate_up': (batch, d, f),
            f'b{batch}_down': (batch, f, d), f'b{batch}_head': (batch, d, v)}

# -- the model's bytes and FLOPs --------------------------------------------------------------------------------------
def model_sizes(model) -> dict:
    "Parameter counts of the matrices read every step, by kind (LoRA matrices apart)."
    from safesteer.models import unwrap_model
    base = unwrap_model(model)
    emb, head = base.get_input_embeddings().weight, base.get_output_embeddings().weight
    matrices = lora = other = 0
    for name, p in base.model.layers.named_parameters():
        if 'lora_' in name: lora += p.numel()
        elif p.dim() == 2: matrices += p.numel()
        else: other += p.numel()
    other += base.model.norm.weight.numel()
    return dict(block_matrices=matrices, head=head.numel(), lora=lora, vectors=other, hidden=emb.shape[1],
                tied=emb.data_ptr() == head.data_ptr())

def step_cost(sizes:dict, cfg, batch:int, q_len:int, kv_len:int, logits_rows:int, bytes_per:int=4) -> tuple[float, float]:
    """(bytes, FLOPs) of one forward pass: `batch` rows of `q_len` new tokens attending to `kv_len` positions (the new
    ones included), the head applied to `logits_rows` positions per row."""
    L, hd = cfg.num_hidden_layers, cfg.hidden_size // cfg.num_attention_heads
    kv_bytes = 2 * L * batch * cfg.num_key_value_heads * kv_len * hd * bytes_per
    weights = sizes['block_matrices'] + sizes['head'] + sizes['lora'] + sizes['vectors']
    emb_rows = batch * q_len * sizes['hidden']
    nbytes = (weights + emb_rows) * bytes_per + kv_bytes
    tokens = batch * q_len
    flops = 2 * tokens * (sizes['block_matrices'] + sizes['lora']) + 2 * batch * logits_rows * sizes['head']
    flops += L * 2 * 2 * batch * cfg.num_attention_heads * q_len * kv_len * hd       # QK^T and AV (no causal saving counted)
    return nbytes, flops

class ForwardClock:
    "Times and shapes of every forward pass of a causal LM (hooks on the unwrapped model)."
    def __init__(self, model):
        from safesteer.models import unwrap_model
        base = unwrap_model(model)
        self.calls = []
        self.handles = [base.register_forward_pre_hook(self.pre, with_kwargs=True), base.register_forward_hook(self.post)]
    def pre(self, module, args, kwargs):
        ids = kwargs.get('input_ids', args[0] if args else None)
        mask = kwargs.get('attention_mask')
        self.calls.append(dict(start=time.perf_counter(), batch=ids.shape[0], q_len=ids.shape[1],
                               kv_len=mask.shape[1] if mask is not None else ids.shape[1],
                               logits_to_keep=kwargs.get('logits_to_keep', 0)))
    def post(self, module, args, output): self.calls[-1]['end'] = time.perf_counter()
    def reset(self): self.calls = []
    def close(self):
        for h in self.handles: h.remove()

def analyse(calls:list[dict], sizes:dict, cfg, bandwidth:float, peak_flops:float) -> dict:
    "Achieved and floor seconds of the prefill and of the decoding steps of one generate call."
    def floor(c):
        rows = c['q_len'] if not c['logits_to_keep'] else min(c['q_len'], c['logits_to_keep'])
        nbytes, flops = step_cost(sizes, cfg, c['batch'], c['q_len'], c['kv_len'], rows)
        return nbytes, flops, max(nbytes / bandwidth, flops / peak_flops)
    pre, steps = calls[0], calls[1:]
    pre_bytes, pre_flops, pre_floor = floor(pre)
    costs = [floor(c) for c in steps]
    achieved = steps[-1]['end'] - pre['end']     # from the end of the prefill to the end of the last step's forward
    step_floor = sum(c[2] for c in costs)
    memory_bound = sum(c[0] / bandwidth >= c[1] / peak_flops for c in costs)
    return dict(batch=pre['batch'], prompt_len=pre['q_len'], decode_steps=len(steps),
                prefill=dict(seconds=pre['end'] - pre['start'], floor_seconds=pre_floor, flops=pre_flops, bytes=pre_bytes,
                             fraction=pre_floor / (pre['end'] - pre['start'])),
                seconds_per_step=achieved / len(steps), floor_seconds_per_step=step_floor / len(steps),
                bytes_per_step=sum(c[0] for c in costs) / len(steps), flops_per_step=sum(c[1] for c in costs) / len(steps),
                steps_memory_bound=memory_bound, decode_roofline_fraction=step_floor / achieved,
                forward_seconds_per_step=sum(c['end'] - c['start'] for c in steps) / len(steps),
                whole_call_fraction=(step_floor + pre_floor) / (steps[-1]['end'] - pre['start']))

# -- the workloads ----------------------------------------------------------------------------------------------------
def load(name:str):
    from safesteer.models import load_model, tiny_model
    if name == 'tiny': return tiny_model()
    return load_model(name, device='cpu')

def with_lora(model):
    "A second module tree sharing `model`'s parameters, with peft LoRA adapters attached as the trainer attaches them."
    from peft import LoraConfig, get_peft_model
    from safesteer.distill import DistillConfig
    cfg = DistillConfig(lora=True)
    twin = copy.deepcopy(model, memo={id(p): p for p in model.parameters()})
    return get_peft_model(twin, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                                           target_modules=list(cfg.lora_targets))).eval()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=MODEL, help="embedded name or folder, or 'tiny' (a random test model)")
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--repeats', type=int, default=3, help='timed calls of each workload and thread count (medians reported)')
    ap.add_argument('--rollout-tokens', type=int, default=None, help="new tokens per rollout (default: the cpu profile's 48)")
    ap.add_argument('--eval-tokens', type=int, default=32)
    ap.add_argument('--out')
    args = ap.parse_args()
    from safesteer.distill import sample_rollouts
    from safesteer.profiles import get_profile
    from safesteer.models import generate
    from safesteer.data import load_prompts
    threads = [int(t) for t in args.threads.split(',')]
    model, tok = load(args.model)
    cfg = model.config
    lora = with_lora(model)
    prof = get_profile('cpu').distill
    args.rollout_tokens = args.rollout_tokens or prof['max_new_tokens']
    n_prompts = prof['sequences_per_step'] // prof['n_samples']
    harmful, harmless = load_prompts('advbench')[:n_prompts], load_prompts('harmless')[:16]
    workloads = {
        'rollouts': lambda: sample_rollouts(model, tok, harmful, prof['n_samples'], args.rollout_tokens, 1.0),
        'rollouts_lora': lambda: sample_rollouts(lora, tok, harmful, prof['n_samples'], args.rollout_tokens, 1.0),
        'evaluation': lambda: generate(model, tok, harmless, max_new_tokens=args.eval_tokens, batch_size=16, progress=False),
    }
    sizes = {k: model_sizes(lora if k == 'rollouts_lora' else model) for k in workloads}

    log('measuring the machine')
    hw = {}
    for t in threads:
        torch.set_num_threads(t)
        shapes = {**product_shapes(cfg, 8), **product_shapes(cfg, 16), 'square_2048': (2048, 2048, 2048)}
        hw[t] = dict(bandwidth=read_bandwidth(1.0 if args.model != 'tiny' else 0.25, 3), matmul=matmul_rates(shapes, 2))
        hw[t]['peak_gflop_s'] = max(v['gflop_s'] for v in hw[t]['matmul'].values())
        log(f'{t} thread(s): read {hw[t]["bandwidth"]["read_gb_s"]:.1f} GB/s, peak {hw[t]["peak_gflop_s"]:.1f} GFLOP/s')

    clocks = {k: ForwardClock(lora if k == 'rollouts_lora' else model) for k in workloads}
    runs = {(k, t): [] for k in workloads for t in threads}
    loads = [list(os.getloadavg())]
    name = 'tiny' if args.model == 'tiny' else Path(args.model).name
    out = Path(args.out or RESULTS/f'decode_roofline__{name}__cpu.json')

    def summary(rs):
        med = lambda key: statistics.median(r[key] for r in rs)
        return dict(decode_roofline_fraction=med('decode_roofline_fraction'), seconds_per_step=med('seconds_per_step'),
                    floor_seconds_per_step=med('floor_seconds_per_step'), forward_seconds_per_step=med('forward_seconds_per_step'),
                    tokens_per_s=rs[0]['batch'] / med('seconds_per_step'),
                    prefill_fraction=statistics.median(r['prefill']['fraction'] for r in rs),
                    whole_call_fraction=med('whole_call_fraction'), call_seconds=med('call_seconds'),
                    fractions=[r['decode_roofline_fraction'] for r in rs], runs=rs)
    def emit(final:bool):
        "Write what is measured so far (each call's analysis uses its thread count's best bandwidth so far)."
        results = [dict(kind='rollouts' if k.startswith('rollouts') else 'evaluation', lora=k == 'rollouts_lora', threads=t,
                        **summary(rs)) for (k, t), rs in runs.items() if rs]
        result = dict(benchmark='decode_roofline', command=' '.join(['python', 'bench/decode_roofline.py', *sys.argv[1:]]),
                      complete=final, model=args.model, model_sizes=sizes['rollouts'], lora_params=sizes['rollouts_lora']['lora'],
                      settings=dict(rollouts=dict(prompts=n_prompts, n_samples=prof['n_samples'], max_new_tokens=args.rollout_tokens,
                                                  profile_max_new_tokens=prof['max_new_tokens'], temperature=1.0,
                                                  call='safesteer.distill.sample_rollouts'),
                                    evaluation=dict(prompts=16, batch_size=16, max_new_tokens=args.eval_tokens, greedy=True,
                                                    call='safesteer.models.generate'),
                                    repeats=args.repeats, threads=threads),
                      hardware={str(t): v for t, v in hw.items()}, results=results,
                      machine=dict(machine('cpu', threads[-1]), load_average_by_round=loads + [list(os.getloadavg())]),
                      note=('floor = max(bytes / read bandwidth, FLOPs / peak product rate) per step, bandwidth and rate '
                            'measured at the same thread count in this run (the bandwidth: the best of the start and every '
                            'round); the peak rate is the best of the product shapes measured (decoding shapes and a 2048 '
                            'square); seconds per step from the end of the prefill to the end of the last forward, divided '
                            'by the decoding steps; medians over the repeats'))
        write_result(out, result)
        return results

    with torch.no_grad():
        for t in threads:                            # warm-up: a short call of each workload at each thread count
            torch.set_num_threads(t)
            sample_rollouts(model, tok, harmful, 2, 2); sample_rollouts(lora, tok, harmful, 2, 2)
            generate(model, tok, harmless, max_new_tokens=2, batch_size=16, progress=False)
        for rep in range(1, args.repeats + 1):
            for t in threads:
                torch.set_num_threads(t)
                bw = read_bandwidth(1.0 if args.model != 'tiny' else 0.25, 3)   # again each round: the best one counts
                hw[t].setdefault('read_gb_s_by_round', []).append(bw['read_gb_s'])
                hw[t]['best_read_gb_s'] = max(hw[t]['read_gb_s_by_round'] + [hw[t]['bandwidth']['read_gb_s']])
                for k, call in workloads.items():
                    clocks[k].reset(); torch.manual_seed(0)
                    start = time.perf_counter(); call(); wall = time.perf_counter() - start
                    h = hw[t]
                    r = analyse(clocks[k].calls, sizes[k], cfg, h['best_read_gb_s'] * 1e9, h['peak_gflop_s'] * 1e9)
                    r['call_seconds'] = wall
                    runs[k, t].append(r)
                    log(f'round {rep} {k} {t}t: {wall:.1f}s, {r["seconds_per_step"]*1e3:.0f} ms/step, floor '
                        f'{r["floor_seconds_per_step"]*1e3:.0f} ms, fraction {r["decode_roofline_fraction"]:.3f}')
                    emit(False)
            loads.append(list(os.getloadavg()))
    for r in emit(True):
        log(f"{r['kind']:10s} lora={r['lora']!s:5s} {r['threads']}t: fraction {r['decode_roofline_fraction']:.3f} "
            f"({r['seconds_per_step']*1e3:.0f} ms/step, floor {r['floor_seconds_per_step']*1e3:.0f} ms, {r['tokens_per_s']:.1f} tok/s)")

if __name__ == '__main__': main()
