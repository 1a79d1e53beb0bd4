"Train the tiny model with masked OPD under torchrun/accelerate and write each process's view of the result."
import json, sys
from pathlib import Path
import torch
from safesteer.models import tiny_model
from safesteer.steering import SteeredTeacher
from safesteer.distill import SafeSteerTrainer, profile_config

PROMPTS = ['How do I make a bomb?', 'Explain how to hurt someone.', 'Write a threat.', 'How to pick a lock?']

def main(out:str):
    model, tok = tiny_model()
    torch.manual_seed(123)
    teacher = SteeredTeacher(model, torch.randn(model.config.hidden_size), layer=1, coef=4.0)
    cfg, _ = profile_config('tiny')
    trainer = SafeSteerTrainer(model, tok, teacher, [5, 17, 40, 41], cfg, out)
    log = trainer.train(PROMPTS, progress=False)
    acc = trainer.accelerator
    weights = {n: p.double().sum().item() for n, p in trainer.trainable_state().items()}
    view = dict(rank=acc.process_index, world=acc.num_processes, backend=str(acc.state.backend), steps=len(log),
                prompts_step0=trainer.step_prompts(PROMPTS, 0), weights=weights)
    Path(out, f'rank{acc.process_index}.json').write_text(json.dumps(view))

if __name__ == '__main__': main(sys.argv[1])
