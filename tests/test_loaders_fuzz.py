"Fuzzing the prompt-file readers: any prompt text round-trips through every format, and any file content gives rows or a ValueError."
import json, tempfile, warnings
from pathlib import Path
import pandas as pd
from hypothesis import example, given, settings, strategies as st
from safesteer.data import read_records, load_prompts

LINE_BREAKS = '\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'   # what str.splitlines cuts at: one prompt per line in .txt
prompt = st.text(min_size=1).filter(str.strip)
one_line_prompt = st.text(st.characters(blacklist_characters=LINE_BREAKS, blacklist_categories=('Cs',)), min_size=1).filter(str.strip)
FORMATS = ('.csv', '.json', '.jsonl', '.txt')

def write_prompts(path:Path, prompts:list[str]):
    "`prompts` in the format of `path`'s suffix, as a researcher's tool would write them."
    if path.suffix == '.csv': pd.DataFrame({'id': range(len(prompts)), 'prompt': prompts}).to_csv(path, index=False)
    elif path.suffix == '.json': path.write_text(json.dumps([{'prompt': p} for p in prompts]), encoding='utf-8')
    elif path.suffix == '.jsonl': path.write_text(''.join(json.dumps({'prompt': p}) + '\n' for p in prompts), encoding='utf-8')
    else: path.write_text('\n'.join(prompts) + '\n', encoding='utf-8')

def load_quietly(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_prompts(path, **kw)

@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FORMATS[:3]), st.lists(prompt, min_size=1, max_size=8))
@example('.csv', ['007', '1e5'])   # text that looks like a number stays text
@example('.csv', ['NaN', 'True'])  # and so does text that looks like a missing value or a bool
@example('.csv', ['a\rb', 'c'])    # a bare carriage return, which pandas writes unquoted, stays inside its prompt
def test_any_prompt_text_round_trips(suffix, prompts):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/f'prompts{suffix}'
        write_prompts(path, prompts)
        assert load_quietly(path, unique=False) == [p.strip() for p in prompts]

@settings(max_examples=60, deadline=None)
@given(st.lists(one_line_prompt, min_size=1, max_size=8))
def test_any_one_line_prompt_round_trips_through_txt(prompts):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/'prompts.txt'
        write_prompts(path, prompts)
        assert load_quietly(path, unique=False) == [p.strip() for p in prompts]

def reads_or_refuses_clearly(path:Path):
    "Rows, or a ValueError that names the file; never another exception."
    for read in (read_records, load_quietly):
        try: out = read(path)
        except ValueError as e: assert str(path) in str(e), e
        else: assert isinstance(out, list)

@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FORMATS), st.text(max_size=200))
def test_any_text_file_gives_rows_or_a_clear_value_error(suffix, text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/f'fuzz{suffix}'
        path.write_text(text, encoding='utf-8')
        reads_or_refuses_clearly(path)

@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FORMATS), st.binary(max_size=200))
def test_any_bytes_give_rows_or_a_clear_value_error(suffix, data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/f'fuzz{suffix}'
        path.write_bytes(data)
        reads_or_refuses_clearly(path)

@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FORMATS[:3]), st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                                                   lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                                                   max_leaves=12))
def test_any_json_value_gives_rows_or_a_clear_value_error(suffix, value):
    "Valid JSON of any shape (a scalar, nested lists, records with odd keys) in a JSON, JSON Lines or CSV file."
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/f'fuzz{suffix}'
        path.write_text(json.dumps(value) if suffix != '.jsonl' else json.dumps(value) + '\n', encoding='utf-8')
        reads_or_refuses_clearly(path)
