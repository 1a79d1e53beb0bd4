"""The whole alignment as a user runs it, timed by stage: `safesteer direction`, `safesteer tokens`, `safesteer align`
(each reusing what the previous one saved, so together they are `safesteer align` from an empty figures folder), then
one `safesteer evaluate` of the aligned model, each in its own process with `--threads` threads (OMP_NUM_THREADS and
MKL_NUM_THREADS), in a temporary figures folder and training folder. The model must already be cached (run
`safesteer demo` once), so no stage includes assembling it.

    .venv/bin/python bench/end_to_end.py                            # qwen2.5-coder-0.5b-instruct, cpu profile (about an hour of 2 cores)
    .venv/bin/python bench/end_to_end.py --model tiny --profile tiny  # a check of the script in seconds

Writes bench/results/end_to_end__<model>__<device>.json: `seconds` per stage, `align_seconds` (direction + tokens +
align) and `total_seconds`, each stage's own report of its training time where it prints one, and the last lines of
each stage's output.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
from common import RESULTS, machine, write_result, log

def run_stage(name:str, argv:list[str], env:dict, cwd:Path) -> dict:
    "Run `safesteer argv...`; its wall time, exit status and last lines of output."
    cmd = [sys.executable, '-m', 'safesteer.cli', *argv] if not shutil.which('safesteer') else [shutil.which('safesteer'), *argv]
    log('$ ' + ' '.join(argv))
    load, start = os.getloadavg(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    log(f'{name}: {seconds:.1f}s, exit {proc.returncode}')
    if proc.returncode: log('\n'.join(lines[-30:]))
    return dict(command='safesteer ' + ' '.join(argv), seconds=seconds, returncode=proc.returncode,
                load_average_before=load, load_average_after=os.getloadavg(), output_tail=lines[-8:])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default='qwen2.5-coder-0.5b-instruct')
    ap.add_argument('--profile', default=None, help="tiny, cpu or paper (default: tiny for --model tiny, cpu otherwise)")
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--keep', help='keep the figures and training folders here instead of a temporary folder')
    ap.add_argument('--out')
    args = ap.parse_args()
    profile = args.profile or ('tiny' if args.model == 'tiny' else 'cpu')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    env = {**os.environ, 'OMP_NUM_THREADS': str(args.threads), 'MKL_NUM_THREADS': str(args.threads), 'PYTHONUNBUFFERED': '1'}
    if args.model != 'tiny':
        from safesteer.models import EMBEDDED, MANIFEST
        from safesteer.packages import cache_dir
        if args.model in EMBEDDED and not (cache_dir('models')/args.model/MANIFEST).exists():
            sys.exit(f'{args.model} is not cached yet: run `safesteer demo --model {args.model}` once first')
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix='safesteer-e2e-'))
    work.mkdir(parents=True, exist_ok=True)
    figures, output = work/'figures', work/'align'
    common = ['--model', args.model, '--profile', profile, '--figures-dir', str(figures), '--seed', str(args.seed)]
    stages = {}
    try:
        for name, argv in [('direction', ['direction', *common]), ('tokens', ['tokens', *common]),
                           ('align', ['align', *common, '--output-dir', str(output)]),
                           ('evaluate', ['evaluate', *common, '--model', str(output/'merged'), '--method', 'safesteer',
                                         '--output', str(work/'evaluate.json')])]:
            stages[name] = run_stage(name, argv, env, work)
            if stages[name]['returncode']: break
    finally:
        if not args.keep: shutil.rmtree(work, ignore_errors=True)
    ok = all(s['returncode'] == 0 for s in stages.values()) and len(stages) == 4
    seconds = {k: v['seconds'] for k, v in stages.items()}
    trained = next((float(m.group(1)) for line in stages.get('align', {}).get('output_tail', [])
                    if (m := re.search(r'steps on \d+ prompts in (\d+)s', line))), None)
    result = dict(benchmark='end_to_end', command=' '.join(['python', 'bench/end_to_end.py', *sys.argv[1:]]),
                  model=args.model, profile=profile, threads=args.threads, ok=ok, seconds=seconds,
                  align_seconds=sum(seconds.get(k, 0.) for k in ('direction', 'tokens', 'align')) if ok else None,
                  total_seconds=sum(seconds.values()) if ok else None, train_seconds_reported_by_align=trained,
                  stages=stages, machine=machine(device, args.threads),
                  note=('each stage is its own process (model load included); align_seconds = direction + tokens + align, '
                        'i.e. `safesteer align` from an empty figures folder; evaluate is the aligned model on the profile\'s benchmarks'))
    name = 'tiny' if args.model == 'tiny' else Path(args.model).name
    write_result(Path(args.out or RESULTS/f'end_to_end__{name}__{device}.json'), result)
    if not ok: sys.exit(1)

if __name__ == '__main__': main()
