"""Every committed run is found by the current code: `safesteer reproduce` on a fresh clone reuses it instead of training
again. Runs without loading any model: a run's configuration comes from the profile and the committed artifacts."""
import json, shutil
from pathlib import Path
import pytest
from safesteer.pipeline import Pipeline, METHODS, find_summary, items_path, run_identity
from safesteer.packages import differences
from safesteer.report import artifact_path
from safesteer.voting import SafetyTokens

FIGURES = Path(__file__).resolve().parent.parent/'figures'
MODEL = 'qwen2.5-coder-0.5b-instruct'

def committed(notebook:str, model:str) -> dict:
    "`{name: summary}` of the committed per-run summaries of `notebook` for `model`."
    prefix = f'{notebook}__{model}__'
    return {p.stem[len(prefix):]: json.loads(p.read_text()) for p in sorted(FIGURES.glob(f'{prefix}*.json'))
            if 'config' in json.loads(p.read_text())}

def assert_found(pipe:Pipeline, name:str, saved:dict, config:dict, tmp_path:Path):
    diff = differences(run_identity(saved['config']), run_identity(config))
    assert not diff, f"{name}: the current configuration differs from the committed run's: {diff}"
    assert find_summary(tmp_path/f'{name}.json', config, pipe.summaries()) is not None

@pytest.mark.parametrize('model', ['qwen2.5-coder-0.5b-instruct', 'smollm2-135m-instruct'])
def test_every_committed_baseline_run_is_found(model, tmp_path):
    runs = committed('06_baselines', model)
    assert 'base' in runs
    pipe = Pipeline(model, 'cpu', FIGURES, tmp_path/'runs')
    for method, saved in runs.items():
        assert method in METHODS, method
        assert_found(pipe, method, saved, pipe.run_config(method), tmp_path)
    assert pipe._loaded is None, 'finding the committed runs loaded the model'

def ablation_config(pipe:Pipeline, name:str) -> dict:
    "The configuration `07_ablations` gives the point `name` (`tokens_50`, `horizon_3`, `window_all`, `prompts_25`)."
    ablation, value = name.rsplit('_', 1)
    point = dict(tokens=50, horizon=7, window=None, prompts=100)   # the defaults for a Qwen model (H = 7, |S| = 50)
    point[ablation] = None if value == 'all' else int(value)
    tokens = SafetyTokens.load(artifact_path(FIGURES, '07_ablations', MODEL, f"tokens_S{point['tokens']}_H{point['horizon']}.json"))
    return pipe.run_config('safesteer', tokens, point['prompts'], dict(window=point['window']))

def test_every_committed_ablation_run_is_found(tmp_path):
    runs = {k: v for k, v in committed('07_ablations', MODEL).items() if k.split('_')[0] in ('tokens', 'horizon', 'window', 'prompts')}
    assert len(runs) == 14, sorted(runs)
    pipe = Pipeline(MODEL, 'cpu', FIGURES, tmp_path/'runs')
    for name, saved in runs.items(): assert_found(pipe, name, saved, ablation_config(pipe, name), tmp_path)
    assert pipe._loaded is None, 'finding the committed runs loaded the model'

def load_tool(name:str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, FIGURES.parent/'tools'/f'{name}.py')
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module

def test_the_coefficient_migration_was_applied_and_is_idempotent(tmp_path):
    "Every committed artifact uses `teacher_coef`/`selection_coef`; the migration turns the old names into them and nothing else."
    import shutil
    from safesteer.steering import RefusalDirection
    migrate = load_tool('migrate_coefficients').migrate
    copy = tmp_path/'figures'; shutil.copytree(FIGURES, copy)
    assert migrate(copy) == [], 'a committed artifact still has the old coefficient names: run tools/migrate_coefficients.py'
    for folder in sorted(FIGURES.glob('**/02_steering__*__direction')):
        found = RefusalDirection.load(folder)
        assert found.teacher_coef > 0 and 'selection_coef' in found.meta['config'], folder
    path = copy/'02_steering__qwen2.5-coder-0.5b-instruct__direction'/'direction.json'
    new = json.loads(path.read_text())
    old = {('coef' if k == 'teacher_coef' else k): v for k, v in json.loads(path.read_text()).items()}
    old['meta']['config'] = {('coef' if k == 'selection_coef' else k): v for k, v in new['meta']['config'].items()}
    path.write_text(json.dumps(old, indent=1) + '\n')
    assert RefusalDirection.load(path.parent).teacher_coef == new['teacher_coef']   # an old file still loads
    assert migrate(copy) == [path] and json.loads(path.read_text()) == new

def test_progress_copies_only_what_is_ahead(tmp_path):
    "A committed progress file replaces a cached one only where it holds more: more lines, or the finished result."
    copy_newer = load_tool('progress').copy_newer
    cache, committed = tmp_path/'cache', tmp_path/'committed'
    cache.mkdir(); committed.mkdir()
    (cache/'a.partial.jsonl').write_text('{"key": 1}\n[1]\n[2]\n')
    (committed/'a.partial.jsonl').write_text('{"key": 1}\n[1]\n')
    (committed/'b.json').write_text('{"value": 1}')
    (cache/'candidates.jsonl').write_text('{"key": 1}\n')
    (committed/'candidates.jsonl').write_text('{"key": 1}\n[3]\n')
    assert copy_newer(committed, cache) == ['b.json', 'candidates.jsonl']
    assert (cache/'a.partial.jsonl').read_text().count('\n') == 3, 'a shorter partial file overwrote a longer one'
    (cache/'a.json').write_text('{"value": 2}')
    (committed/'a.partial.jsonl').write_text('{"key": 1}\n[1]\n[2]\n[3]\n[4]\n')
    assert copy_newer(committed, cache) == [], 'a partial file was restored beside the finished result it became'
    assert copy_newer(tmp_path/'missing', cache) == []

def test_the_one_factor_table_pairs_each_run_with_the_base_model_and_the_default(tmp_path, monkeypatch):
    "`tools/authors_factors.py` on the committed paired runs, with full-vocabulary OPD standing in for a variant."
    from safesteer.evaluate import item_outcomes, paired_comparison, read_samples
    from safesteer.pipeline import items_path
    tool = load_tool('authors_factors')
    paired = lambda m: artifact_path(FIGURES/'06_baselines_paired', '06_baselines', MODEL, f'{m}.json')
    real = tool.summary_path
    monkeypatch.setattr(tool, 'summary_path', lambda model, v: paired('opd_full') if v == 'coef1' else real(model, v))
    monkeypatch.setattr(tool, 'AUTHORS', tmp_path)
    monkeypatch.setattr('sys.argv', ['authors_factors.py'])
    tool.main()
    runs = json.loads((tmp_path/f'one_factor__{MODEL}.json').read_text())['runs']
    outcomes = lambda m: item_outcomes(read_samples(items_path(paired(m))))
    for reference, key in (('base', 'against_base'), ('safesteer', 'against_default')):
        expected = paired_comparison(outcomes(reference), outcomes('opd_full'))
        for group in ('safety', 'over_refusal', 'capability'):
            assert runs['coef1'][key][group]['delta'] == pytest.approx(expected[group]['delta'])
    assert runs['coef1']['against_default']['safety']['delta'] > 0.2   # full-vocabulary OPD refuses far more than SafeSteer
    assert '| coef1 | teacher coefficient 1.0 (2.5) | +0.488 ± 0.032 (260) |' in (tmp_path/f'one_factor__{MODEL}.md').read_text()
    assert (tmp_path/f'one_factor__{MODEL}.png').stat().st_size > 10_000, 'the trade-off figure was not drawn'

def test_paired_runs_share_training_slots(tmp_path, monkeypatch):
    """Two `tools/paired_runs.py` processes train side by side only when their slots fit: while a large training holds two
    of the three slots, a LoRA training of the 0.5B model starts, and another large training waits until they are free."""
    import threading
    monkeypatch.syspath_prepend(str(FIGURES.parent/'tools'))
    tool = load_tool('paired_runs')
    started = {n: threading.Event() for n in (1, 2)}
    def train(n):
        with tool.training_slots(tmp_path/'runs', n, poll=0.05): started[n].set()
    with tool.training_slots(tmp_path/'runs', 2):   # another process's large training
        waiting = [threading.Thread(target=train, args=(n,)) for n in (2, 1)]
        for t in waiting: t.start()
        assert started[1].wait(10), 'a LoRA training waited although a slot was free'
        assert not started[2].wait(0.5), 'two large trainings held their slots at once'
    assert started[2].wait(10), 'the large training did not start once the slots were released'
    for t in waiting: t.join()
    with pytest.raises(ValueError, match='1 to 3 slots'):
        with tool.training_slots(tmp_path/'runs', 4): pass

PAIRED_RUNS = sorted(p for p in (FIGURES/'06_baselines_paired').glob('06_baselines__*__*.json') if items_path(p).exists())

@pytest.mark.parametrize('summary', PAIRED_RUNS, ids=lambda p: p.stem.split('__', 1)[1])
def test_the_committed_items_reproduce_the_summary(summary, tmp_path):
    """A paired run's per-item file gives back its summary: each refusal rate from the stored verdicts of the run's judge,
    the XSTest keyword rates judged again by `rejudge`, and the paired differences from the base model's file."""
    from safesteer.evaluate import item_outcomes, paired_comparison, read_samples
    from safesteer.judges import XSTEST_JUDGE, rejudge, verdict_rate
    s, items = json.loads(summary.read_text()), tmp_path/'items.jsonl'
    shutil.copy(items_path(summary), items)
    keyword = rejudge(items, XSTEST_JUDGE, overwrite=True)['by_benchmark']
    rows = [json.loads(l) for l in items.read_text().splitlines()]
    column = f"verdict_{s['config']['evaluation']['judge']}"
    refusal = {name: b for name, b in s['benchmarks'].items() if b['metric'] == 'refusal_rate'}
    assert refusal, summary
    for name, b in refusal.items():
        assert verdict_rate([r.get(column) for r in rows if r['benchmark'] == name]) == (pytest.approx(b['value']), b['n']), name
        also = b['also']['refusal_rate_keyword_xstest']
        assert keyword[name]['verdict_keyword_xstest'] == dict(rate=pytest.approx(also['value']), n=also['n']), name
    base = summary.with_name(f"06_baselines__{summary.name.split('__')[1]}__base.json")
    if s.get('paired'):
        again = paired_comparison(item_outcomes(read_samples(items_path(base))), item_outcomes(read_samples(items)))
        for group, p in s['paired'].items():
            assert {k: again[group][k] for k in ('delta', 'stderr', 'n')} == pytest.approx({k: p[k] for k in ('delta', 'stderr', 'n')}), group

def test_the_readme_cross_model_table_is_the_committed_one():
    "Each row of the README's cross-model table of paired differences reads as in `figures/06a_across_models__table.md`."
    cells = lambda line: [c.strip().replace('−', '-') for c in line.strip().strip('|').split('|')]
    table = {tuple(r[:2]): r for r in map(cells, (FIGURES/'06a_across_models__table.md').read_text().splitlines()[2:])}
    readme = (FIGURES.parent/'README.md').read_text()
    start = readme.index('| model | method | safety − base |')
    rows = [cells(l) for l in readme[start:].splitlines()[2:]]
    rows = [r for r in rows[:next((i for i, r in enumerate(rows) if len(r) < 5), len(rows))] if r[1] != 'every method but base']
    assert len(rows) >= 7, 'the README table has lost its rows'
    for model, method, *deltas in rows:
        assert (model, method) in table, f'{model} {method}: in the README, not in the committed table'
        assert deltas == table[model, method][6:9], f'{model} {method}: the README reads {deltas}, the table {table[model, method][6:9]}'
