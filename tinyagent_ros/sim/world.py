"""The simulated home: places, rooms, doors, people, objects and the robot, loaded from YAML.

The world holds state and answers questions about it (where is a place or a
person, how to get from room to room, what is visible); the sim backend
decides how long skills take and how they fail.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tinyagent_ros.paths import share_path

PLACE_KINDS = ("room", "surface", "dock", "door")
#: The holder of an object in the robot's gripper.
ROBOT = "robot"

_SELF = {"me": "user", "i": "user", "myself": "user"}
_ARTICLES = re.compile(r"^(?:the|a|an|my)\s+")
_STOPWORDS = frozenset("the a an my your some any of for me this that".split())


class WorldError(ValueError):
    """A world file that cannot be loaded; the message names the file and the entry."""


@dataclass(frozen=True)
class Place:
    """A named spot on the map."""

    name: str
    x: float
    y: float
    room: str
    kind: str

    def distance(self, x: float, y: float) -> float:
        """Straight-line distance from (x, y)."""
        return math.hypot(self.x - x, self.y - y)


@dataclass(frozen=True)
class Connection:
    """A way between two rooms, passed at (x, y), possibly through a door."""

    rooms: tuple[str, str]
    x: float
    y: float
    door: str | None = None


@dataclass
class Openable:
    """A door or appliance the arm can open, and the rooms it can be opened from."""

    name: str
    kind: str  # door | appliance
    rooms: tuple[str, ...]
    open: bool


@dataclass
class Item:
    """An object: on a place, or held by the robot or a person."""

    id: str
    words: frozenset[str]
    place: str | None
    holder: str | None = None

    @property
    def label(self) -> str:
        """Readable name, e.g. ``red cup``."""
        return self.id.replace("_", " ")

    def matches(self, text: str) -> bool:
        """True if ``text`` is this object's id or every content word of it describes it."""
        if normalize(text).replace(" ", "_") == self.id:
            return True
        wanted = content_words(text)
        return bool(wanted) and wanted <= self.words


@dataclass
class Robot:
    """The robot's state; ``place`` is None when it is not at a named place."""

    x: float
    y: float
    yaw_deg: float
    room: str
    place: str | None
    held: str | None = None
    battery: float = 100.0
    charging: bool = False


@dataclass
class World:
    """The whole simulated home and everything the robot did to it."""

    name: str
    places: dict[str, Place]
    connections: list[Connection]
    openables: dict[str, Openable]
    people: dict[str, str]
    items: dict[str, Item]
    robot: Robot
    spoken: list[str] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)

    # ------------------------------------------------------------ lookups

    def place(self, text: str) -> Place | None:
        """The place named ``text`` (any case, with or without "the")."""
        return self.places.get(normalize(text))

    def person(self, name: str) -> str | None:
        """The canonical name of a person ("me" is "user"), or None if unknown."""
        key = normalize(name)
        key = _SELF.get(key, key)
        return key if key in self.people else None

    def person_place(self, name: str) -> Place | None:
        """Where a person is, or None if unknown."""
        who = self.person(name)
        return self.places[self.people[who]] if who else None

    def openable(self, name: str) -> Openable | None:
        """The door or appliance called ``name``, or None."""
        return self.openables.get(normalize(name))

    def is_open(self, conn: Connection) -> bool:
        """True if the connection has no door or its door is open."""
        return conn.door is None or self.openables[conn.door].open

    def nearest_place(self, x: float, y: float) -> Place:
        """The place closest to (x, y)."""
        return min(self.places.values(), key=lambda p: p.distance(x, y))

    def contains(self, x: float, y: float, margin: float = 1.0) -> bool:
        """True if (x, y) lies within the map (the places' bounding box plus a margin)."""
        xs = [p.x for p in self.places.values()]
        ys = [p.y for p in self.places.values()]
        return (
            min(xs) - margin <= x <= max(xs) + margin and min(ys) - margin <= y <= max(ys) + margin
        )

    def route(self, start: str, goal: str) -> list[tuple[Connection, str]] | None:
        """Connections to pass from room ``start`` to room ``goal``, each with the room entered.

        Prefers a way through open doors; if there is none, returns a way
        through closed doors (the robot finds them closed when it gets there).
        None if the rooms are not connected at all.
        """
        for open_only in (True, False):
            legs = self._shortest(start, goal, open_only)
            if legs is not None:
                return legs
        return None

    def _shortest(
        self, start: str, goal: str, open_only: bool
    ) -> list[tuple[Connection, str]] | None:
        came: dict[str, tuple[str, Connection] | None] = {start: None}
        queue = deque([start])
        while queue:
            room = queue.popleft()
            if room == goal:
                legs: list[tuple[Connection, str]] = []
                while (step := came[room]) is not None:
                    legs.append((step[1], room))
                    room = step[0]
                return legs[::-1]
            for conn in self.connections:
                if room not in conn.rooms or (open_only and not self.is_open(conn)):
                    continue
                other = conn.rooms[1] if conn.rooms[0] == room else conn.rooms[0]
                if other not in came:
                    came[other] = (room, conn)
                    queue.append(other)
        return None

    def visible_items(self) -> list[Item]:
        """Objects lying in the robot's room, except those inside a closed appliance."""
        out = []
        for item in self.items.values():
            if item.place is None:
                continue
            box = self.openables.get(item.place)
            if self.places[item.place].room == self.robot.room and (box is None or box.open):
                out.append(item)
        return out

    def find_item(self, text: str, among: list[Item]) -> Item | None:
        """The object among ``among`` that ``text`` describes best (an exact id first)."""
        hits = [i for i in among if i.matches(text)]
        exact = [i for i in hits if i.id == normalize(text).replace(" ", "_")]
        if exact:
            return exact[0]
        return min(hits, key=lambda i: len(i.words), default=None)

    # ------------------------------------------------------------ changes

    def grasp(self, item: Item) -> None:
        """Move an object into the gripper."""
        item.place, item.holder = None, ROBOT
        self.robot.held = item.id

    def release(self, item: Item, *, place: str | None = None, person: str | None = None) -> None:
        """Let go of the held object onto a place or into a person's hands."""
        item.place, item.holder = place, person
        self.robot.held = None

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-safe data (places, doors, people, objects, robot, log)."""
        robot = asdict(self.robot)
        for key in ("x", "y", "yaw_deg", "battery"):
            robot[key] = round(robot[key], 3)
        return {
            "world": self.name,
            "robot": robot,
            "places": {
                p.name: {"x": p.x, "y": p.y, "room": p.room, "kind": p.kind}
                for p in self.places.values()
            },
            "doors": {o.name: "open" if o.open else "closed" for o in self.openables.values()},
            "people": dict(self.people),
            "objects": {i.id: {"place": i.place, "holder": i.holder} for i in self.items.values()},
            "spoken": list(self.spoken),
            "messages": [dict(m) for m in self.messages],
            "photos": list(self.photos),
        }


# ---------------------------------------------------------------- text


def normalize(text: str) -> str:
    """Lower-case, single-spaced, without a leading article or a final period."""
    text = " ".join(str(text).replace("_", " ").lower().split()).rstrip(".")
    return _ARTICLES.sub("", text)


def content_words(text: str) -> frozenset[str]:
    """The describing words of a text, singular ("red cups" -> red, cup)."""
    words = re.findall(r"[a-z0-9]+", str(text).lower())
    return frozenset(_singular(w) for w in words if w not in _STOPWORDS)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


# ---------------------------------------------------------------- loading


def load_world(name_or_path: str | Path = "home") -> World:
    """Load a fresh world by name (``home``) or from a YAML file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = share_path("config", "worlds", f"{name_or_path}.yaml")
        if not path.exists():
            shipped = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise WorldError(
                f"no world named {str(name_or_path)!r}; shipped: {', '.join(shipped) or 'none'}"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise WorldError(f"{path}: cannot read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise WorldError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    try:
        return parse_world(data)
    except (KeyError, TypeError, ValueError) as err:
        raise WorldError(f"{path}: {_reason(err)}") from None


def _reason(err: Exception) -> str:
    return f"missing field {err}" if isinstance(err, KeyError) else str(err)


def parse_world(data: Any) -> World:
    """Build a world from loaded YAML data; raise ValueError naming the bad entry."""
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with places, connections, people, objects, robot")
    places: dict[str, Place] = {}
    for raw in data["places"]:
        place = Place(str(raw["name"]), float(raw["x"]), float(raw["y"]), raw["room"], raw["kind"])
        _require(place.name not in places, f"place {place.name!r} defined twice")
        _require(
            place.kind in PLACE_KINDS,
            f"place {place.name!r}: kind must be one of {', '.join(PLACE_KINDS)}",
        )
        places[place.name] = place
    rooms = {p.name for p in places.values() if p.kind == "room"}
    for place in places.values():
        _require(place.room in rooms, f"place {place.name!r}: unknown room {place.room!r}")

    openables: dict[str, Openable] = {}
    connections = []
    for raw in data.get("connections", []):
        a, b = raw["between"]
        _require({a, b} <= rooms, f"connection {a!r}-{b!r}: unknown room")
        door = raw.get("door")
        if door is not None:
            _require(
                door in places and places[door].kind == "door",
                f"connection {a!r}-{b!r}: door {door!r} is not a place of kind door",
            )
            openables[door] = Openable(door, "door", (a, b), bool(raw.get("open", True)))
            x, y = places[door].x, places[door].y
        else:
            x, y = raw["via"]
        connections.append(Connection((a, b), float(x), float(y), door))
    for raw in data.get("appliances", []):
        name = raw["name"]
        _require(name in places, f"appliance {name!r} is not a place")
        openables[name] = Openable(name, "appliance", (places[name].room,), bool(raw["open"]))

    people = {str(k).lower(): str(v) for k, v in data.get("people", {}).items()}
    for who, where in people.items():
        _require(where in places, f"person {who!r}: unknown place {where!r}")
    _require("user" in people, "people: 'user' (the speaker) is missing")

    items: dict[str, Item] = {}
    for raw in data.get("objects", []):
        words = content_words(raw["words"]) | set(raw["id"].split("_"))
        item = Item(raw["id"], words, raw["place"])
        _require(item.id not in items, f"object {item.id!r} defined twice")
        _require(item.place in places, f"object {item.id!r}: unknown place {item.place!r}")
        items[item.id] = item

    start = data["robot"]
    _require(start["place"] in places, f"robot: unknown place {start['place']!r}")
    home = places[start["place"]]
    robot = Robot(
        home.x,
        home.y,
        float(start.get("yaw_deg", 0.0)),
        home.room,
        home.name,
        battery=float(start.get("battery", 100.0)),
        charging=bool(start.get("charging", False)),
    )
    name = str(data.get("name", "world"))
    return World(name, places, connections, openables, people, items, robot)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
