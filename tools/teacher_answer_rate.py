"""How often the steered teacher still answers the training prompts, by prompt set and teacher coefficient: the
mechanism by which borderline prompts could keep over-refusal down (where the teacher answers, masked OPD pulls the
student's safety tokens down). Greedy replies of the rollout length, judged by the 0.5B refusal judge and the XSTest
keywords; every reply is kept.

    OMP_NUM_THREADS=1 python tools/teacher_answer_rate.py                       # 100 AdvBench and 100 borderline prompts, coefficients 1.0 and the calibrated one

Writes figures/04_distill__<model>__teacher_answer_rate.json (rates) and ..._teacher_replies.jsonl (replies).
"""
import argparse, json, time
from pathlib import Path
from safesteer.judges import XSTEST_JUDGE, load_judge
from safesteer.models import DEFAULT_MODEL, generate
from safesteer.pipeline import Pipeline, training_prompts, TRAIN_SETS
from safesteer.report import artifact_path, write_json, write_text
from safesteer.steering import SteeredTeacher

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default=DEFAULT_MODEL)
    ap.add_argument('--n', type=int, default=100, help='prompts of each training set')
    ap.add_argument('--coefs', type=float, nargs='+', default=None, help="teacher coefficients (default: 1.0 and the direction's own)")
    ap.add_argument('--max-new-tokens', type=int, default=48, help="reply length (the cpu profile's rollouts)")
    args = ap.parse_args()
    pipe = Pipeline(args.model, 'cpu', ROOT/'figures', progress=False)
    found = pipe.direction()
    coefs = args.coefs or sorted({1.0, found.teacher_coef})
    judge, start, rates, records = load_judge('refusal_qwen05b'), time.time(), {}, []
    for train_set in TRAIN_SETS:
        prompts = training_prompts(args.n, 0, train_set)
        for coef in coefs:
            teacher = SteeredTeacher.from_direction(pipe.model, found, coef)
            with teacher.steering():
                replies = generate(pipe.model, pipe.tok, prompts, max_new_tokens=args.max_new_tokens, batch_size=16,
                                   progress=False, drop_finished=True)
            model_verdicts, keyword_verdicts = judge(prompts, replies), XSTEST_JUDGE(prompts, replies)
            rates[f'{train_set}@{coef}'] = dict(train_set=train_set, coef=coef, n=len(prompts),
                                                answer_rate=1 - sum(model_verdicts) / len(prompts),
                                                answer_rate_keyword_xstest=1 - sum(keyword_verdicts) / len(prompts))
            records += [dict(train_set=train_set, coef=coef, prompt=p, reply=r, verdict_refusal_qwen05b=m, verdict_keyword_xstest=k)
                        for p, r, m, k in zip(prompts, replies, model_verdicts, keyword_verdicts)]
            print(json.dumps(rates[f'{train_set}@{coef}']), flush=True)
    out = lambda what: artifact_path(ROOT/'figures', '04_distill', args.model, what)
    write_text(out('teacher_replies.jsonl'), ''.join(json.dumps(r) + '\n' for r in records))
    write_json(out('teacher_answer_rate.json'), dict(model=args.model, rates=rates, max_new_tokens=args.max_new_tokens,
               direction=dict(layer=found.layer, teacher_coef=found.teacher_coef), seconds=round(time.time() - start),
               command='OMP_NUM_THREADS=1 python tools/teacher_answer_rate.py'))

if __name__ == '__main__': main()
