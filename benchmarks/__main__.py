"""python -m benchmarks [--quick] [--only NAME ...] [--out FILE] [--json]: every benchmark, one table.

Each benchmark runs as its own subprocess, one after another (never two at once: they would
compete for the same cores), with --json where the script has it and its printed lines parsed
where not. Both sides of every comparison are measured inside that one subprocess, so each ratio
is from the same minutes on the same machine. The table, the machine it ran on and each script's
raw output are written to benchmarks/RESULTS.md. With --json, progress goes to stderr and stdout
gets one JSON object: {"ratios": {key: number}, "rows": [...], "machine": {...}}, where the keys
name the headline comparisons (RATIO_KEYS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


# The headline figures `--json` reports under "ratios" (bertlab / baseline, or seconds where named _s).
RATIO_KEYS = {
    "fill_mask_p50_vs_pipeline": "fill-mask p50 latency, bertlab / transformers pipeline (lower is better)",
    "fill_mask_p50_vs_onnxruntime_full": "fill-mask p50 latency, bertlab / ONNX Runtime with the full-vocabulary head",
    "classify_batch_vs_pipeline": "rows/s classifying a file, bertlab / pipeline(batch_size=32) (higher is better)",
    "finetune_vs_trainer_grouped": "fine-tuning samples/s, bertlab / Trainer with group_by_length",
    "finetune_vs_trainer_dynamic": "fine-tuning samples/s, bertlab / Trainer with dynamic padding",
    "first_fill_mask_answer_s": "seconds from `python app.py` to the first fill-mask answer",
    "first_fill_mask_after_serving_s": "seconds from the page serving to the first fill-mask answer "
                                       "(Predict pressed as soon as the page is up)",
}


RECORDED = "## Recorded separately"


@dataclass
class Row:
    what: str
    bertlab: str
    baseline: str = ""
    ratio: str = ""
    note: str = ""
    key: str = ""  # a RATIO_KEYS entry this row's `value` reports
    value: float | None = None


@dataclass
class Benchmark:
    name: str
    script: str
    args: list[str]
    quick: list[str]
    parse: Callable[[str], list[Row]]
    json: bool = True
    timeout: int = 3600
    rows: list[Row] = field(default_factory=list)


def _json(out: str):
    """The last line of stdout that is JSON (scripts may print notes before it)."""
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith(("{", "[")):
            return json.loads(line)
    raise ValueError("no JSON in the output")


def _skipped(data) -> list[Row] | None:
    if isinstance(data, dict) and "skipped" in data:
        return []
    return None


def _x(value: float) -> str:
    return f"{value:.2f}x"


# ------------------------------------------------------------------------------ parsers


def parse_finetune(out: str) -> list[Row]:
    data = _json(out)
    if _skipped(data) is not None:
        raise Skipped(data["skipped"])
    c, s = data["contenders"], data["settings"]
    ours = c["bertlab"]
    setting = f"SST-2 first {s['rows']} rows, {s['steps']} steps × {s['batch_size']}, `default`"
    rows = []
    for base, label in (("trainer-dyn", "Trainer, dynamic padding"), ("trainer-128", "Trainer, padding to 128"),
                        ("trainer-group", "Trainer, dynamic padding + group_by_length")):
        if base in c:
            b = c[base]
            note = f"dev acc {ours['accuracy']:.3f} vs {b['accuracy']:.3f}"
            if base == "trainer-dyn":
                note = f"{setting}; target ≥ 1.5×; " + note
            ratio = ours["samples_per_s"] / b["samples_per_s"]
            key = {"trainer-dyn": "finetune_vs_trainer_dynamic", "trainer-group": "finetune_vs_trainer_grouped"}.get(base, "")
            rows.append(Row(f"Fine-tuning samples/s vs {label}", f"{ours['samples_per_s']:.1f}",
                            f"{b['samples_per_s']:.1f}", _x(ratio), note, key=key, value=ratio))
    peak = data["matmul_flops"]
    rows.append(Row("Fine-tuning achieved FLOP/s vs matmul (same run)", f"{ours['flops'] / 1e9:.1f} G",
                    f"{peak / 1e9:.1f} G", f"{ours['flops'] / peak:.0%}",
                    "6 × non-embedding params × tokens computed / s; useful (no padding) "
                    f"{ours['useful_flops'] / 1e9:.1f} G"))
    for base in ("trainer-dyn", "trainer-128"):
        if base in c:
            rows.append(Row(f"  … {base} FLOP/s vs matmul", f"{c[base]['flops'] / 1e9:.1f} G", f"{peak / 1e9:.1f} G",
                            f"{c[base]['flops'] / peak:.0%}", f"padding {c[base]['padding_share']:.0%} of tokens"))
    if "trainer-dyn" in c:
        rows.append(Row("Peak RSS of a fine-tuning process vs Trainer, dynamic padding",
                        f"{ours['peak_rss_mb']:.0f} MiB", f"{c['trainer-dyn']['peak_rss_mb']:.0f} MiB",
                        _x(ours["peak_rss_mb"] / c["trainer-dyn"]["peak_rss_mb"]), "same data and steps"))
    return rows


def parse_sparse(out: str) -> list[Row]:
    data = _json(out)
    if _skipped(data) is not None:
        raise Skipped(data["skipped"])
    rows = []
    for r in data["rows"]:
        rows.append(Row(f"MLM pre-training steps/s, sparse vs dense (`{r['model']}`)", f"{r['sparse_steps_per_s']:.2f}",
                        f"{r['dense_steps_per_s']:.2f}", _x(r["speedup"]),
                        f"batch {r['batch_size']}×{r['seq_len']}, vocab {r['vocab']:,}, "
                        f"same loss: {'yes' if r['loss_agrees'] else 'NO'}"))
    return rows


def parse_fill_mask(out: str) -> list[Row]:
    d = _json(out)
    p50, p95 = d["p50_ms"], d["p95_ms"]
    parity = d.get("parity") or {}
    same = (f"same top-{d['top_k']} as PyTorch on {parity['same_top_k']}/{parity['sentences']} sentences, "
            f"probabilities within {parity['max_prob_diff']:.0e}; " if parity else "fast path NOT ready: PyTorch; ")
    note = f"`{d['model']}`, {d['sentences']} sentences × {d['rounds']}, top-{d['top_k']}, {d['torch_threads']} threads"
    rows = [Row("Fill-mask latency p50 vs transformers pipeline", f"{p50['bertlab']:.1f} ms", f"{p50['pipeline']:.1f} ms",
                _x(p50["bertlab"] / p50["pipeline"]), same + "target ≤ 0.35× (aim 0.25×); " + note,
                key="fill_mask_p50_vs_pipeline", value=p50["bertlab"] / p50["pipeline"]),
            Row("Fill-mask latency p95 vs transformers pipeline", f"{p95['bertlab']:.1f} ms", f"{p95['pipeline']:.1f} ms",
                _x(p95["bertlab"] / p95["pipeline"]))]
    if "onnxruntime-full" in p50:
        rows.append(Row("Fill-mask latency p50 vs ONNX Runtime, full-vocabulary head (anchor)",
                        f"{p50['bertlab']:.1f} ms", f"{p50['onnxruntime-full']:.1f} ms",
                        _x(p50["bertlab"] / p50["onnxruntime-full"]),
                        f"anchor vs pipeline {p50['onnxruntime-full'] / p50['pipeline']:.2f}×; same torch.onnx export, "
                        "softmax + top-k at the mask", key="fill_mask_p50_vs_onnxruntime_full",
                        value=p50["bertlab"] / p50["onnxruntime-full"]))
    rows.append(Row("  … bertlab on PyTorch (fast path off) vs pipeline", f"{p50['bertlab-pytorch']:.1f} ms",
                    f"{p50['pipeline']:.1f} ms", _x(p50["bertlab-pytorch"] / p50["pipeline"]), "p50"))
    return rows


def parse_classify(out: str) -> list[Row]:
    d = _json(out)
    r, same = d["rows_per_s"], d["same_label_as_pipeline"]
    ratio = r["bertlab"] / r["pipeline"]
    rows = [Row("Classifying a file, rows/s vs pipeline(batch_size=32)", f"{r['bertlab']:.0f}", f"{r['pipeline']:.0f}",
                _x(ratio), f"`{d['model']}`, {d['source']}; same label {same['bertlab']:.2%}; "
                f"fast path {'ready' if d['fast_path'] else 'NOT ready'}; target ≥ 3×",
                key="classify_batch_vs_pipeline", value=ratio),
            Row("  … bertlab on PyTorch (fast path off) vs pipeline", f"{r['bertlab-pytorch']:.0f}", f"{r['pipeline']:.0f}",
                _x(r["bertlab-pytorch"] / r["pipeline"]), "the same batches by length in tokens, `[CLS]`-only last layer")]
    if "useful_flops" in d:  # where the time goes: padding computed, and useful FLOP/s against the matmul
        tokens, useful, peak = d["tokens_computed"], d["useful_flops"], d["matmul_flops"]
        rows.append(Row("  … useful FLOP/s vs fp32 matmul (same run)", f"{useful['bertlab'] / 1e9:.1f} G",
                        f"{peak / 1e9:.1f} G", f"{useful['bertlab'] / peak:.0%}",
                        f"real tokens only; pipeline {useful['pipeline'] / 1e9:.1f} G "
                        f"({useful['pipeline'] / peak:.0%}); tokens computed: bertlab "
                        f"{tokens['bertlab'] / d['real_tokens']:.2f}× the real ones, pipeline "
                        f"{tokens['pipeline'] / d['real_tokens']:.2f}×"))
    return rows


def parse_tokenize(out: str) -> list[Row]:
    if out.strip().startswith("skipped"):
        raise Skipped(out.strip().splitlines()[0])
    speeds = {}
    for m in re.finditer(r"^(.+?)\s{2,}([\d,]+)\s+[\d.]+x\s+[\d.]+x\s*$", out, re.M):
        speeds[m.group(1).strip()] = float(m.group(2).replace(",", ""))
    rows = []
    for mode in ("batch", "per line"):
        ours = speeds.get(f"bertlab chinese_tokenizer, {mode}")
        fast = speeds.get(f"transformers BertTokenizerFast, {mode}")
        if ours and fast:
            rows.append(Row(f"Chinese tokenizer chars/s vs BertTokenizerFast ({mode})", f"{ours:,.0f}", f"{fast:,.0f}",
                            _x(ours / fast), "People's Daily 1998-01, same vocab.txt"))
    view = next((v for k, v in speeds.items() if k.startswith("bertlab tokenize_view")), None)
    slow = speeds.get("transformers BertTokenizer (Python), per line")
    if view and slow:
        rows.append(Row("tokenize_view (tokens + jieba ×3 + wwm) chars/s vs Python BertTokenizer", f"{view:,.0f}",
                        f"{slow:,.0f}", _x(view / slow), "everything the tab shows vs tokens alone"))
    m = re.search(r"tokenize_view median ([\d.]+) ms.*?with the tab's HTML median ([\d.]+) ms", out)
    if m:
        rows.append(Row("Tokenize tab latency, 1,000 characters (median)", f"{float(m.group(2)):.1f} ms", "", "",
                        f"view alone {float(m.group(1)):.1f} ms; target < 100 ms"))
    if not rows:
        raise ValueError("no throughput lines in tokenize.py's output")
    return rows


def parse_cloze(out: str) -> list[Row]:
    rows = []
    for r in _json(out):
        rows.append(Row(f"Cloze top-1 / top-5 (`{r['model']}`, {r['n']} sentences)", f"{r['top1']:.0%} / {r['top5']:.0%}",
                        note=f"{r['seconds']:.1f} s"))
    return rows


def parse_startup(out: str) -> list[Row]:
    d = _json(out)
    rows = [Row("App start-up: page serving", f"{d['serving_s']:.1f} s", note="`python app.py`, empty runs folder"),
            Row("App start-up to first tokenize answer", f"{d['tokenize_answered_s']:.1f} s",
                note=f"first call {d['first_tokenize_s']:.2f} s, second {d['second_tokenize_s']:.2f} s")]
    if "fill_mask_answered_s" in d:
        rows.append(Row("App start-up to first fill-mask answer", f"{d['fill_mask_answered_s']:.1f} s",
                        note=f"asked as soon as the client connected ({d['connected_s']:.1f} s); first call "
                             f"{d['first_fill_mask_s']:.2f} s, second {d['second_fill_mask_s']:.2f} s",
                        key="first_fill_mask_answer_s", value=d["fill_mask_answered_s"]))
        if "fill_mask_after_serving_s" in d:
            rows.append(Row("First fill-mask answer after the page serves", f"{d['fill_mask_after_serving_s']:.1f} s",
                            note="Predict pressed as soon as the page is up (a cold page); target ≤ 3 s",
                            key="first_fill_mask_after_serving_s", value=d["fill_mask_after_serving_s"]))
    else:
        rows.append(Row("App start-up to first fill-mask answer", "—", note=d.get("fill_mask_note", "")))
    return rows


def parse_memory(out: str) -> list[Row]:
    d = _json(out)
    if _skipped(d) is not None:
        raise Skipped(d["skipped"])
    return [Row("Peak RSS of a CLI fine-tuning run vs loading the model only", f"{d['finetune_peak_rss_mb']:.0f} MiB",
                f"{d['baseline_peak_rss_mb']:.0f} MiB", _x(d["finetune_peak_rss_mb"] / d["baseline_peak_rss_mb"]),
                f"`{d['model']}`, {d['steps']} steps × {d['batch_size']}, max length {d['max_length']}; "
                f"training adds {d['training_adds_mb']:.0f} MiB")]


class Skipped(Exception):
    pass


BENCHMARKS = [
    Benchmark("finetune", "finetune_throughput.py", ["--steps", "32", "--grouped"],
              ["--steps", "8", "--eval-rows", "200", "--grouped"], parse_finetune),
    Benchmark("sparse", "pretrain_sparse.py", ["--steps", "12"], ["--steps", "4", "--batch-size", "8"], parse_sparse),
    Benchmark("fill-mask", "fill_mask.py", [], ["--rounds", "3", "--sst2", "0"], parse_fill_mask),
    Benchmark("classify", "classify_batch.py", ["--rows", "2000", "--rounds", "2"], ["--rows", "2000", "--rounds", "1"],
              parse_classify),
    Benchmark("tokenize", "tokenize.py", [], ["--lines", "500", "--slow-lines", "100", "--rounds", "1"],
              parse_tokenize, json=False),
    Benchmark("cloze", "cloze.py", [], [], parse_cloze),
    Benchmark("startup", "startup.py", [], [], parse_startup),
    Benchmark("memory", "memory.py", ["--steps", "20"], ["--steps", "5"], parse_memory),
]


# ------------------------------------------------------------------------------ machine + run


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    probe = subprocess.run([sys.executable, "-c", "import torch, transformers; print(torch.get_num_threads(), "
                            "torch.__version__, transformers.__version__, torch.cuda.is_available())"],
                           capture_output=True, text=True)
    threads, torch_v, tf_v, cuda = (probe.stdout.split() + ["?"] * 4)[:4]
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError):
        mem = 0
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": threads, "memory_gib": round(mem, 1),
            "python": platform.python_version(), "torch": torch_v, "transformers": tf_v, "cuda": cuda,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def run(bench: Benchmark, quick: bool) -> tuple[str, float]:
    cmd = [sys.executable, str(HERE / bench.script)] + (bench.quick if quick else bench.args)
    if bench.json:
        cmd.append("--json")
    env = dict(os.environ, HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1"), TOKENIZERS_PARALLELISM="false")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=bench.timeout)
    except subprocess.TimeoutExpired:
        bench.rows = [Row(bench.name, "failed", note=f"timed out after {bench.timeout} s")]
        return "", time.perf_counter() - start
    seconds = time.perf_counter() - start
    out = proc.stdout
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        # BadInput: the script ran but what it measures is not available here (a missing head...)
        status = "n/a" if "BadInput" in last or "ModelNotFound" in last else "failed"
        bench.rows = [Row(bench.name, status, note=f"exit {proc.returncode}: {last[:200]}")]
        return out + "\n" + proc.stderr[-3000:], seconds
    try:
        bench.rows = bench.parse(out)
    except Skipped as exc:
        bench.rows = [Row(bench.name, "skipped", note=str(exc))]
    except (ValueError, KeyError, TypeError) as exc:
        bench.rows = [Row(bench.name, "failed", note=f"could not read the output: {exc}")]
    return out, seconds


def table(benches: list[Benchmark]) -> str:
    lines = ["| benchmark | bertlab | baseline | ratio | notes |", "|---|---:|---:|---:|---|"]
    for bench in benches:
        for r in bench.rows:
            lines.append(f"| {r.what} | {r.bertlab} | {r.baseline} | {r.ratio} | {r.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: minutes, not tens of minutes")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these (repeatable or comma-separated): {', '.join(names)}")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="markdown file to write (default %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="progress on stderr; on stdout one JSON object with the headline \"ratios\" and every row")
    args = parser.parse_args(argv)
    log = sys.stderr if args.json else sys.stdout
    chosen = [n.strip() for item in (args.only or []) for n in item.split(",") if n.strip()] or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    benches = [b for b in BENCHMARKS if b.name in chosen]

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, "
          f"{info['memory_gib']} GiB; load average {', '.join(f'{x:.1f}' for x in info['load_average'] or [])}",
          flush=True, file=log)
    outputs = {}
    started = time.strftime("%Y-%m-%d %H:%M")
    for bench in benches:
        print(f"running {bench.name} ({bench.script}{' --quick sizes' if args.quick else ''}) ...", flush=True, file=log)
        out, seconds = run(bench, args.quick)
        outputs[bench.name] = (out, seconds)
        for r in bench.rows:
            print(f"  {r.what}: {r.bertlab}" + (f" vs {r.baseline}" if r.baseline else "")
                  + (f" = {r.ratio}" if r.ratio else "") + (f"  ({r.note})" if r.note else ""), flush=True, file=log)
        print(f"  [{seconds:.0f} s]", flush=True, file=log)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None

    md = table(benches)
    print("\n" + md, file=log)
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + \
        (f" --only {','.join(chosen)}" if args.only else "")
    load = ", ".join(f"{x:.1f}" for x in info["load_average"] or [])
    load2 = ", ".join(f"{x:.1f}" for x in load_after or [])
    peak_load = max([(info["load_average"] or [0])[0], (load_after or [0])[0]])
    busy = ("above the core count: other work shared the cores and absolute figures suffer"
            if peak_load > info["cores"] else "below the core count: no other work of note shared the cores")
    doc = ["# Benchmark results", "",
           f"`{command}`, {started}.", "",
           f"Machine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, "
           f"{info['memory_gib']} GiB RAM, CUDA {info['cuda']}; Python {info['python']}, torch {info['torch']}, "
           f"transformers {info['transformers']}. Load average (1, 5, 15 min) {load} at the start and {load2} at "
           f"the end ({busy}; every ratio compares two sides measured in the same run, taking turns).", "",
           md, "", "## Raw output", ""]
    for bench in benches:
        out, seconds = outputs[bench.name]
        cmd = " ".join(["python", f"benchmarks/{bench.script}"] + (bench.quick if args.quick else bench.args)
                       + (["--json"] if bench.json else []))
        doc += [f"<details><summary>{bench.name}: <code>{cmd}</code> ({seconds:.0f} s)</summary>", "", "```",
                out.strip()[-6000:], "```", "</details>", ""]
    # Outputs recorded by hand under "## Recorded separately" (long or quiet-machine runs) stay.
    previous = Path(args.out).read_text(encoding="utf-8") if Path(args.out).exists() else ""
    kept = previous[previous.find(RECORDED):] if RECORDED in previous else ""
    Path(args.out).write_text("\n".join(doc) + ("\n" + kept if kept else ""), encoding="utf-8")
    print(f"\nwritten to {args.out}", file=log)
    if args.json:
        ratios = {r.key: r.value for bench in benches for r in bench.rows if r.key and r.value is not None}
        rows = [dict(vars(r), benchmark=bench.name) for bench in benches for r in bench.rows]
        print(json.dumps({"ratios": ratios, "ratio_meanings": {k: RATIO_KEYS[k] for k in ratios},
                          "missing": [k for k in RATIO_KEYS if k not in ratios], "rows": rows,
                          "machine": dict(info, load_average_end=load_after), "command": command,
                          "started": started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
