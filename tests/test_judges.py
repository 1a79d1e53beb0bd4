"The refusal judges on hand-made replies (every known keyword failure), `rejudge` on saved reply files, and the saved validation."
import glob, json, shutil
from pathlib import Path
import numpy as np
import pytest
from safesteer.judges import (HANDMADE, XSTEST_JUDGE, RefusalJudge, reliable_refusal, rejudge, rejudge_main, reply_fields,
                              verdict_column, validate_judge, meets_target, load_judge, REFUSAL_JUDGES)
from safesteer.models import tiny_model

ROOT = Path(__file__).parents[1]
REPLY_FILES = sorted(glob.glob(str(ROOT/'figures/04_distill*/**/*replies.jsonl'), recursive=True)
                     + glob.glob(str(ROOT/'figures/04_distill__*__replies.jsonl')) + glob.glob(str(ROOT/'figures/05_evaluate*/**/*samples.jsonl'), recursive=True))
CASES = {'lecture': 0, 'argues the opposite': 1, 'not allowed': 2, 'as an AI, but I can': 3, 'no, not all': 4,
         'cut while helping': 5, 'deflection': 6, 'plain refusal': 7, 'plain answer': 8}

def test_keyword_judge_fails_on_the_known_patterns():
    "The XSTest keyword judge gets these wrong: the reason for the model judge."
    wrong = [name for name, i in CASES.items() if XSTEST_JUDGE([HANDMADE[i][0]], [HANDMADE[i][1]])[0] != HANDMADE[i][2]]
    assert set(wrong) >= {'lecture', 'argues the opposite', 'not allowed', 'as an AI, but I can', 'no, not all'}

def test_reliable_keyword_layer():
    "Only plain refusals (and 'not allowed to') stand without the model; every trap goes to the model."
    reliable = {name for name, i in CASES.items() if reliable_refusal(HANDMADE[i][1])}
    assert reliable == {'not allowed', 'plain refusal'}
    assert all(HANDMADE[CASES[n]][2] for n in reliable)   # a reliable hit is never wrong here

class Scripted(RefusalJudge):
    "The two-layer logic with the model's log-odds scripted: +3 for a refusal, -3 for an answer, by the case's label."
    def model_scores(self, prompts, replies):
        self.asked = list(replies)
        label = {r: e for _, r, e in HANDMADE}
        return np.array([3.0 if label[r] else -3.0 for r in replies])

def test_judge_layers_on_handmade_replies():
    model, tok = tiny_model()
    j = Scripted(model, tok)
    assert j([p for p, _, _ in HANDMADE], [r for _, r, _ in HANDMADE]) == [e for _, _, e in HANDMADE]
    assert len(j.asked) == len(HANDMADE) - 2          # the two reliable refusals never reach the model
    with pytest.raises(ValueError, match='every reply must be a string'): j(['q'], [None])

def test_rejudge_on_saved_reply_files(tmp_path):
    "Each committed format: distillation replies (`X_refuses`) and evaluation samples (`verdict_*`, capability rows left alone)."
    assert REPLY_FILES, 'no committed reply files found'
    for src in REPLY_FILES[:1] + REPLY_FILES[-1:]:
        dst = tmp_path/Path(src).name
        shutil.copy(src, dst)
        before = [json.loads(l) for l in dst.read_text().splitlines()]
        model, tok = tiny_model()
        res = rejudge(dst, RefusalJudge(model, tok, name='tiny', batch_size=16, max_reply_tokens=16, max_prompt_tokens=16))
        after = [json.loads(l) for l in dst.read_text().splitlines()]
        assert len(after) == len(before) and res['judged'] > 0
        for b, a in zip(before, after):
            assert {k: a[k] for k in b} == b                                    # nothing earlier changed
            for f in reply_fields(b): assert a[verdict_column(f, 'tiny')] in (True, False, None)
            if not reply_fields(b): assert a == b

def test_rejudge_main_names(tmp_path):
    dst = tmp_path/'r.jsonl'
    shutil.copy(REPLY_FILES[0], dst)
    [res] = rejudge_main([str(dst)], 'keyword_xstest', progress=False)
    rows = [json.loads(l) for l in dst.read_text().splitlines()]
    assert all(r[f'{f}_refuses_keyword_xstest'] == r[f'{f}_refuses'] for r in rows for f in reply_fields(r))   # the same judge
    with pytest.raises(ValueError, match='unknown judge'): load_judge('nope')

def test_saved_validation():
    "The saved validation: every candidate, both parts, the explicit and off-topic rows, a headline."
    path = ROOT/'figures/01a_judges__validation.json'
    if not path.exists(): pytest.skip('no saved validation yet')
    val = json.loads(path.read_text())
    assert val['headline'] in val and val['target_met'] == any(meets_target(val[k]) for k in REFUSAL_JUDGES if k in val)
    for name in [k for k in val if isinstance(val[k], dict) and 'report' in val[k]]:
        for part in ('tune', 'report', 'report_explicit', 'report_off_topic'):
            assert {'n', 'accuracy', 'precision', 'recall', 'auroc', 'ci'} <= set(val[name][part]), (name, part)
        assert val[name]['seconds_per_reply'] > 0

DISAGREEMENT = ROOT/'figures/01a_judges__disagreement.json'
MODEL_JUDGED = ([str(ROOT/k) for k, v in json.loads(DISAGREEMENT.read_text())['files'].items() if v['counts']['n']]
                if DISAGREEMENT.exists() else [])   # the files the 0.5B judge has covered (01a_judges lists the rest)

@pytest.mark.skipif(not REPLY_FILES, reason='no committed reply files')
def test_committed_reply_files_are_rejudged():
    "Every committed reply file carries the XSTest keyword verdicts; the model-judged ones the 0.5B judge's on every reply."
    for p in REPLY_FILES:
        rows = [json.loads(l) for l in Path(p).read_text().splitlines()]
        names = ('keyword_xstest', 'refusal_qwen05b') if p in MODEL_JUDGED else ('keyword_xstest',)
        assert p in MODEL_JUDGED or '05_evaluate' not in p, 'the evaluation samples must be model-judged' 
        for r in rows:
            for f in reply_fields(r):
                for name in names: assert verdict_column(f, name) in r, (p, f, name)

@pytest.mark.slow
def test_model_judge_on_handmade_replies():
    "The embedded 0.5B judge on every failure pattern (minutes on a CPU): all but 'No, not all ...' (a known miss, see 01a_judges)."
    j = load_judge('refusal_qwen05b')
    got = j([p for p, _, _ in HANDMADE], [r for _, r, _ in HANDMADE])
    wrong = {name for name, i in CASES.items() if got[i] != HANDMADE[i][2]}
    assert wrong <= {'no, not all'}, wrong

def test_write_validation_adds_a_candidate_to_an_existing_file(tmp_path):
    "A second candidate joins the saved results; the headline and target are recomputed, not duplicated."
    from safesteer.judges import write_validation
    path = tmp_path/'validation.json'
    write_validation(['keyword_xstest'], path=path, n_boot=10)
    out = write_validation(['keyword_jailbreakbench'], path=path, n_boot=10)
    assert {'keyword_xstest', 'keyword_jailbreakbench', 'headline', 'target_met'} <= set(out)
    assert json.loads(path.read_text())['headline'] == out['headline']
