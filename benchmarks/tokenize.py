"""Tokenization speed on People's Daily (January 1998), against transformers' own BERT tokenizers.

    python benchmarks/tokenize.py [--lines 4000] [--data ../shared/data]

Same run, same vocabulary (bertlab's offline Chinese vocab.txt), same lines:
  * bertlab's tokenizer (`chinese_tokenizer()`, a BertTokenizerFast) and `tokenize_view` (BERT
    tokens + jieba's three modes + whole-word groups: everything the tab shows);
  * transformers' BertTokenizerFast built from the same vocab.txt (Rust), and the pure-Python
    BertTokenizer (`BertTokenizerLegacy` in transformers 5).
Printed as characters per second and ratios. Also: latency of `tokenize_view` (and of the tab's
rendering) on a 1,000-character text, the [UNK] rate of the vocabulary on the corpus, and whether
the Rust and Python tokenizers agree token for token.

The corpus is not part of bertlab; without it the benchmark says so and exits 0.
"""

from __future__ import annotations

import sys

if __name__ == "tokenize":
    # Running any script in benchmarks/ puts this folder first on sys.path, so `import tokenize`
    # (done by linecache, inspect, huggingface_hub ...) would find this file instead of the
    # standard library's module. Hand the importer the real one.
    import importlib.machinery
    import importlib.util
    import sysconfig

    _spec = importlib.machinery.PathFinder.find_spec("tokenize", [sysconfig.get_paths()["stdlib"]])
    _real = importlib.util.module_from_spec(_spec)
    sys.modules["tokenize"] = _real
    _spec.loader.exec_module(_real)

import argparse
import os
import statistics
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORPUS = Path("peoples_daily_199801") / "pd199801_raw.txt"


def load_lines(data: Path, limit: int) -> list[str]:
    path = data / CORPUS
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line][:limit]


def race(contestants: dict[str, tuple], rounds: int = 3) -> dict[str, float]:
    """Characters per second for each (fn, lines). The contestants take turns, `rounds` times, and
    each keeps its best pass: on a shared machine a load spike then hurts everyone alike."""
    best = {name: float("inf") for name in contestants}
    for _ in range(rounds):
        for name, (fn, lines) in contestants.items():
            start = time.perf_counter()
            fn(lines)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: sum(len(x) for x in contestants[name][1]) / best[name] for name in contestants}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None,
                        help="folder holding peoples_daily_199801/ (default: $BERTLAB_DATA or ../shared/data)")
    parser.add_argument("--lines", type=int, default=4000, help="corpus lines to use (default %(default)s)")
    parser.add_argument("--slow-lines", type=int, default=1000,
                        help="lines for the slow Python tokenizer (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per contestant (best kept)")
    args = parser.parse_args(argv)
    # This folder (not the project root) is first on sys.path when run as a script.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread for everyone: a fair race

    from benchmarks import shared_data

    data = Path(args.data) if args.data else shared_data()
    if not (data / CORPUS).exists():
        print(f"skipped: {data / CORPUS} not found (People's Daily is not part of bertlab)")
        return 0

    import transformers
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert import load_vocab
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    from bertlab.data import tokenization as T

    transformers.logging.set_verbosity_error()  # corpus lines over 512 tokens are fine here

    start = time.perf_counter()
    folder = T.chinese_tokenizer_dir()
    ours = T.chinese_tokenizer()
    print(f"vocabulary: {folder} ({len(ours):,} entries; ready in {time.perf_counter() - start:.2f} s)")
    vocab_file = str(Path(folder) / "vocab.txt")
    hf_fast = BertTokenizerFast(vocab=load_vocab(vocab_file), do_lower_case=True)
    hf_slow = BertTokenizerLegacy(vocab_file, do_lower_case=True)

    lines = load_lines(data, args.lines)
    slow_lines = lines[:args.slow_lines]
    chars = sum(len(line) for line in lines)
    print(f"corpus: {len(lines):,} lines, {chars:,} characters of People's Daily 1998-01\n")

    T.tokenize_view(lines[0])  # warm up jieba (its dictionary loads once per process)

    def per_line(tok):
        return lambda batch: [tok(line)["input_ids"] for line in batch]

    def batched(tok):
        return lambda batch: tok(batch)["input_ids"]

    def views(batch):
        return [T.tokenize_view(line, tokenizer=ours) for line in batch]

    def jieba_only(batch):
        jb = T._jieba()
        return [jb.lcut(line) for line in batch]

    backend = ours.backend_tokenizer  # the Rust tokenizers object itself, without transformers' wrapper

    results = race({
        "tokenizers (Rust core of bertlab's tokenizer), batch": (backend.encode_batch, lines),
        "bertlab chinese_tokenizer, batch": (batched(ours), lines),
        "bertlab chinese_tokenizer, per line": (per_line(ours), lines),
        "transformers BertTokenizerFast, batch": (batched(hf_fast), lines),
        "transformers BertTokenizerFast, per line": (per_line(hf_fast), lines),
        "transformers BertTokenizer (Python), per line": (per_line(hf_slow), slow_lines),
        "jieba precise mode alone, per line": (jieba_only, lines),
        "bertlab tokenize_view (tokens+jieba x3+wwm), per line": (views, lines),
    }, rounds=args.rounds)
    slow = results["transformers BertTokenizer (Python), per line"]
    fast = results["transformers BertTokenizerFast, per line"]
    width = max(len(k) for k in results)
    print(f"{'throughput':<{width}}  {'chars/s':>12}  {'vs Python':>9}  {'vs Fast':>8}")
    for name, value in results.items():
        print(f"{name:<{width}}  {value:>12,.0f}  {value / slow:>8.1f}x  {value / fast:>7.2f}x")

    # Agreement: the Rust and Python tokenizers must give the same ids on the same vocabulary.
    ours_ids = [ours(line)["input_ids"] for line in slow_lines]
    slow_ids = [hf_slow(line)["input_ids"] for line in slow_lines]
    differ = sum(a != b for a, b in zip(ours_ids, slow_ids))
    print(f"\nagreement with the Python BertTokenizer: {len(slow_lines) - differ}/{len(slow_lines)} lines identical")

    # How much of the whole corpus the offline vocabulary covers.
    unk = Counter()
    total = 0
    every = load_lines(data, 10**9)
    for line, encoding in zip(every, backend.encode_batch(every, add_special_tokens=False)):
        total += len(encoding.ids)
        for tid, (a, b) in zip(encoding.ids, encoding.offsets):
            if tid == ours.unk_token_id:
                unk[line[a:b]] += 1
    print(f"[UNK] rate on all {len(every):,} lines: {sum(unk.values()) / total:.4%} of {total:,} tokens"
          + ("; most frequent: " + ", ".join(f"{k}×{v}" for k, v in unk.most_common(8)) if unk else ""))

    # Latency of one 1,000-character text: the view alone, and the view plus the tab's rendering.
    text = "".join(lines)[:1000]
    T.tokenize_view(text)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        view = T.tokenize_view(text)
        times.append((time.perf_counter() - start) * 1000)
    from bertlab.ui import tokenize_tab as tab

    page = []
    for _ in range(30):
        start = time.perf_counter()
        view = T.tokenize_view(text)
        tab.render_summary(view), tab.render_bert(view, text, None), tab.render_jieba(view), tab.render_wwm(view)
        page.append((time.perf_counter() - start) * 1000)
    q = lambda xs: (statistics.median(xs), sorted(xs)[int(0.95 * len(xs)) - 1])  # noqa: E731
    print(f"\nlatency, 1,000 characters ({view['counts']['tokens']} tokens): tokenize_view median "
          f"{q(times)[0]:.1f} ms (p95 {q(times)[1]:.1f} ms); with the tab's HTML median {q(page)[0]:.1f} ms "
          f"(p95 {q(page)[1]:.1f} ms); target < 100 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
