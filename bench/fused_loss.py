"""Prototype of a faster `safesteer.distill.distill_loss` (the paper's loss: reverse KL on the unnormalised slice),
measured by bench/sliced_kl.py (variant `fused`) and bench/opd_vs_trl.py (variant `ours_fused`). Not a benchmark.

`distill_loss` bounds memory by checkpointing each chunk of tokens: the backward pass runs the chunk again, both
output-head products (student and teacher, each [chunk, d] x [d, V]) and the full-vocabulary statistics included,
before the student's gradient product. But the loss is linear in the per-token divergences with weights known up
front (1 / (counted tokens of the row x rows)), so each chunk's gradient can be taken in the forward pass, while the
chunk's logits exist, and only [chunk, d] gradients kept. Per chunk that is three head products (student, teacher,
gradient) instead of five, and the statistics once instead of twice; memory stays bounded by the chunk.
"""
import torch

class FusedSlicedKL(torch.autograd.Function):
    "Loss, per-token divergence, sampled-token log-ratio and entropy; the gradient is taken in the forward pass."
    @staticmethod
    def forward(ctx, s_h, weight, t_h, t_weight, targets, token_weight, ids, chunk):
        from safesteer.distill import slice_logprobs, divergence
        grad_h = torch.empty_like(s_h)
        grad_w = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        div, sampled, entropy = (s_h.new_empty(len(s_h), dtype=torch.float32) for _ in range(3))
        for start in range(0, len(s_h), chunk):
            sl = slice(start, start + chunk)
            with torch.enable_grad():
                h, w = s_h[sl].detach().requires_grad_(), weight.detach().requires_grad_(grad_w is not None)
                s_logits = (h @ w.T).float()
                with torch.no_grad():
                    t_full, s_full = (t_h[sl] @ t_weight.T).float().log_softmax(-1), s_logits.log_softmax(-1)
                    y = targets[sl, None]
                    sampled[sl] = (s_full.gather(-1, y) - t_full.gather(-1, y))[:, 0]
                    entropy[sl] = -(s_full.exp() * s_full).sum(-1)
                d = divergence(slice_logprobs(s_logits, ids, 'unnormalised'), t_full[:, ids])
                grads = torch.autograd.grad((d * token_weight[sl]).sum(), [h, w] if grad_w is not None else [h])
            grad_h[sl], div[sl] = grads[0], d.detach()
            if grad_w is not None: grad_w += grads[1]
        ctx.save_for_backward(grad_h, grad_w)
        ctx.mark_non_differentiable(div, sampled, entropy)
        return (div * token_weight).sum(), div, sampled, entropy

    @staticmethod
    def backward(ctx, g, *_):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * g, None if grad_w is None else grad_w * g, None, None, None, None, None, None

def fused_distill_loss(student_h, teacher_h, targets, mask, student_head, teacher_head, ids, cfg, softcap=None):
    "Drop-in for `distill_loss` with the paper's settings (unnormalised slice, reverse KL, bias-free heads, no soft-capping)."
    if (cfg.slice, cfg.divergence, softcap) != ('unnormalised', 'reverse', None) or student_head.bias is not None:
        raise NotImplementedError('the prototype covers the paper\'s loss only: unnormalised reverse KL, no bias, no soft-capping')
    from safesteer.distill import window_mask
    mask = window_mask(mask, cfg.window)
    rows, cols = mask.nonzero(as_tuple=True)
    counts = mask.sum(1)
    token_weight = 1 / (counts[rows] * (counts > 0).sum())     # d loss / d divergence of each counted token
    loss, div, sampled, entropy = FusedSlicedKL.apply(
        student_h[rows, cols], student_head.weight, teacher_h[rows, cols].detach(), teacher_head.weight.detach(),
        targets[rows, cols], token_weight, ids.to(student_h.device), cfg.chunk_size)
    stats = dict(loss=loss.detach().item(), sliced_kl=div.mean().item(), sampled_kl=sampled.mean().item(),
                 entropy=entropy.mean().item(), tokens=int(len(rows)))
    return loss, stats
