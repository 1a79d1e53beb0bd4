"""Artifacts across sections: every writer is atomic, and a damaged or foreign artifact is refused with its file named."""
import ast, json, re
from pathlib import Path
import pytest
import torch
import safesteer
from safesteer.models import tiny_model, nan_outputs

ROOT = Path(safesteer.__file__).parent.parent
WRITERS = {'write_text', 'write_bytes', 'to_csv', 'to_json', 'to_parquet', 'savefig', 'save_pretrained', 'save_file', 'dump', 'save'}
WRITES_INTO_CALLERS_FOLDER = {'_save_optimizer'}   # the caller hands it a temporary folder of atomic_path
APPEND_ONLY_LOGS = {'resumable_map'}   # appends whole lines to a file it rewrote atomically; a torn last line is dropped on reading
LOCK_FILES = {'try_lock'}   # creates an empty file only to hold an flock on it: nothing is written to it

def _is_write(call:ast.Call) -> bool:
    f = call.func
    if isinstance(f, ast.Name): name = f.id if f.id in ('open', 'save_file') else ''   # a plain `write_text(...)` is report's helper
    else: name = f.attr if isinstance(f, ast.Attribute) else ''
    if name == 'open':
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == 'mode'), None)
        return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in 'wax')
    if name == 'save' and isinstance(f, ast.Attribute): return ast.unparse(f.value) == 'torch'
    if name == 'dump': return isinstance(f, ast.Attribute) and ast.unparse(f.value) in ('json', 'yaml', 'pickle')
    return name in WRITERS

def _atomic_blocks(fn) -> list:
    return [w for w in ast.walk(fn) if isinstance(w, ast.With)
            and any(isinstance(i.context_expr, ast.Call) and ast.unparse(i.context_expr.func).endswith('atomic_path') for i in w.items)]

def non_atomic_writes(source:str) -> list[str]:
    "`function: call` for every write in `source` that is not inside a `with atomic_path(...)` block of its function."
    out = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name in WRITES_INTO_CALLERS_FOLDER | APPEND_ONLY_LOGS | LOCK_FILES: continue
        safe = {id(n) for w in _atomic_blocks(fn) for n in ast.walk(w)}
        out += [f'{fn.name}: {ast.unparse(c)[:60]}' for c in ast.walk(fn) if isinstance(c, ast.Call) and _is_write(c) and id(c) not in safe]
    return out

def test_the_writer_scan_tells_atomic_from_direct_writes():
    assert non_atomic_writes("def f(p):\n    p.write_text('x')\n") == ["f: p.write_text('x')"]
    assert non_atomic_writes("def f(p):\n    with open(p, 'w') as h: h.write('x')\n") == ["f: open(p, 'w')"]
    assert non_atomic_writes("def f(p):\n    with atomic_path(p) as tmp: tmp.write_text('x')\n") == []
    assert non_atomic_writes("def f(p):\n    with open(p) as h: return h.read()\n") == []
    assert non_atomic_writes("def f(m, p):\n    torch.save(m, p)\n") == ['f: torch.save(m, p)']
    assert non_atomic_writes("def f(p, t):\n    return write_text(p, t)\n") == []   # report's atomic helper

def test_every_writer_of_the_package_is_atomic():
    found = {f.name: non_atomic_writes(f.read_text()) for f in sorted((ROOT/'safesteer').glob('*.py'))}
    assert not {k: v for k, v in found.items() if v}, found

DIRECT = re.compile(r'\.(to_csv|savefig|write_text|write_bytes)\(|\bopen\([^)]*[\'"][wax]b?[\'"]')

def experiment_cells(notebook:Path) -> list[str]:
    "The code cells after the `parameters` cell: what a papermill run executes to write its artifacts."
    cells = json.loads(notebook.read_text())['cells']
    start = next((i for i, c in enumerate(cells) if 'parameters' in c.get('metadata', {}).get('tags', [])), len(cells))
    return [''.join(c['source']) for c in cells[start:] if c['cell_type'] == 'code']


@pytest.mark.parametrize('notebook', ['02_steering', '03_voting',
                                      '04_distill', '05_evaluate', '06_baselines', '07_ablations'])
def test_experiment_notebooks_write_artifacts_atomically(notebook):
    direct = [line.strip() for cell in experiment_cells(ROOT/'nbs'/f'{notebook}.ipynb') for line in cell.splitlines() if DIRECT.search(line)]
    assert not direct, direct

# --- the steering and voting artifacts ---------------------------------------------------------------------------


def saved_direction(folder:Path, n_layers:int=4):
    from safesteer.steering import RefusalDirection
    torch.manual_seed(0)
    return RefusalDirection(torch.randn(32), 1, -1, 4.0, 'tiny-qwen2', n_layers).save(folder/'direction')

def saved_tokens(path:Path):
    from safesteer.voting import SafetyTokens
    _, tok = tiny_model()
    ids = [5, 17, 40]
    return SafetyTokens(ids=ids, tokens=tok.convert_ids_to_tokens(ids), strings=[tok.decode([i]) for i in ids], votes=[3, 2, 1],
                        score=[1., .5, .2], prob_base=[.1] * 3, prob_steered=[.2] * 3, tokenizer='tiny', vocab_size=len(tok)).save(path)

def cut_half(path:Path): b = path.read_bytes(); path.write_bytes(b[:len(b) // 2])
def garbage(path:Path): path.write_bytes(bytes(range(256)) * 2)

@pytest.mark.parametrize('member', ['direction.safetensors', 'direction.json'])
@pytest.mark.parametrize('damage', [cut_half, garbage])
def test_damaged_direction_is_refused_naming_the_file(tmp_path, member, damage):
    from safesteer.steering import RefusalDirection
    folder = saved_direction(tmp_path)
    damage(folder/member)
    with pytest.raises(ValueError, match=re.escape(str(folder/member))): RefusalDirection.load(folder)

@pytest.mark.parametrize('damage', [cut_half, garbage])
def test_damaged_safety_tokens_are_refused_naming_the_file(tmp_path, damage):
    from safesteer.voting import SafetyTokens
    path = saved_tokens(tmp_path/'tokens.json')
    damage(path)
    with pytest.raises(ValueError, match=re.escape(str(path))): SafetyTokens.load(path)

def test_direction_and_tokens_of_another_model_are_refused_naming_the_file(tmp_path):
    from safesteer.steering import RefusalDirection
    from safesteer.voting import SafetyTokens
    other, _ = tiny_model(n_layers=3)
    folder = saved_direction(tmp_path)
    with pytest.raises(ValueError, match=re.escape(str(folder))): RefusalDirection.load(folder).check_compatible(other)
    path = saved_tokens(tmp_path/'tokens.json')
    data = json.loads(path.read_text()); data['vocab_size'] += 1; path.write_text(json.dumps(data))
    _, tok = tiny_model()
    with pytest.raises(ValueError, match=re.escape(str(path))): SafetyTokens.load(path).check_compatible(tok)

def test_direction_and_tokens_of_another_model_are_refused():
    "What already holds: the mismatch itself is caught (hidden size and depth; vocabulary size and strings)."
    from safesteer.steering import RefusalDirection
    from safesteer.voting import SafetyTokens
    other, _ = tiny_model(n_layers=3)
    with pytest.raises(ValueError, match='hidden size 32 and 3 blocks'):
        RefusalDirection(torch.randn(32), 1, -1, 4.0, 'tiny-qwen2', 4).check_compatible(other)
    _, tok = tiny_model()
    tokens = SafetyTokens(ids=[5], tokens=['not-this'], strings=['x'], votes=[1], score=[0.], prob_base=[0.], prob_steered=[0.],
                          tokenizer='tiny', vocab_size=len(tok))
    with pytest.raises(ValueError, match="id 5: 'not-this' here"): tokens.check_compatible(tok)

def test_nan_refusal_scores_raise():
    from safesteer.judges import refusal_scores
    model, tok = tiny_model()
    with nan_outputs(model), pytest.raises(FloatingPointError, match='NaN'): refusal_scores(model, tok, ['Hi', 'How do I make a bomb?'])

def test_nan_in_voting_raises_clearly():
    from safesteer.steering import SteeredTeacher
    from safesteer.voting import mine_safety_tokens, VotingConfig
    model, tok = tiny_model()
    teacher = SteeredTeacher(model, torch.full((model.config.hidden_size,), float('nan')), 1, 4.0)
    cfg = VotingConfig(n_samples=2, horizon=3, n_tokens=5, inner_top_k=5, n_candidates=10)
    with pytest.raises(FloatingPointError, match='NaN'): mine_safety_tokens(teacher, tok, ['Hi', 'Explain photosynthesis.'], cfg, progress=False)
