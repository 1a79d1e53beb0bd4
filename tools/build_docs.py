"""Build the documentation site from the notebooks, offline: `python tools/build_docs.py` writes `_docs/`.

Quarto (which `nbdev_docs` needs) is not used. Instead:

1. nbdev's own processors apply the `#|` directives to each notebook in `nbs/` (`hide`, `export`, `echo: false`,
   `output: false`, ...) and add a `show_doc` cell after every exported definition, exactly as `nbdev_proc_nbs`
   does, except that `show_doc` is filled in here from the installed `safesteer` module instead of by running
   the notebook's cells (which would load models);
2. each processed notebook becomes one Markdown page in `_proc/docs/` (pages keep nbdev's names: `04_distill`
   becomes `distill.html`, so nbdev's cross-reference links resolve), Quarto `:::` callouts become admonitions,
   notebook names in prose link to their pages, the figures the notebooks show are copied next to the pages,
   and a page ends with the committed figures of its notebook (`figures/<notebook>_*.png`) it does not show;
3. MkDocs (pinned in the `dev` extra, with mkdocs-material) renders the pages in `--strict` mode, so a broken
   Markdown link fails the build; the paper's equations are typeset by MathJax 3 (SVG output) served from
   the `sphinx-mathjax-offline` package, and nothing is fetched from the network;
4. every `href`, `src` and `#anchor` inside the built site is checked against the built files.

`python tools/build_docs.py --serve` serves the built site on http://127.0.0.1:8000 to look at it.
"""
from __future__ import annotations
import argparse, html.parser, importlib, importlib.metadata, json, os, re, shutil, subprocess, sys, time
from pathlib import Path
from urllib.parse import urldefrag, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PROC, SITE = ROOT/'_proc', ROOT/'_docs'   # both git-ignored
DOCS = PROC/'docs'
COLAB_SVG = 'https://colab.research.google.com/assets/colab-badge.svg'

def _cfg():
    from nbdev.config import get_config
    return get_config(path=ROOT)

def notebooks(nbs:Path) -> list[Path]:
    "The notebooks that make pages, in the order of the site's navigation: `index` first, then by name."
    nbs_ = sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return sorted(nbs_, key=lambda p: (p.stem != 'index', p.name))

def _procs():
    "nbdev's documentation processors, less those that execute cells or only matter to Quarto."
    from nbdev.processors import FilterDefaults
    skip = {'exec_show_docs', 'insert_warning', 'add_fold', 'mv_exports', 'ai_magics'}
    return [p for p in FilterDefaults().procs() if getattr(p, '__name__', '') not in skip]

_directive = re.compile(r'^\s*#\|\s*([\w-]+):?\s*(.*?)\s*$')
def directives(source:str) -> tuple[dict, str]:
    "The cell's `#|` directives as a dict, and its source without them."
    found, body = {}, []
    for line in source.splitlines():
        m = _directive.match(line)
        if m: found[m[1]] = m[2]
        else: body.append(line)
    return found, '\n'.join(body).strip('\n')

_callout = re.compile(r'^:::+\s*\{?\s*\.callout-(\w+)[^\n]*$')
_fence = re.compile(r'^:::+\s*(\S.*)?$')
def quarto_blocks(md:str) -> str:
    "Quarto `::: {.callout-*}` blocks as MkDocs admonitions; other `:::` fences dropped, keeping their content."
    out, indents, lines, i = [], [], md.splitlines(), 0
    while i < len(lines):
        line, m = lines[i], _callout.match(lines[i])
        if m:
            kind = {'important': 'danger', 'caution': 'warning'}.get(m[1], m[1])
            title = ''
            if i + 1 < len(lines) and lines[i+1].startswith('#'): title, i = lines[i+1].lstrip('#').strip(), i + 1
            out.append(''.join(indents) + f'!!! {kind}' + (f' "{title}"' if title else ''))
            indents.append('    ')
        elif _fence.match(line):
            if _fence.match(line)[1]: indents.append('')   # an opening fence of another kind: its content stays
            else:                                          # a closing fence: a blank line ends an admonition
                if indents and indents.pop() and i + 1 < len(lines) and lines[i+1].strip(): out.append('')
        else: out.append(''.join(indents) + line if line.strip() else line)
        i += 1
    return '\n'.join(out)

_item = re.compile(r'^(\s*)([-*+]|\d+[.)])\s+\S')
def blank_before_lists(md:str) -> str:
    "A blank line before a list that follows a paragraph: Jupyter (CommonMark) needs none, Python-Markdown does."
    out, fenced = [], False
    for line in md.splitlines():
        if line.lstrip().startswith(('```', '~~~')): fenced = not fenced
        prev = out[-1] if out else ''
        if (not fenced and _item.match(line) and prev.strip() and not _item.match(prev) and not prev.startswith((' ', '\t'))
                and not prev.lstrip().startswith(('|', '>', '#', '```'))):
            out.append('')
        out.append(line)
    return '\n'.join(out)

def _in_definition_order(cells:list) -> list:
    "nbdev inserts the `show_doc` cells of one exported cell last-defined first; put them back in source order."
    out, run = [], []
    for c in cells + [None]:
        if c is not None and getattr(c, 'has_sd', False): run.append(c); continue
        out += run[::-1]; run = []
        if c is not None: out.append(c)
    return out

class Page:
    "One notebook as one Markdown page."
    names: dict = {}   # notebook stem -> page name, of every page of the site (set by `build_pages`)
    def __init__(self, nb_path:Path, cfg):
        from execnb.nbio import read_nb
        from nbdev.process import NBProcessor
        self.path, self.cfg = nb_path, cfg
        raw = json.loads(nb_path.read_text())
        self.module = next((m[1] for c in raw['cells'] if c['cell_type'] == 'code'
                            for m in [re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)] if m), None)
        os.environ['IN_TEST'] = '1'   # as nbdev's own processing does: notebooks skip slow set-up on import
        try:
            self.nb = read_nb(nb_path)
            NBProcessor(nb=self.nb, procs=_procs()).process()
        finally: os.environ.pop('IN_TEST', None)
        self.nb.cells = _in_definition_order(self.nb.cells)
        self.meta = getattr(self.nb, 'frontmatter_', {}) or {}
        self.name = Path(self.meta.get('output-file') or f'{nb_path.stem}.html').stem
        self.title = self.meta.get('title') or nb_path.stem
        self.figures: set[str] = set()

    def show_doc(self, source:str) -> str:
        "The Markdown of a `show_doc(name)` cell, from the installed module."
        from nbdev.showdoc import show_doc
        expr = re.search(r'show_doc\((.+)\)\s*$', source, re.S)[1]
        ns = vars(importlib.import_module(f"{self.cfg.lib_name}.{self.module}")) if self.module else {}
        try: obj = eval(expr, dict(ns))
        except Exception as e:
            raise RuntimeError(f'{self.path.name}: cannot document {expr!r} from module {self.module!r}: {e!r}') from e
        md = show_doc(obj)._repr_markdown_().replace('#LNone)', ')')   # a source link without a line number
        # the heading gets nbdev's anchor (`#rollouts.select`), which nbdev's cross-reference links point at
        return re.sub(r'^(#+ )(\S+)\s*$', lambda m: f'{m[1]}{m[2]} {{ #{m[2].lower()} }}', md, count=1, flags=re.M)

    def markdown_cell(self, md:str) -> str:
        md = blank_before_lists(quarto_blocks(md))
        base = f"{self.cfg.doc_host.rstrip('/')}{self.cfg.doc_baseurl.rstrip('/')}/"
        md = md.replace(base, '')   # nbdev's links to its own pages, made relative
        def image(m):
            target = m[2]
            if re.match(r'[a-z]+:', target): return m[0]
            src = (self.path.parent/target).resolve()
            if not src.is_file(): src = (ROOT/target).resolve()
            if not src.is_file(): raise FileNotFoundError(f'{self.path.name}: the image {target!r} is not in the repository')
            rel = src.relative_to(ROOT).as_posix()
            self.figures.add(rel)
            return f'{m[1]}({rel})'
        md = re.sub(r'(!\[[^\]]*\])\(([^)\s]+)\)', image, md)
        figure_link = lambda m: image(m) if re.search(r'\.(png|svg|jpe?g)$', m[2]) else m[0]   # a link to a figure: copied too
        md = re.sub(r'(?<!!)(\[[^\]]*\])\(([^)\s]+)\)', figure_link, md)
        md = md.replace(COLAB_SVG, 'assets/colab-badge.svg')   # the badge image served by the site, not fetched
        def notebook(m):   # `02_steering` or `nbs/02_steering.ipynb` in prose: a link to its page
            return f'[{m[0]}]({self.names[m[2]]}.md)' if m[2] in self.names and m[2] != self.path.stem else m[0]
        md = re.sub(r'(?<!\[)`(nbs/)?(\d\d[a-z]?_\w+|index)(?:\.ipynb)?`(?!\])', notebook, md)
        md = re.sub(r'\]\((?:\./)?(\d+[a-z]?_)?([\w-]+)\.ipynb(#[^)]*)?\)', lambda m: f']({m[2]}.md{m[3] or ""})', md)
        return md

    def code_cell(self, cell) -> list[str]:
        d, body = directives(cell.source)
        if d.get('include') == 'false': return []
        parts = []
        if d.get('echo') != 'false' and body.strip(): parts.append(f'```python\n{body}\n```')
        if re.match(r'\s*show_doc\(', body):
            return [self.show_doc(body)]
        if d.get('output') == 'false': return parts
        for o in cell.get('outputs', []):
            data = o.get('data', {})
            if o.get('output_type') == 'stream': parts.append('```text\n' + ''.join(o['text']).rstrip() + '\n```')
            elif 'text/markdown' in data: parts.append(''.join(data['text/markdown']))
            elif 'image/png' in data:
                import base64
                name = f'{self.name}_{cell.idx_}_{len(parts)}.png'
                (DOCS/'outputs').mkdir(parents=True, exist_ok=True)
                (DOCS/'outputs'/name).write_bytes(base64.b64decode(''.join(data['image/png'])))
                parts.append(f'![](outputs/{name})')
            elif 'text/html' in data: parts.append('<div class="nb-output" markdown="0">\n' + ''.join(data['text/html']) + '\n</div>')
            elif 'text/plain' in data: parts.append('```text\n' + ''.join(data['text/plain']).rstrip() + '\n```')
        return parts

    def markdown(self) -> str:
        parts = [f'# {self.title}']
        if self.meta.get('description'): parts.append(f'<p class="nb-description">{self.meta["description"]}</p>')
        for cell in self.nb.cells:
            if cell.cell_type == 'raw' or not cell.get('source', '').strip(): continue
            parts += [self.markdown_cell(cell.source)] if cell.cell_type == 'markdown' else self.code_cell(cell)
        figs = self.committed_figures()
        if figs:
            parts.append('## Committed figures\n\nThe figures this notebook wrote, as committed in `figures/`:')
            parts += [f'<figure markdown>\n![{Path(f).stem}]({f})\n<figcaption>{Path(f).name}</figcaption>\n</figure>' for f in figs]
        return '\n\n'.join(parts) + '\n'

    def committed_figures(self) -> list[str]:
        "The committed PNGs under `figures/` named after this notebook that its pages do not show already."
        figs = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT/'figures').glob(f'{self.path.stem}_*.png'))]
        new = [f for f in figs if f not in self.figures]
        self.figures.update(new)
        return new

COLAB_BADGE_SVG = '''<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open in Colab">
<rect width="117" height="20" rx="3" fill="#555"/><rect x="22" width="95" height="20" rx="3" fill="#f9ab00"/>
<rect x="22" width="4" height="20" fill="#f9ab00"/>
<circle cx="8" cy="10" r="4.2" fill="none" stroke="#f9ab00" stroke-width="2.2"/>
<circle cx="15" cy="10" r="4.2" fill="none" stroke="#e8710a" stroke-width="2.2"/>
<text x="69" y="14" fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">Open in Colab</text>
</svg>
'''

MATHJAX_CONFIG = '''window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]], processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"}
};
document$.subscribe(() => {
  if (!window.MathJax.typesetPromise) return;   // the first page: MathJax typesets it once it has loaded
  MathJax.startup.output.clearCache(); MathJax.typesetClear(); MathJax.texReset(); MathJax.typesetPromise();
});
'''

def mathjax_dir() -> Path:
    "MathJax 3 as the `sphinx-mathjax-offline` package installs it (no CDN)."
    files = importlib.metadata.files('sphinx-mathjax-offline') or []
    js = next((f for f in files if str(f).endswith('static/mathjax/tex-svg.js')), None)
    if js is None: sys.exit('MathJax not found: install the dev extra (`pip install -e ".[dev]"`), which pins sphinx-mathjax-offline')
    return Path(js.locate()).parent

def write_assets():
    (DOCS/'assets').mkdir(parents=True, exist_ok=True)
    (DOCS/'assets'/'colab-badge.svg').write_text(COLAB_BADGE_SVG)
    (DOCS/'assets'/'mathjax-config.js').write_text(MATHJAX_CONFIG)
    (DOCS/'assets'/'extra.css').write_text((ROOT/'docs'/'extra.css').read_text())
    mj, dst = mathjax_dir(), DOCS/'assets'/'mathjax'
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(mj/'tex-svg.js', dst/'tex-svg.js')   # SVG output: glyphs are drawn as paths, no font files to load
    shutil.copytree(mj/'input'/'tex'/'extensions', dst/'input'/'tex'/'extensions', dirs_exist_ok=True)   # loaded on demand

def resolve_links(text:str, anchors:set) -> str:
    """nbdev links every name in its index, as `[`name`](page.html#anchor)`; `anchors` holds the (page, anchor) pairs
    that have a show_doc. A method without its own goes to its class; a name with none (a private one) stays unlinked."""
    def link(m):
        code, page, anchor = m[1], m[2], m[3]
        while '.' in anchor and (page, anchor) not in anchors: anchor = anchor.rsplit('.', 1)[0]
        return f'[{code}]({page}.html#{anchor})' if (page, anchor) in anchors else code
    return re.sub(r'\[(`[^`\]]+`)\]\(([\w-]+)\.html#([\w.-]+)\)', link, text)

def build_pages(cfg) -> list[Page]:
    if PROC.exists(): shutil.rmtree(PROC)
    DOCS.mkdir(parents=True)
    pages = [Page(nb, cfg) for nb in notebooks(ROOT/cfg.nbs_path)]
    Page.names = {p.path.stem: p.name for p in pages}
    texts = {p.name: p.markdown() for p in pages}
    anchors = {(name, a) for name, text in texts.items() for a in re.findall(r'\{ #(\S+) \}', text)}
    for page in pages:
        text = resolve_links(texts[page.name], anchors)
        (DOCS/f'{page.name}.md').write_text(text)
        for f in page.figures:
            (DOCS/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT/f, DOCS/f)
    write_assets()
    nav = [{('Home' if p.name == 'index' else f'{p.path.stem.split("_")[0]} {p.title}'): f'{p.name}.md'} for p in pages]
    conf = dict(INHERIT=str(ROOT/'mkdocs.yml'), docs_dir=str(DOCS), site_dir=str(SITE),
                site_name=cfg.title, site_description=cfg.description, repo_url=cfg.git_url, nav=nav)
    (PROC/'mkdocs.yml').write_text(json.dumps(conf, indent=1))   # JSON is YAML
    return pages

class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        for k in ('href', 'src'):
            if a.get(k): self.links.append(a[k])

def check_links(site:Path, cfg) -> list[str]:
    "Broken internal links of the built site: a missing file, or an `#anchor` its page lacks."
    parsed = {}
    def parse(p:Path):
        if p not in parsed:
            parser = _Links(); parser.feed(p.read_text(errors='replace')); parsed[p] = parser
        return parsed[p]
    own = f"{cfg.doc_host.rstrip('/')}{cfg.doc_baseurl.rstrip('/')}/"
    broken = []
    for page in sorted(site.rglob('*.html')):
        for link in parse(page).links:
            if link.startswith(own): broken.append(f'{page.relative_to(site)}: {link} (an absolute link to this site)'); continue
            if re.match(r'[a-z][a-z0-9+.-]*:', link, re.I) or link.startswith('//'): continue   # external: not checked
            path, frag = urldefrag(link)
            path = unquote(urlsplit(path).path)
            target = page if not path else (site/path.lstrip('/')).resolve() if path.startswith('/') else (page.parent/path).resolve()
            if target.is_dir(): target = target/'index.html'
            if not target.exists(): broken.append(f'{page.relative_to(site)}: {link} (no such file)'); continue
            if frag and target.suffix == '.html' and unquote(frag) not in parse(target).ids:
                broken.append(f'{page.relative_to(site)}: {link} (no such anchor)')
    return broken

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--serve', action='store_true', help='after building, serve the site on http://127.0.0.1:8000')
    args = ap.parse_args(argv)
    start, cfg = time.time(), _cfg()
    pages = build_pages(cfg)
    print(f'{len(pages)} pages from {cfg.nbs_path}/ in {time.time() - start:.0f} s')
    subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--quiet', '-f', str(PROC/'mkdocs.yml')],
                   check=True, cwd=ROOT, env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    broken = check_links(SITE, cfg)
    if broken: sys.exit('broken internal links:\n  ' + '\n  '.join(broken))
    print(f'site built in {SITE.relative_to(ROOT)}/ in {time.time() - start:.0f} s; internal links checked')
    if args.serve:
        subprocess.run([sys.executable, '-m', 'http.server', '8000', '--bind', '127.0.0.1', '--directory', str(SITE)])

if __name__ == '__main__': main()
