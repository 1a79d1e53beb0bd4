"Untrusted files: weights only from safetensors or GGUF, no pickle anywhere, no remote code unless asked for."
import re
from pathlib import Path
import pytest
import safesteer
from safesteer.models import load_model, tiny_model

PACKAGE = Path(safesteer.__file__).parent
UNSAFE = {
    'torch.load without weights_only=True': re.compile(r'torch\.load\((?![^)]*weights_only\s*=\s*True)'),
    'a pickle import': re.compile(r'^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib)\b', re.M),
    'pickle.load(s)': re.compile(r'\bpickle\.loads?\('),
    'yaml.load without a safe loader': re.compile(r'\byaml\.(load|load_all|unsafe_load)\((?![^)]*SafeLoader)'),
    'numpy.load with allow_pickle': re.compile(r'allow_pickle\s*=\s*True'),
    'trust_remote_code=True': re.compile(r'trust_remote_code\s*=\s*True'),
    'eval or exec of text': re.compile(r'(?<![\w.])(eval|exec)\('),
}

def unsafe_lines(source:str) -> list[str]:
    "The names of the unsafe patterns `source` contains."
    return [name for name, pattern in UNSAFE.items() if pattern.search(source)]

@pytest.mark.parametrize('snippet, found', [
    ('state = torch.load(path)', ['torch.load without weights_only=True']),
    ("state = torch.load(path, map_location='cpu')", ['torch.load without weights_only=True']),
    ('state = torch.load(path, weights_only=True)', []),
    ('import pickle', ['a pickle import']), ('from joblib import load', ['a pickle import']),
    ('x = pickle.loads(blob)', ['pickle.load(s)']),
    ('cfg = yaml.load(text)', ['yaml.load without a safe loader']), ('cfg = yaml.safe_load(text)', []),
    ('m = AutoModel.from_pretrained(p, trust_remote_code=True)', ['trust_remote_code=True']),
    ('eval(code)', ['eval or exec of text']), ('model.eval()', []),
])
def test_the_scanner_finds_each_pattern(snippet, found):
    assert unsafe_lines(snippet) == found

def test_package_source_has_no_unsafe_deserialisation():
    files = sorted(PACKAGE.glob('*.py'))
    assert len(files) >= 8
    offenders = {f.name: unsafe_lines(f.read_text()) for f in files}
    assert not {k: v for k, v in offenders.items() if v}, offenders

@pytest.fixture
def tiny_folder(tmp_path):
    model, tok = tiny_model()
    model.save_pretrained(tmp_path); tok.save_pretrained(tmp_path)
    return tmp_path

def capture_from_pretrained(monkeypatch):
    "Record the keyword arguments load_model passes to transformers, and load as usual."
    import transformers
    seen = {}
    for cls in (transformers.AutoModelForCausalLM, transformers.AutoTokenizer):
        original = cls.from_pretrained.__func__
        def spy(klass, *args, _original=original, _name=cls.__name__, **kwargs):
            seen[_name] = kwargs
            return _original(klass, *args, **kwargs)
        monkeypatch.setattr(cls, 'from_pretrained', classmethod(spy))
    return seen

def test_no_remote_code_and_safetensors_only_unless_asked(tiny_folder, monkeypatch):
    seen = capture_from_pretrained(monkeypatch)
    load_model(str(tiny_folder), device='cpu')
    assert seen['AutoModelForCausalLM']['trust_remote_code'] is False
    assert seen['AutoTokenizer']['trust_remote_code'] is False
    assert seen['AutoModelForCausalLM']['use_safetensors'] is True   # a hub id never falls back to pytorch_model.bin
    load_model(str(tiny_folder), device='cpu', trust_remote_code=True)
    assert seen['AutoModelForCausalLM']['trust_remote_code'] is True

def test_folder_with_only_pickled_weights_is_refused_unread(tiny_folder):
    for p in tiny_folder.glob('*.safetensors'): p.unlink()
    (tiny_folder/'pytorch_model.bin').write_bytes(b'\x80\x04 a pickle that must never be opened')
    with pytest.raises(FileNotFoundError, match=r'only pickled weights \(pytorch_model\.bin\).*does not load pickled'):
        load_model(str(tiny_folder), device='cpu')
