"""Run every bad-input case of the README's table and print the table from what happened.

Usage: python scripts/bad_inputs.py > table.md   (from the repository root, package installed)

Each case runs the real console command in a scratch folder and reports its exit code, its
last stderr line and whether anything was left under the output name, so the README shows
measured behaviour, not intentions.  Cases that need a non-root user (unreadable files, a
read-only folder) run as the user nobody when the script runs as root, since root ignores
file permissions.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEE = ROOT / "tests" / "data" / "golden" / "corpus" / "lee.txt"
MODEL = ROOT / "tests" / "data" / "golden" / "eval" / "vec-text8head-cbow-50.bin"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def run(command, work: Path, stdin: bytes = b"", timeout: float = 120, env=None):
    result = subprocess.run(command, cwd=work, input=stdin, capture_output=True,
                            timeout=timeout, env=env)
    lines = [line for line in result.stderr.decode("utf-8", "replace").splitlines()
             if line.strip() and "%|" not in line]
    return result.returncode, (lines[-1] if lines else "")


def scratch() -> Path:
    """A fresh folder holding every input file the cases use."""
    work = Path(tempfile.mkdtemp(prefix="w2v-bad-"))
    shutil.copy(LEE, work / "lee.txt")
    shutil.copy(MODEL, work / "model.bin")
    (work / "empty.txt").write_bytes(b"")
    (work / "blank.txt").write_bytes(b"\n \t\n\n   \n")
    (work / "random.bin").write_bytes(random.Random(1).randbytes(1 << 20))
    (work / "nul.txt").write_bytes(b"\0" * 4096 + b"\n")
    (work / "latin1.txt").write_bytes("café naïve ".encode("latin-1") * 300 + b"\n")
    (work / "crlf.txt").write_bytes(LEE.read_bytes().replace(b"\n", b"\r\n"))
    (work / "cut.gz").write_bytes(gzip.compress(LEE.read_bytes())[:4000])
    (work / "folder").mkdir()
    (work / "vocab-missing-count.txt").write_bytes(b"</s> 0\nthe 40\nfox\n")
    (work / "vocab-negative.txt").write_bytes(b"</s> 0\nthe -4\n")
    (work / "vocab-text-count.txt").write_bytes(b"</s> 0\nthe forty\n")
    (work / "vocab-twice.txt").write_bytes(b"</s> 0\nthe 40\nfox 9\nthe 3\n")
    (work / "vocab-crlf.txt").write_bytes(b"</s> 0\r\nthe 40\r\nof 20\r\n")
    data = MODEL.read_bytes()
    (work / "truncated.bin").write_bytes(data[:len(data) // 2])
    header, _, rest = data.partition(b"\n")
    (work / "header-more.bin").write_bytes(b"9999 50\n" + rest)
    (work / "header-size.bin").write_bytes(b"7350 51\n" + rest)
    (work / "nan.txt").write_bytes(b"3 2\n</s> 0.1 0.2 \nking nan 0.5 \nqueen 0.3 0.4 \n")
    (work / "words.txt").write_bytes(b"2 3\nking 0.1 0.2 0.3 \nqueen 0.3 zz 0.5 \n")
    (work / "short.txt").write_bytes(b"2 3\nking 0.1 0.2 0.3 \nqueen 0.3 \n")
    (work / "empty.bin").write_bytes(b"")
    return work


def cases():
    """(description, command, stdin, output name to check) for each case."""
    w2v = tool("word2vec")
    train = [w2v, "-train", "lee.txt", "-output", "out.bin", "-debug", "1", "-size", "20"]
    yield "training file missing", [w2v, "-train", "nope.txt", "-output", "out.bin"], b"", "out.bin"
    yield "training file unreadable", "unreadable", b"", "out.bin"
    yield "training file is a folder", [w2v, "-train", "folder", "-output", "out.bin"], b"", "out.bin"
    yield "empty training file", [w2v, "-train", "empty.txt", "-output", "out.bin"], b"", "out.bin"
    yield "only whitespace and newlines", [w2v, "-train", "blank.txt", "-output", "out.bin"], b"", "out.bin"
    yield "1 MB of random bytes", [w2v, "-train", "random.bin", "-output", "out.bin"], b"", "out.bin"
    yield "1 MB of random bytes, -min-count 1 (trained on as bytes)", [w2v, "-train", "random.bin", "-output", "out.bin", "-min-count", "1", "-iter", "1", "-debug", "1"], b"", None
    yield "only NUL bytes", [w2v, "-train", "nul.txt", "-output", "out.bin"], b"", "out.bin"
    yield "Latin-1 text (invalid UTF-8: trained on as bytes)", [w2v, "-train", "latin1.txt", "-output", "out.bin", "-min-count", "1", "-debug", "1"], b"", None
    yield "CRLF text (CR dropped, as the original)", [w2v, "-train", "crlf.txt", "-output", "out.bin", "-debug", "1"], b"", None
    yield "one 200 MB line without spaces", "longline", b"", "out.bin"
    yield "truncated gzip corpus", [w2v, "-train", "cut.gz", "-output", "out.bin"], b"", "out.bin"
    yield "output in a missing folder", train[:4] + ["no/such/dir/v.bin"], b"", "no"
    yield "output in a read-only folder", "readonly", b"", "ro/v.bin"
    yield "full disk (-output /dev/full)", [w2v, "-train", "lee.txt", "-output", "/dev/full", "-iter", "1", "-debug", "0"], b"", None
    yield "-save-vocab in a missing folder", train + ["-save-vocab", "no/v.txt"], b"", "out.bin"
    yield "-read-vocab file missing", train + ["-read-vocab", "nope.txt"], b"", "out.bin"
    for problem, name in (("missing count", "vocab-missing-count.txt"),
                          ("negative count", "vocab-negative.txt"),
                          ("count not a number", "vocab-text-count.txt"),
                          ("word listed twice", "vocab-twice.txt")):
        yield f"-read-vocab: {problem}", train + ["-read-vocab", name], b"", "out.bin"
    yield "-read-vocab: CRLF file (accepted)", train + ["-read-vocab", "vocab-crlf.txt", "-min-count", "1", "-iter", "1"], b"", None
    for flags in ("-size 0", "-window 0", "-iter 0", "-threads 0", "-negative -1", "-sample -1",
                  "-alpha 0", "-hs 0 -negative 0", "-size abc", "-sample 1e-3x"):
        yield flags, train + flags.split(), b"", "out.bin"
    yield "unknown flag -itter", train + ["-itter", "3"], b"", "out.bin"
    yield "flag without value", [w2v, "-train", "lee.txt", "-output"], b"", None
    yield "SIGINT during training", "sigint", b"", "out.bin"
    yield "SIGTERM during training", "sigterm", b"", "out.bin"
    yield "distance: file missing", [tool("distance"), "nope.bin"], b"king\n", None
    yield "distance: vector file unreadable", "unreadable-vectors", b"", None
    for problem, name in (("empty vector file", "empty.bin"),
                          ("truncated binary file", "truncated.bin"),
                          ("header announces more words", "header-more.bin"),
                          ("header disagrees on size", "header-size.bin"),
                          ("short last vector (text)", "short.txt"),
                          ("non-numeric value (text)", "words.txt")):
        yield f"distance: {problem}", [tool("distance"), name], b"king\n", None
    yield "distance: NaN in a vector (accepted)", [tool("distance"), "nan.txt"], b"queen\n", None
    yield "distance: end of input without EXIT", [tool("distance"), "model.bin"], b"paris\n", None
    yield "word-analogy: truncated binary file", [tool("word-analogy"), "truncated.bin"], b"a b c\n", None
    yield "compute-accuracy: threshold abc", [tool("compute-accuracy"), "model.bin", "abc"], b"", None
    yield "compute-accuracy: truncated file", [tool("compute-accuracy"), "truncated.bin"], b"", None
    yield "word2phrase: no -output", [tool("word2phrase"), "-train", "lee.txt"], b"", None
    yield "word2phrase: training file missing", [tool("word2phrase"), "-train", "nope.txt", "-output", "p.txt"], b"", "p.txt"
    for description, kind, output in KERNEL_CASES:
        yield description, kind, b"", output


# The compiled kernels and their cache (each case has a cache folder of its own).
KERNEL_CASES = (
    ("W2V_CLI_KERNELS=fast (unknown value)", "kernels-unknown", "out.bin"),
    ("W2V_CLI_KERNELS=native without a C compiler", "kernels-no-compiler", "out.bin"),
    ("no C compiler (the default falls back to the JIT)", "kernels-jit-fallback", None),
    ("kernel cache: truncated library (rebuilt)", "kernels-truncated", None),
    ("kernel cache: manifest is a JSON list (rebuilt)", "kernels-manifest-list", None),
    ("kernel cache: a symbol missing (rebuilt)", "kernels-missing-symbol", None),
    ("first run as nobody, HOME=/nonexistent, read-only package", "kernels-nobody", None),
    ("SIGINT during the kernel compile", "kernels-sigint", "out.bin"),
    ("SIGTERM during the kernel compile", "kernels-sigterm", "out.bin"),
)
NUMBA_CACHE = Path(tempfile.gettempdir()) / f"w2v-bad-numba-{os.getpid()}"  # shared: rebuilds take seconds


def kernel_case(kind: str, work: Path):
    """Run word2vec on lee.txt with the kernel cache in a given state."""
    cache = work / "cache"
    cache.mkdir()
    env = dict(os.environ, W2V_CLI_CACHE_DIR=str(cache), NUMBA_CACHE_DIR=str(NUMBA_CACHE))
    env.pop("W2V_CLI_KERNELS", None)
    train = [tool("word2vec"), "-train", "lee.txt", "-output", "out.bin", "-size", "20",
             "-iter", "1", "-debug", "1"]
    if kind == "kernels-unknown":
        return run(train, work, env=dict(env, W2V_CLI_KERNELS="fast"))
    if kind in ("kernels-no-compiler", "kernels-jit-fallback"):
        mode = "native" if kind == "kernels-no-compiler" else "auto"
        return run(train, work, env=dict(env, PATH=str(work / "no-bin"), CC="",
                                         W2V_CLI_KERNELS=mode))
    if kind in ("kernels-truncated", "kernels-manifest-list", "kernels-missing-symbol"):
        subprocess.run([sys.executable, "-m", "w2v_cli.native"], cwd=work, env=env,
                       capture_output=True, check=True)
        manifest_path = next(cache.glob("kernels-*.json"))
        manifest = json.loads(manifest_path.read_text())
        library = cache / manifest["library"]
        if kind == "kernels-truncated":
            library.write_bytes(library.read_bytes()[:10000])
        elif kind == "kernels-manifest-list":
            manifest_path.write_text("[]")
        else:
            manifest["symbols"]["dot_rows"] = "no_such_symbol"
            manifest_path.write_text(json.dumps(manifest))
        return run(train, work, env=env)
    if kind == "kernels-nobody":
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            return None, "not run: needs root and setpriv"
        where = subprocess.run([sys.executable, "-c", "import w2v_cli, os; "
                                "print(os.path.dirname(w2v_cli.__file__))"], cwd=work,
                               capture_output=True, check=True).stdout.decode().strip()
        site = work / "site"
        shutil.copytree(where, site / "w2v_cli",
                        ignore=shutil.ignore_patterns("_native", "__pycache__"))
        subprocess.run(["chmod", "-R", "a-w", str(site)], check=True)
        work.chmod(0o755)
        (work / "out").mkdir(mode=0o777)
        (work / "out").chmod(0o777)
        (work / "tmp").mkdir()
        (work / "tmp").chmod(0o1777)
        nobody_env = dict(os.environ, HOME="/nonexistent", TMPDIR=str(work / "tmp"),
                          PYTHONPATH=str(site))
        for name in ("W2V_CLI_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "W2V_CLI_KERNELS"):
            nobody_env.pop(name, None)
        code = ("import sys; sys.argv[0] = 'word2vec'; "
                "from w2v_cli.cli import word2vec_main; word2vec_main()")
        return run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    sys.executable, "-c", code, *train[1:4], "out/v.bin", *train[5:]], work,
                   env=nobody_env)
    signum = signal.SIGINT if kind == "kernels-sigint" else signal.SIGTERM
    process = subprocess.Popen(train, cwd=work, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.stderr.readline()                  # the compiling notice
    time.sleep(1)
    process.send_signal(signum)
    lines = [line for line in process.stderr.read().decode().splitlines() if line.strip()]
    code = process.wait()
    left = sorted(p.name for p in cache.iterdir())
    return code, (lines[-1] if lines else ""), f"cache folder left: {left or 'empty'}"


def special(kind: str, work: Path):
    """Cases that need set-up around the command: permissions and signals."""
    if kind.startswith("kernels-"):
        return kernel_case(kind, work)
    w2v = tool("word2vec")
    if kind in ("unreadable", "readonly", "unreadable-vectors"):
        # Root ignores file permissions: run these as the unprivileged user nobody.
        user = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                return None, "not run: root ignores file permissions and setpriv is missing"
            user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            work.chmod(0o755)
        if kind == "unreadable-vectors":
            (work / "locked.bin").write_bytes((work / "model.bin").read_bytes())
            (work / "locked.bin").chmod(0)
            return run(user + [tool("distance"), "locked.bin"], work, b"king\n")
        if kind == "unreadable":
            (work / "locked.txt").write_bytes(b"a b c\n")
            (work / "locked.txt").chmod(0)
            return run(user + [w2v, "-train", "locked.txt", "-output", "out.bin"], work)
        (work / "ro").mkdir()
        (work / "ro").chmod(0o555)
        return run(user + [w2v, "-train", "lee.txt", "-output", "ro/v.bin"], work)
    if kind == "longline":
        with open(work / "long.txt", "wb") as stream:
            for _ in range(200):
                stream.write(b"x" * (1 << 20))
            stream.write(b"\n")
        process = subprocess.Popen([w2v, "-train", "long.txt", "-output", "out.bin"], cwd=work,
                                   stderr=subprocess.PIPE)
        stderr = process.stderr.read().decode().strip().splitlines()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        return (process.returncode, stderr[-1] if stderr else "",
                f"peak RSS {usage.ru_maxrss // 1024} MB")
    signum = signal.SIGINT if kind == "sigint" else signal.SIGTERM
    # SIGINT as from a terminal, even when this script runs as a background job (whose
    # children inherit SIGINT ignored, and keep it so, as the C tool does).
    process = subprocess.Popen([w2v, "-train", "lee.txt", "-output", "out.bin", "-iter", "500",
                                "-debug", "0"], cwd=work, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)
    process.send_signal(signum)
    stderr = process.stderr.read().decode().strip().splitlines()
    return process.wait(), (stderr[-1] if stderr else "")


def main() -> None:
    print("| case | exit code | stderr (last line) | file left under the output name |")
    print("|---|---|---|---|")
    for description, command, stdin, output in cases():
        work = scratch()
        note = ""
        if isinstance(command, str):
            code, line, *extra = special(command, work)
            note = f" ({extra[0]})" if extra else ""
        else:
            code, line = run(command, work, stdin)
        left = "-" if output is None else ("**yes**" if (work / output).exists() else "no")
        line = line.replace("|", "\\|").replace(str(work) + "/", "")
        print(f"| {description}{note} | {'' if code is None else code} | `{line}` | {left} |")
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(NUMBA_CACHE, ignore_errors=True)


if __name__ == "__main__":
    main()
