"""The octave schedule and the user's ``params.py`` (schedule and classes): loaded by path,
validated once. The original's schedule ships here as :data:`ORIGINAL`."""

from __future__ import annotations

import difflib
import math
import numbers
import traceback
import types
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import UserError

OCTAVE_KEYS = ("scale", "iter_n", "start_sigma", "end_sigma")
MAX_ITER_N = 1_000_000  # steps of one octave: weeks of work, and what a mistyped number is not
MIN_SIDE = 8  # pixels: below this no network sees anything, and the filters fail
SIDE_CAP = 2**31  # sizes a huge scale gives are capped here, so that a check can refuse them
PARAMS_NAMES = ("octaves", "background_color", "classes")


@dataclass(frozen=True)
class Octave:
    """One octave: resize the image by ``scale``, then ``iter_n`` ascent steps, the bilateral
    filter's sigma going linearly from ``start_sigma`` towards ``end_sigma``."""

    scale: float
    iter_n: int
    start_sigma: float
    end_sigma: float

    def sigma(self, step: int) -> float:
        """Bilateral sigma at ``step`` (0-based), as the original schedules it."""
        return self.start_sigma + (self.end_sigma - self.start_sigma) * step / self.iter_n

    def with_iterations(self, factor: float) -> Octave:
        """The octave with ``iter_n`` times ``factor``, rounded, and at least 1 where it was.

        Examples
        --------
        >>> Octave(1.4, 10, 0.44, 0.304).with_iterations(0.04).iter_n
        1
        """
        return replace(self, iter_n=max(min(self.iter_n, 1), round(self.iter_n * factor)))


@dataclass(frozen=True)
class Schedule:
    """How every picture is grown: the octaves, and the colour its start noise lies around.

    Attributes
    ----------
    octaves : tuple of Octave
        Run in order; each resizes the image and runs its steps.
    background_color : tuple of 3 floats
        RGB on the 0-255 scale; the start image is noise (std 8) around it.
    """

    octaves: tuple[Octave, ...]
    background_color: tuple[float, float, float] = (10.0, 90.0, 140.0)

    def with_iterations(self, factor: float) -> Schedule:
        """The same schedule with every octave's ``iter_n`` times ``factor`` (at least 1 where
        it was at least 1).

        Examples
        --------
        >>> [o.iter_n for o in ORIGINAL.with_iterations(0.5).octaves]
        [95, 75, 75, 5]
        """
        octaves = tuple(octave.with_iterations(factor) for octave in self.octaves)
        return replace(self, octaves=octaves)


# The original's defaults: four octaves of scale 1.4 (224 -> 313 -> 438 -> 613 -> 858 pixels),
# and its classes (the shipped params.py says the same; a test holds them together).
ORIGINAL = Schedule(
    tuple(Octave(1.4, iter_n, 0.44, 0.304) for iter_n in (190, 150, 150, 10)),
    (10.0, 90.0, 140.0),
)
ORIGINAL_CLASSES = (1, 2, 3, 4, 5)
# DeepDream's classic pyramid (Google's deepdream notebook): four octaves 1.4 apart, the smallest
# first, the last at the start's own size, ten steps each.
DREAM_SCALE = 1.4
DREAM = Schedule(
    (
        Octave(DREAM_SCALE**-3, 10, 0.44, 0.304),
        *(Octave(DREAM_SCALE, 10, 0.44, 0.304) for _ in range(3)),
    )
)


@dataclass(frozen=True)
class Params:
    """Everything ``params.py`` defines: the schedule, and the classes to visualise."""

    schedule: Schedule
    classes: tuple[int, ...]

    @property
    def octaves(self) -> tuple[Octave, ...]:
        return self.schedule.octaves

    @property
    def background_color(self) -> tuple[float, float, float]:
        return self.schedule.background_color


# Float32 copies of an image a step holds at once (the image, its gradient, pyramid levels, the
# bilateral filter's 25 window shifts); a rough figure for refusing schedules early.
IMAGE_COPIES = 40


def octave_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """Height and width of an image of ``size`` resized at an octave's start.

    Examples
    --------
    >>> octave_size((224, 224), 1.4)
    (313, 313)
    """
    return tuple(max(1, int(min(side * scale, SIDE_CAP))) for side in size)  # type: ignore[return-value]


def octave_sizes(schedule: Schedule, start: tuple[int, int]) -> list[tuple[int, int]]:
    """Height and width of the image in each octave, from a ``start`` size: each octave's
    :func:`octave_size` of the one before, except that an octave whose scales, multiplied since
    the start, come back to 1 takes the start's own size (a photo dreamt down and up again
    ends at its size, not a pixel short).

    Examples
    --------
    >>> octave_sizes(DREAM, (660, 800))
    [(240, 291), (336, 407), (470, 569), (660, 800)]
    """
    sizes, size, total = [], tuple(start), 1.0
    for octave in schedule.octaves:
        size = octave_size(size, octave.scale)
        total *= octave.scale
        if math.isclose(total, 1.0, rel_tol=1e-9):
            size = tuple(start)
        sizes.append(size)
    return sizes


def final_size(schedule: Schedule, start: tuple[int, int]) -> tuple[int, int]:
    """Height and width of the image after all octaves, from a ``start`` size."""
    return octave_sizes(schedule, start)[-1]


def check_smallest(schedule: Schedule, start: tuple[int, int], where: str = "`octaves`") -> None:
    """A one-line error if an octave shrinks the image below ``MIN_SIDE`` pixels."""
    for index, (height, width) in enumerate(octave_sizes(schedule, start)):
        if min(height, width) < MIN_SIDE:
            raise UserError(
                f"{where}: octave {index} shrinks the image to {height} x {width} pixels, below "
                f"the {MIN_SIDE} a network needs; raise its scale or start from a larger image"
            )


def working_memory(height: int, width: int, batch: int) -> int:
    """Rough bytes of image working memory of a batch at that size (the network comes on top)."""
    return batch * height * width * 3 * 4 * IMAGE_COPIES


def params_file(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/params.py``."""
    path = Path(path)
    return path / "params.py" if path.is_dir() else path


def load_params(path: str | Path) -> Params:
    """Execute ``params.py`` (a folder holding it, or the file) and validate what it defines.

    The file is the user's own Python, run as a module of its own: ``sys.path`` is not touched.

    Raises
    ------
    UserError
        With one line naming the file, the key and the value at fault.
    """
    file = params_file(path)
    if not file.is_file():
        raise UserError(
            f"no params file at {file}; point `params_path` at the folder that holds params.py"
        )
    try:
        source = file.read_bytes()
    except OSError as exc:
        raise UserError(
            f"cannot read params file {file} ({exc.strerror or exc}); check `params_path`"
        ) from None
    module = types.ModuleType("tf_cnnvis_user_params")
    module.__file__ = str(file)
    try:
        exec(compile(source, str(file), "exec"), vars(module))
    except SyntaxError as exc:
        raise UserError(
            f"{file} line {exc.lineno}: syntax error: {exc.msg}; fix the file"
        ) from None
    except (Exception, SystemExit) as exc:  # the user's own code: what it raises is theirs
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(file)]
        line = frames[-1].lineno if frames else "?"
        raise UserError(f"{file} line {line}: {type(exc).__name__}: {exc}; fix the file") from None
    return parse_params(vars(module), str(file))


def _fail(where: str, message: str) -> UserError:
    return UserError(f"{where}: {message}")


def _closest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _number(where: str, key: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(where, f"'{key}' must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise _fail(where, f"'{key}' must be finite, got {value!r}")
    if positive and value <= 0:
        raise _fail(where, f"'{key}' must be > 0, got {value!r}")
    return value


def _integer(where: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(where, f"'{key}' must be a whole number, got {value!r}")
    return int(value)


def _parse_octave(where: str, index: int, octave: object) -> Octave:
    where = f"{where}: octaves[{index}]"
    if not isinstance(octave, dict):
        raise UserError(
            f"{where} must be a dict with keys {', '.join(OCTAVE_KEYS)}, got {octave!r}"
        )
    for key in octave:
        if key not in OCTAVE_KEYS:
            raise UserError(f"{where} has unknown key {key!r}{_closest(str(key), OCTAVE_KEYS)}")
    for key in OCTAVE_KEYS:
        if key not in octave:
            raise UserError(f"{where} is missing key '{key}'")
    iter_n = _integer(where, "iter_n", octave["iter_n"])
    if not 0 <= iter_n <= MAX_ITER_N:
        raise UserError(f"{where}: 'iter_n' must be 0 to {MAX_ITER_N:,}, got {iter_n}")
    return Octave(
        scale=_number(where, "scale", octave["scale"], positive=True),
        iter_n=iter_n,
        start_sigma=_number(where, "start_sigma", octave["start_sigma"], positive=True),
        end_sigma=_number(where, "end_sigma", octave["end_sigma"], positive=True),
    )


def parse_params(namespace: dict, where: str = "params") -> Params:
    """Validate the names a ``params.py`` defined (``octaves``, ``background_color``, ``classes``).

    Parameters
    ----------
    namespace : dict
        The module's globals.
    where : str
        How to name the source in error messages.
    """
    defined = [name for name in namespace if not name.startswith("_")]
    for name in PARAMS_NAMES:
        if name not in namespace:
            raise UserError(f"{where} does not define '{name}'{_closest(name, defined)}")

    schedule = parse_schedule(namespace["octaves"], namespace["background_color"], where)

    classes = namespace["classes"]
    if not isinstance(classes, (list, tuple)) or not classes:
        raise _fail(where, f"'classes' must be a non-empty list of class indices, got {classes!r}")
    parsed_classes = tuple(_integer(where, "classes", c) for c in classes)
    for c in parsed_classes:
        if c < 0:
            raise _fail(where, f"'classes' holds {c}; class indices start at 0")
    seen: set[int] = set()
    for c in parsed_classes:
        if c in seen:
            raise _fail(where, f"'classes' holds {c} twice; list each class once")
        seen.add(c)
    return Params(schedule, parsed_classes)


def parse_schedule(octaves: object, background_color: object, where: str = "`octaves`") -> Schedule:
    """A :class:`Schedule` from octaves in ``params.py``'s format (a list of dicts with keys
    ``scale``, ``iter_n``, ``start_sigma``, ``end_sigma``) and a background colour, validated.

    Examples
    --------
    >>> parse_schedule([{"scale": 1.0, "iter_n": 5, "start_sigma": 0.4, "end_sigma": 0.3}],
    ...                [0, 0, 0]).octaves
    (Octave(scale=1.0, iter_n=5, start_sigma=0.4, end_sigma=0.3),)
    """
    if not isinstance(octaves, (list, tuple)):
        raise _fail(where, f"'octaves' must be a list of dicts, got {octaves!r}")
    if not octaves:
        raise _fail(where, "'octaves' is empty; give at least one octave")
    parsed_octaves = tuple(_parse_octave(where, i, o) for i, o in enumerate(octaves))
    try:
        color_values = [c for c in background_color]  # type: ignore[union-attr]
    except TypeError:
        color_values = None
    if color_values is None or len(color_values) != 3:
        raise _fail(
            where, f"'background_color' must be 3 numbers (RGB, 0-255), got {background_color!r}"
        )
    background = tuple(_number(where, "background_color", c, positive=False) for c in color_values)
    if not all(0 <= c <= 255 for c in background):
        raise _fail(
            where, f"'background_color' must be 3 numbers from 0 to 255 (RGB), got {background!r}"
        )
    return Schedule(parsed_octaves, background)  # type: ignore[arg-type]
