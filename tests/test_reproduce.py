"The reproduction driver runs an experiment notebook under papermill with its default parameters, and skips it the second time."
import json
from pathlib import Path
from safesteer.cli import main

def test_baselines_notebook_runs_under_papermill(tmp_path, capsys):
    figures, runs = tmp_path/'figures', tmp_path/'runs'
    args = ['reproduce', '--notebooks', '06_baselines', '--models', 'tiny', '--profile', 'tiny',
            '--figures-dir', str(figures), '--runs-dir', str(runs)]
    assert main(args) == 0, capsys.readouterr().out
    executed = json.loads((runs/'06_baselines'/'tiny.ipynb').read_text())
    assert executed['metadata']['papermill']['parameters']['figures_dir'] == str(figures)
    summary = json.loads((figures/'06_baselines__tiny__summary.json').read_text())
    assert set(summary) == {'base', 'steering', 'sft', 'opd_full', 'opd_renorm', 'system_prompt_teacher', 'safesteer'}
    for what in ('tradeoff.png', 'shift.png', 'means.csv', 'means.md', 'results.csv', 'results.md', 'safesteer.json'):
        assert (figures/f'06_baselines__tiny__{what}').exists(), what
    assert json.loads((runs/'06_baselines'/'tiny.json').read_text())['status'] == 'ok'
    capsys.readouterr()
    assert main(args) == 0
    assert '1 skipped' in capsys.readouterr().out

def test_a_failing_notebook_is_reported_and_the_others_run(tmp_path, capsys):
    nbs = tmp_path/'nbs'; nbs.mkdir()
    cell = lambda i, src, tags=(): dict(id=f'c{i}', cell_type='code', metadata=dict(tags=list(tags)), source=src, outputs=[], execution_count=None)
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='python3', language='python')),
              cells=[cell(0, "model_name = 'tiny'\nfigures_dir = ''", ['parameters']),
                     cell(1, "assert model_name != 'broken', 'this model is broken'\n"
                          "from safesteer.report import artifact_path, write_json\n"
                          "write_json(artifact_path(figures_dir, '06_baselines', model_name, 'summary.json'), {})")])
    (nbs/'06_baselines.ipynb').write_text(json.dumps(nb))
    code = main(['reproduce', '--notebooks', '06_baselines', '--models', 'broken', 'tiny', '--profile', 'tiny', '--nbs-dir', str(nbs),
                 '--figures-dir', str(tmp_path/'figures'), '--runs-dir', str(tmp_path/'runs')])
    out = capsys.readouterr().out
    assert code == 1
    assert 'FAILED 06_baselines broken: AssertionError: this model is broken' in out
    assert (tmp_path/'figures'/'06_baselines__tiny__summary.json').exists()   # the next model still ran
