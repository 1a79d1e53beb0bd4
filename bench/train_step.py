"""Throughput, peak memory and model-FLOP utilisation of one SafeSteer training step on a randomly initialised
model: student rollouts (generation), teacher scoring (steered forward, no gradient) and the student's
forward/backward through the masked OPD loss.

    python bench/train_step.py --config qwen2.5-7b --mode lora     # on a GPU, bf16
    python bench/train_step.py --config qwen2.5-7b --mode full
    python bench/train_step.py --config qwen2.5-0.5b --mode lora --batch 2 --completion 48 --device cpu --dtype float32

Writes bench/results/train_step__<config>__<mode>__<device>.json (or --out).
"""
import argparse, json, math, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import CONFIGS   # the published configurations, weights random

PEAK_TFLOPS = {'H100': 989.0, 'H200': 989.0, 'A100': 312.0}   # dense bf16, SXM

def peak_tflops(device):
    if device != 'cuda': return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)

def timed(device, fn):
    if device == 'cuda': torch.cuda.synchronize()
    start = time.perf_counter(); out = fn()
    if device == 'cuda': torch.cuda.synchronize()
    return out, time.perf_counter() - start

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--config', choices=list(CONFIGS), default='qwen2.5-7b')
    ap.add_argument('--mode', choices=['lora', 'full'], default='lora')
    ap.add_argument('--batch', type=int, default=8, help='sequences per micro-batch (paper: 8 samples of one prompt)')
    ap.add_argument('--prompt', type=int, default=128, help='prompt tokens')
    ap.add_argument('--completion', type=int, default=512, help='completion tokens (paper: up to 512)')
    ap.add_argument('--k', type=int, default=50, help='|S|')
    ap.add_argument('--steps', type=int, default=3, help='timed steps (after one warm-up)')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default='bfloat16')
    ap.add_argument('--checkpointing', action='store_true', help='gradient checkpointing in the student')
    ap.add_argument('--out')
    args = ap.parse_args()
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from safesteer.distill import distill_loss, completion_hidden, output_head, LossConfig
    from safesteer.steering import add_direction
    dev, dtype = args.device, getattr(torch, args.dtype)
    torch.manual_seed(0)
    cfg = Qwen2Config(**CONFIGS[args.config], torch_dtype=dtype)
    with torch.device(dev): model = Qwen2ForCausalLM(cfg).to(dtype)
    n_params = sum(p.numel() for p in model.parameters())
    if args.mode == 'lora':
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']))
    trainable = [p for p in model.parameters() if p.requires_grad]
    if args.checkpointing: model.gradient_checkpointing_enable(); model.train()
    else: model.eval()
    opt = torch.optim.AdamW(trainable, lr=1e-5)
    direction = torch.randn(cfg.hidden_size, device=dev, dtype=dtype)
    ids = torch.randperm(cfg.vocab_size, device=dev)[:args.k]
    prompt = torch.randint(0, cfg.vocab_size, (args.batch, args.prompt), device=dev)
    prompt_mask = torch.ones_like(prompt)
    if dev == 'cuda': torch.cuda.reset_peak_memory_stats()
    records = []
    for step in range(args.steps + 1):
        with torch.no_grad():
            out, t_gen = timed(dev, lambda: model.generate(input_ids=prompt, attention_mask=prompt_mask, do_sample=True,
                                                         max_new_tokens=args.completion, min_new_tokens=args.completion, top_k=0,
                                                         pad_token_id=0))
        completions = out[:, args.prompt:]
        mask = torch.ones_like(completions)
        def teacher():
            ctx = model.disable_adapter() if args.mode == 'lora' else torch.no_grad()
            with torch.no_grad(), ctx, add_direction(model, direction, layer=cfg.num_hidden_layers // 2):
                return completion_hidden(model, prompt, prompt_mask, completions, mask)
        t_h, t_teacher = timed(dev, teacher)
        def student():
            s_h = completion_hidden(model, prompt, prompt_mask, completions, mask)
            head = output_head(model)
            loss, _ = distill_loss(s_h, t_h, completions, mask, head, head, ids, LossConfig())
            loss.backward()
            opt.step(); opt.zero_grad(set_to_none=True)
            return loss
        _, t_student = timed(dev, student)
        if step: records.append(dict(generation=t_gen, teacher=t_teacher, student=t_student))
        print(f'step {step}: generation {t_gen:.2f}s, teacher {t_teacher:.2f}s, student {t_student:.2f}s', flush=True)
    mean = {k: sum(r[k] for r in records) / len(records) for k in records[0]}
    tokens = args.batch * (args.prompt + args.completion)
    # model FLOPs per token: 2N forward; backward 4N for full fine-tuning, about 2N (activation gradients) for LoRA
    fwd_bwd_flops = (6 if args.mode == 'full' else 4) * n_params * tokens
    peak = peak_tflops(dev)
    result = dict(config=args.config, mode=args.mode, device=dev,
                  gpu=torch.cuda.get_device_name() if dev == 'cuda' else None, dtype=args.dtype,
                  batch=args.batch, prompt_tokens=args.prompt, completion_tokens=args.completion, checkpointing=args.checkpointing,
                  n_params=n_params, n_trainable=sum(p.numel() for p in trainable),
                  seconds=mean, step_seconds=sum(mean.values()),
                  share={k: v / sum(mean.values()) for k, v in mean.items()},
                  generation_tokens_per_s=args.batch * args.completion / mean['generation'],
                  teacher_tokens_per_s=tokens / mean['teacher'], student_tokens_per_s=tokens / mean['student'],
                  student_tflops=fwd_bwd_flops / mean['student'] / 1e12,
                  student_mfu=(fwd_bwd_flops / mean['student'] / 1e12 / peak) if peak else None,
                  teacher_mfu=(2 * n_params * tokens / mean['teacher'] / 1e12 / peak) if peak else None,
                  peak_memory_gb=torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else None,
                  cpu_count=os.cpu_count(), machine=platform.machine())
    out = Path(args.out or Path(__file__).parent/'results'/f'train_step__{args.config}__{args.mode}__{dev}.json')
    out.write_text(json.dumps(result, indent=1) + '\n')
    print(json.dumps(result, indent=1))

if __name__ == '__main__': main()
