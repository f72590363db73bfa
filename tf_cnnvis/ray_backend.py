"""Rendering the batches of a run as Ray tasks, on this machine or a cluster (```ray```).

Ray is an optional dependency (``pip install -r requirements-ray.txt``). Each batch of classes is
one task that executes the run's :class:`~tf_cnnvis.run.RunSpec` into the shared output folder.
A task that Ray retries after its worker died leaves alone the PNGs its earlier attempt finished
(written since the run started), and no PNG is ever half-written: they appear by atomic rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .batching import batches
from .errors import FaultError, UserError, VisualizationError
from .run import RunSpec

# Retries of a task whose worker process died (killed, out of memory, node lost).
TASK_RETRIES = 3

# One model per worker process and model source: tasks of a run reuse it instead of loading it.
_MODELS: dict = {}


def render_job(spec: RunSpec, batch: tuple[int, ...], since: float = 0.0) -> list[dict]:
    """Execute ``spec`` for one ``batch`` in this process, leaving alone the classes whose PNG
    was written at ``since`` or later; return the report rows of what it rendered."""
    from .layout import missing_classes
    from .run import execute

    if spec.model is None or spec.outdir is None:
        raise UserError("a Ray task needs a spec with a `model` source and an `outdir`")
    if spec.model not in _MODELS:
        _MODELS[spec.model] = spec.model.load()
    todo = missing_classes(Path(spec.outdir) / spec.layer_folder, batch, since)
    if not todo:
        return []
    results = execute(_MODELS[spec.model], spec, todo, log=lambda line: None)
    return [result.row() for result in results]


def _ray_task(spec: RunSpec, batch: tuple[int, ...], since: float) -> list[dict]:
    """:func:`render_job` in a Ray worker, TensorFlow using only the CPUs Ray gave the task."""
    import ray

    from .runtime import configure_tensorflow, limit_threads

    cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))
    if cpus >= 1:
        if not _MODELS:  # thread pools can only be sized before TensorFlow first runs
            limit_threads(cpus)
        spec = replace(spec, execution=replace(spec.execution, host_threads=cpus))
    configure_tensorflow(spec.execution.precision)
    return render_job(spec, batch, since)


def start_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address``, or start a local Ray instance."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "`ray` needs Ray, which is not installed; pip install -r requirements-ray.txt"
        ) from None
    import logging

    options = dict(
        logging_level=logging.ERROR,
        log_to_driver=False,
        include_dashboard=False,
        # Workers import this package from the driver's copy, on this machine or a cluster.
        runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]},
    )
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=num_cpus, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise FaultError(f"cannot start or join {where} ({exc}); check `ray_address`") from None


def run_jobs(
    spec: RunSpec,
    classes: tuple[int, ...],
    since: float,
    done: Callable[[tuple[int, ...], list[dict]], None] = lambda batch, rows: None,
    cpus_per_task: float = 1.0,
) -> list[dict]:
    """Execute ``spec`` for ``classes``, one Ray task per batch (asking for a GPU when the
    cluster has any), leaving alone PNGs written at ``since`` or later; call
    ``done(batch, rows)`` as each finishes, in any order; return all rows.

    A task whose worker dies is retried up to ``TASK_RETRIES`` times; a task that raises (a
    NaN gradient, a bad layer) is not, and its error is raised here.
    """
    import ray

    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus, max_retries=TASK_RETRIES)(_ray_task)
    pending = {
        task.remote(spec, batch, since): batch
        for batch in batches(classes, spec.execution.batch_size)
    }
    rows: list[dict] = []
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                batch = pending.pop(ref)
                try:
                    job_rows = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, VisualizationError):
                        raise cause from None
                    raise FaultError(f"a Ray task failed: {str(exc).splitlines()[0]}") from None
                except ray.exceptions.RayError as exc:
                    raise FaultError(
                        f"a Ray task was lost after {TASK_RETRIES} retries "
                        f"({type(exc).__name__}); run again with `skip_existing`"
                    ) from None
                rows.extend(job_rows)
                done(batch, job_rows)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return rows
