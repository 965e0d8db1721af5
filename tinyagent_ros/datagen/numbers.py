"""Numbers and units as people say them: digits or words, halves and quarters, cm to metres."""

from __future__ import annotations

from tinyagent_ros.datagen.clause import Ctx
from tinyagent_ros.datagen.heldout import Bank

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def int_words(n: int, hyphen: bool = True) -> str:
    """English words for 0 <= n < 1000 ("twenty-five", "one hundred and twenty")."""
    if not 0 <= n < 1000:
        raise ValueError(f"no words for {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (("-" if hyphen else " ") + _ONES[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    head = f"{_ONES[hundreds]} hundred"
    return head if not rest else f"{head} and {int_words(rest, hyphen)}"


def whole(x: float) -> int | float:
    """X as an int when it is whole (plans write whole numbers as ints)."""
    x = round(float(x), 6)
    return int(x) if x.is_integer() else x


def digits(x: float) -> str:
    """X in digits, without a trailing .0."""
    return str(whole(x))


def words(ctx: Ctx, x: float) -> str | None:
    """X in words ("two and a half", "one point two"), or None when awkward."""
    x = whole(abs(x))
    hy = ctx.chance(0.7)
    if isinstance(x, int):
        return int_words(x, hy) if x < 1000 else None
    n, frac = int(x), round(x - int(x), 6)
    if frac == 0.5 and n >= 1:
        return f"{int_words(n, hy)} and a half"
    if frac == 0.25 and n >= 1:
        return f"{int_words(n, hy)} and a quarter"
    tail = f"{frac:.6f}".rstrip("0").split(".")[1]
    if len(tail) > 2 or n > 99:
        return None
    head = int_words(n, hy) if n or ctx.chance(0.5) else ""
    return f"{head} point {' '.join(_ONES[int(d)] for d in tail)}".strip()


def number(ctx: Ctx, x: float, words_p: float = 0.35) -> str:
    """X as digits or (with probability words_p, when natural) words."""
    if ctx.chance(words_p):
        w = words(ctx, x)
        if w is not None:
            return w
    return digits(x)


def signed(ctx: Ctx, x: float) -> str:
    """A coordinate: "-2", "minus 2", "negative two", "3", "three"."""
    body = number(ctx, abs(x), 0.35)
    if x >= 0:
        return body
    if body[0].isdigit() and ctx.chance(0.4):
        return f"-{body}"
    return f"{ctx.choice(('minus', 'minus', 'negative'))} {body}"


def _metre_unit(ctx: Ctx, singular: bool) -> str:
    if singular:
        return ctx.choice(("meter", "metre"))
    return ctx.choice(("meters", "metres", "meters", "m"))


def distance(ctx: Ctx, metres: float) -> str:
    """A distance in metres said as people say it ("half a metre", "30 cm", "2.5 m")."""
    m = whole(metres)
    cm = whole(m * 100)
    options: list[str] = []
    if isinstance(cm, int) and m < 1 or (isinstance(cm, int) and m < 2 and ctx.chance(0.1)):
        unit = ctx.choice(("cm", "centimeters", "centimetres", "centimeters"))
        options.append(f"{number(ctx, cm, 0.3)} {unit}")
    if m == 0.5:
        options.append(f"half a {_metre_unit(ctx, True)}")
    elif m == 0.25:
        options.append(f"a quarter of a {_metre_unit(ctx, True)}")
    elif m == 0.75:
        options.append(f"three quarters of a {_metre_unit(ctx, True)}")
    elif m == 1:
        options.append(f"{ctx.choice(('one', 'a', '1'))} {_metre_unit(ctx, True)}")
    elif m == 1.5 and ctx.chance(0.5):
        options.append(f"a {_metre_unit(ctx, True)} and a half")
    if not options or ctx.chance(0.6):
        unit = _metre_unit(ctx, False)
        text = number(ctx, m, 0.35)
        if unit == "m" and text[0].isdigit() and ctx.chance(0.5):
            options.append(f"{text}m")
        elif unit == "m" and not text[0].isdigit():
            options.append(f"{text} {ctx.choice(('meters', 'metres'))}")
        else:
            options.append(f"{text} {unit}")
    return ctx.choice(options)


def degrees(ctx: Ctx, angle: float) -> str:
    """A positive angle in degrees ("45 degrees", "forty-five degrees", "45°")."""
    a = whole(abs(angle))
    if ctx.chance(0.05) and isinstance(a, int):
        return f"{a}°"
    text = number(ctx, a, 0.35)
    if text == "1":
        return "1 degree"
    return f"{text} {ctx.choice(('degrees', 'degrees', 'deg', 'degrees'))}"


#: Distances in metres people ask for; 1, 2 and half a metre always stay in training.
DISTANCES: Bank[float] = Bank(
    "num.distance",
    [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.8, 1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 0.15,
     0.7, 1.25, 4.5, 8, 10, 0.35, 1.8, 2.2],
    pinned=["0.5", "1", "2", "1.5", "3"],
)
#: Turn angles in degrees (magnitude; the direction is said separately).
ANGLES: Bank[int] = Bank(
    "num.angle",
    [10, 15, 20, 25, 30, 40, 45, 50, 60, 70, 75, 80, 90, 100, 110, 120, 135, 150, 160, 180, 200,
     225, 270, 300, 330, 5],
    pinned=["90", "45", "180", "30"],
)
#: Map coordinates in metres.
COORDS: Bank[float] = Bank(
    "num.coord",
    [float(v) / 2 for v in range(-12, 21)],
    key=lambda v: str(whole(v)),
    pinned=["0", "1", "2", "3", "-1", "-2"],
)
#: Final headings in degrees for navigate_to_pose.
YAWS: Bank[int] = Bank(
    "num.yaw", [0, 30, 45, 60, 90, 120, 135, 150, 180, -30, -45, -60, -90, -120, -135, -150, 270],
    pinned=["0", "90", "180", "-90"],
)
