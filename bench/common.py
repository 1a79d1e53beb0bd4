"""What the benchmarks share: random models with published shapes, the Qwen tokenizer, prompts, the SafeSteer
trainer as the benchmarks set it up, memory and FLOP measurements, and running each variant in its own process.
Not a benchmark itself."""
import json, os, platform, re, subprocess, sys, time
from pathlib import Path
import torch

RESULTS = Path(__file__).parent/'results'
CONFIGS = {   # the published configurations, weights random
    'qwen2.5-7b': dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768, tie_word_embeddings=False),
    'qwen2.5-0.5b': dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, tie_word_embeddings=True),
}
TOKENIZER_MODEL = 'qwen2.5-coder-0.5b-instruct'   # the embedded model whose tokenizer (Qwen2.5's) the benchmarks use

def random_model(config:str='qwen2.5-0.5b', layers:int|None=None, dtype=torch.float32, device='cpu', seed:int=0, tok=None):
    "A randomly initialised Qwen2 causal LM of a published configuration, optionally with fewer layers."
    from transformers import Qwen2Config, Qwen2ForCausalLM
    settings = {**CONFIGS[config], **({'num_hidden_layers': layers} if layers else {})}
    ids = dict(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.pad_token_id) if tok else {}
    torch.manual_seed(seed)
    with torch.device(device): model = Qwen2ForCausalLM(Qwen2Config(**settings, **ids)).to(dtype).eval()
    model.config.name_or_path = f'random-{config}-{settings["num_hidden_layers"]}l'
    return model

def bench_tokenizer(folder:str|None=None):
    "The Qwen2.5 tokenizer (with its chat template), from `folder` or the embedded model's cached folder."
    from transformers import AutoTokenizer
    from safesteer.models import prepare_tokenizer
    if folder is None:
        from safesteer.packages import cache_dir
        folder = cache_dir('models')/TOKENIZER_MODEL
    if not (Path(folder)/'tokenizer.json').exists():
        raise FileNotFoundError(f"no tokenizer.json in {folder}: run `safesteer` once to build the embedded {TOKENIZER_MODEL} "
                                "folder, or pass --tokenizer with a folder holding a Qwen2.5 tokenizer")
    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder)))

def bench_prompts(path:str|None=None) -> list[str]:
    "The harmful training prompts: a JSON list from `path`, else AdvBench (the paper's training set)."
    if path: return json.loads(Path(path).read_text())
    from safesteer.data import load_prompts
    return load_prompts('advbench')

def steered_teacher(model, seed:int=0, coef:float=4.0):
    "A `SteeredTeacher` on `model` with a random unit direction at the middle block."
    from safesteer.steering import SteeredTeacher
    from safesteer.models import decoder_blocks
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(model.config.hidden_size, generator=g)
    return SteeredTeacher(model, direction / direction.norm(), layer=len(decoder_blocks(model)) // 2, coef=coef)

def safety_ids(vocab_size:int, k:int=50, seed:int=0) -> list[int]:
    "`k` random token ids standing in for the mined safety tokens."
    return torch.randperm(vocab_size, generator=torch.Generator().manual_seed(seed))[:k].tolist()

def loss_chunk(args) -> int:
    "The loss's chunk size: `--chunk-size`, else the `cpu` profile's on a CPU and `LossConfig`'s default elsewhere."
    from safesteer.distill import LossConfig
    from safesteer.profiles import get_profile
    if args.chunk_size: return args.chunk_size
    return get_profile('cpu').distill['loss']['chunk_size'] if args.device == 'cpu' else LossConfig().chunk_size

def distill_config(args, loss:dict|None=None, **overrides):
    """The `DistillConfig` of a benchmark's command line: LoRA, `--n-samples` x `--max-new-tokens`, one micro-batch per
    step, loss chunks of `loss_chunk(args)` tokens; `loss` updates the loss settings."""
    from safesteer.distill import DistillConfig
    sequences = args.prompts_per_step * args.n_samples
    return DistillConfig(**{**dict(n_samples=args.n_samples, max_new_tokens=args.max_new_tokens, sequences_per_step=sequences,
                                   micro_batch=sequences, lora=True, lr=2e-4,
                                   loss={'chunk_size': loss_chunk(args), **(loss or {})}), **overrides})

def fixed_length_rollouts(model, n:int):
    "Every rollout exactly `n` tokens (end-of-turn suppressed until then), so all variants do the same work."
    model.generation_config.min_new_tokens = n

def add_bench_args(ap, layers:int, steps:int):
    "The command-line options the training benchmarks share."
    ap.add_argument('--config', choices=list(CONFIGS), default='qwen2.5-0.5b')
    ap.add_argument('--layers', type=int, default=layers, help='decoder blocks (fewer than the config for speed on CPU)')
    ap.add_argument('--prompts-per-step', type=int, default=4)
    ap.add_argument('--n-samples', type=int, default=2, help='completions per prompt (cpu profile: 2; paper: 8)')
    ap.add_argument('--max-new-tokens', type=int, default=48, help='rollout length (cpu profile: 48; paper: 512)')
    ap.add_argument('--k', type=int, default=50, help='|S|, safety tokens')
    ap.add_argument('--chunk-size', type=int, help="loss chunk in tokens (default: the cpu profile's on a CPU, LossConfig's otherwise)")
    ap.add_argument('--steps', type=int, default=steps, help='timed optimiser steps, after one warm-up step')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', 1)))
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default=None, help='default: float32 on CPU, bfloat16 on CUDA')
    ap.add_argument('--tokenizer', help='folder with a Qwen2.5 tokenizer (default: the embedded model\'s)')
    ap.add_argument('--prompts', help='JSON list of prompts (default: AdvBench)')
    ap.add_argument('--out')

def default_dtype(device:str) -> str: return 'bfloat16' if device == 'cuda' else 'float32'

def setup(args):
    "Threads, dtype, tokenizer, prompts and model of a benchmark's command line."
    torch.set_num_threads(args.threads)
    args.dtype = args.dtype or default_dtype(args.device)
    tok = bench_tokenizer(args.tokenizer)
    prompts = bench_prompts(args.prompts)[:(args.steps + 1) * args.prompts_per_step]
    model = random_model(args.config, args.layers, getattr(torch, args.dtype), args.device, tok=tok)
    fixed_length_rollouts(model, args.max_new_tokens)
    return tok, prompts, model

class StepClock:
    "Wall and process-CPU seconds between marks (CPU time is robust to other jobs on a shared CPU when single-threaded)."
    def __init__(self): self.marks = []
    def mark(self, label:str='step'):
        self.marks.append((time.perf_counter(), time.process_time()))
        if len(self.marks) > 1: log(f'{label} {len(self.marks) - 2} done in {self.wall[-1]:.1f}s (cpu {self.cpu[-1]:.1f}s)')
    @property
    def wall(self): return [b[0] - a[0] for a, b in zip(self.marks, self.marks[1:])]
    @property
    def cpu(self): return [b[1] - a[1] for a, b in zip(self.marks, self.marks[1:])]

def train_timed(trainer, prompts:list[str]) -> tuple[StepClock, list[float], list[dict]]:
    """Run `trainer.train(prompts)`; the clock of its steps (from one checkpoint's end to the next, the first from the
    call), the seconds each checkpoint took, and the trainer's log."""
    import safesteer.training
    clock, saving, save = StepClock(), [], safesteer.training.save_checkpoint
    def save_and_time(t):
        start = time.perf_counter(); save(t); saving.append(time.perf_counter() - start); clock.mark()
    safesteer.training.save_checkpoint = save_and_time   # the loop calls the module's function after each step
    try:
        clock.mark()
        records = trainer.train(prompts, progress=False)
    finally: safesteer.training.save_checkpoint = save
    return clock, saving, records

# -- memory ------------------------------------------------------------------------------------------------------
def _status_kb(field:str) -> int:
    return int(re.search(rf'{field}:\s+(\d+)', Path('/proc/self/status').read_text()).group(1))

def rss_mb() -> float: return _status_kb('VmRSS') / 1024
def peak_rss_mb() -> float: return _status_kb('VmHWM') / 1024

def reset_peak_rss():
    "Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."
    Path('/proc/self/clear_refs').write_text('5')

class Memory:
    "Peak RSS (and CUDA allocation) above a baseline taken at creation, overall and within `window()`."
    def __init__(self, device):
        self.cuda = device == 'cuda'
        self.base_rss = rss_mb()
        if self.cuda: torch.cuda.reset_peak_memory_stats()
        self.base_cuda = torch.cuda.memory_allocated() / 2**20 if self.cuda else None
    def start_window(self):
        "From here on `report()` also gives the peak over the setup's resident memory (activations, caches)."
        self.overall = dict(peak_rss_mb=peak_rss_mb() - self.base_rss,
                            peak_cuda_mb=torch.cuda.max_memory_allocated() / 2**20 - self.base_cuda if self.cuda else None)
        self.setup_rss, self.setup_cuda = rss_mb(), (torch.cuda.memory_allocated() / 2**20 if self.cuda else None)
        reset_peak_rss()
        if self.cuda: torch.cuda.reset_peak_memory_stats()
    def report(self) -> dict:
        window_rss = peak_rss_mb()
        window_cuda = torch.cuda.max_memory_allocated() / 2**20 if self.cuda else None
        return dict(peak_rss_mb=max(self.overall['peak_rss_mb'], window_rss - self.base_rss),
                    peak_cuda_mb=max(self.overall['peak_cuda_mb'], window_cuda - self.base_cuda) if self.cuda else None,
                    setup_rss_mb=self.setup_rss - self.base_rss,
                    setup_cuda_mb=self.setup_cuda - self.base_cuda if self.cuda else None,
                    steps_peak_over_setup_rss_mb=window_rss - self.setup_rss,
                    steps_peak_over_setup_cuda_mb=window_cuda - self.setup_cuda if self.cuda else None)

def best_seconds(fn, repeats:int=5) -> float:
    "The shortest wall time of `repeats` calls of `fn`, after one warm-up call."
    fn()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter(); fn(); best = min(best, time.perf_counter() - start)
    return best

# -- FLOPs ------------------------------------------------------------------------------------------------------
def matmul_peak_gflops(n:int=2048, repeats:int=5, dtype=torch.float32) -> float:
    """The CPU's attainable peak: the best GFLOP per process-CPU second of an n x n x n matrix product at the current
    thread count (CPU seconds, so another job on a shared machine does not lower it)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    best = float('inf')
    for _ in range(repeats + 1):
        start = time.process_time(); a @ b
        best = min(best, time.process_time() - start)
    return 2 * n**3 / best / 1e9

def matmul_params(model) -> dict:
    "Weights that take part in matrix products: decoder blocks (all linear layers) and the output head."
    from safesteer.models import decoder_blocks, unwrap_model
    blocks = sum(p.numel() for n, p in decoder_blocks(model).named_parameters() if 'lora_' not in n and p.dim() == 2)
    return dict(blocks=blocks, head=unwrap_model(model).get_output_embeddings().weight.numel())

# -- processes ----------------------------------------------------------------------------------------------------
def run_variant(script:str, variant:str, argv:list[str], env:dict|None=None) -> dict:
    "Run `script --variant variant argv...` in a fresh process (its memory is its own); its last stdout line is JSON."
    cmd = [sys.executable, script, '--variant', variant, *argv]
    print('$', ' '.join(cmd), flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env={**os.environ, **(env or {})})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode:
        print(f'{variant} failed (exit {proc.returncode}); its stderr is above', flush=True)
        return dict(variant=variant, error=f'exit {proc.returncode}', stdout=lines[-20:])
    for line in lines[:-1]: print('  ', line, flush=True)
    return json.loads(lines[-1])

def forwarded_args(args, names:list[str]) -> list[str]:
    "The options `names` of `args` as command-line arguments for a child process."
    out = []
    for name in names:
        value = getattr(args, name)
        if value is not None: out.append(f'--{name.replace("_", "-")}={value}')
    return out

def machine(device:str, threads:int) -> dict:
    import transformers, peft
    info = dict(device=device, threads=threads, load_average=os.getloadavg(), cpu_count=os.cpu_count(), machine=platform.machine(),
                python=platform.python_version(), torch=torch.__version__, transformers=transformers.__version__,
                peft=peft.__version__, gpu=torch.cuda.get_device_name() if device == 'cuda' else None,
                cpu_bfloat16=cpu_bfloat16_instructions())
    try:
        import trl; info['trl'] = trl.__version__
    except ImportError: pass
    return info

def cpu_bfloat16_instructions() -> list[str]:
    "The CPU's bfloat16 instruction sets (Linux's /proc/cpuinfo flags; [] elsewhere): bfloat16 speed depends on them."
    try: flags = Path('/proc/cpuinfo').read_text().split()
    except OSError: return []
    return sorted({f for f in flags if f in ('avx512_bf16', 'amx_bf16')})

def write_result(path:Path, result:dict):
    "Write a benchmark's JSON atomically, creating its folder (the library's `write_json`)."
    from safesteer.report import write_json
    write_json(path, result)
    print(f'wrote {path}', flush=True)

def log(*msg): print(*msg, file=sys.stderr, flush=True)
