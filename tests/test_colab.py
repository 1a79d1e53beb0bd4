"""Colab support that can be checked without a GPU or Colab: the dtype chosen per compute capability, the install
cell skipped everywhere but Colab (under nbdev_test by its directive, under papermill by its run-time guard), and
`tools/colab_cells.py` adding the badge and install cells once, however often it runs."""
import json, shutil, subprocess, sys, types
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import colab_cells as cc
from safesteer.models import default_device, default_dtype

# --- the dtype a GPU gets

@pytest.mark.parametrize('capability, dtype', [
    ((3, 7), torch.float32), ((6, 0), torch.float32), ((6, 1), torch.float32),   # K80, P100, GTX 10xx
    ((7, 0), torch.float16), ((7, 5), torch.float16),                            # V100, T4 (Colab)
    ((8, 0), torch.bfloat16), ((8, 6), torch.bfloat16), ((8, 9), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_dtype_by_compute_capability(monkeypatch, capability, dtype):
    monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)   # what a T4 answers: emulated; not asked
    assert default_dtype('cuda') == dtype and default_dtype('cuda:0') == dtype and default_dtype(torch.device('cuda', 0)) == dtype

def test_cpu_is_float32(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda device=None: pytest.fail('a CPU has no compute capability'))
    assert default_dtype('cpu') == torch.float32 and default_dtype(torch.device('cpu')) == torch.float32

@pytest.mark.parametrize('available, device', [(True, 'cuda'), (False, 'cpu')])
def test_default_device(monkeypatch, available, device):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
    assert default_device() == device

# --- the install cell runs on Colab only

SETTINGS = dict(git_url='https://github.com/safesteer/safesteer', branch='main', nbs_path='nbs')
RECORD = ("import subprocess, sys, types\n"
          "calls = []\n"
          "subprocess.run = lambda cmd, *a, **k: calls.append(cmd)   # record, never install")
FAKE_COLAB = "sys.modules['google.colab'] = types.ModuleType('google.colab')"

def _nb(path:Path, *sources:str) -> Path:
    "A notebook at `path` with one code cell per source."
    cells = [dict(cell_type='code', execution_count=None, id=f'c{i}', metadata={}, outputs=[], source=s) for i, s in enumerate(sources)]
    nb = dict(cells=cells, metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')),
              nbformat=4, nbformat_minor=5)
    path.write_text(json.dumps(nb))
    return path

def test_install_cell():
    src = cc.install_source(SETTINGS)
    assert src.startswith('#| eval: false\n#| hide\n') and "if 'google.colab' in sys.modules:" in src
    assert 'git+https://github.com/safesteer/safesteer@main' in src
    assert '#| export' not in src   # never part of the library

def test_install_cell_installs_no_torch():
    "The command itself names the package only: Colab's CUDA torch stays."
    ns = dict(sys=types.SimpleNamespace(modules={'google.colab': None}, executable='python'))
    calls = []
    code = cc.install_source(SETTINGS).replace('import subprocess, sys', 'subprocess = _sp')
    exec(code, dict(ns, _sp=types.SimpleNamespace(run=lambda cmd, **k: calls.append(cmd))))
    [cmd] = calls
    assert cmd[:4] == ['python', '-m', 'pip', 'install'] and not any('torch' in a for a in cmd)
    assert cmd[-1] == 'safesteer @ git+https://github.com/safesteer/safesteer@main'

@pytest.fixture
def same_process(monkeypatch):
    "nbdev_test runs a notebook in this process: undo what its cells change here (`subprocess.run`, a fake `google.colab`)."
    monkeypatch.setattr(subprocess, 'run', subprocess.run)
    monkeypatch.delitem(sys.modules, 'google.colab', raising=False)
    yield
    sys.modules.pop('google.colab', None)

def test_nbdev_test_skips_install_cell(tmp_path, same_process):
    "Even where `google.colab` is imported, nbdev_test does not run the cell (`#| eval: false`)."
    from nbdev.test import test_nb
    install = cc.install_source(SETTINGS)
    nb = _nb(tmp_path/'skip.ipynb', RECORD + '\n' + FAKE_COLAB, install, 'assert calls == [], calls')
    assert test_nb(nb, showerr=False)[0]
    # the control: without the directive, the same notebook installs, so the assertion fails
    ran = _nb(tmp_path/'ran.ipynb', RECORD + '\n' + FAKE_COLAB, install.replace('#| eval: false\n', ''), 'assert calls == [], calls')
    assert not test_nb(ran, showerr=False)[0]

def _papermill(nb:Path) -> list[str]:
    "The stdout of every cell of `nb` executed by papermill, which ignores nbdev's directives."
    pm = pytest.importorskip('papermill')
    out = nb.with_name(nb.stem + '_out.ipynb')
    pm.execute_notebook(str(nb), str(out), kernel_name='python3', progress_bar=False, cwd=str(nb.parent))
    return [''.join(o.get('text', '')) for c in json.loads(out.read_text())['cells'] for o in c.get('outputs', [])]

@pytest.mark.parametrize('on_colab', [False, True])
def test_papermill_runs_install_cell_on_colab_only(tmp_path, on_colab):
    printed = _papermill(_nb(tmp_path/'run.ipynb', RECORD + ('\n' + FAKE_COLAB if on_colab else ''),
                             cc.install_source(SETTINGS), "print('pip calls:', calls)"))
    assert printed[-1].startswith('pip calls: ')
    if on_colab: assert 'git+https://github.com/safesteer/safesteer@main' in printed[-1]
    else: assert printed[-1].strip() == 'pip calls: []'

# --- tools/colab_cells.py

@pytest.fixture
def repo(tmp_path):
    "A copy of the repository's settings and notebooks."
    shutil.copy(ROOT/'settings.ini', tmp_path/'settings.ini')
    shutil.copytree(ROOT/'nbs', tmp_path/'nbs', ignore=shutil.ignore_patterns('.*', '_*'))
    return tmp_path

def _cells(path:Path): return json.loads(path.read_text())['cells']
def _src(c) -> str: return ''.join(c['source'])

def test_colab_cells_idempotent(repo):
    s = cc.settings(repo)
    nbs = cc.notebooks(repo, s)
    assert {p.stem for p in nbs} >= {'index', '00_models', '04_distill'}
    for p in nbs: cc.update(p, s)
    first = {p: p.read_text() for p in nbs}
    assert not any(cc.update(p, s) for p in nbs) and {p: p.read_text() for p in nbs} == first
    for p in nbs:
        cells = _cells(p)
        badges = [i for i, c in enumerate(cells) if cc._is_badge(c)]
        installs = [i for i, c in enumerate(cells) if cc._is_install(c)]
        assert len(badges) == 1 and len(installs) == 1, p.name
        [b], [i] = badges, installs
        assert _src(cells[b - 1]).startswith('# ') if b else True, p.name                        # right under the title
        assert b == 1 or p.name == 'index.ipynb' and b <= 1, p.name
        assert all(c['cell_type'] != 'code' for c in cells[:i]), p.name                              # before the first code cell
        url = f'https://colab.research.google.com/github/safesteer/safesteer/blob/main/nbs/{p.name}'
        assert _src(cells[b]) == f'{cc.BADGE_MARK}({url})'
        assert len({c.get('id') for c in cells}) == len(cells), p.name                               # cell ids stay unique

def test_colab_cells_keep_the_rest(repo):
    "Only the two cells are added: every other cell, the exported code included, is untouched."
    s = cc.settings(repo)
    for p in cc.notebooks(repo, s):
        before = _cells(p)
        cc.update(p, s)
        after = [c for c in _cells(p) if not (cc._is_badge(c) or cc._is_install(c))]
        assert after == [c for c in before if not (cc._is_badge(c) or cc._is_install(c))], p.name

def test_colab_cells_follow_settings(repo):
    "Changing the repository settings refreshes the cells in place rather than adding new ones."
    s = cc.settings(repo)
    p = repo/'nbs'/'04_distill.ipynb'
    cc.update(p, s)
    moved = {**s, 'git_url': 'https://github.com/someone/fork.git', 'branch': 'dev'}
    assert cc.update(p, moved) and not cc.update(p, moved)
    cells = _cells(p)
    assert sum(map(cc._is_badge, cells)) == 1 and sum(map(cc._is_install, cells)) == 1
    assert 'github/someone/fork/blob/dev/nbs/04_distill.ipynb' in _src(next(filter(cc._is_badge, cells)))
    assert 'git+https://github.com/someone/fork.git@dev' in _src(next(filter(cc._is_install, cells)))

def test_colab_cells_check_mode(repo, monkeypatch):
    s = cc.settings(repo)
    p = repo/'nbs'/'00_models.ipynb'
    before = p.read_text()
    assert cc.update(p, s, check=True) == (cc.dumps(cc.with_colab_cells(json.loads(before), p.name, s)) != before)
    assert p.read_text() == before   # --check writes nothing

def test_colab_cells_survive_nbdev_clean(repo):
    "The written notebooks are already as nbdev_clean leaves them."
    from nbdev.clean import clean_nb
    s = cc.settings(repo)
    for p in cc.notebooks(repo, s):
        cc.update(p, s)
        nb = json.loads(p.read_text())
        clean_nb(nb, allowed_cell_metadata_keys={'tags'})
        assert cc.dumps(nb) == p.read_text(), p.name

@pytest.mark.parametrize('url, repo_path', [('https://github.com/org/repo', 'org/repo'), ('https://github.com/org/repo.git', 'org/repo'),
                                            ('https://github.com/org/repo/', 'org/repo'), ('git@github.com:org/repo.git', 'org/repo')])
def test_repo_path(url, repo_path): assert cc.repo_path(url) == repo_path

def test_repo_path_refuses_garbage():
    with pytest.raises(ValueError, match='does not name a repository'): cc.repo_path('nowhere')
