"The console script documents every subcommand, and the stages run end to end on the tiny model."
import json, subprocess, sys
from pathlib import Path
import pytest
from safesteer.cli import main

SUBCOMMANDS = ('demo', 'direction', 'tokens', 'align', 'evaluate', 'rejudge', 'reproduce')

def run(*args):
    return subprocess.run(['safesteer', *args], capture_output=True, text=True, timeout=120)

def test_help_lists_subcommands():
    res = run('--help')
    assert res.returncode == 0, res.stderr
    for command in SUBCOMMANDS: assert command in res.stdout

def test_demo_help_documents_options():
    res = run('demo', '--help')
    assert res.returncode == 0, res.stderr
    for option in ('--model', '--max-new-tokens', '--seed', '-n'):
        assert option in res.stdout

@pytest.mark.parametrize('command,options', [
    ('direction', ('--model', '--profile', '--figures-dir', '--seed', '--selection-coef', '--force')),
    ('tokens', ('--model', '--profile', '--figures-dir', '--seed', '--force')),
    ('align', ('--model', '--profile', '--figures-dir', '--seed', '--method', '--output-dir', '--n-prompts')),
    ('evaluate', ('--model', '--profile', '--figures-dir', '--seed', '--method', '--steer', '--benchmarks', '--output')),
    ('reproduce', ('--notebooks', '--models', '--profile', '--figures-dir', '--runs-dir', '--force', '--nbs-dir')),
])
def test_stage_help_documents_every_option(command, options):
    res = run(command, '--help')
    assert res.returncode == 0, res.stderr
    for option in options: assert option in res.stdout, option
    documented = res.stdout.split('options:')[1]
    assert documented.count('--') >= len(options)   # each option has its help line

def test_unknown_model_is_refused_clearly(tmp_path):
    res = run('demo', '--model', 'no-such-model')
    assert res.returncode != 0
    assert 'qwen2.5-coder-0.5b-instruct' in res.stderr  # the error lists the embedded models

def test_stages_end_to_end_on_tiny(tmp_path, capsys):
    "direction -> tokens -> align -> evaluate of the aligned folder, in a temporary folder, on the tiny model."
    figures, aligned = tmp_path/'figures', tmp_path/'aligned'
    common = ['--model', 'tiny', '--figures-dir', str(figures)]
    main(['direction', *common])
    assert (figures/'02_steering__tiny__direction'/'direction.safetensors').exists()
    assert 'layer' in capsys.readouterr().out
    main(['tokens', *common])
    ids = json.loads((figures/'03_voting__tiny__tokens.json').read_text())['ids']
    assert len(ids) == 50
    main(['align', *common, '--output-dir', str(aligned)])
    assert (aligned/'merged'/'model.safetensors').exists() and (aligned/'adapter'/'adapter_model.safetensors').exists()
    assert len((aligned/'train_log.jsonl').read_text().splitlines()) == 2   # the tiny profile: 4 prompts, 2 per step
    out = tmp_path/'eval.json'
    main(['evaluate', '--model', str(aligned/'merged'), '--profile', 'tiny', '--method', 'safesteer',
          '--benchmarks', 'advbench=2,benign_anchors=2,mmlu=2', '--output', str(out)])
    summary = json.loads(out.read_text())
    assert set(summary['benchmarks']) == {'advbench', 'benign_anchors', 'mmlu'}
    assert summary['method'] == 'safesteer' and 0 <= summary['safety_mean'] <= 1
    assert out.with_suffix('.csv').exists()
    assert 'safety_mean' in capsys.readouterr().out

def test_steered_evaluation_reuses_the_direction(tmp_path):
    figures = tmp_path/'figures'
    main(['direction', '--model', 'tiny', '--figures-dir', str(figures)])
    made = (figures/'02_steering__tiny__direction'/'direction.json').stat().st_mtime_ns
    main(['evaluate', '--model', 'tiny', '--figures-dir', str(figures), '--steer', '--method', 'steering', '--benchmarks', 'advbench=2'])
    assert (figures/'02_steering__tiny__direction'/'direction.json').stat().st_mtime_ns == made
    assert json.loads((figures/'evaluate__tiny__steering.json').read_text())['steered'] is True
