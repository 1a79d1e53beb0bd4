"""Every committed run is found by the current code: `safesteer reproduce` on a fresh clone reuses it instead of training
again. Runs without loading any model: a run's configuration comes from the profile and the committed artifacts."""
import json
from pathlib import Path
import pytest
from safesteer.pipeline import Pipeline, METHODS, find_summary, run_identity
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
