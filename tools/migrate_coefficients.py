"""Rename the steering coefficient in saved artifacts, once: `coef` meant two quantities, now `selection_coef` (the
induce-refusal filter's addition coefficient of direction selection) and `teacher_coef` (the coefficient the teacher
steers with). Rewrites, atomically and only where the old name is present:

- `02_steering__<model>__direction/direction.json` and `02_steering__<model>__summary.json` (`safesteer.steering.renamed_coefficients`);
- every run summary whose configuration holds a direction (`config.direction.coef` -> `config.direction.teacher_coef`).

Run from the repository root: `python tools/migrate_coefficients.py [figures]`. Running it again changes nothing."""
import json, sys
from pathlib import Path
from safesteer.packages import atomic_path
from safesteer.steering import renamed_coefficients

def renamed_run(node):
    "A run summary (or a dict of them) with each `config.direction.coef` renamed `teacher_coef`."
    if isinstance(node, list): return [renamed_run(v) for v in node]
    if not isinstance(node, dict): return node
    node = {k: renamed_run(v) for k, v in node.items()}
    direction = node.get('direction')
    if isinstance(direction, dict) and {'layer', 'position', 'sha256'} <= set(direction) and 'coef' in direction:
        node['direction'] = {('teacher_coef' if k == 'coef' else k): v for k, v in direction.items()}
    return node

def migrated(path:Path, record):
    "What `path` holds after the rename."
    if path.name == 'direction.json' or path.name.startswith('02_steering__'): return renamed_coefficients(record)
    return renamed_run(record)

def migrate(figures:Path) -> list[Path]:
    "Rewrite every JSON file under `figures` whose coefficient names are the old ones; returns the files changed."
    changed = []
    for path in sorted(figures.rglob('*.json')):
        record = json.loads(path.read_text())
        new = migrated(path, record) if isinstance(record, dict) else record
        if new != record:
            with atomic_path(path) as tmp: tmp.write_text(json.dumps(new, indent=1) + '\n')
            changed.append(path)
    return changed

if __name__ == '__main__':
    for p in migrate(Path(sys.argv[1] if len(sys.argv) > 1 else 'figures')): print(f'migrated {p}')
