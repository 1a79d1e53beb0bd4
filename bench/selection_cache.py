"""Direction selection's addition filter with the blocks below the steered one skipped (`BlockInputs`) against full
passes, on the real model and the harmless validation prompts of `02_steering`: the same scores, and the time of each.

    OMP_NUM_THREADS=2 python bench/selection_cache.py --model qwen2.5-coder-0.5b-instruct

Candidates are the committed direction's position at a spread of layers; times are the best of `--repeats`, the two
variants interleaved."""
import argparse, json, time
from pathlib import Path
import torch
from safesteer.models import decoder_blocks, refusal_token_ids, last_logits
from safesteer.pipeline import Pipeline
from safesteer.steering import BlockInputs, addition_score

def best(f, repeats:int) -> tuple:
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter(); out = f(); times.append(time.perf_counter() - t)
    return out, min(times)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--repeats', type=int, default=2)
    args = ap.parse_args()
    pipe = Pipeline(args.model, 'cpu', 'figures', progress=False)
    model, tok, found = pipe.model, pipe.tok, pipe.direction()
    prompts, ids = pipe.direction_prompts()['harmless_val'], refusal_token_ids(tok)
    inputs = BlockInputs(model)
    last_logits(model, tok, prompts, 32, during_batches=inputs.recording)
    n = len(decoder_blocks(model))
    rows = []
    for layer in sorted({0, n // 4, found.layer, n // 2, int(n * 0.8) - 1}):
        r = found.direction.to(model.device)
        full, t_full = best(lambda: addition_score(model, tok, r, layer, prompts, ids, 4.0, 32), args.repeats)
        cached, t_cached = best(lambda: addition_score(model, tok, r, layer, prompts, ids, 4.0, 32, inputs), args.repeats)
        rows.append(dict(layer=layer, score_full=full, score_cached=cached, abs_diff=abs(full - cached),
                         seconds_full=round(t_full, 3), seconds_cached=round(t_cached, 3), speedup=round(t_full / t_cached, 2)))
        print(rows[-1], flush=True)
    out = Path(f'bench/results/selection_cache__{args.model}__cpu.json')
    out.write_text(json.dumps(dict(model=args.model, prompts=len(prompts), threads=torch.get_num_threads(), rows=rows), indent=1) + '\n')
    print(f'wrote {out}')
