"""Run every bad-input case of docs/errors.md and print its table from what happened.

Usage: python scripts/bad_inputs.py [--write docs/errors.md]   (from the repository root,
with the package installed): prints the table, or puts it into the page between its
markers.

Each case runs the real console command in a scratch folder and reports its exit code, its
last stderr line and whether anything was left under the output name, so the page shows
measured behaviour, not intentions.  Cases that need a non-root user (unreadable files, a
read-only folder) run as the user nobody when the script runs as root, since root ignores
file permissions.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from marked_section import replace_between

ROOT = Path(__file__).resolve().parent.parent
LEE = ROOT / "tests" / "data" / "golden" / "corpus" / "lee.txt"
MODEL = ROOT / "tests" / "data" / "golden" / "eval" / "vec-text8head-cbow-50.bin"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def shell(script: str):
    """A case that needs a shell: the exit code reported is the first command's."""
    return ["bash", "-c", script + "; exit ${PIPESTATUS[0]}"]


def run(command, work: Path, stdin: bytes = b"", timeout: float = 120, env=None):
    """Run a case; ``env`` (a whole environment, as subprocess takes it) or this one's."""
    result = subprocess.run(command, cwd=work, input=stdin, capture_output=True,
                            timeout=timeout, env=env)
    lines = [line for line in result.stderr.decode("utf-8", "replace").splitlines()
             if line.strip() and "%|" not in line and MODEL_NOTE not in line]
    return result.returncode, (lines[-1] if lines else "")


# What the model takes of this machine's memory (-debug 2): not about the case, and not
# the same on two machines, so the table leaves it out.
MODEL_NOTE = "note: the model ("


@contextlib.contextmanager
def small_tmpfs(folder: Path):
    """A 1 MB tmpfs mounted on ``folder`` (a full disk on demand), or None where one
    cannot be mounted (not root)."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield None
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                          capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


NOT_MOUNTED = (None, "not run: needs root to mount a small tmpfs")


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
    (work / "trailing.gz").write_bytes(gzip.compress(LEE.read_bytes()) + b"junk\n")
    (work / "vocab-gensim.txt").write_bytes(b"the 3523\nof 1476\nto 1425\nand 1195\n")
    (work / "folder").mkdir()
    (work / "vocab-missing-count.txt").write_bytes(b"</s> 0\nthe 40\nfox\n")
    (work / "vocab-negative.txt").write_bytes(b"</s> 0\nthe -4\n")
    (work / "vocab-text-count.txt").write_bytes(b"</s> 0\nthe forty\n")
    (work / "vocab-twice.txt").write_bytes(b"</s> 0\nthe 40\nfox 9\nthe 3\n")
    (work / "vocab-crlf.txt").write_bytes(b"</s> 0\r\nthe 40\r\nof 20\r\n")
    (work / "vocab-huge-count.txt").write_bytes(b"</s> 0\nthe 99999999999999999999\n")
    (work / "vocab-overflow.txt").write_bytes(b"</s> 0\nthe 9223372036854775807\nof 20\n")
    (work / "vocab.txt").write_bytes(b"</s> 0\nthe 40\nof 20\n")
    (work / "bzip2-header.txt").write_bytes(b"BZh91AY&SY\n" + LEE.read_bytes())
    (work / "link.txt").symlink_to("lee.txt")
    data = MODEL.read_bytes()
    (work / "truncated.bin").write_bytes(data[:len(data) // 2])
    header, _, rest = data.partition(b"\n")
    (work / "header-more.bin").write_bytes(b"9999 50\n" + rest)
    (work / "header-size.bin").write_bytes(b"7350 51\n" + rest)
    (work / "nan.txt").write_bytes(b"3 2\n</s> 0.1 0.2 \nking nan 0.5 \nqueen 0.3 0.4 \n")
    (work / "words.txt").write_bytes(b"2 3\nking 0.1 0.2 0.3 \nqueen 0.3 zz 0.5 \n")
    (work / "short.txt").write_bytes(b"2 3\nking 0.1 0.2 0.3 \nqueen 0.3 \n")
    (work / "empty.bin").write_bytes(b"")
    (work / "queries.txt").write_bytes(b"king\nparis france\nqueen\n" * 1000)
    count, size = map(int, header.split())
    records, position = [], 0
    for _ in range(count):              # the golden model's records without their newlines
        space = rest.index(b" ", position)
        records.append(rest[position:space + 1 + 4 * size])
        position = space + 2 + 4 * size
    (work / "no-newlines.bin").write_bytes(header + b"\n" + b"".join(records))
    (work / "header-fewer.bin").write_bytes(b"100 50\n" + rest)
    return work


def replacing(command, extra):
    """``command`` with the flags that ``extra`` sets taken out, then ``extra``: a flag
    given twice keeps its first value, as in the original."""
    changed = set(extra[::2])
    kept = [command[0]]
    for flag, value in zip(command[1::2], command[2::2]):
        if flag not in changed:
            kept += [flag, value]
    return kept + list(extra)


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
    yield "gzip corpus with trailing data ((gzip -c f; echo junk) > t.gz: trained on, as zcat does)", train[:2] + ["trailing.gz"] + train[3:], b"", None
    yield "training file truncated by another job while it is read", "truncated-while-read", b"", "out.bin"
    yield "-train - with standard input closed (<&-)", shell(f"{shlex.quote(w2v)} -train - -output out.bin <&-"), b"", "out.bin"
    yield "output in a missing folder", train[:4] + ["no/such/dir/v.bin"], b"", "no"
    yield "output in a read-only folder", "readonly", b"", "ro/v.bin"
    yield "full disk (-output /dev/full)", [w2v, "-train", "lee.txt", "-output", "/dev/full", "-iter", "1", "-debug", "0"], b"", None
    yield "-output /dev/stdout \\| head -c 10", shell(f"{shlex.join(train[:3])} -output /dev/stdout {shlex.join(train[5:])} | head -c 10 >/dev/null"), b"", None
    yield "full temporary folder: token ids of a file (TMPDIR on a 1 MB tmpfs: the file is read again at every pass)", "tmpfs-ids", b"", None
    yield "full temporary folder: token ids of a compressed file (TMPDIR on a 1 MB tmpfs)", "tmpfs-ids-gz", b"", "out.bin"
    yield "full temporary folder: copy of standard input (TMPDIR on a 1 MB tmpfs)", "tmpfs-spool", b"", "out.bin"
    yield "-save-vocab in a missing folder", train + ["-save-vocab", "no/v.txt"], b"", "out.bin"
    yield "-read-vocab file missing", train + ["-read-vocab", "nope.txt"], b"", "out.bin"
    for problem, name in (("missing count", "vocab-missing-count.txt"),
                          ("negative count", "vocab-negative.txt"),
                          ("count not a number", "vocab-text-count.txt"),
                          ("word listed twice", "vocab-twice.txt")):
        yield f"-read-vocab: {problem}", train + ["-read-vocab", name], b"", "out.bin"
    yield "-read-vocab: CRLF file (accepted)", train + ["-read-vocab", "vocab-crlf.txt", "-min-count", "1", "-iter", "1"], b"", None
    yield "-read-vocab: count too large for 64 bits", train + ["-read-vocab", "vocab-huge-count.txt"], b"", "out.bin"
    yield "-read-vocab: counts add up past 2^63-1", train + ["-read-vocab", "vocab-overflow.txt"], b"", "out.bin"
    yield "-read-vocab: no `</s>` (gensim's vocabularies; `</s>` added first)", train + ["-read-vocab", "vocab-gensim.txt", "-iter", "1"], b"", None
    yield "-read-vocab with an empty training file", [w2v, "-train", "empty.txt", "-read-vocab", "vocab.txt", "-output", "out.bin"], b"", "out.bin"
    yield "-read-vocab -iter 1 with an empty stream (-train -)", [w2v, "-train", "-", "-read-vocab", "vocab.txt", "-iter", "1", "-output", "out.bin"], b"", "out.bin"
    yield "-train - -read-vocab - (both on standard input)", [w2v, "-train", "-", "-read-vocab", "-", "-output", "out.bin"], LEE.read_bytes(), "out.bin"
    yield "-save-context without -output", [w2v, "-train", "lee.txt", "-save-context", "out.bin"], b"", "out.bin"
    yield "TMPDIR a missing folder, a file (read again at every pass)", shell(f"TMPDIR=no/such/dir {shlex.join(train)} -iter 1"), b"", None
    yield "TMPDIR a missing folder, standard input", shell(f"TMPDIR=no/such/dir {shlex.join(train[:2])} - {shlex.join(train[3:])}"), LEE.read_bytes(), "out.bin"
    piped = [w2v, "-output", "out.bin", "-debug", "1", "-size", "20"]
    yield "-train <(gzip -c lee.txt) (read once, accepted)", ["bash", "-c", f"{shlex.join(piped)} -train <(gzip -c lee.txt)"], b"", None
    yield "cat lee.txt \\| word2vec -train /dev/stdin (read once, accepted)", ["bash", "-c", f"cat lee.txt | {shlex.join(piped)} -train /dev/stdin"], b"", None
    yield "-train FIFO nobody writes to (W2V_CLI_FIFO_WAIT=2)", "fifo-no-writer", b"", "out.bin"
    for setting in ("W2V_CLI_FIFO_WAIT=abc", "W2V_CLI_FIFO_WAIT=-1", "W2V_CLI_CACHE_DIR=lee.txt",
                    "W2V_CLI_MPI_MODEL=threads"):
        yield setting, shell(f"{setting} {shlex.join(train)}"), b"", "out.bin"
    yield "text that starts with a whole bzip2 header", [w2v, "-train", "bzip2-header.txt", "-output", "out.bin"], b"", "out.bin"
    yield "text that starts with a whole bzip2 header, -decompress 0 (read as text)", [w2v, "-train", "bzip2-header.txt", "-output", "out.bin", "-decompress", "0", "-debug", "1"], b"", None
    for flags in ("-output lee.txt", "-save-vocab lee.txt", "-output link.txt"):
        yield f"-train lee.txt {flags}", f"same-file {flags}", b"", None
    yield "-read-vocab vocab.txt -save-vocab vocab.txt", train + ["-read-vocab", "vocab.txt", "-save-vocab", "vocab.txt"], b"", "out.bin"
    yield "-output out.bin -save-vocab out.bin", train + ["-save-vocab", "out.bin"], b"", "out.bin"
    yield "output name ending in / (-output out/)", train[:4] + ["out/"], b"", "out"
    yield "output file read-only (0444, owned by the user)", "readonly-file", b"", None
    yield "SIGKILL during training", "sigkill", b"", "out.bin"
    for flags in ("-size 0", "-window 0", "-iter 0", "-threads 0", "-negative -1", "-sample -1",
                  "-alpha 0", "-hs 0 -negative 0", "-size abc", "-sample 1e-3x",
                  "-size 99999999999999999999", "-iter 1000000000000000000000000000000",
                  "-iter 1e30", "-threads 100000000", "-negative 100000000",
                  "-seed 18446744073709551616", "-alpha 1e400", "-alpha nan", "-sample nan",
                  "-sample inf"):
        yield flags, replacing(train, flags.split()), b"", "out.bin"
    yield "-classes larger than the vocabulary", train + ["-classes", "5000"], b"", "out.bin"
    yield "a model larger than ulimit -v allows (-size 100000 under ulimit -v 1000000)", shell(f"ulimit -v 1000000; {shlex.join(replacing(train, ['-size', '100000']))}"), b"", "out.bin"
    for flags in ("-batch 1 -cbow 0 -exact 1", "-device tpu",
                  "-device cuda -cbow 0 -hs 1 -negative 0"):
        yield flags, train + flags.split(), b"", "out.bin"
    yield ("-device cuda with no usable GPU (CUDA_VISIBLE_DEVICES= hides them)",
           shell(f"CUDA_VISIBLE_DEVICES= {shlex.join(train)} -device cuda"), b"", "out.bin")
    yield "-iter whose word count overflows 64 bits", train + ["-iter", "200000000000000"], b"", "out.bin"
    # Reporting never costs the result: the model is written whole, exit code 0.
    quiet_train = " ".join([shlex.quote(w2v)] + train[1:5] + ["-size", "20", "-iter", "1"])
    for description, redirect in (("stdout a broken pipe (piped into head -1)", "| head -1"),
                                  ("stdout closed (>&-)", ">&-"),
                                  ("stderr closed (2>&-), -debug 3", "-debug 3 2>&-"),
                                  ("stderr full (2>/dev/full), -debug 3", "-debug 3 2>/dev/full")):
        yield (f"training, {description} (model written)",
               shell(f"{quiet_train} {redirect}"), b"", "out.bin")
    yield "unknown flag -itter", train + ["-itter", "3"], b"", "out.bin"
    yield ("flag given twice (-size 20 ... -size 30: the first is used, as in the original)",
           train + ["-size", "30", "-iter", "1"], b"", None)
    yield "flag without value", [w2v, "-train", "lee.txt", "-output"], b"", None
    yield "SIGINT during training", "sigint", b"", "out.bin"
    yield "SIGTERM during training", "sigterm", b"", "out.bin"
    yield "SIGINT during -classes (K-means)", "sigint-classes", b"", "out.bin"
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
    yield ("distance: a second vector file (ignored, as by the original)",
           [tool("distance"), "model.bin", "other.bin"], b"paris\n", None)
    yield "distance: end of input without EXIT", [tool("distance"), "model.bin"], b"paris\n", None
    yield "distance: binary file without newlines (accepted)", [tool("distance"), "no-newlines.bin"], b"paris\n", None
    yield "distance: header announces fewer words (reads that many)", [tool("distance"), "header-fewer.bin"], b"paris\n", None
    distance = shlex.quote(tool("distance"))
    yield ("distance: stdout a broken pipe (piped into head -1)",
           shell(f"{distance} model.bin < queries.txt | head -1"), b"", None)
    yield "distance: stdout closed (>&-)", shell(f"{distance} model.bin < queries.txt >&-"), b"", None
    yield "distance: stdin closed (<&-)", shell(f"{distance} model.bin <&-"), b"", None
    yield "distance: full disk (>/dev/full)", shell(f"{distance} model.bin < queries.txt >/dev/full"), b"", None
    yield "distance: a 100 MB query line", "hugeline", b"", None
    yield "word-analogy: truncated binary file", [tool("word-analogy"), "truncated.bin"], b"a b c\n", None
    yield "compute-accuracy: threshold abc", [tool("compute-accuracy"), "model.bin", "abc"], b"", None
    yield "compute-accuracy: threshold -5", [tool("compute-accuracy"), "model.bin", "-5"], b"", None
    yield "compute-accuracy: truncated file", [tool("compute-accuracy"), "truncated.bin"], b"", None
    for problem, content in (("an entry with a space on a TAB line", b"new york\tcity\t7\n"),
                             ("an empty word", b"king\t\t7\n"),
                             ("a score that is not finite", b"king\tqueen\t1e400\n")):
        yield (f"compute-similarity: {problem}",
               ["bash", "-c", f"printf %s {shlex.quote(content.decode())} > pairs.tsv && "
                              f"{shlex.quote(tool('compute-similarity'))} model.bin pairs.tsv"],
               b"", None)
    yield "word2phrase: no -output", [tool("word2phrase"), "-train", "lee.txt"], b"", None
    yield "word2phrase: training file missing", [tool("word2phrase"), "-train", "nope.txt", "-output", "p.txt"], b"", "p.txt"
    yield "word2phrase: -output is the -train file", [tool("word2phrase"), "-train", "lee.txt", "-output", "lee.txt"], b"", None
    for flags in ("-threshold nan", "-threshold 1e400", "-min-count -1", "-min-count 0"):
        yield f"word2phrase: {flags}", [tool("word2phrase"), "-train", "lee.txt", "-output", "p.txt", *flags.split()], b"", "p.txt"
    phrase = shlex.join([tool("word2phrase"), "-train", "lee.txt", "-output", "/dev/stdout"])
    yield "word2phrase: -output /dev/stdout \\| head -c 10", shell(f"{phrase} | head -c 10 >/dev/null"), b"", None
    for description, kind, output in KERNEL_CASES:
        yield description, kind, b"", output


# The compiled kernels and their cache (each case has a cache folder of its own).
KERNEL_CASES = (
    ("W2V_CLI_KERNELS=fast (unknown value)", "kernels-unknown", "out.bin"),
    ("W2V_CLI_KERNELS=native without a C compiler", "kernels-no-compiler", "out.bin"),
    ("no C compiler (the default falls back to the JIT)", "kernels-jit-fallback", None),
    ("first run with -debug 0 (compiles without a word)", "kernels-debug0", None),
    ("kernel cache folder full (W2V_CLI_CACHE_DIR on a 1 MB tmpfs: trained through the JIT)",
     "kernels-full", "out.bin"),
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
    if kind == "kernels-debug0":
        return run(train[:-1] + ["0"], work, env=env)
    if kind == "kernels-full":
        with small_tmpfs(cache) as mounted:
            if mounted is None:
                return NOT_MOUNTED
            env.pop("NUMBA_CACHE_DIR")          # Numba's cache goes there too, as by default
            return run(train, work, env=env, timeout=600)
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
    if kind.startswith("same-file "):
        # An output that is the training file under some name: refused, the file intact.
        code, line = run([w2v, "-train", "lee.txt", *kind.split()[1:]], work)
        intact = (work / "lee.txt").read_bytes() == LEE.read_bytes()
        return code, line, "lee.txt unchanged" if intact else "**lee.txt changed**"
    if kind == "truncated-while-read":
        # Another job truncating the file, at a chosen moment: after the first block.
        (work / "big.txt").write_bytes(LEE.read_bytes() * 4)
        code = ("import os, sys\n"
                "from w2v_cli import corpus\n"
                "real, seen = corpus.read_block, []\n"
                "def read_block(stream, buffer):\n"
                "    seen.append(real(stream, buffer))\n"
                "    if len(seen) == 1:\n"
                "        os.truncate('big.txt', os.path.getsize('big.txt') // 3)\n"
                "    return seen[-1]\n"
                "corpus.read_block = read_block\n"
                "sys.argv[0] = 'word2vec'\n"
                "from w2v_cli.cli import word2vec_main\n"
                "word2vec_main()\n")
        return (*run([sys.executable, "-c", code, "-train", "big.txt", "-output", "out.bin",
                      "-threads", "1"], work), "simulated: after the first 1 MB block")
    if kind in ("tmpfs-ids", "tmpfs-ids-gz", "tmpfs-spool"):
        (work / "big.txt").write_bytes(LEE.read_bytes() * 20)      # 930,000 token ids
        (work / "big.gz").write_bytes(gzip.compress((work / "big.txt").read_bytes()))
        with small_tmpfs(work / "small") as mounted:
            if mounted is None:
                return NOT_MOUNTED
            env = dict(os.environ, TMPDIR=str(mounted))
            if kind in ("tmpfs-ids", "tmpfs-ids-gz"):
                corpus = "big.txt" if kind == "tmpfs-ids" else "big.gz"
                return run([w2v, "-train", corpus, "-output", "out.bin", "-threads", "1"],
                           work, env=env)
            return run(["bash", "-c", f"cat big.txt | {shlex.quote(w2v)} -train - -output "
                        "out.bin; exit ${PIPESTATUS[1]}"], work, env=env)
    if kind == "fifo-no-writer":
        os.mkfifo(work / "fifo")
        return run([w2v, "-train", "fifo", "-output", "out.bin"], work,
                   env={**os.environ, "W2V_CLI_FIFO_WAIT": "2"})
    if kind == "sigkill":
        (work / "tmp").mkdir()
        process = subprocess.Popen([w2v, "-train", "-", "-output", "out.bin", "-iter", "500",
                                    "-debug", "0"], cwd=work, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env={**os.environ, "TMPDIR": str(work / "tmp")})
        process.stdin.write(LEE.read_bytes())
        process.stdin.close()
        time.sleep(3)
        process.kill()
        code = process.wait()
        left = len(list((work / "tmp").iterdir())) + len(
            [p for p in work.iterdir() if p.name.startswith(".")])
        return code, "", f"temporary or partial files left: {left}"
    if kind in ("unreadable", "readonly", "unreadable-vectors", "readonly-file"):
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
        if kind == "readonly-file":
            (work / "out.bin").write_bytes(b"kept\n")
            (work / "out.bin").chmod(0o444)
            work.chmod(0o777)
            if user:
                os.chown(work / "out.bin", 65534, 65534)
            code, line = run(user + [w2v, "-train", "lee.txt", "-output", "out.bin"], work)
            kept = (work / "out.bin").read_bytes() == b"kept\n"
            return code, line, "file kept" if kept else "**file replaced**"
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
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stderr = process.stderr.read().decode().strip().splitlines()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        return (process.returncode, stderr[-1] if stderr else "",
                f"peak RSS {usage.ru_maxrss // 1024} MB")
    if kind == "hugeline":
        (work / "line.txt").write_bytes(b"the " * 25_000_000 + b"\n")
        with open(work / "line.txt", "rb") as stdin:
            process = subprocess.Popen([tool("distance"), "model.bin"], cwd=work, stdin=stdin,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            stderr = process.stderr.read().decode().strip().splitlines()
            _, status, usage = os.wait4(process.pid, 0)
        return (os.waitstatus_to_exitcode(status), stderr[-1] if stderr else "",
                f"peak RSS {usage.ru_maxrss // 1024} MB")
    if kind == "sigint-classes":
        # 40,001 words into 40,000 classes: one K-means round is minutes of work.
        with open(work / "words.txt", "wb") as out:
            tokens = [b"w%d" % (i % 40_000) for i in range(200_000)]
            for first in range(0, len(tokens), 1000):
                out.write(b" ".join(tokens[first:first + 1000]) + b"\n")
        process = subprocess.Popen([w2v, "-train", "words.txt", "-output", "out.bin",
                                    "-classes", "40000", "-size", "200", "-iter", "1"],
                                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                    signal.SIG_DFL))
        seen = b""
        while b"training: 100%" not in seen:        # the bar closes: K-means starts
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
        time.sleep(1)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stderr = (seen + process.stderr.read()).decode().strip().splitlines()
        code = process.wait()
        return (code, stderr[-1] if stderr else "",
                f"exit {time.monotonic() - started:.2f} s after the signal")
    signum = signal.SIGINT if kind == "sigint" else signal.SIGTERM
    # SIGINT as from a terminal, even when this script runs as a background job (whose
    # children inherit SIGINT ignored, and keep it so, as the C tool does).
    process = subprocess.Popen([w2v, "-train", "lee.txt", "-output", "out.bin", "-iter", "500",
                                "-debug", "0"], cwd=work, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)
    process.send_signal(signum)
    stderr = process.stderr.read().decode().splitlines()
    return process.wait(), (stderr[-1] if stderr else ""), f"stderr lines: {len(stderr)}"


TABLE_BEGIN = "<!-- bad-input table: made by scripts/bad_inputs.py; do not edit -->"
TABLE_END = "<!-- end of the bad-input table -->"


def table_rows():
    """The table's lines, one case at a time (each case runs in a scratch folder)."""
    yield "| case | exit code | stderr (last line) | file left under the output name |"
    yield "|---|---|---|---|"
    for description, command, stdin, output in cases():
        work = scratch()
        note = ""
        if isinstance(command, str):
            code, line, *extra = special(command, work)
            note = f" ({extra[0]})" if extra else ""
        else:
            code, line = run(command, work, stdin)
        exists = output is not None and (work / output).exists()
        left = ("-" if output is None else "no" if not exists
                else "yes" if code == 0 else "**yes**")
        line = line.replace("|", "\\|").replace(str(work) + "/", "")
        yield f"| {description}{note} | {'' if code is None else code} | `{line}` | {left} |"
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(NUMBA_CACHE, ignore_errors=True)


# The table's home, between its markers (tests/test_bench_tools.py keeps it in step).
PAGE = ROOT / "docs" / "errors.md"


def main() -> None:
    """Print the table, or with ``--write [FILE]`` write it into FILE (docs/errors.md)
    between the markers."""
    if len(sys.argv) in (2, 3) and sys.argv[1] == "--write":
        replace_between(Path(sys.argv[2]) if len(sys.argv) == 3 else PAGE, TABLE_BEGIN,
                        TABLE_END, list(table_rows()), "bad_inputs")
        return
    for row in table_rows():
        print(row, flush=True)


if __name__ == "__main__":
    main()
