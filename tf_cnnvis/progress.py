"""A progress bar over classes, octaves and iterations, with an ETA."""

from __future__ import annotations

from typing import IO

import numpy as np
from tqdm import tqdm

from .octaves import Observer
from .schedule import Schedule


class ProgressBar(Observer):
    """One tqdm bar counting class-iterations (an iteration of one class's image) of a run.

    Parameters
    ----------
    schedule : Schedule
        The octaves (iterations per class).
    classes : int
        How many classes will actually be rendered.
    disable : bool or None
        None shows the bar only on a terminal (so logs and errors piped to files stay clean).
    stream : file, optional
        Where the bar is drawn (standard error by default).
    """

    def __init__(
        self,
        schedule: Schedule,
        classes: int,
        disable: bool | None = None,
        stream: IO | None = None,
    ) -> None:
        self.iterations = sum(octave.iter_n for octave in schedule.octaves)
        self.octaves = len(schedule.octaves)
        self.bar = tqdm(
            total=self.iterations * classes,
            unit="it",
            dynamic_ncols=True,
            disable=disable,
            file=stream,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
            "[{elapsed}<{remaining}]",
        )

    prefix = ""  # what the bar counts, before its classes (a loop's "frames: ")

    def steps_done(self, units, octave, first_step, objectives: np.ndarray) -> None:
        shown = ",".join(map(str, units))
        done = f"{self.prefix}classes {shown} octave {octave + 1}/{self.octaves}"
        self.bar.set_description_str(done)
        self.bar.update(objectives.shape[0] * len(units))

    def batch_done(self, units: tuple[int, ...]) -> None:
        """Count a whole batch's iterations at once (a batch rendered elsewhere, e.g. by Ray)."""
        self.bar.set_description_str(f"classes {','.join(map(str, units))} done")
        self.bar.update(self.iterations * len(units))

    def write(self, line: str) -> None:
        """Print a log line above the bar."""
        self.bar.write(line)

    def close(self) -> None:
        self.bar.close()
