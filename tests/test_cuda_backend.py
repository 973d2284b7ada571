"""-device cuda as a user meets it: which flags it takes, the one-line errors before any
work, a whole run through the CUDA simulator, and a CPU run that never loads numba.cuda."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import GOLDEN
from tests.shell import env_with_tests, outside_checkout
from w2v_cli.backends import choose_backend
from w2v_cli.config import TrainConfig
from w2v_cli.errors import ConfigError, DeviceError
from w2v_cli.gpu import probe

_LEE = GOLDEN / "corpus" / "lee.txt"


def _config(**flags):
    return TrainConfig(train="corpus.txt", device="cuda", threads=2, **flags)


@pytest.fixture
def gpu_present(monkeypatch):
    """As if this machine had a usable GPU (the flag checks come first either way)."""
    monkeypatch.setattr(probe, "require_gpu", lambda: "a test GPU")


def test_device_cuda_chooses_the_gpu_backend(gpu_present):
    assert choose_backend(_config()) == "cuda"
    assert choose_backend(_config(cbow=0)) == "cuda"
    assert choose_backend(_config(cbow=0, batch=1)) == "cuda"    # what the GPU does anyway
    assert choose_backend(TrainConfig(train="corpus.txt")) == "cpu"


@pytest.mark.parametrize("flags, message", [
    (dict(exact=1), "-exact 1 reproduces the original's float32 arithmetic on the CPU; "
                    "it cannot be combined with -device cuda"),
    (dict(hs=1), "-hs 1 (hierarchical softmax) is CPU-only: train it with -device cpu, "
                 "or use -hs 0 -negative N on the GPU"),
    (dict(hs=1, negative=0), "-hs 1 (hierarchical softmax) is CPU-only"),
    (dict(size=300, window=10), "-device cuda: -size 300 with -window 10 needs 53 KB of "
                                "GPU shared memory per block, more than the 48 KB"),
])
def test_what_the_gpu_cannot_do_is_refused_before_any_work(gpu_present, flags, message):
    with pytest.raises(ConfigError) as error:
        choose_backend(_config(**flags))
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_an_unknown_device_is_a_config_error():
    with pytest.raises(ConfigError, match="-device must be one of cpu, cuda, got 'tpu'"):
        TrainConfig(train="corpus.txt", device="tpu").validate()


def test_without_the_cuda_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(probe.importlib.util, "find_spec",
                        lambda name: None if name == "numba_cuda" else object())
    with pytest.raises(DeviceError) as error:
        probe.require_gpu.__wrapped__()
    assert str(error.value) == ("-device cuda: Numba's CUDA target is not installed "
                                "(pip install 'w2v_cli[cuda]')")


def _word2vec(args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "w2v_cli", *args], cwd=outside_checkout(),
                          env=dict(os.environ, **env_with_tests(), **(env or {})),
                          capture_output=True, timeout=300, **kwargs)


@pytest.mark.skipif(probe.importlib.util.find_spec("numba_cuda") is None,
                    reason="the cuda extra is not installed")
def test_no_gpu_is_one_line_before_any_work(tmp_path):
    output = tmp_path / "vectors.txt"
    done = _word2vec(["-train", str(_LEE), "-output", str(output), "-device", "cuda"],
                     env={"NUMBA_ENABLE_CUDASIM": "0"})
    if done.returncode == 0:
        pytest.skip("this machine has a usable GPU")
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("word2vec: error: -device cuda: no usable NVIDIA GPU: ")
    assert done.returncode == 1
    assert done.stdout == b""                     # not even "Starting training"
    assert not output.exists()


def test_a_cpu_run_never_imports_numba_cuda(tmp_path):
    code = ("import sys\n"
            "from w2v_cli.cli import word2vec_main\n"
            "try:\n"
            f"    word2vec_main(['-train', {str(_LEE)!r}, '-output', {str(tmp_path / 'v')!r},"
            " '-size', '8', '-iter', '1', '-debug', '0'])\n"
            "except SystemExit as exit:\n"
            "    assert not exit.code, exit.code\n"
            "print('numba.cuda' in sys.modules, 'numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=outside_checkout(),
                          capture_output=True,
                          timeout=300, env=dict(os.environ, **env_with_tests()))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["False", "False"]
    assert (tmp_path / "v").exists()


_SIMULATED = {"NUMBA_ENABLE_CUDASIM": "1"}
_TINY_FLAGS = ["-size", "4", "-window", "2", "-negative", "2", "-min-count", "1"]


@pytest.fixture
def tiny_corpus(tmp_path):
    """The first 120 words of lee.txt in lines of 20."""
    words = _LEE.read_bytes().split()[:120]
    path = tmp_path / "tiny.txt"
    path.write_bytes(b"\n".join(b" ".join(words[i:i + 20]) for i in range(0, 120, 20)) + b"\n")
    return path


@pytest.mark.skipif(probe.importlib.util.find_spec("numba_cuda") is None,
                    reason="the cuda extra is not installed")
@pytest.mark.parametrize("cbow", ["0", "1"])
def test_a_whole_run_on_the_simulated_gpu_writes_the_vectors(tmp_path, tiny_corpus, cbow):
    output = tmp_path / "vectors.txt"
    done = _word2vec(["-train", str(tiny_corpus), "-output", str(output), "-device", "cuda",
                      "-cbow", cbow, "-iter", "1", "-threads", "2", "-debug", "1",
                      *_TINY_FLAGS], env=_SIMULATED)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert done.stdout.decode().splitlines()[0] == f"Starting training using file {tiny_corpus}"
    lines = output.read_text().splitlines()
    vocab_size, size = map(int, lines[0].split())
    assert size == 4 and len(lines) == vocab_size + 1
    assert all(len(line.split()) == 5 for line in lines[1:])


@pytest.mark.skipif(probe.importlib.util.find_spec("numba_cuda") is None,
                    reason="the cuda extra is not installed")
def test_sigint_during_simulated_gpu_training_writes_nothing(tmp_path):
    output = tmp_path / "out" / "vectors.txt"
    output.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "w2v_cli", "-train", str(_LEE), "-output", str(output),
         "-device", "cuda", "-debug", "2", *_TINY_FLAGS], cwd=outside_checkout(),
        env=dict(os.environ, **env_with_tests(), **_SIMULATED), stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    seen = b""
    while b"training:" not in seen:              # the progress bar: training has begun
        assert time.time() < deadline and process.poll() is None
        seen += os.read(process.stderr.fileno(), 4096)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    rest = process.stderr.read().decode()
    assert rest.strip().splitlines()[-1] == "word2vec: interrupted by SIGINT"
    assert list(output.parent.iterdir()) == []
