"""The evaluation on a Ray cluster (`--ray [ADDRESS]`): the only module that imports Ray.

Each replica is one Ray actor that builds the configured `UserModel` once and answers the
grader's batches through its `batch_predict`, so routing, constraints, the deadline guard and
the per-answer records are the single-process code. The driver cuts the batches exactly as the
grader does (asking a replica's `get_batch_size()` before each), hands them to Ray's
`ActorPool` (Ray's scheduling and backpressure: one batch per idle replica) and yields each
reply as it comes back; `evaluation.generate_answers` checks it and appends it to
`predictions.jsonl`, the one writer.

Faults are Ray's: a replica whose process dies (killed, out of memory, its node lost) is
restarted by Ray, which builds the model again, and the batch it held is retried
(`max_restarts`, `max_task_retries`); when those are spent the run stops with the answers saved
so far. The calibration prior and the deadline guard's level live in each replica's model, so
they are per replica.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.common.errors import one_line
from runtime.common.records import AnswerRecord, RunReport, batch_records, reporting
from runtime.common.settings import ConfigError
from runtime.grading.config import EvaluationConfig

# Seconds to wait for a TCP answer from a cluster's address before saying it is unreachable
# (Ray itself waits minutes).
REACH_TIMEOUT_S = 5.0
LOCAL = "local"  # `--ray` without an address: a Ray instance on this machine


@dataclass
class BatchReply:
    """What a replica sends back for one batch."""

    batch: int
    reply: Any  # checked by the driver as the grader would
    records: list[AnswerRecord | None]
    seconds: float
    replica: int


class ModelFailed(RuntimeError):
    """The model's own code raised on a replica; the message names it."""


class ReplicaLost(RuntimeError):
    """A replica died and Ray's restarts and retries are spent."""


class Replica:
    """One replica: the configured model built once, in the actor's process."""

    def __init__(self, model_class: type, weights: str | None, index: int,
                 adapter: str | None = None) -> None:
        given = {name: Path(value) for name, value in (("weights", weights),
                                                        ("adapter", adapter)) if value}
        self.model = model_class(**given)
        self.index = index

    def batch_size(self) -> Any:
        return self.model.get_batch_size()

    def answer(self, batch: int, prompts: list[str], is_multiple_choice: bool) -> BatchReply:
        started = time.perf_counter()
        reply = self.model.batch_predict({"prompt": prompts}, is_multiple_choice)
        seconds = time.perf_counter() - started
        count = len(reply) if isinstance(reply, list) else 0
        return BatchReply(batch, reply, batch_records(reporting(self.model), count), seconds,
                          self.index)

    def run_report(self) -> RunReport | None:
        reporter = reporting(self.model)
        return reporter.run_report() if reporter is not None else None

    def pid(self) -> int:
        return os.getpid()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, an optional extra: pip install '.[cluster]' (in "
                          "this checkout: .venv/bin/python -m pip install -e '.[cluster]')") \
            from None
    return ray


def check_reachable(address: str) -> None:
    """Every address form, checked before Ray is asked: `local` and `auto` as they are; a
    head node's host:port, or Ray Client's ray://host[:port], refused in one line when nothing
    answers a TCP connection there within a few seconds (Ray would wait for minutes); any other
    scheme refused."""
    if address in (LOCAL, "auto"):
        return
    scheme, found, rest = address.partition("://")
    if found and scheme != "ray":
        raise ConfigError(f"--ray {address}: Ray takes the head node's host:port, auto, or "
                          f"ray://host:port (Ray Client), not a {scheme}:// address")
    where = rest if found else address
    host, _, port = where.rstrip("/").rpartition(":")
    if found and (not host or not port.isdigit()):
        host, port = where.rstrip("/"), "10001"  # Ray Client's port
    host = host.strip("[]")  # an IPv6 host in brackets
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--ray {address}: give the head node's host:port (as `ray start "
                          "--head` prints it), ray://host:port, or auto")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except (OSError, UnicodeError) as err:
        raise ConfigError(f"--ray {address}: cannot reach a Ray cluster there "
                          f"({one_line(err)}): start one with `ray start --head` on the head "
                          "node, or check the address") from None


def check_cluster_address(address: str) -> None:
    """Ray installed and the address usable, said in one line before a run starts."""
    _ray()
    check_reachable(address)


class Cluster:
    """A connection to Ray and this run's replicas; `close()` ends both (a Ray instance this
    run started is shut down, a cluster it joined is left running)."""

    def __init__(self, config: EvaluationConfig, model_class: type) -> None:
        ray = _ray()
        self.ray = ray
        self.config = config
        address = config.ray or LOCAL
        check_reachable(address)
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            try:
                ray.init(address=None if address == LOCAL else address,
                         include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
            # Ray's own failures to connect are of many kinds (ConnectionError, RuntimeError,
            # ValueError for an address it cannot read): each means this address.
            except Exception as err:  # noqa: BLE001
                raise ConfigError(f"--ray {address}: Ray could not start or join a cluster "
                                  f"there ({type(err).__name__}: {one_line(err)}); start one "
                                  "with `ray start --head`, or check the address") from None
        try:
            self._check_resources()
            # Two threads per actor: the grader's get_batch_size() before each batch is
            # answered while the replica is inside a batch_predict (the pool gives a replica
            # one batch at a time), so cutting the next batch never waits on a busy replica.
            remote = ray.remote(Replica).options(
                num_cpus=config.cpus_per_replica, num_gpus=config.gpus_per_replica,
                max_restarts=config.replica_retries, max_task_retries=config.replica_retries,
                max_concurrency=2)
            weights = str(config.weights) if config.weights else None
            adapter = str(config.adapter) if config.adapter else None
            self.replicas = [remote.remote(model_class, weights, index, adapter)
                             for index in range(config.replicas)]
            # Every replica built before the first batch: a model that cannot be built is
            # said here, once.
            self._get_with(lambda: ray.get([r.pid.remote() for r in self.replicas]),
                           "__init__")
            from ray.util.actor_pool import ActorPool

            self.pool = ActorPool(list(self.replicas))
        except BaseException:
            self.close()
            raise

    def _check_resources(self) -> None:
        """Refuse, in one line, replicas the cluster cannot place (Ray would wait forever)."""
        total = self.ray.cluster_resources()
        wanted = self.config
        gpus = wanted.replicas * wanted.gpus_per_replica
        if gpus > total.get("GPU", 0):
            raise ConfigError(f"--replicas {wanted.replicas} × --gpus-per-replica "
                              f"{wanted.gpus_per_replica:g} asks for {gpus:g} GPUs; the "
                              f"cluster has {total.get('GPU', 0):g}")
        if wanted.gpus_per_replica:
            per_node = max((n["Resources"].get("GPU", 0) for n in self.ray.nodes()
                            if n.get("Alive")), default=0)
            if wanted.gpus_per_replica > per_node:
                raise ConfigError(f"--gpus-per-replica {wanted.gpus_per_replica:g}: no node "
                                  f"has that many (at most {per_node:g}); a replica's GPUs "
                                  "must be on one node")
        cpus = wanted.replicas * wanted.cpus_per_replica
        if cpus > total.get("CPU", 0):
            raise ConfigError(f"--replicas {wanted.replicas} × --cpus-per-replica "
                              f"{wanted.cpus_per_replica} needs {cpus} CPUs; the cluster has "
                              f"{total.get('CPU', 0):g}")

    def batch_size(self) -> Any:
        """The first replica's `get_batch_size()`, asked before every batch as the grader
        asks; a model error comes back as ModelFailed."""
        return self._get(self.replicas[0].batch_size.remote(), "get_batch_size()")

    def answers(self, batches: Iterator[tuple[int, list[str], bool]],
                timeout_s: float | None) -> Iterator[BatchReply]:
        """Each batch's reply as soon as a replica returns it. Batches are handed out as
        replicas become free; `timeout_s` bounds the wait for the next reply."""
        pending = 0
        for batch in batches:
            self.pool.submit(lambda actor, b: actor.answer.remote(*b), batch)
            pending += 1
            while not self.pool.has_free() and pending:
                yield self._next(timeout_s)
                pending -= 1
        while pending:
            yield self._next(timeout_s)
            pending -= 1

    def _next(self, timeout_s: float | None) -> BatchReply:
        try:
            return self._get_with(lambda: self.pool.get_next_unordered(timeout=timeout_s),
                                  "batch_predict")
        except TimeoutError:
            raise ModelFailed(f"no replica returned a batch within {timeout_s:g} s "
                              "(--batch-timeout)") from None

    def _get(self, ref: Any, what: str) -> Any:
        return self._get_with(lambda: self.ray.get(ref), what)

    def _get_with(self, get: Any, what: str) -> Any:
        exceptions = self.ray.exceptions
        try:
            return get()
        except exceptions.RayTaskError as err:
            cause = err.cause if getattr(err, "cause", None) is not None else err
            if isinstance(cause, ConfigError):
                raise cause from None
            raise ModelFailed(f"{what} raised {type(cause).__name__}: {cause}") from None
        except exceptions.RayActorError as err:
            if getattr(err, "actor_init_failed", False) or what == "__init__":
                raise ModelFailed(f"a replica could not build the model: "
                                  f"{_first_line(err)}") from None
            raise ReplicaLost(f"a replica died and Ray's {self.config.replica_retries} restarts "
                              f"are spent ({_first_line(err)})") from None

    def run_reports(self) -> list[RunReport | None]:
        return [self._get(replica.run_report.remote(), "run_report()")
                for replica in self.replicas]

    def close(self) -> None:
        for replica in getattr(self, "replicas", []):
            self.ray.kill(replica, no_restart=True)
        if self.started_ray:
            self.ray.shutdown()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
