"""The sandbox that runs model-written code: correct code passes, and an endless loop, a write outside its directory,
a socket, a shell command and a huge allocation are each stopped."""
import tempfile
from pathlib import Path
import pytest
from safesteer.sandbox import run_program, network_isolation, humaneval_program, extract_code

def test_correct_solution_passes():
    r = run_program("def add(a, b):\n    return a + b\nassert add(2, 3) == 5\nprint('ok')")
    assert (r.status, r.passed, r.stdout, r.returncode) == ('passed', True, 'ok\n', 0)
    assert r.network == network_isolation() in ('unshare', 'audit-hook')

def test_wrong_solution_fails():
    r = run_program("assert sum([1, 2]) == 4")
    assert r.status == 'failed' and 'AssertionError' in r.stderr

def test_endless_loop_times_out():
    r = run_program("while True:\n    pass", timeout=1)
    assert r.status == 'timeout' and r.returncode is None and r.seconds < 5

def test_write_outside_is_stopped(tmp_path):
    target = tmp_path/'escaped.txt'
    for program in (f"open({str(target)!r}, 'w').write('x')",
                    f"import os; os.close(os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT))",
                    f"import os; os.symlink({str(target)!r}, 'link'); open('link', 'w').write('x')",
                    f"import shutil; open('a', 'w').write('x'); shutil.copy('a', {str(target)!r})"):
        r = run_program(program)
        assert r.status == 'blocked', (program, r)
        assert not target.exists(), program
    # writing inside its own directory works, and that directory is gone afterwards
    r = run_program("import os; open('inside.txt', 'w').write('ok'); print(os.getcwd())")
    assert r.status == 'passed' and not Path(r.stdout.strip()).exists()

def test_socket_is_stopped():
    r = run_program("import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 80))")
    assert r.status == 'blocked' and 'socket' in r.stderr

def test_processes_are_stopped():
    for program in ("import os; os.system('touch /tmp/x')", "import subprocess; subprocess.run(['true'])",
                    "import ctypes", "import os; os.fork()",
                    "import resource; resource.setrlimit(resource.RLIMIT_AS, (-1, -1))"):
        assert run_program(program).status == 'blocked', program

def test_huge_allocation_is_stopped():
    r = run_program("x = bytearray(16 << 30)", memory_mb=512)
    assert r.status == 'memory'

def test_large_file_is_stopped():
    r = run_program("open('big', 'wb').write(b'x' * (8 << 20))", file_mb=1)
    assert r.status == 'blocked' and 'file size' in r.stderr

def test_humaneval_program_runs_tests():
    problem = dict(prompt='def inc(x):\n    """Add one."""\n', entry_point='inc',
                   test='def check(candidate):\n    assert candidate(1) == 2\n')
    assert run_program(humaneval_program(problem, '    return x + 1\n')).passed                 # the body alone
    reply = "Here it is:\n```python\ndef inc(x):\n    return x + 2\n```"
    assert run_program(humaneval_program(problem, extract_code(reply))).status == 'failed'     # a whole, wrong function
