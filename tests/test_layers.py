"""The library's modules form layers: each imports only modules of lower layers (function-level imports included), so there
is no import cycle and a section never reaches up into a later one."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent/'safesteer'
LAYERS = [('packages', 'profiles'), ('models', 'data', 'report'), ('judges', 'sandbox'), ('steering',), ('voting',), ('training',),
          ('distill', 'evaluate'), ('baselines',), ('pipeline',), ('reproduce',), ('cli',)]
LEVEL = {m: i for i, names in enumerate(LAYERS) for m in names}

def imported(module:str) -> set[str]:
    "The safesteer modules `module` imports anywhere in its source."
    out = set()
    for node in ast.walk(ast.parse((PACKAGE/f'{module}.py').read_text())):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ''
            if node.level == 1: out.add(name.split('.')[0] if name else '')
            elif name.startswith('safesteer.'): out.add(name.split('.')[1])
            elif name == 'safesteer': out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split('.')[1] for a in node.names if a.name.startswith('safesteer.'))
    return out - {'', '_modidx', '__init__'}

def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob('*.py')} - {'__init__', '_modidx'}
    assert modules == set(LEVEL), f'modules without a layer: {sorted(modules - set(LEVEL))}; layers without a module: {sorted(set(LEVEL) - modules)}'

def test_modules_import_only_lower_layers():
    upward = [f'{m} (layer {LEVEL[m]}) imports {d} (layer {LEVEL[d]})' for m in LEVEL for d in sorted(imported(m)) if LEVEL[d] >= LEVEL[m]]
    assert not upward, upward
