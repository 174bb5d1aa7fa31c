"""python -m bertlab export-onnx RUN [--no-int8] [--max-validation N] [--json]

A finished fine-tuning run as ONNX and int8 ONNX files in RUN/export/, with each form's size on
disk, p50 latency and validation accuracy/F1 beside the PyTorch model's (bertlab/compress.py).
"""

from __future__ import annotations

HELP = "export a fine-tuned run to ONNX and int8 ONNX, and compare size, latency and accuracy with PyTorch"


def add_arguments(parser):
    parser.add_argument("run", help="a finished fine-tuning run: its id under the runs folder, or its folder")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 (dynamic quantization) form")
    parser.add_argument("--max-validation", type=int, default=0, metavar="N",
                        help="measure accuracy on the first N validation rows only (default: all)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run(args) -> int:
    from ..cli import print_json
    from ..inference.compress import export_run

    result = export_run(args.run, int8=not args.no_int8, max_validation=args.max_validation)
    if args.json:
        print_json(result)
        return 0
    print(f"wrote {result['folder']} (export {result['export_s']:.0f} s)")
    print(f"{'form':8} {'size MB':>8} {'p50 ms':>8} {'accuracy':>9} {'F1':>7} {'same label as PyTorch':>22}")
    for row in result["forms"]:
        acc = f"{row['accuracy']:.4f}" if "accuracy" in row else "-"
        f1 = f"{row['f1']:.4f}" if "f1" in row else "-"
        size = f"{row['size_mb']:.1f}" if row["size_mb"] is not None else "-"
        print(f"{row['form']:8} {size:>8} {row['p50_ms']:8.2f} {acc:>9} {f1:>7} "
              f"{row['agreement_with_pytorch']:>22.1%}")
    print(f"validation: {result['validation_rows']} rows; latency: {result['latency']}")
    if result["note"]:
        print(f"note: {result['note']}")
    return 0
