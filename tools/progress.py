"""Committed copies of long runs' progress, so that a fresh machine resumes instead of starting over.

A run keeps its finished results under `$SAFESTEER_CACHE/runs`, which does not outlive the machine. These helpers copy
them into a folder of the repository (to commit) and back. Every copied file carries its own key (model weights,
settings), so a run uses it only if the key matches its own."""
from pathlib import Path
from safesteer.report import write_text

def lines_done(path:Path) -> int:
    "How far a progress file has got: a finished `.json` result counts more than any file of lines."
    return 10**9 if path.suffix == '.json' else len(path.read_text().splitlines()) if path.exists() else 0

def copy_if_ahead(f:Path, target:Path) -> bool:
    """Copy file `f` into folder `target` unless `target` holds as much: the same finished result, a file with as many
    lines, or the finished result that a `<name>.partial.jsonl` became (`<name>.json`). Whether it copied."""
    done = target/f.name.replace('.partial.jsonl', '.json')
    if (target/f.name).exists() and lines_done(target/f.name) >= lines_done(f) or (f.name.endswith('.partial.jsonl') and done.exists()): return False
    write_text(target/f.name, f.read_text())
    return True

def copy_newer(source:Path, target:Path) -> list[str]:
    "Copy each `.json` and `.jsonl` file of `source` into `target` where it is ahead (`copy_if_ahead`); the names copied."
    files = sorted(source.glob('*.json')) + sorted(source.glob('*.jsonl')) if source.exists() else []
    return [f.name for f in files if copy_if_ahead(f, target)]

def drop_finished(folder:Path) -> list[str]:
    "Remove each `<name>.partial.jsonl` of `folder` whose finished `<name>.json` is there."
    dropped = [p for p in folder.glob('*.partial.jsonl') if (folder/p.name.replace('.partial.jsonl', '.json')).exists()]
    for p in dropped: p.unlink()
    return [p.name for p in dropped]
