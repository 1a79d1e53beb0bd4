"""The documentation build (`tools/build_docs.py`) on small inputs: directives, Quarto callouts, show_doc pages,
images, and the link check. The whole site is built by `.ci/run`."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_docs as bd

def test_directives():
    d, body = bd.directives('#| echo: false\n#|output: asis\n#| hide\nx = 1\n# a comment')
    assert d == {'echo': 'false', 'output': 'asis', 'hide': ''} and body == 'x = 1\n# a comment'

def test_quarto_callouts():
    md = '::: {.callout-note}\n## Why\nBecause.\n\nTwice.\n:::\nafter'
    assert bd.quarto_blocks(md) == '!!! note "Why"\n    Because.\n\n    Twice.\n\nafter'
    assert bd.quarto_blocks('::: {.callout-important}\nx\n:::') == '!!! danger\n    x'
    assert bd.quarto_blocks('::: {.column-margin}\nside note\n:::\n\ntext') == 'side note\n\ntext'   # kept, unfenced
    assert bd.quarto_blocks('no fences, $x$') == 'no fences, $x$'

def test_blank_before_lists():
    assert bd.blank_before_lists('Runs:\n- one\n- two\n\nThen:\n1. a\n2. b') == 'Runs:\n\n- one\n- two\n\nThen:\n\n1. a\n2. b'
    same = ['- one\n  continued\n- two', 'text\n\n- item', '```\nx = 1\n- 2\n```', '| a |\n|---|', 'a - b - c']
    for md in same: assert bd.blank_before_lists(md) == md

def _nb(path:Path, cells) -> Path:
    nb = dict(cells=[dict(cell_type=t, id=f'c{i}', metadata={}, source=s, **({'outputs': [], 'execution_count': None} if t == 'code' else {}))
                     for i, (t, s) in enumerate(cells)],
              metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')), nbformat=4, nbformat_minor=5)
    path.write_text(json.dumps(nb))
    return path

@pytest.fixture
def page(tmp_path, monkeypatch):
    "A page built from a small notebook that documents two real functions of `safesteer.models`."
    (tmp_path/'figures').mkdir()
    (tmp_path/'figures'/'99_demo__tiny__plot.png').write_bytes(b'\x89PNG fake')
    (tmp_path/'figures'/'99_demo__tiny__shown.png').write_bytes(b'\x89PNG fake')
    nbs = tmp_path/'nbs'; nbs.mkdir()
    path = _nb(nbs/'99_demo.ipynb', [
        ('markdown', '# Demo\n> One line about it.'),
        ('code', '#| default_exp models'),
        ('code', '#| export\nimport torch'),
        ('code', '#| hide\nsecret = 42'),
        ('markdown', 'The loss is $\\sum_{v \\in \\mathcal S} p_s(v)\\,\\log\\frac{p_s(v)}{p_t(v)}$, or\n\n$$D = \\log p_s - \\log p_t$$'),
        ('code', '#| export\ndef default_device(): ...\ndef default_dtype(device): ...'),
        ('code', 'shown = 1 + 1'),
        ('code', '#| echo: false\nonly_output = 1'),
        ('markdown', '## Results\n\n![the plot](../figures/99_demo__tiny__shown.png)\n\n::: {.callout-tip}\nA tip.\n:::'),
    ])
    cfg = bd._cfg()
    monkeypatch.setattr(bd, 'ROOT', tmp_path)
    monkeypatch.setattr(bd, 'DOCS', tmp_path/'_proc'/'docs')
    return bd.Page(path, cfg)

def test_page(page):
    md = page.markdown()
    assert page.name == 'demo' and md.startswith('# Demo\n\n<p class="nb-description">One line about it.</p>')
    assert 'secret' not in md and 'import torch' not in md and 'default_exp' not in md   # hidden and exported cells
    assert '```python\nshown = 1 + 1\n```' in md and 'only_output' not in md
    assert '$$D = \\log p_s - \\log p_t$$' in md and '\\mathcal S' in md                 # math passes through to arithmatex
    # the exported function's signature and docstring, from the installed library, under nbdev's anchor
    assert '### default_dtype { #default_dtype }' in md and 'def default_dtype(\n    device\n)->torch.dtype:' in md
    assert 'by the GPU\'s compute capability' in md
    assert md.index('### default_device') < md.index('### default_dtype')                # in the order they are defined
    assert '![the plot](figures/99_demo__tiny__shown.png)' in md and '!!! tip\n    A tip.' in md
    # figures the notebook wrote but does not show are appended, each once
    assert md.count('figures/99_demo__tiny__plot.png') == 1 and md.count('99_demo__tiny__shown.png') == 1
    assert page.figures == {'figures/99_demo__tiny__shown.png', 'figures/99_demo__tiny__plot.png'}

def test_missing_image_fails(page):
    with pytest.raises(FileNotFoundError, match='not in the repository'): page.markdown_cell('![x](../figures/nope.png)')

def test_notebook_links(page, monkeypatch):
    monkeypatch.setattr(bd.Page, 'names', {'03_voting': 'voting', '99_demo': 'demo'})
    assert page.markdown_cell('in `nbs/03_voting` and `03_voting.ipynb`; `99_demo` is this page; `07_none`') == \
        'in [`nbs/03_voting`](voting.md) and [`03_voting.ipynb`](voting.md); `99_demo` is this page; `07_none`'
    assert page.markdown_cell('see [voting](03_voting.ipynb#the-vote)') == 'see [voting](voting.md#the-vote)'

def test_resolve_links():
    anchors = {('distill', 'rollouts'), ('distill', 'lossconfig')}
    md = '[`Rollouts.select`](distill.html#rollouts.select), [`_Chunked`](distill.html#_chunked), [`LossConfig`](distill.html#lossconfig)'
    assert bd.resolve_links(md, anchors) == '[`Rollouts.select`](distill.html#rollouts), `_Chunked`, [`LossConfig`](distill.html#lossconfig)'
    assert bd.resolve_links('[the trainer](distill.html#the-trainer)', anchors) == '[the trainer](distill.html#the-trainer)'   # a section: checked after the build

def test_check_links(tmp_path):
    site = tmp_path/'site'; (site/'sub').mkdir(parents=True)
    (site/'a.html').write_text('<h2 id="x">x</h2><a href="b.html#y">ok</a><a href="#x">self</a><img src="sub/i.png">'
                               '<a href="https://example.org/z">external</a><a href="/b.html">root</a>')
    (site/'b.html').write_text('<p id="y"></p><a href="a.html#nope">bad anchor</a><a href="c.html">gone</a>'
                               '<a href="https://safesteer.github.io/safesteer/a.html">own host</a>')
    (site/'sub'/'i.png').write_bytes(b'')
    cfg = type('cfg', (), dict(doc_host='https://safesteer.github.io', doc_baseurl='/safesteer'))
    assert sorted(bd.check_links(site, cfg)) == ['b.html: a.html#nope (no such anchor)', 'b.html: c.html (no such file)',
                                                 'b.html: https://safesteer.github.io/safesteer/a.html (an absolute link to this site)']

def test_mathjax_is_installed():
    "The equations are typeset by a MathJax that ships with the dev extra, not one from a CDN."
    mj = bd.mathjax_dir()
    assert (mj/'tex-svg.js').is_file() and any((mj/'input'/'tex'/'extensions').glob('*.js'))

def test_notebook_order(tmp_path):
    for n in ['02_b', 'index', '00_a', '_scratch', '01a_c']: (tmp_path/f'{n}.ipynb').write_text('{}')
    assert [p.stem for p in bd.notebooks(tmp_path)] == ['index', '00_a', '01a_c', '02_b']
