"""Which devices a run trains on: TensorFlow's own tf.distribute strategies, nothing home-made.

--strategy default      one device (the first GPU, else the CPU).
--strategy mirrored     every local GPU (else every logical CPU device) in one process;
                        MirroredStrategy all-reduces the gradients each step.
--strategy multiworker  one process per host (or per GPU group); TF_CONFIG names the cluster and
                        this process's task; MultiWorkerMirroredStrategy all-reduces across hosts.

Global batch semantics: --batch (or the batch schedule's entry) is the global batch of one step.
With R replicas each sees batch / R rows, and with --grad-accum K those rows run as K micro-batches
of batch / (R * K). Every random number of a step (z, noise, augmentation, the GP's mixing
weights) is drawn for the whole global batch from a seed that depends only on (--seed, step), and
each replica / micro-batch keeps its own rows (gantool.train.draws.Draws): replicas get different
noise, and the run equals a one-device run with the same global batch up to float rounding,
except where a layer uses statistics of the batch it sees: BatchNorm is synchronised across
replicas (the same statistics as one device) but sees only a micro-batch under --grad-accum,
and pggan's minibatch-stddev groups images within a replica / micro-batch.

Only the chief (task "chief", or worker 0 when the cluster has no chief) writes the run folder;
the other workers save their checkpoints to a scratch folder, as TF requires every worker to save.

GANTOOL_CPU_DEVICES=N splits the CPU into N logical devices at TensorFlow's start (gantool.tfquiet,
which imports TF), so mirrored can be tried (and is tested) on a machine without GPUs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from gantool.errors import UsageError
from gantool.tfquiet import import_tf

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass
class Dist:
    name: str
    strategy: Any
    replicas: int
    is_chief: bool = True
    task: str = "chief"       # "worker 1", ... for messages and results
    workers: int = 1

    def scope(self):
        return self.strategy.scope()


def cluster_spec(env: str | None = None) -> dict:
    """TF_CONFIG parsed and checked: {"cluster": {...}, "task": {"type": ..., "index": ...}}."""
    text = os.environ.get("TF_CONFIG", "") if env is None else env
    if not text.strip():
        raise UsageError("--strategy multiworker: TF_CONFIG is not set; it names the cluster and this "
                         "process's task (see docs/distributed.md)")
    try:
        spec = json.loads(text)
        cluster, task = spec["cluster"], spec["task"]
        kind, index = str(task["type"]), int(task["index"])
        hosts = cluster[kind]
    except (ValueError, KeyError, TypeError):
        raise UsageError('TF_CONFIG: not {"cluster": {"worker": ["host:port", ...]}, '
                         '"task": {"type": "worker", "index": 0}}') from None
    if not 0 <= index < len(hosts):
        raise UsageError(f"TF_CONFIG: task index {index} is outside the {len(hosts)} {kind} address(es)")
    return spec


def role(spec: dict) -> tuple[bool, str, int]:
    """(is chief, task name, number of worker processes) from a parsed TF_CONFIG."""
    cluster, task = spec["cluster"], spec["task"]
    kind, index = task["type"], int(task["index"])
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    chief = kind == "chief" or (kind == "worker" and index == 0 and not cluster.get("chief"))
    return chief, f"{kind} {index}", workers


def writes_run_folder(name: str) -> bool:
    """True unless this process is a non-chief worker of a multiworker cluster."""
    return name != "multiworker" or role(cluster_spec())[0]


def check_strategy(name: str) -> None:
    if name not in STRATEGIES:
        raise UsageError(f"--strategy: must be one of {', '.join(STRATEGIES)}, got {name!r}")
    if name == "multiworker":
        cluster_spec()


def make(name: str) -> Dist:
    """The strategy for a run; call it before any other TensorFlow op (MultiWorkerMirrored
    must be created first)."""
    check_strategy(name)
    tf = import_tf()
    if name == "default":
        return Dist(name, tf.distribute.get_strategy(), 1)
    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=local_devices(tf))
        return Dist(name, strategy, strategy.num_replicas_in_sync)
    spec = cluster_spec()
    chief, task, workers = role(spec)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Dist(name, strategy, strategy.num_replicas_in_sync, chief, task, workers)


def local_devices(tf) -> list[str]:
    """The devices mirrored trains on here: every logical GPU, else every logical CPU."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def replicas_for(name: str) -> int:
    """How many replicas `name` would train on, without creating the strategy (for --dry-run;
    multiworker: processes in TF_CONFIG times this host's GPUs, assuming alike hosts)."""
    if name == "default":
        return 1
    tf = import_tf()
    if name == "mirrored":
        return len(local_devices(tf))
    return role(cluster_spec())[2] * max(1, len(tf.config.list_logical_devices("GPU")))


def local_slice(dist: Dist, batch):
    """A global batch (a tensor every worker holds) as per-replica values: replica r of the
    cluster gets rows [r * n, (r + 1) * n) with n = global / replicas. The default strategy
    gets the tensor itself."""
    if dist.replicas == 1 and dist.name == "default":
        return batch
    n = int(batch.shape[0]) // dist.replicas

    def rows(ctx):
        r = ctx.replica_id_in_sync_group
        return batch[r * n:(r + 1) * n]

    return dist.strategy.experimental_distribute_values_from_function(rows)
