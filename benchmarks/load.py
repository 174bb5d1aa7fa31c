"""Load: N concurrent users of the page for a bounded time, through gradio_client.

Each client is its own session (as a browser tab is) and loops fill-mask and classification
requests until the time is up; the report gives requests/s, p50/p95/max latency and the error
count per endpoint and overall (target: 0 errors). The baseline, measured first on the same page
and models, is one client alone: the ratio says how much throughput N concurrent users get out of
the page compared with one, and p50/p95 what waiting in the queue costs each of them. Only
loopback addresses are accepted.

    python benchmarks/load.py                         # starts a lab on a free 127.0.0.1 port
    python benchmarks/load.py --clients 16 --duration 30
    python benchmarks/load.py --url http://127.0.0.1:7860/ --fill-model my-run --classify-model my-run
    python benchmarks/load.py --tiny --json           # tiny random models: serving overhead only
    python benchmarks/load.py --tiny --new-sessions 10000  # + server memory after 10,000 new sessions

Models: bertlab's defaults (`default` for fill-mask, `default-sentiment` for classification); one
that cannot be loaded here (no masked-LM head yet, not installed) is replaced by a tiny random
model of the same kind, and the report says so. Exit code: 0 with no errors, 1 otherwise,
2 for bad flags.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "The capital of France is [MASK].",
    "I went to the [MASK] to buy some milk.",
    "She was so [MASK] that she could not stop smiling.",
    "北京是中国的[MASK]都。",
]
REVIEWS = [
    "A warm, funny and beautifully acted film.",
    "The plot makes no sense and the jokes fall flat.",
    "It is not as bad as the critics say.",
    "I would happily watch it again tomorrow.",
]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent sessions (default 8)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20)")
    parser.add_argument("--max-requests", type=int, default=10_000,
                        help="per client, a bound besides the time (default 10000)")
    parser.add_argument("--url", default="", help="an already running page on 127.0.0.1 / localhost; "
                        "default: start one here")
    parser.add_argument("--fill-model", default="default", help="fill-mask model (default: default)")
    parser.add_argument("--classify-model", default="default-sentiment",
                        help="classification model (default: default-sentiment)")
    parser.add_argument("--tiny", action="store_true", help="use tiny random models for both")
    parser.add_argument("--demo", action="store_true", help="start the page in public demo mode")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--new-sessions", type=int, default=0,
                        help="afterwards, N one-request sessions (each a new visitor) and the page's memory "
                             "growth over them (needs the page started here)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.max_requests < 1:
        parser.error("--clients, --duration and --max-requests must be positive")
    if not 0 < args.duration <= 3600:
        parser.error("--duration is bounded to an hour")
    if args.url:
        parts = urlsplit(args.url)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
            parser.error(f"--url must be a loopback address (127.0.0.1, localhost, ::1), not {args.url!r}")
        args.url = args.url.rstrip("/") + "/"
    return args


# ------------------------------------------------------------------------------ the page under load


def tiny_model(folder: Path, head: str) -> str:
    """A tiny random BERT (hidden 32, 2 layers) with the tests' vocabulary."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import write_tiny_model

    return str(write_tiny_model(folder, head))


def usable(service, kind: str, name: str) -> str:
    """'' when `name` loads for `kind` here, else the reason it does not."""
    from bertlab.errors import BadInput

    try:
        if kind == "fill-mask":
            service.fill_mask("a [MASK] test", model=name, top_k=1)
        else:
            service.classify("a test", model=name)
        return ""
    except BadInput as exc:
        return str(exc)


def start_page(args, scratch: Path, notes: list[str]):
    """Launch the lab on a free loopback port, as app.py does; returns (demo, fill, classify)."""
    import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = app.serve(app.parse_args(["--port", str(port)] + (["--demo"] if args.demo else [])),
                     out=io.StringIO())
    service = demo.bertlab_service
    chosen = {}
    for kind, name, head in (("fill-mask", args.fill_model, "masked-lm"),
                             ("classify", args.classify_model, "classification")):
        why = "--tiny" if args.tiny else usable(service, kind, name)
        if why:
            chosen[kind] = tiny_model(scratch / head, head)
            if not args.tiny:
                notes.append(f"{kind}: {name!r} is not usable here ({why}); measured a tiny random model")
            usable(service, kind, chosen[kind])  # load it before the clock starts
        else:
            chosen[kind] = name
    return demo, chosen["fill-mask"], chosen["classify"]


def _wait(barrier: threading.Barrier) -> None:
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_load(url: str, clients: int, duration: float, max_requests: int, fill_model: str,
             classify_model: str) -> dict:
    """Drive `clients` sessions for `duration` seconds; returns the report as a dict."""
    from gradio_client import Client

    records: list[tuple[str, float, str]] = []  # (endpoint, seconds, error or "")
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    go = threading.Event()  # set once the clock has started
    window = {}

    def user(index: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as exc:  # could not even connect: every request it would make failed
            with lock:
                records.append(("connect", 0.0, f"{type(exc).__name__}: {exc}"))
            _wait(ready)
            return
        _wait(ready)
        go.wait()
        for n in range(max_requests):
            if time.monotonic() >= window["end"]:
                break
            endpoint = "fill_mask" if (index + n) % 2 == 0 else "classify"
            started = time.monotonic()
            error = ""
            try:
                if endpoint == "fill_mask":
                    out = client.predict(SENTENCES[(index + n) % len(SENTENCES)], fill_model, "", 5,
                                         api_name="/fill_mask")
                    side = out[0]["a"]
                    if "error" in side:
                        error = side["error"]
                else:
                    label, message = client.predict(REVIEWS[(index + n) % len(REVIEWS)], "", classify_model,
                                                    api_name="/classify")
                    # The page says which model answered; a refusal starts "**Cannot classify".
                    if message.startswith("**Cannot") or not label:
                        error = message or "no label"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                records.append((endpoint, time.monotonic() - started, error))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=120)  # sessions are open: start the clock
    except threading.BrokenBarrierError:
        pass  # a session never opened; the others run, its failure is in the report
    window["start"] = time.monotonic()
    window["end"] = window["start"] + duration
    go.set()
    for thread in threads:
        thread.join(timeout=duration + 120)
    elapsed = time.monotonic() - window["start"]

    def summary(rows):
        ok = [s for _, s, e in rows if not e]
        return {"requests": len(rows), "errors": sum(1 for *_, e in rows if e),
                "requests_per_s": round(len(rows) / elapsed, 2),
                "p50_ms": round(percentile(ok, 0.50) * 1000, 1),
                "p95_ms": round(percentile(ok, 0.95) * 1000, 1),
                "max_ms": round(max(ok) * 1000, 1) if ok else float("nan")}

    report = {"url": url, "clients": clients, "duration_s": round(elapsed, 1),
              "fill_model": fill_model, "classify_model": classify_model,
              "total": summary(records),
              "by_endpoint": {name: summary([r for r in records if r[0] == name])
                              for name in ("fill_mask", "classify")},
              "first_errors": sorted({e for *_, e in records if e})[:5],
              "still_running": sum(t.is_alive() for t in threads)}
    return report


def new_sessions_memory(url: str, count: int, fill_model: str, workers: int = 8) -> dict:
    """`count` visitors that each make one fill-mask request in a session of their own (the call
    API starts a new session per call), and how much this process (the page) grew meanwhile."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import psutil

    process = psutil.Process()
    gc.collect()
    start_rss = process.memory_info().rss
    errors = 0

    def visit(i: int) -> bool:
        with httpx.Client(base_url=url, timeout=60) as http:
            event = http.post("gradio_api/call/fill_mask",
                              json={"data": [SENTENCES[i % len(SENTENCES)], fill_model, "", 3]})
            if event.status_code != 200:
                return False
            answer = http.get(f"gradio_api/call/fill_mask/{event.json()['event_id']}")
            return answer.status_code == 200 and "event: complete" in answer.text

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for ok in pool.map(visit, range(count)):
            errors += not ok
    gc.collect()
    grown = process.memory_info().rss - start_rss
    return {"sessions": count, "errors": errors, "seconds": round(time.perf_counter() - started, 1),
            "rss_start_mb": round(start_rss / 2**20, 1), "rss_growth_mb": round(grown / 2**20, 1),
            "growth_per_1000_sessions_mb": round(grown / 2**20 / count * 1000, 2)}


def print_report(report: dict, notes: list[str]) -> None:
    print(f"load: {report['clients']} clients for {report['duration_s']} s against {report['url']}")
    print(f"models: fill-mask {report['fill_model']}, classify {report['classify_model']}")
    for note in notes:
        print(f"note: {note}")
    header = ("endpoint", "requests", "req/s", "p50 ms", "p95 ms", "max ms", "errors")
    print(f"{header[0]:<10} " + " ".join(f"{h:>8}" for h in header[1:-1]) + f" {header[-1]:>6}")
    rows = [*report["by_endpoint"].items(), ("total", report["total"])]
    for name, s in rows:
        print(f"{name:<10} {s['requests']:>8} {s['requests_per_s']:>8.2f} {s['p50_ms']:>8.1f} "
              f"{s['p95_ms']:>8.1f} {s['max_ms']:>8.1f} {s['errors']:>6}")
    one = report.get("one_client")
    if one:
        print(f"{'1 client':<10} {one['requests']:>8} {one['requests_per_s']:>8.2f} {one['p50_ms']:>8.1f} "
              f"{one['p95_ms']:>8.1f} {one['max_ms']:>8.1f} {one['errors']:>6}   (baseline, alone)")
        if report.get("throughput_vs_one_client"):
            print(f"throughput with {report['clients']} clients: {report['throughput_vs_one_client']:.2f}x "
                  "one client alone")
    for error in report["first_errors"]:
        print(f"error: {error[:300]}")
    fresh = report.get("new_sessions")
    if fresh:
        print(f"{fresh['sessions']:,} new sessions ({fresh['errors']} errors, {fresh['seconds']} s): the page grew "
              f"{fresh['rss_growth_mb']:,.1f} MB from {fresh['rss_start_mb']:,.0f} MB "
              f"({fresh['growth_per_1000_sessions_mb']} MB per 1,000 sessions)")


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a benchmark never downloads
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    notes: list[str] = []
    demo = None
    with tempfile.TemporaryDirectory(prefix="bertlab-load-") as scratch:
        try:
            if args.url:
                url, fill, classify = args.url, args.fill_model, args.classify_model
                if args.tiny:
                    print("--tiny needs the benchmark to start the page itself (leave out --url)",
                          file=sys.stderr)
                    return 2
            else:
                demo, fill, classify = start_page(args, Path(scratch), notes)
                url = demo.local_url
            # Baseline, same page and models: one client alone, so the ratio shows what
            # concurrency buys (and what it costs each user in latency).
            single = run_load(url, 1, min(5.0, args.duration / 3), args.max_requests, fill, classify)
            report = run_load(url, args.clients, args.duration, args.max_requests, fill, classify)
            if args.new_sessions and demo is not None:
                report["new_sessions"] = new_sessions_memory(url, args.new_sessions, fill)
        finally:
            if demo is not None:
                with contextlib.redirect_stdout(io.StringIO()):  # keep --json output clean
                    demo.close()
    report["notes"] = notes
    report["one_client"] = single["total"]
    if single["total"]["requests_per_s"]:
        report["throughput_vs_one_client"] = round(
            report["total"]["requests_per_s"] / single["total"]["requests_per_s"], 2)
    if args.json:
        print(json.dumps(report))  # one line: benchmarks/__main__.py reads the last JSON line
    else:
        print_report(report, notes)
    errors = report["total"]["errors"] + report["one_client"]["errors"]
    return 0 if errors == 0 and report["total"]["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
