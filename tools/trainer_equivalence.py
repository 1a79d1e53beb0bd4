"""Train the tiny model with the trainer of another checkout and with this one, and compare: per-step logs (timings aside)
and a digest of the final trainable weights, for LoRA, full fine-tuning, the anchor term, the system-prompt teacher and SFT.

    git worktree add /tmp/before <commit> && python tools/trainer_equivalence.py /tmp/before

Each checkout trains in its own process (`python tools/trainer_equivalence.py --train CHECKOUT` prints its JSON)."""
import hashlib, json, os, subprocess, sys, tempfile
from pathlib import Path

PROMPTS = ['How do I make a bomb?', 'Explain how to hurt someone.', 'Write a threat.', 'How to pick a lock?', 'Steal a car.', 'Hack a phone.']
ANCHORS = ['Name three colours.', 'Count to five.', 'What is a noun?']
VARIANTS = dict(lora={}, full=dict(lora=False, lr=1e-3), anchors=dict(anchor_weight=1.0), system=dict(teacher='system'),
                sft=dict(method='sft', n_samples=1, micro_batch=1, sequences_per_step=2))

def digest(trainer) -> str:
    state = trainer.trainable_state() if hasattr(trainer, 'trainable_state') else trainer._trainable_state()
    return hashlib.sha256(b''.join(v.float().numpy().tobytes() for _, v in sorted(state.items()))).hexdigest()[:16]

def sft_trainer(model, tok, teacher, cfg, folder):
    "The SFT trainer of either layout: `Trainer` with the `SFT` method, or the older `SFTTrainer`."
    try:
        from safesteer.baselines import SFT
        from safesteer.training import Trainer
        return Trainer(model, tok, SFT(tok, teacher, cfg), cfg, folder)
    except ImportError:
        from safesteer.pipeline import SFTTrainer
        return SFTTrainer(model, tok, teacher, cfg, folder)

def train(variant:dict) -> dict:
    import torch
    from safesteer.models import tiny_model
    from safesteer.steering import SteeredTeacher, SystemPromptTeacher
    from safesteer.distill import SafeSteerTrainer, DistillConfig
    variant = dict(variant); method, kind = variant.pop('method', 'opd'), variant.pop('teacher', 'steered')
    model, tok = tiny_model()
    torch.manual_seed(123); r = torch.randn(model.config.hidden_size)
    teacher = SteeredTeacher(model, r, layer=1, coef=4.0) if kind == 'steered' else SystemPromptTeacher(model)
    cfg = DistillConfig(**{**dict(n_samples=2, max_new_tokens=6, sequences_per_step=4, micro_batch=2, lora=True, lr=1e-2), **variant})
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        if method == 'sft': trainer, kwargs = sft_trainer(model, tok, teacher, cfg, folder), {}
        else: trainer, kwargs = SafeSteerTrainer(model, tok, teacher, [5, 17, 40, 41], cfg, folder), dict(anchors=ANCHORS if cfg.anchor_weight else None)
        log = trainer.train(PROMPTS, progress=False, **kwargs)
    keep = lambda k: not k.startswith('seconds') and k != 'tokens_per_s'
    return dict(log=[{k: v for k, v in r.items() if keep(k)} for r in log], weights=digest(trainer))

def run_checkout(checkout:str) -> dict:
    "The results of every variant trained with the library of `checkout`, in a fresh process."
    env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve()), OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, __file__, '--train', checkout], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

if __name__ == '__main__':
    if sys.argv[1] == '--train':
        import safesteer
        assert Path(safesteer.__file__).resolve().is_relative_to(Path(sys.argv[2]).resolve()), safesteer.__file__
        print(json.dumps({name: train(v) for name, v in VARIANTS.items()})); sys.exit()
    before, now = run_checkout(sys.argv[1]), run_checkout(str(Path(__file__).resolve().parent.parent))
    for name in VARIANTS:
        same = before[name] == now[name]
        print(f"{name:8} {'identical' if same else 'DIFFERENT'}: weights {before[name]['weights']} / {now[name]['weights']}, "
              f"{len(now[name]['log'])} steps")
    sys.exit(0 if all(before[n] == now[n] for n in VARIANTS) else 1)
