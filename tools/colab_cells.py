"""Give every notebook an "Open in Colab" badge and a Colab install cell: `python tools/colab_cells.py [NOTEBOOK ...]`.

Idempotent: running it again changes nothing; run it after adding or renaming a notebook (or after changing the
repository settings in `settings.ini`) and commit what it changes. `--check` fails if a notebook lacks its cells
or has stale ones.

- The badge, a markdown cell right under the notebook's title cell, opens the notebook's own path in the
  repository on Colab (`git_url`, `branch` and `nbs_path` from settings.ini).
- The install cell, right before the notebook's first code cell, installs the package from its repository when
  the notebook runs on Colab. It is marked `#| eval: false` so that `nbdev_test` skips it, `#| hide` so that the
  docs and the README leave it out, and it checks `'google.colab' in sys.modules` at run time because papermill
  ignores nbdev directives. It installs no torch wheel of its own: Colab's CUDA build already satisfies the
  package's `torch` requirement, so pip keeps it.
"""
from __future__ import annotations
import argparse, configparser, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE_MARK = '[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]'
INSTALL_MARK = '# Colab set-up: install safesteer from its repository'

def settings(root:Path=ROOT) -> dict:
    cfg = configparser.ConfigParser()
    cfg.read(root/'settings.ini')
    return dict(cfg['DEFAULT'])

def repo_path(git_url:str) -> str:
    "'https://github.com/org/repo' (or with .git, or git@github.com:org/repo) -> 'org/repo'."
    url = git_url.strip().removesuffix('/').removesuffix('.git')
    if url.startswith('git@'): url = url.split(':', 1)[1]
    parts = url.split('/')
    if len(parts) < 2 or not all(parts[-2:]): raise ValueError(f'git_url {git_url!r} in settings.ini does not name a repository')
    return '/'.join(parts[-2:])

def badge_source(nb_name:str, s:dict) -> str:
    "The badge's markdown: Colab opens `nbs_path/nb_name` on the settings' branch of the repository."
    url = f"https://colab.research.google.com/github/{repo_path(s['git_url'])}/blob/{s.get('branch', 'main')}/{s.get('nbs_path', 'nbs')}/{nb_name}"
    return f'{BADGE_MARK}({url})'

def install_source(s:dict) -> str:
    "The install cell's source."
    url = s['git_url'].strip().removesuffix('/')
    return (f"#| eval: false\n#| hide\n{INSTALL_MARK}, on Colab only: nbdev_test skips this cell, and under\n"
            "# papermill or Jupyter elsewhere the check below is false. Colab's CUDA torch meets the requirement and is kept.\n"
            "import subprocess, sys\n"
            "if 'google.colab' in sys.modules:\n"
            f"    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'safesteer @ git+{url}@{s.get('branch', 'main')}'], check=True)")

def _lines(text:str) -> list[str]:
    "A cell source as nbformat stores it: lines that keep their newline, the last without."
    lines = text.splitlines(keepends=True)
    return lines

def _is_badge(c) -> bool: return c['cell_type'] == 'markdown' and ''.join(c['source']).startswith(BADGE_MARK)
def _is_install(c) -> bool: return c['cell_type'] == 'code' and INSTALL_MARK in ''.join(c['source'])

def _markdown(text:str, like:dict) -> dict:
    c = dict(cell_type='markdown', metadata={}, source=_lines(text))
    if 'id' in like: c['id'] = 'colab-badge'
    return c

def _code(text:str, like:dict) -> dict:
    c = dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=_lines(text))
    if 'id' in like: c['id'] = 'colab-install'
    return c

def with_colab_cells(nb:dict, nb_name:str, s:dict) -> dict:
    "`nb` with exactly one badge cell after its title cell and one install cell before its first code cell."
    cells = [c for c in nb['cells'] if not (_is_badge(c) or _is_install(c))]
    if not cells: raise ValueError(f'{nb_name} has no cells')
    like = cells[0]
    title = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and ''.join(c['source']).lstrip().startswith('# ')), None)
    at = 0 if title is None else title + 1
    cells.insert(at, _markdown(badge_source(nb_name, s), like))
    first_code = next((i for i, c in enumerate(cells) if c['cell_type'] == 'code'), len(cells))
    cells.insert(first_code, _code(install_source(s), like))
    return {**nb, 'cells': cells}

def dumps(nb:dict) -> str:
    "As `nbdev_clean` writes a notebook, so that it has nothing left to change."
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'

def notebooks(root:Path=ROOT, s:dict|None=None) -> list[Path]:
    s = s or settings(root)
    return sorted(p for p in (root/s.get('nbs_path', 'nbs')).glob('*.ipynb') if not p.name.startswith(('_', '.')))

def update(path:Path, s:dict, check:bool=False) -> bool:
    "Add or refresh the cells of the notebook at `path`; whether it changed (with `check`: would change)."
    old = path.read_text()
    new = dumps(with_colab_cells(json.loads(old), path.name, s))
    if new == old: return False
    if not check: path.write_text(new)
    return True

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', type=Path, help='default: every notebook in nbs_path')
    ap.add_argument('--check', action='store_true', help='change nothing; fail if a notebook would change')
    args = ap.parse_args(argv)
    s = settings()
    changed = [p for p in (args.notebooks or notebooks(ROOT, s)) if update(p, s, args.check)]
    for p in changed: print(('stale: ' if args.check else 'updated: ') + str(p))
    if args.check and changed: sys.exit('run `python tools/colab_cells.py` and commit the notebooks')

if __name__ == '__main__': main()
