"""Levers on decoding speed, each measured against what the library does today in the same run (alternating calls,
repeated, medians), with whether it changes the outputs:

- `merge`: LoRA adapters merged into the weights for the rollouts (`merge_adapter` before `sample_rollouts`,
  `unmerge_adapter` after) against unmerged adapters; tokens identical given the seed, the weights' distance from the
  original after unmerging, and, where tokens differ, rollout statistics (mean length, refusal rate) across seeds;
- `static_compile`: a static KV cache (`cache_implementation='static'`) with the forward compiled by `torch.compile`
  (transformers' `CompileConfig`, allowed on CPU) against the dynamic cache; compile time, tokens identical;
- `drop_finished`: evaluation generation sorted by prompt length in tokens, with rows leaving the batch when they finish
  (a prototype decoding loop here) against `safesteer.models.generate`; greedy outputs identical;
- `sampling`: the draw over the full vocabulary (today softmax and `torch.multinomial`, an exponential race) against
  an exponential race without the softmax (Gumbel-max), and inverse-CDF sampling with one uniform per row; time per
  draw at [8, 151,936], and whole rollouts through a prototype of `sample_rollouts` whose draw is swapped;
- `relayout`: every linear weight stored as the contiguous transpose, `[in, out]` (same values and shape, other
  strides), against PyTorch's `[out, in]`; greedy evaluation replies (rows leaving the batch) and sampled rollouts,
  identical or not;
- `eval_batch`: greedy evaluation (rows leaving the batch) in batches of 64 against 16, identical replies or not.

    .venv/bin/python bench/decode_levers.py                          # all levers, the embedded 0.5B model, 1 thread
    .venv/bin/python bench/decode_levers.py --levers merge,sampling  # some (the JSON keeps the others' last results)
    .venv/bin/python bench/decode_levers.py --model tiny --repeats 1 --out /tmp/levers.json   # a check in seconds

Writes bench/results/decode_levers__<model>__cpu.json.
"""
import argparse, copy, json, os, statistics, sys, time
from contextlib import contextmanager
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import RESULTS, machine, write_result, log
from decode_roofline import MODEL, load, with_lora

def timed(call, seed:int=0):
    torch.manual_seed(seed)
    start = time.perf_counter(); out = call(); return time.perf_counter() - start, out

WARMUP = 1   # rounds before the timed ones (--warmup)

def alternate(calls:dict, repeats:int, seed:int=0) -> tuple[dict, dict]:
    "Median seconds of each call, alternating after `WARMUP` warm-up rounds; the outputs of each call's last round."
    secs, outs = {k: [] for k in calls}, {}
    for rep in range(repeats + WARMUP):
        for k, call in calls.items():
            s, outs[k] = timed(call, seed)
            if rep >= WARMUP: secs[k].append(s)
            log(f'  {k}: {s:.1f}s' + (' (warm-up)' if rep < WARMUP else ''))
    return {k: dict(median_seconds=statistics.median(v), seconds=v) for k, v in secs.items()}, outs

def rollout_shape(args):
    from safesteer.profiles import get_profile
    prof = get_profile('cpu').distill
    return prof['sequences_per_step'] // prof['n_samples'], prof['n_samples'], prof['max_new_tokens']

def compare_rollouts(a, b) -> dict:
    "Token-for-token comparison of two `Rollouts` of the same prompts."
    same_rows = [torch.equal(x, y) for x, y in zip(a.completions, b.completions)]
    first = []
    for x, y in zip(a.completions, b.completions):
        n = min(len(x), len(y)); diff = (x[:n] != y[:n]).nonzero()
        first.append(int(diff[0]) if len(diff) else (None if len(x) == len(y) else n))
    return dict(identical=all(same_rows) and a.completions.shape == b.completions.shape, identical_rows=sum(same_rows),
                rows=len(same_rows), first_difference=first)

def rollout_stats(ro) -> dict:
    from safesteer.judges import is_refusal
    lengths = ro.mask.sum(1).float()
    return dict(mean_length=float(lengths.mean()), refusal_rate=sum(map(is_refusal, ro.texts)) / len(ro.texts), n=len(ro.texts))

# -- a. merged adapters -------------------------------------------------------------------------------------------------
def lever_merge(model, tok, args) -> dict:
    from safesteer.distill import sample_rollouts
    from safesteer.data import load_prompts
    n_prompts, n_samples, n_new = rollout_shape(args)
    harmful = load_prompts('advbench')
    pm = with_lora(model)
    g = torch.Generator().manual_seed(0)
    for name, p in pm.named_parameters():      # trained-like adapters (peft starts B at zero, which merges to no change)
        if 'lora_B' in name: p.data.normal_(0, args.lora_b_std, generator=g)
    targets = {n: m.base_layer.weight for n, m in pm.named_modules() if hasattr(m, 'base_layer') and hasattr(m, 'merge')}
    original = {n: w.detach().clone() for n, w in targets.items()}
    merge_seconds = []
    def merged():
        start = time.perf_counter(); pm.merge_adapter(); merge_seconds.append(time.perf_counter() - start)
        try: return sample_rollouts(pm, tok, harmful[:n_prompts], n_samples, n_new, 1.0)
        finally:
            start = time.perf_counter(); pm.unmerge_adapter(); merge_seconds[-1] += time.perf_counter() - start
    def drift():
        return max(float((w - original[n]).abs().max()) for n, w in targets.items()), \
               sum(int((w != original[n]).sum()) for n, w in targets.items())
    calls = dict(unmerged=lambda: sample_rollouts(pm, tok, harmful[:n_prompts], n_samples, n_new, 1.0), merged=merged)
    with torch.no_grad():
        if WARMUP: timed(merged)
        else:      # the first merged call is a timed one: the drift after one cycle is measured after it
            calls = dict(unmerged=calls['unmerged'], merged=lambda: (merged(), drifts.append(drift()))[0])
        drifts = []
        timing, outs = alternate(calls, args.repeats)
        one_cycle = drifts[0] if drifts else drift()
        cycles = len(merge_seconds); after = drift()
        cmp = compare_rollouts(outs['unmerged'], outs['merged'])
        tokens = {k: int(outs[k].mask.sum()) for k in outs}
        stats = {}
        if not cmp['identical']:
            stat_calls = dict(unmerged=lambda: sample_rollouts(pm, tok, harmful[:args.stat_prompts], n_samples, n_new, 1.0),
                              merged=lambda: merged_stats(pm, tok, harmful[:args.stat_prompts], n_samples, n_new))
            for seed in range(1, args.stat_seeds + 1):
                ros = {k: timed(call, seed)[1] for k, call in stat_calls.items()}
                for k, ro in ros.items(): stats.setdefault(k, []).append(dict(seed=seed, **rollout_stats(ro)))
                stats.setdefault('paired', []).append(dict(seed=seed, **{k: v for k, v in compare_rollouts(*ros.values()).items()
                                                                           if k != 'first_difference'}))
                log(f'  seed {seed}: ' + ', '.join(f'{k} {v[-1]}' for k, v in stats.items()))
        for n, w in targets.items(): w.data.copy_(original[n])   # the exact base weights back for the other levers
    result = dict(seconds=timing, tokens=tokens,
                  ratio_tokens_per_s=(tokens['merged'] / timing['merged']['median_seconds']) /
                                     (tokens['unmerged'] / timing['unmerged']['median_seconds']),
                  ratio_seconds=timing['unmerged']['median_seconds'] / timing['merged']['median_seconds'],
                  merge_unmerge_seconds=statistics.median(merge_seconds), comparison=cmp,
                  max_abs_weight_diff_after_one_unmerge=one_cycle[0], weights_changed_after_one_unmerge=one_cycle[1],
                  max_abs_weight_diff_after_cycles=after[0], weights_changed_after_cycles=after[1], merge_cycles=cycles,
                  weights_in_merged_layers=sum(w.numel() for w in targets.values()),
                  max_abs_weight=max(float(w.abs().max()) for w in original.values()),
                  lora_b_std=args.lora_b_std,
                  stats_across_seeds=stats or None,
                  note=('adapters with random B ~ N(0, lora_b_std) (peft starts B at zero, which merges to no change); '
                        'timing at the cpu profile shape, merge and unmerge inside the merged call'))
    if stats:
        for key in ('mean_length', 'refusal_rate'):
            u, m = [s[key] for s in stats['unmerged']], [s[key] for s in stats['merged']]
            result[f'{key}_unmerged_mean'], result[f'{key}_merged_mean'] = statistics.mean(u), statistics.mean(m)
            result[f'{key}_seed_sd'] = statistics.stdev(u + m) if len(u + m) > 1 else None
    del pm
    return result

def merged_stats(pm, tok, prompts, n_samples, n_new):
    from safesteer.distill import sample_rollouts
    pm.merge_adapter()
    try: return sample_rollouts(pm, tok, prompts, n_samples, n_new, 1.0)
    finally: pm.unmerge_adapter()

# -- b. static cache and torch.compile ----------------------------------------------------------------------------------
def lever_static_compile(model, tok, args) -> dict:
    from transformers import CompileConfig
    from safesteer.distill import sample_rollouts
    from safesteer.data import load_prompts
    n_prompts, n_samples, n_new = rollout_shape(args)
    harmful = load_prompts('advbench')[:n_prompts]
    gc = model.generation_config
    def with_config(**kw):
        def call():
            saved = {k: getattr(gc, k, None) for k in kw}
            for k, v in kw.items(): setattr(gc, k, v)
            try: return sample_rollouts(model, tok, harmful, n_samples, n_new, 1.0)
            finally:
                for k, v in saved.items(): setattr(gc, k, v)
        return call
    cc = CompileConfig(fullgraph=False, dynamic=False, backend='inductor', mode='default')
    cc._compile_all_devices = True
    calls = dict(dynamic=with_config(), static=with_config(cache_implementation='static', disable_compile=True),
                 static_compiled=with_config(cache_implementation='static', compile_config=cc))
    with torch.no_grad():
        first, _ = timed(calls['static_compiled'])          # compiles
        log(f'  first compiled call: {first:.1f}s')
        timing, outs = alternate(calls, args.repeats)
    compiled = getattr(model, '_compiled_call', None) is not None
    return dict(seconds=timing, first_compiled_call_seconds=first,
                compile_seconds=first - timing['static_compiled']['median_seconds'], compiled=compiled,
                ratio_static=timing['dynamic']['median_seconds'] / timing['static']['median_seconds'],
                ratio_static_compiled=timing['dynamic']['median_seconds'] / timing['static_compiled']['median_seconds'],
                static_vs_dynamic=compare_rollouts(outs['dynamic'], outs['static']),
                compiled_vs_dynamic=compare_rollouts(outs['dynamic'], outs['static_compiled']),
                compile_config=dict(fullgraph=False, dynamic=False, backend='inductor', mode='default', _compile_all_devices=True),
                note='ratios are seconds of the dynamic-cache call over the lever; the compiled forward serves the decoding steps')

# -- c. finished rows leave the batch -------------------------------------------------------------------------------------
@torch.no_grad()
def generate_dropping(model, tok, instructions:list[str], max_new_tokens:int, batch_size:int=16) -> list[str]:
    """Greedy replies like `safesteer.models.generate`, prompts sorted by their length in tokens, each batch's rows
    leaving it (and its KV cache) as they emit an end-of-sequence token. Prototype: no repetition penalty or other
    logits processors, no sampling."""
    from transformers import DynamicCache
    from safesteer.models import format_prompts, fit_prompts, context_length, sliced_output_head, position_ids
    limit = context_length(model)
    instructions, _ = fit_prompts(tok, instructions, None if limit is None else limit - max_new_tokens)
    prompts = format_prompts(tok, instructions)
    lengths = [len(ids) for ids in tok(prompts, add_special_tokens=False).input_ids]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])
    eos = model.generation_config.eos_token_id
    eos = torch.tensor(eos if isinstance(eos, list) else [eos])
    replies = [None] * len(prompts)
    body, head = model.model, model.get_output_embeddings()
    with sliced_output_head(model):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tok([prompts[i] for i in idx], return_tensors='pt', padding=True, add_special_tokens=False)
            mask, rows = enc.attention_mask, torch.arange(len(idx))
            pos = position_ids(mask)
            cache = DynamicCache(config=model.config)
            h = body(input_ids=enc.input_ids, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True).last_hidden_state
            last = pos[:, -1]
            tokens = [[] for _ in idx]
            for step in range(max_new_tokens):
                nxt = head(h[:, -1:]).float()[:, -1].argmax(-1)
                for r, t in zip(rows.tolist(), nxt.tolist()): tokens[r].append(t)
                if step == max_new_tokens - 1: break
                keep = (~torch.isin(nxt, eos)).nonzero().squeeze(1)
                if not len(keep): break
                if len(keep) < len(rows):
                    cache.batch_select_indices(keep)
                    mask, rows, nxt, last = mask[keep], rows[keep], nxt[keep], last[keep]
                mask, last = torch.cat([mask, mask.new_ones(len(rows), 1)], 1), last + 1
                h = body(input_ids=nxt[:, None], attention_mask=mask, position_ids=last[:, None], past_key_values=cache,
                         use_cache=True).last_hidden_state
            for r, i in enumerate(idx): replies[i] = tok.decode(tokens[r], skip_special_tokens=True)
    return replies

def evaluation_prompts(n:int) -> list[str]:
    "The evaluation levers' prompts: the first n // 2 harmless prompts, then the first AdvBench prompts up to `n`."
    from safesteer.data import load_prompts
    return load_prompts('harmless')[:n // 2] + load_prompts('advbench')[:n - n // 2]

def lever_drop_finished(model, tok, args) -> dict:
    from safesteer.models import generate
    prompts = evaluation_prompts(args.eval_prompts)
    calls = dict(generate=lambda: generate(model, tok, prompts, max_new_tokens=args.eval_tokens, batch_size=16, progress=False),
                 dropping=lambda: generate_dropping(model, tok, prompts, args.eval_tokens, 16))
    with torch.no_grad(): timing, outs = alternate(calls, args.repeats)
    same = [a == b for a, b in zip(outs['generate'], outs['dropping'])]
    tok_len = lambda s: len(tok(s, add_special_tokens=False).input_ids)
    return dict(seconds=timing, ratio=timing['generate']['median_seconds'] / timing['dropping']['median_seconds'],
                identical=all(same), identical_replies=sum(same), replies=len(same),
                differing=[dict(prompt=p, generate=a, dropping=b) for p, a, b, s in zip(prompts, outs['generate'], outs['dropping'], same) if not s][:5],
                mean_reply_tokens=statistics.mean(map(tok_len, outs['generate'])), max_new_tokens=args.eval_tokens,
                generation_config={k: getattr(model.generation_config, k, None) for k in ('repetition_penalty', 'eos_token_id', 'do_sample')},
                note='prompts: the first harmless and AdvBench prompts; batch 16; ratio = seconds of generate over the prototype')

# -- d. cheaper draws over the vocabulary --------------------------------------------------------------------------------
def draw_multinomial(scores): return torch.multinomial(torch.softmax(scores, -1), 1).squeeze(1)
def draw_gumbel(scores):                 # argmax(x - log E): the exponential race of multinomial, without the softmax
    return (scores - torch.empty_like(scores).exponential_().log_()).argmax(-1)
def draw_race(scores):                   # argmax(exp(x - max) / E): the race on unnormalised probabilities
    w = (scores - scores.amax(-1, keepdim=True)).exp_()
    return w.div_(torch.empty_like(w).exponential_()).argmax(-1)
def draw_inverse_cdf(scores):            # one uniform per row against the cumulative unnormalised probabilities (the library's option)
    from safesteer.distill import inverse_cdf_draw
    return inverse_cdf_draw(scores)
DRAWS = dict(multinomial=draw_multinomial, gumbel=draw_gumbel, race_unnormalised=draw_race, inverse_cdf=draw_inverse_cdf)

class Draw:
    "A logits processor that draws the next token itself and leaves only it finite (greedy decoding then picks it)."
    def __init__(self, draw, temperature:float=1.0): self.draw, self.temperature = draw, temperature
    def __call__(self, input_ids, scores):
        if self.temperature != 1.0: scores = scores / self.temperature
        idx = self.draw(scores)
        return torch.full_like(scores, float('-inf')).scatter_(1, idx[:, None], 0.)

@torch.no_grad()
def sample_rollouts_with(draw, model, tok, instructions, n_samples, max_new_tokens, temperature=1.0):
    "`safesteer.distill.sample_rollouts` with the draw swapped (prototype: the draw as the last logits processor, greedy)."
    from transformers import LogitsProcessorList
    from safesteer.distill import FiniteLogits, Rollouts, completion_mask
    from safesteer.models import format_prompts, sliced_output_head, eot_token_ids
    enc = tok(format_prompts(tok, instructions), return_tensors='pt', padding=True, add_special_tokens=False)
    with sliced_output_head(model):
        ids, att = enc.input_ids.repeat_interleave(n_samples, 0), enc.attention_mask.repeat_interleave(n_samples, 0)
        out = model.generate(input_ids=ids, attention_mask=att, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id, logits_processor=LogitsProcessorList(
                                 [FiniteLogits(enc.input_ids.shape[1]), Draw(draw, temperature)]))
    completions = out[:, enc.input_ids.shape[1]:]
    mask = completion_mask(completions, eot_token_ids(tok, model))
    return Rollouts([i for i in instructions for _ in range(n_samples)], enc.input_ids.repeat_interleave(n_samples, 0),
                    enc.attention_mask.repeat_interleave(n_samples, 0), completions, mask,
                    tok.batch_decode(completions * mask + tok.pad_token_id * (1 - mask), skip_special_tokens=True))

def draw_check(n:int=200_000) -> dict:
    "Largest gap between each draw's frequencies and the softmax probabilities on 12 logits, `n` draws (rows) each."
    logits = torch.linspace(-3, 2, 12)
    p = torch.softmax(logits, -1)
    torch.manual_seed(0)
    return {k: float((torch.bincount(f(logits.expand(n, -1).contiguous()), minlength=12) / n - p).abs().max()) for k, f in DRAWS.items()}

def lever_sampling(model, tok, args) -> dict:
    from safesteer.distill import sample_rollouts
    from safesteer.data import load_prompts
    n_prompts, n_samples, n_new = rollout_shape(args)
    V = model.config.vocab_size
    per_call = {}
    for rows in (8, 16):
        x = torch.randn(rows, V) * 3
        for k, f in DRAWS.items():
            ts = []
            for _ in range(args.draw_repeats):
                start = time.perf_counter(); f(x); ts.append(time.perf_counter() - start)
            per_call.setdefault(f'rows_{rows}', {})[k] = dict(median_ms=statistics.median(ts) * 1e3, best_ms=min(ts) * 1e3)
        # what the step does over the vocabulary besides the draw: the float copy of the logits and the finiteness check
        ts = []
        for _ in range(args.draw_repeats):
            start = time.perf_counter(); y = x.to(copy=True); bool(y.isnan().any(-1).any() | y.isposinf().any(-1).any()); ts.append(time.perf_counter() - start)
        per_call[f'rows_{rows}']['copy_and_finite_check'] = dict(median_ms=statistics.median(ts) * 1e3, best_ms=min(ts) * 1e3)
    # same random stream? multinomial's race and the Gumbel draw consume the same exponentials
    x = torch.randn(8, V) * 3
    same_stream = {}
    for k, f in DRAWS.items():
        torch.manual_seed(1); a = draw_multinomial(x); torch.manual_seed(1); b = f(x)
        same_stream[k] = bool(torch.equal(a, b))
    harmful = load_prompts('advbench')[:n_prompts]
    calls = dict(library=lambda: sample_rollouts(model, tok, harmful, n_samples, n_new, 1.0))
    for k in args.draws.split(','): calls[k] = (lambda f: lambda: sample_rollouts_with(f, model, tok, harmful, n_samples, n_new))(DRAWS[k])
    with torch.no_grad():
        if not WARMUP: sample_rollouts(model, tok, harmful, n_samples, 2, 1.0)   # a short call first
        timing, outs = alternate(calls, args.repeats)
    base = timing['library']['median_seconds']
    return dict(per_call_ms=per_call, same_draws_as_multinomial_given_seed=same_stream, frequency_error=draw_check(),
                rollout_seconds=timing, rollout_ratio={k: base / v['median_seconds'] for k, v in timing.items()},
                rollouts_vs_library={k: compare_rollouts(outs['library'], o) for k, o in outs.items() if k != 'library'},
                vocab=V, note=('multinomial (as the prototype processor) checks the prototype harness against the library; '
                               'ratios are library seconds over each; frequency_error: max |frequency - softmax| over 12 '
                               'logits and 200,000 draws'))

# -- e. weights laid out [in, out] ---------------------------------------------------------------------------------------

@contextmanager
def weights_in_out(model):
    "Every `nn.Linear` weight stored as its contiguous transpose (the same tensor values); the usual layout back after."
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    for m in linears: m.weight.data = m.weight.data.t().contiguous().t()
    try: yield
    finally:
        for m in linears: m.weight.data = m.weight.data.contiguous()

def lever_relayout(model, tok, args) -> dict:
    from safesteer.models import generate
    from safesteer.distill import sample_rollouts
    from safesteer.data import load_prompts
    prompts = evaluation_prompts(args.eval_prompts)
    def relaid(call):
        def run():
            with weights_in_out(model): return call()
        return run
    evaluate = lambda: generate(model, tok, prompts, max_new_tokens=args.eval_tokens, batch_size=16, progress=False, drop_finished=True)
    n_prompts, n_samples, n_new = rollout_shape(args)
    roll = lambda: sample_rollouts(model, tok, load_prompts('advbench')[:n_prompts], n_samples, n_new)
    with torch.no_grad():
        t_eval, o_eval = alternate(dict(out_in=evaluate, in_out=relaid(evaluate)), args.repeats)
        t_roll, o_roll = alternate(dict(out_in=roll, in_out=relaid(roll)), args.repeats)
    same = [a == b for a, b in zip(o_eval['out_in'], o_eval['in_out'])]
    ratio = lambda t: t['out_in']['median_seconds'] / t['in_out']['median_seconds']
    return dict(evaluation=dict(seconds=t_eval, ratio=ratio(t_eval), identical_replies=sum(same), replies=len(same),
                                max_new_tokens=args.eval_tokens, batch_size=16, drop_finished=True),
                rollouts=dict(seconds=t_roll, ratio=ratio(t_roll), shape=dict(prompts=n_prompts, n_samples=n_samples, max_new_tokens=n_new),
                              **compare_rollouts(o_roll['out_in'], o_roll['in_out'])),
                note='ratio = seconds with [out, in] weights (today) over [in, out]; the same seed for both sides')

# -- f. larger evaluation batches ----------------------------------------------------------------------------------------
def lever_eval_batch(model, tok, args) -> dict:
    from safesteer.models import generate
    prompts = evaluation_prompts(2 * args.eval_prompts)
    call = lambda size: lambda: generate(model, tok, prompts, max_new_tokens=args.eval_tokens, batch_size=size, progress=False, drop_finished=True)
    with torch.no_grad(): timing, outs = alternate({'16': call(16), '64': call(64)}, args.repeats)
    same = [a == b for a, b in zip(outs['16'], outs['64'])]
    return dict(seconds=timing, ratio=timing['16']['median_seconds'] / timing['64']['median_seconds'], identical_replies=sum(same),
                replies=len(same), max_new_tokens=args.eval_tokens, drop_finished=True,
                note='prompts: the first --eval-prompts harmless and as many AdvBench prompts; ratio = seconds at batch 16 over 64')

LEVERS = dict(merge=lever_merge, static_compile=lever_static_compile, drop_finished=lever_drop_finished, sampling=lever_sampling,
              relayout=lever_relayout, eval_batch=lever_eval_batch)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=MODEL)
    ap.add_argument('--levers', default='merge,drop_finished,sampling,static_compile')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=2, help='timed rounds per lever after a warm-up (medians)')
    ap.add_argument('--lora-b-std', type=float, default=2e-3, help="std of the adapters' B matrices (merge lever)")
    ap.add_argument('--stat-seeds', type=int, default=3)
    ap.add_argument('--stat-prompts', type=int, default=16, help='AdvBench prompts x 2 samples per seed (merge statistics)')
    ap.add_argument('--eval-prompts', type=int, default=32)
    ap.add_argument('--eval-tokens', type=int, default=32, help="the cpu profile's evaluation reply length")
    ap.add_argument('--draws', default='multinomial,gumbel,inverse_cdf', help='draws timed in whole rollouts')
    ap.add_argument('--draw-repeats', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=1, help='untimed rounds before the timed ones (0: none; the model is warm after the first lever)')
    ap.add_argument('--out')
    args = ap.parse_args()
    global WARMUP; WARMUP = args.warmup
    torch.set_num_threads(args.threads)
    model, tok = load(args.model)
    name = 'tiny' if args.model == 'tiny' else Path(args.model).name
    out = Path(args.out or RESULTS/f'decode_levers__{name}__cpu.json')
    result = json.loads(out.read_text()) if out.exists() else dict(benchmark='decode_levers', levers={})
    if not WARMUP:                       # one short call warms the model up for every lever
        from safesteer.distill import sample_rollouts
        with torch.no_grad(): sample_rollouts(model, tok, ['Say hello.'], 2, 2)
    for lever in args.levers.split(','):
        log(f'lever {lever}')
        load0, start = os.getloadavg(), time.time()
        try: r = LEVERS[lever](model, tok, args)
        except Exception as e:
            import traceback; traceback.print_exc()
            r = dict(error=f'{type(e).__name__}: {e}')
        r.update(command=' '.join(['python', 'bench/decode_levers.py', *sys.argv[1:]]), wall_seconds=time.time() - start,
                 machine=dict(machine('cpu', args.threads), load_average_before=load0, load_average_after=os.getloadavg()))
        result['levers'][lever] = r
        result['model'] = args.model
        write_result(out, result)

if __name__ == '__main__': main()
