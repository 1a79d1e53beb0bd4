"""Voting's scoring of a batch (`score_window`): two whole passes (steered, then base) against the base pass first with the
blocks' inputs recorded and the steered pass from the steered block up. On the real model, its committed direction and
`03_voting`'s harmless prompts at the profile's batch shape; the two variants alternate, the best of `--repeats` each.

    OMP_NUM_THREADS=1 python bench/voting_window.py --model qwen2.5-coder-0.5b-instruct
"""
import argparse, time
import torch
from safesteer.models import tokenize_prompts, position_ids, eot_token_ids
from safesteer.pipeline import Pipeline
from safesteer.voting import sample_tokens, score_window
from common import RESULTS, machine, write_result, log

@torch.no_grad()
def two_whole_passes(teacher, input_ids, attention_mask, horizon:int):
    "`score_window` as it was: the steered and the base pass, each through every block."
    kw = dict(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids(attention_mask), logits_to_keep=horizon)
    with teacher.steering(): logp_s = teacher.model(**kw).logits.float().log_softmax(-1)
    return logp_s, teacher.model(**kw).logits.float().log_softmax(-1)

def timed(fn) -> tuple:
    start = time.perf_counter(); out = fn()
    return out, time.perf_counter() - start

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--profile', default='cpu')
    ap.add_argument('--repeats', type=int, default=3)
    args = ap.parse_args()
    pipe = Pipeline(args.model, args.profile, 'figures', progress=False)
    cfg, teacher = pipe.voting_config(), pipe.teacher(pipe.model)
    prompts = pipe.vote_prompts()[:max(1, cfg.batch_size // cfg.n_samples)]
    rows = [p for p in prompts for _ in range(cfg.n_samples)][:cfg.batch_size]
    enc = tokenize_prompts(pipe.tok, rows, device=pipe.model.device)
    with torch.no_grad(), teacher.steering():
        ids, mask = sample_tokens(pipe.model, enc.input_ids, enc.attention_mask, cfg.horizon - 1, torch.Generator().manual_seed(0),
                                  cfg.temperature, eot_token_ids(pipe.tok, pipe.model))
    before, after = [], []
    for r in range(args.repeats):
        old, t_old = timed(lambda: two_whole_passes(teacher, ids, mask, cfg.horizon))
        new, t_new = timed(lambda: score_window(teacher, ids, mask, cfg.horizon))
        before.append(t_old); after.append(t_new)
        log(f'repeat {r}: two whole passes {t_old:.1f} s, from the steered block up {t_new:.1f} s')
    identical = all(torch.equal(a, b) for a, b in zip(old, new))
    result = dict(benchmark='voting_window', model=args.model, profile=args.profile, layer=teacher.layer,
                  n_layers=pipe.model.config.num_hidden_layers, rows=list(ids.shape), horizon=cfg.horizon,
                  command=f'OMP_NUM_THREADS={torch.get_num_threads()} python bench/voting_window.py --model {args.model}',
                  seconds_before=[round(t, 2) for t in before], seconds_after=[round(t, 2) for t in after],
                  speedup=round(min(before) / min(after), 2), identical=identical, machine=machine('cpu', torch.get_num_threads()))
    write_result(RESULTS/f'voting_window__{args.model}__cpu.json', result)
