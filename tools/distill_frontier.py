"""The harmful/harmless refusal trade-off across the masked-OPD runs of one model: every committed 04_distill summary
(the default run in figures/, the variants in figures/04_distill_*/), as a table and a scatter plot with the base model
and the teacher.

    python tools/distill_frontier.py                                   # qwen2.5-coder-0.5b-instruct
    python tools/distill_frontier.py --model smollm2-135m-instruct

Writes figures/04_distill_frontier__<model>__{table.md,tradeoff.png}.
"""
import argparse, json
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from safesteer.distill import result_settings
from safesteer.evaluate import binomial_stderr
from safesteer.models import DEFAULT_MODEL
from safesteer.evaluate import with_stderr
from safesteer.report import artifact_path, markdown_table, save_figure, write_text

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT/'figures'

def runs(model:str) -> list[dict]:
    "One row per committed summary of `model`: its name, what differs from the default run, and its refusal rates."
    name = artifact_path('', '04_distill', model, 'summary.json').name
    paths = [FIGURES/name] + sorted(FIGURES.glob(f'04_distill_*/**/{name}'))
    if not paths[0].exists(): raise SystemExit(f'no {paths[0]}: run nbs/04_distill.ipynb for {model} first')
    default = json.loads(paths[0].read_text())
    steering = artifact_path(FIGURES, '02_steering', model, 'summary.json')
    own_coef = json.loads(steering.read_text())['teacher_coef'] if steering.exists() else default.get('teacher_coef')
    found = [(p, json.loads(p.read_text())) for p in paths if p.exists()]
    return [row(s, default, p.parent.relative_to(FIGURES).as_posix() if p != paths[0] else 'default', own_coef)
            for p, s in found if 'per_set' in s]   # a pipeline summary (paired protocol, e.g. 04_distill_authors) has its own table

def row(summary:dict, default:dict, name:str, own_coef:float|None) -> dict:
    "The refusal rates of one run and what in it differs from the default run (`own_coef`: the direction's coefficient)."
    flat = lambda cfg: {**{k: v for k, v in cfg.items() if k != 'loss'}, **{f'loss.{k}': v for k, v in cfg['loss'].items()}}
    mine, theirs = flat(result_settings(summary['config'])), flat(result_settings(default['config']))
    changed = {k: v for k, v in mine.items() if v != theirs.get(k)}
    train_set = lambda s: s.get('train_set', 'advbench')   # older summaries: AdvBench
    if train_set(summary) != train_set(default): changed['prompts from'] = train_set(summary)
    if summary.get('n_train_prompts') != default.get('n_train_prompts'): changed['prompts'] = summary['n_train_prompts']
    if summary.get('anchor_set') != default.get('anchor_set'): changed['anchors from'] = summary.get('anchor_set')
    if summary.get('teacher_coef', own_coef) != own_coef: changed['coef'] = summary['teacher_coef']
    per_set, n = summary['per_set'], summary['n_eval']
    harmful, harmless, anchors = (summary['student_harmful_refusal'], summary['student_harmless_refusal'],
                                  per_set['student_benign_anchors'])
    return dict(run=name, differs=', '.join(f'{k} {v}' for k, v in changed.items()) or '-',
                harmful=harmful, harmful_stderr=binomial_stderr(harmful, 2 * n),        # harmbench + strongreject
                harmless=harmless, harmless_stderr=binomial_stderr(harmless, 2 * n),    # harmless + benign anchors
                benign_anchors=anchors, benign_anchors_stderr=binomial_stderr(anchors, n), harmless_kl=summary['harmless_kl'],
                teacher_harmful=summary['teacher_harmful_refusal'], base_harmful=summary['base_harmful_refusal'],
                base_harmless=summary['base_harmless_refusal'], train_minutes=summary['train_seconds'] / 60)

def plot(rows:list[dict], model:str):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    base = rows[0]
    ax.scatter(base['base_harmless'], base['base_harmful'], marker='s', c='k', label='base model (default run\'s prompts)')
    ax.axhline(base['teacher_harmful'], ls='--', c='tab:red', lw=1, label='teacher, harmful refusal')
    for r in rows:
        ax.errorbar(r['harmless'], r['harmful'], xerr=r['harmless_stderr'], yerr=r['harmful_stderr'], fmt='o', elinewidth=0.8,
                    c='tab:blue' if r['run'] == 'default' else 'tab:orange')
        ax.annotate(r['differs'] if r['run'] != 'default' else 'default', (r['harmless'], r['harmful']),
                    textcoords='offset points', xytext=(4, 4), fontsize=8)
    ax.set(xlabel='harmless refusal (lower is better)', ylabel='held-out harmful refusal (higher is better)',
           title=f'Masked OPD runs: {model}', xlim=(0, max(r['harmless'] for r in rows) + 0.1), ylim=(0, 1))
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    return fig

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=DEFAULT_MODEL)
    model = ap.parse_args().model
    rows = runs(model)
    table = markdown_table(with_stderr(rows))
    text = (f"{table}\n\nRefusal rates on held-out prompts, ± one binomial standard error; `base_*` and `teacher_*` are each "
            f"run's own (another seed draws other held-out prompts). Made by `python tools/distill_frontier.py --model {model}`.\n")
    print(text)
    write_text(artifact_path(FIGURES, '04_distill_frontier', model, 'table.md'), text)
    save_figure(plot(rows, model), artifact_path(FIGURES, '04_distill_frontier', model, 'tradeoff.png'))

if __name__ == '__main__': main()
