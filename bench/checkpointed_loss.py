"""`safesteer.distill.distill_loss` as it was before its gradient was taken in the forward pass (commit 558dacf): each
chunk of tokens wrapped in activation checkpointing, so the backward pass runs the chunk again (both output-head
products and the full-vocabulary statistics) before the student's gradient product. The `before` of
bench/sliced_kl.py (variant `checkpointed`), bench/opd_vs_trl.py (`ours_before`) and bench/rollouts.py. Not a benchmark,
not used by the library.
"""
import torch
from torch.utils.checkpoint import checkpoint
from safesteer.distill import _head_logits, slice_logprobs, divergence, window_mask

def _chunk_terms(s_h, t_h, targets, s_head, t_head, ids, cfg, softcap):
    s_logits, t_logits = _head_logits(s_h, s_head, softcap), _head_logits(t_h, t_head, softcap).detach()
    div = divergence(slice_logprobs(s_logits, ids, cfg.slice), slice_logprobs(t_logits, ids, cfg.slice), cfg.divergence, cfg.beta)
    with torch.no_grad():
        s_full, t_full = s_logits.log_softmax(-1), t_logits.log_softmax(-1)
        sampled = (s_full.gather(-1, targets[:, None]) - t_full.gather(-1, targets[:, None]))[:, 0]
        entropy = -(s_full.exp() * s_full).sum(-1)
    return div, sampled, entropy

def checkpointed_distill_loss(student_h, teacher_h, targets, mask, student_head, teacher_head, ids, cfg, softcap=None):
    "Drop-in for `distill_loss`, as it was: a checkpointed chunk loop."
    mask = window_mask(mask, cfg.window)
    rows, cols = mask.nonzero(as_tuple=True)
    s_h, t_h, y = student_h[rows, cols], teacher_h[rows, cols], targets[rows, cols]
    ids = None if ids is None else ids.to(student_h.device)
    parts = []
    for start in range(0, len(rows), cfg.chunk_size):
        sl = slice(start, start + cfg.chunk_size)
        args = (s_h[sl], t_h[sl], y[sl], student_head, teacher_head, ids, cfg, softcap)
        parts.append(checkpoint(_chunk_terms, *args, use_reentrant=False) if torch.is_grad_enabled() else _chunk_terms(*args))
    div, sampled, entropy = (torch.cat(p) for p in zip(*parts))
    per_seq = torch.zeros(mask.shape[0], device=div.device).index_add(0, rows, div)
    counts = mask.sum(1)
    loss = (per_seq[counts > 0] / counts[counts > 0]).mean()
    stats = dict(loss=loss.item(), sliced_kl=div.mean().item(), sampled_kl=sampled.mean().item(),
                 entropy=entropy.mean().item(), tokens=int(len(rows)))
    return loss, stats
