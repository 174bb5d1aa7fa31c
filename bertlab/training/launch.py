"""Starting a run through `accelerate launch` with a config file.

The same run scales from one CPU process to several GPUs or nodes by launching the unchanged
command under `accelerate launch --config_file F`. The CLI (`--accelerate-config F`) and the page
(an uploaded config in the training tabs) both end here: the file is checked first, so a typo is
a message naming the file and key instead of a worker that dies in the launcher, and the run is
then started as `python -m accelerate.commands.launch --config_file F -m bertlab ...`.

No torch import here: the page checks an uploaded config without loading the training stack.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from ..errors import BadInput

# Set in the environment of the processes the launcher starts, so the command they run (the same
# `finetune` / `pretrain` / `worker` command) trains instead of launching again.
LAUNCHED_ENV = "BERTLAB_LAUNCHED"

# The keys of accelerate's ClusterConfig (accelerate 1.x `accelerate config` output) that a run on
# this machine or a cluster of machines may use. Left out on purpose: the TPU-pod keys (`commands`,
# `command_file`, `tpu_*`), which make the launcher run shell commands on other hosts, and
# SageMaker (`compute_environment: AMAZON_SAGEMAKER`), which launches in the cloud.
ALLOWED_KEYS = {
    "compute_environment", "distributed_type", "mixed_precision", "use_cpu", "debug", "num_processes",
    "machine_rank", "num_machines", "gpu_ids", "main_process_ip", "main_process_port", "rdzv_backend",
    "same_network", "main_training_function", "enable_cpu_affinity", "fp8_config", "deepspeed_config",
    "fsdp_config", "parallelism_config", "megatron_lm_config", "mpirun_config", "downcast_bf16",
    "dynamo_config", "ipex_config",
}
DISTRIBUTED_TYPES = {"NO", "MULTI_CPU", "MULTI_GPU", "MULTI_NPU", "MULTI_MLU", "MULTI_SDAA", "MULTI_MUSA",
                     "MULTI_XPU", "MULTI_HPU", "DEEPSPEED", "FSDP", "XLA", "MEGATRON_LM"}
MAX_CONFIG_BYTES = 64 * 1024


def launched() -> bool:
    """True inside a process that `accelerate launch` started for bertlab."""
    return os.environ.get(LAUNCHED_ENV) == "1"


def check_accelerate_config(path: str | Path) -> dict:
    """Read and check an accelerate config file (YAML or JSON, as `accelerate config` writes);
    returns its settings or raises BadInput naming the file and what is wrong."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"accelerate config {path} not found") from None
    except OSError as exc:
        raise BadInput(f"cannot read the accelerate config {name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise BadInput(f"{name}: {len(raw)} bytes is too big for an accelerate config "
                       f"(limit {MAX_CONFIG_BYTES // 1024} KB)")
    if b"\0" in raw:
        raise BadInput(f"{name}: a binary file, not an accelerate config (YAML or JSON)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text (byte {exc.start}); an accelerate config is YAML or JSON") from None
    try:
        if path.suffix.lower() == ".json":
            settings = json.loads(text)
        else:
            import yaml  # accelerate depends on PyYAML

            settings = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError / yaml.YAMLError carry the line
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else (
            f" at line {exc.lineno}" if hasattr(exc, "lineno") else "")
        raise BadInput(f"{name}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}{line}: "
                       f"{getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(settings, dict) or not settings:
        raise BadInput(f"{name}: an accelerate config is a mapping of settings such as "
                       f"'distributed_type: MULTI_GPU' and 'num_processes: 2'")
    unknown = sorted(str(k) for k in settings if k not in ALLOWED_KEYS)
    if unknown:
        raise BadInput(f"{name}: key(s) {', '.join(unknown)} are not accelerate launch settings bertlab "
                       f"accepts (TPU-pod commands and SageMaker are not supported)")
    environment = settings.get("compute_environment", "LOCAL_MACHINE")
    if environment != "LOCAL_MACHINE":
        raise BadInput(f"{name}: compute_environment {environment!r} is not supported; use LOCAL_MACHINE")
    kind = str(settings.get("distributed_type", "NO"))
    if kind not in DISTRIBUTED_TYPES:
        raise BadInput(f"{name}: distributed_type {kind!r} is unknown; use one of "
                       f"{', '.join(sorted(DISTRIBUTED_TYPES))}")
    for key in ("num_processes", "num_machines", "machine_rank", "main_process_port"):
        value = settings.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "machine_rank" else 1):
            raise BadInput(f"{name}: {key} must be a whole number"
                           f"{' ≥ 0' if key == 'machine_rank' else ' ≥ 1'}, not {value!r}")
    return settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_command(config_path: str | Path, module_args: list[str]) -> list[str]:
    """`python -m accelerate.commands.launch --config_file F [...] -m bertlab MODULE_ARGS`."""
    settings = check_accelerate_config(config_path)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_path)]
    # One machine and no port named: pick a free one, so two runs (or another program on the
    # default 29500) never collide. Several machines must agree on the port: theirs is kept.
    if int(settings.get("num_machines") or 1) == 1 and not settings.get("main_process_port"):
        cmd += ["--main_process_port", str(_free_port())]
    return cmd + ["-m", "bertlab", *module_args]


def project_env(**extra: str) -> dict[str, str]:
    """The environment for a `python -m bertlab ...` child: the checkout that holds this package on
    PYTHONPATH, so the child imports the same bertlab whatever directory the app was started from."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", **extra)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in paths if p != root])
    return env


def launch_env() -> dict[str, str]:
    return project_env(**{LAUNCHED_ENV: "1"})
