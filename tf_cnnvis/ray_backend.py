"""Rendering the batches of a run as Ray tasks, on this machine or a cluster (``--ray``).

Ray is an optional dependency (``pip install -r requirements-ray.txt``). Each batch of classes is
one task that renders into the shared output folder. A task that Ray retries after its worker
died leaves alone the PNGs its earlier attempt finished (written since the run started), and no
PNG is ever half-written: they appear by atomic rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .batching import batches
from .errors import FaultError, UserError, VisualizationError
from .model import InputScaling
from .render import RenderSettings
from .schedule import Params

# Retries of a task whose worker process died (killed, out of memory, node lost).
TASK_RETRIES = 3


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to render one batch of classes (sent to it by pickle).

    Attributes
    ----------
    model_path : str
        The model file, on storage that every node can read.
    scaling, tile_size, layer :
        How the model is loaded and which layer is visualised.
    params : Params
        The schedule, with ``classes`` being this batch.
    settings : RenderSettings
        Filters and batching.
    outdir, logdir : str
        Output folders, shared between the nodes.
    seed : int
        The run's seed: the batch's random start depends on it and the batch's classes only.
    labels : list of str, optional
        Class names for the report.
    start : array, optional
        A start picture instead of noise.
    not_before : float
        When the run started (``time.time()``): PNGs written since are an earlier attempt's.
    """

    model_path: str
    scaling: InputScaling
    tile_size: int | None
    layer: str
    params: Params
    settings: RenderSettings
    outdir: str
    logdir: str
    seed: int
    labels: list[str] | None = None
    start: np.ndarray | None = None
    not_before: float = 0.0


def jobs_for(template: Job, classes: tuple[int, ...]) -> list[Job]:
    """One job per batch of ``classes``, batched as a single process would batch them."""
    return [
        replace(template, params=replace(template.params, classes=batch))
        for batch in batches(classes, template.settings.batch_size)
    ]


# One model per worker process and model file: tasks of a run reuse it instead of loading it.
_MODELS: dict[tuple, object] = {}


def render_job(job: Job) -> list[dict]:
    """Render one job in this process; return its report rows (see :func:`report.score_row`)."""
    from .layout import missing_classes
    from .model_files import load_model
    from .render import render_classes
    from .report import score_row

    key = (job.model_path, job.scaling, job.tile_size)
    if key not in _MODELS:
        _MODELS[key] = load_model(Path(job.model_path), job.scaling, job.tile_size)
    model = _MODELS[key]
    layer = model.layer(job.layer)

    todo = missing_classes(Path(job.outdir), layer.name, job.params.classes, job.not_before)
    if not todo:
        return []
    results = render_classes(
        layer,
        model.tile_size,
        replace(job.params, classes=todo),
        job.settings,
        Path(job.outdir),
        Path(job.logdir),
        seed=job.seed,
        log=lambda line: None,
        labels=job.labels,
        start=job.start,
    )
    return [score_row(r.score, r.path.name, r.seconds) for r in results]


def _ray_task(job: Job) -> list[dict]:
    """:func:`render_job` in a Ray worker, TensorFlow using only the CPUs Ray gave the task."""
    import ray
    import tensorflow as tf

    cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))
    if cpus >= 1:
        if not _MODELS:  # thread pools can only be sized before TensorFlow first runs
            tf.config.threading.set_intra_op_parallelism_threads(cpus)
            tf.config.threading.set_inter_op_parallelism_threads(cpus)
        job = replace(job, settings=replace(job.settings, host_threads=cpus))
    return render_job(job)


def start_ray(address: str | None, num_cpus: int | None = None) -> None:
    """Join the cluster at ``address``, or start a local Ray instance."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--ray needs Ray, which is not installed; pip install -r requirements-ray.txt"
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
        raise FaultError(f"cannot start or join {where} ({exc}); check --ray_address") from None


def run_jobs(
    jobs: list[Job],
    done: Callable[[Job, list[dict]], None] = lambda job, rows: None,
    cpus_per_task: float = 1.0,
) -> list[dict]:
    """Run every job as a Ray task (asking for a GPU when the cluster has any); call
    ``done(job, rows)`` as each finishes, in any order; return all rows.

    A task whose worker dies is retried up to ``TASK_RETRIES`` times; a task that raises (a
    NaN gradient, a bad layer) is not, and its error is raised here.
    """
    import ray

    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus, max_retries=TASK_RETRIES)(_ray_task)
    pending = {task.remote(job): job for job in jobs}
    rows: list[dict] = []
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                job = pending.pop(ref)
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
                        f"({type(exc).__name__}); run again with --skip_existing"
                    ) from None
                rows.extend(job_rows)
                done(job, job_rows)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return rows
