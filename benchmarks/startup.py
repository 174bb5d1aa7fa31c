"""App start-up time to first answer: `python app.py --port P` as a user starts it, then the first
calls through gradio_client, timed from the moment the process is started.

    python benchmarks/startup.py [--json] [--timeout 300]

Phases (seconds since the process started):
  * serving   -- the page answers HTTP 200 (Blocks built, server up)
  * connected -- gradio_client has read the API description
  * fill-mask -- the first fill-mask call on `default` returns, sent as soon as the client is
                 connected (a Predict pressed at once), measured only when the default model has
                 a masked-LM head (`models --resolve default --json`); also given as seconds
                 after the page started serving (what a user opening the page at once waits)
  * tokenize  -- then the first Chinese tokenize call returns (loads the default-chinese tokenizer
                 and jieba's dictionary on first use)
A second call of each shows the warm latency next to the first. The app runs with an empty runs
folder, offline, so the figure does not depend on what a machine happens to hold.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script this folder is first on sys.path, and its tokenize.py would shadow the stdlib's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_heads(env: dict) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "bertlab", "models", "--resolve", "default", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return []
    return json.loads(proc.stdout).get("heads", [])


def wait_until_serving(url: str, proc: subprocess.Popen, start: float, timeout: float) -> float:
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with code {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"app.py did not serve {url} within {timeout:.0f} s")


def measure(timeout: float) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="bertlab-startup-") as runs_dir:
        env = dict(os.environ, BERTLAB_RUNS=runs_dir, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(ROOT))
        heads = default_heads(env)
        # Imported before the clock starts: the client stands for a browser, which is already running.
        from gradio_client import Client

        log = open(Path(runs_dir) / "app.log", "w")
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            result = {"serving_s": wait_until_serving(url, proc, start, timeout)}
            client = Client(url, verbose=False)
            result["connected_s"] = time.perf_counter() - start
            result["default_heads"] = heads
            if "masked-lm" in heads:
                def fill():
                    return client.predict("The capital of France is [MASK].", "default", "", 5,
                                          api_name="/fill_mask")

                t0 = time.perf_counter()
                raw = fill()[0]
                result["first_fill_mask_s"] = time.perf_counter() - t0
                result["fill_mask_answered_s"] = time.perf_counter() - start
                # What a user who opens the page as soon as it serves and presses Predict waits.
                result["fill_mask_after_serving_s"] = result["fill_mask_answered_s"] - result["serving_s"]
                result["fill_mask_ok"] = isinstance(raw, dict) and "error" not in raw.get("a", {})
                t0 = time.perf_counter()
                fill()
                result["second_fill_mask_s"] = time.perf_counter() - t0
            else:
                result["fill_mask_note"] = "default has no masked-LM head; fill-mask not timed"
            text = "我爱北京天安门，BERT 把中文切成单字。"

            def tokenize():
                return client.predict(text, "", "default-chinese", 0, True, 0, api_name="/tokenize")

            t0 = time.perf_counter()
            summary = tokenize()[0]
            result["first_tokenize_s"] = time.perf_counter() - t0
            result["tokenize_answered_s"] = time.perf_counter() - start
            result["tokenize_ok"] = "Cannot tokenize" not in str(summary)
            t0 = time.perf_counter()
            tokenize()
            result["second_tokenize_s"] = time.perf_counter() - t0
            return result
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the page (default 300)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = measure(args.timeout)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"page serving after          {result['serving_s']:6.2f} s")
    print(f"gradio_client connected at  {result['connected_s']:6.2f} s")
    print(f"first tokenize answered at  {result['tokenize_answered_s']:6.2f} s "
          f"(call {result['first_tokenize_s']:.2f} s; second call {result['second_tokenize_s']:.2f} s)")
    if "first_fill_mask_s" in result:
        print(f"first fill-mask answered at {result['fill_mask_answered_s']:6.2f} s "
              f"({result['fill_mask_after_serving_s']:.2f} s after the page served) "
              f"(call {result['first_fill_mask_s']:.2f} s; second call {result['second_fill_mask_s']:.2f} s)")
    else:
        print(result["fill_mask_note"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
