"""python -m bertlab runs list | show RUN | stop RUN | delete RUN | resume RUN | compare RUN RUN [...]"""

from __future__ import annotations

HELP = "list, inspect, compare, stop, resume or delete training runs"


def add_arguments(parser):
    parser.add_argument("action", nargs="?", default="list",
                        choices=["list", "show", "stop", "delete", "resume", "compare"])
    parser.add_argument("run", nargs="*", help="run id (folder name under runs/) or a run folder path; "
                        "compare takes two to five")
    parser.add_argument("--x", choices=["step", "time"], default="step",
                        help="compare: curve points by step or by elapsed time (default step)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from ..training import runs
    from ..cli import print_json
    from ..errors import BadInput

    if args.action == "list":
        rows = runs.list_runs()
        if args.json:
            print_json(rows)
        elif not rows:
            print(f"no runs in {runs.runs_root()}")
        else:
            print(f"{'run':40} {'task':9} {'state':12} {'step':>11} {'loss':>8}  message")
            for r in rows:
                step = f"{r['step'] or 0}/{r['total_steps'] or '?'}"
                loss = f"{r['loss']:.4f}" if isinstance(r.get("loss"), (int, float)) else "-"
                print(f"{r['run'][:40]:40} {r['task']:9} {r['state']:12} {step:>11} {loss:>8}  {r['message']}")
        return 0
    if not args.run:
        raise BadInput(f"runs {args.action} needs a RUN (see python -m bertlab runs list)")
    if args.action == "compare":
        from ..training.compare import compare_runs

        result = compare_runs(args.run, x=args.x)
        if args.json:
            print_json(result)
            return 0
        finals = result["finals"]
        keys = [k for k in finals[0] if k != "run" and any(f.get(k) is not None for f in finals)]
        print(f"{'run':40} " + " ".join(f"{k:>14}" for k in keys))
        for row in finals:
            print(f"{row['run'][:40]:40} " + " ".join(f"{str(row.get(k) if row.get(k) is not None else '-'):>14}"
                                                      for k in keys))
        if result["config_diff"]:
            print("\nsettings that differ:")
            for field, *values in result["config_diff"]:
                print(f"  {field:32} " + " | ".join(values))
        else:
            print("\nthe runs' settings are the same")
        return 0
    if len(args.run) > 1:
        raise BadInput(f"runs {args.action} takes one RUN, got {len(args.run)}")
    args.run = args.run[0]
    if args.action == "show":
        state = runs.run_state(args.run, tail=20)
        if args.json:
            print_json(state)
        else:
            s = state["summary"]
            print(f"run      {s['path']}\ntask     {s['task']}\nmodel    {s['model']}\nstate    {s['state']}"
                  f" {state['status'].get('message', '')}\nstep     {s['step']}/{s['total_steps']}")
            for key, value in state["results"].items():
                if isinstance(value, (int, float)):
                    print(f"{key:24} {value}")
        return 0
    if args.action == "stop":
        runs.request_stop(args.run)
        print(f"stop requested for {args.run}")
        return 0
    if args.action == "delete":
        runs.delete_run(args.run)
        print(f"deleted {args.run}")
        return 0
    if args.action == "resume":
        folder = runs.resume_run(args.run)
        print(f"resuming {folder} in the background (python -m bertlab runs show {folder})")
        return 0
    return 2
