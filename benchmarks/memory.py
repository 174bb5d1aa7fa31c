"""Peak memory (resident set size) of a short fine-tuning run, as a user runs it from the CLI.

    python benchmarks/memory.py [--steps 20] [--train FILE] [--model default] [--json]

Each figure is one fresh process's peak RSS, read from the kernel's accounting when it exits
(os.wait4's ru_maxrss), so nothing is sampled and nothing is missed:
  * finetune -- `python -m bertlab finetune --model default --max-steps N --batch-size 16 ...` on the
                project's example English sentiment data (or --train FILE), including its
                evaluation, checkpoint and final save
  * baseline -- the same interpreter importing torch + transformers and loading the same model,
                without training: what any use of the model costs
The difference is what training adds (gradients, AdamW's two moments, activations).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script this folder is first on sys.path, and its tokenize.py would shadow the stdlib's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
EXAMPLE = ROOT / "examples" / "data" / "sentiment_en.csv"

BASELINE = """
import sys
sys.path.insert(0, {root!r})
from bertlab.modeling.registry import load_model
loaded = load_model({model!r}, head="classification", task="finetune", allow_new_head=True, num_labels=2)
print(sum(p.numel() for p in loaded.model.parameters()))
"""


def peak_rss(cmd: list[str], env: dict) -> tuple[int, int, str]:
    """Run cmd; return (exit code, peak RSS in bytes, tail of its output)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        # Linux reports ru_maxrss in KiB (macOS in bytes).
        scale = 1 if sys.platform == "darwin" else 1024
        return proc.returncode, usage.ru_maxrss * scale, out.read()[-3000:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps (default 20)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--model", default="default")
    parser.add_argument("--train", default=str(EXAMPLE), help="labeled file (default: examples/data/sentiment_en.csv)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not Path(args.train).exists():
        message = f"skipped: {args.train} not found"
        print(json.dumps({"skipped": message}) if args.json else message)
        return 0

    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory(prefix="bertlab-memory-") as tmp:
        env["BERTLAB_RUNS"] = tmp
        code, base_rss, base_out = peak_rss(
            [sys.executable, "-c", BASELINE.format(root=str(ROOT), model=args.model)], env)
        if code != 0:
            raise SystemExit(f"loading {args.model} failed:\n{base_out}")
        params = int(base_out.strip().splitlines()[-1])
        out = Path(tmp) / "run"
        code, run_rss, run_out = peak_rss(
            [sys.executable, "-m", "bertlab", "finetune", "--train", args.train, "--model", args.model,
             "--max-steps", str(args.steps), "--batch-size", str(args.batch_size),
             "--max-length", str(args.max_length), "--out", str(out), "--quiet"], env)
        if code != 0:
            raise SystemExit(f"the fine-tuning run failed (exit {code}):\n{run_out}")
        results = json.loads((out / "results.json").read_text())
    result = {"model": args.model, "params": params, "train_file": args.train, "steps": args.steps,
              "batch_size": args.batch_size, "max_length": args.max_length,
              "finetune_peak_rss_mb": run_rss / 2 ** 20, "baseline_peak_rss_mb": base_rss / 2 ** 20,
              "training_adds_mb": (run_rss - base_rss) / 2 ** 20,
              "eval_accuracy": results.get("eval_accuracy")}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model {args.model} ({params / 1e6:.1f} M parameters), {args.steps} steps x batch {args.batch_size}, "
          f"max length {args.max_length}, data {Path(args.train).name}")
    print(f"peak RSS, fine-tuning run (CLI):   {result['finetune_peak_rss_mb']:8.0f} MiB")
    print(f"peak RSS, loading the model only:  {result['baseline_peak_rss_mb']:8.0f} MiB")
    print(f"training adds:                     {result['training_adds_mb']:8.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
