"""Robot intent grammars: each intent draws its words and builds its gold calls in one place.

An intent is a function ``Ctx -> Clause``. It reads what earlier clauses left in
the context (where the robot is, who was just mentioned, what it holds) to use
pronouns and ellipsis ("tell him", "grab the cup there", "bring it to Bob"),
and updates it. The plan rules are CONVENTIONS.md's: navigate to the most
specific place named, ``locate_person`` right before ``navigate_to("$k")``,
fetch = find, pick up, then place or hand over, fridge = navigate, open, fetch.
"""

from __future__ import annotations

from collections.abc import Callable

from tinyagent_ros.datagen import numbers as num
from tinyagent_ros.datagen.clause import (
    Call,
    Clause,
    Ctx,
    Intent,
    Skip,
    cap,
    fill,
    no_bare_that,
    spoken_text,
)
from tinyagent_ros.datagen.heldout import Bank, templates
from tinyagent_ros.datagen.lexicon import (
    CLOSED_CONTAINERS,
    COLORS,
    HOMES,
    LINES,
    NEWS,
    OBJECTS,
    ORDERS,
    PEOPLE,
    PLACES,
    PUT_SURFACES,
    REASONS,
    STATES,
    SUBJECTS,
    TEXTS,
    Obj,
    Person,
    Place,
)

#: The person giving the command.
USER = Person("user", "n")
_PLACE_BY_NAME = {it.value.name: it for it in PLACES.items}
#: Objects that can be "empty", "dirty", "clean", ...
_DISHES = frozenset(("cup", "mug", "plate", "bowl", "glass", "coffee cup", "thermos", "teapot",
                     "kettle", "pan", "lunchbox", "baking tray"))
#: Photo subjects that can be "my ..." / "our ...".
_OWNABLE = frozenset(("plants", "car", "dog", "cat", "mailbox", "fish tank", "bird feeder",
                      "flowers", "birthday cake", "bookshelf", "tomato plants", "christmas tree",
                      "thermostat", "whiteboard", "puzzle", "baby", "children"))

# ---------------------------------------------------------------- plan pieces (shared by intents)


def nav(place: str) -> Call:
    """Drive to a named place."""
    return Call("navigate_to", (place,))


def goto_person(person: Person) -> list[Call]:
    """locate_person immediately before navigate_to("$k")."""
    loc = Call("locate_person", (person.name,))
    return [loc, Call("navigate_to", (loc,))]


def fetch(ctx: Ctx, desc: str, src: Place | None) -> tuple[list[Call], Call]:
    """Go to the source (unless there), open it if closed, find and pick up; returns the pick."""
    calls: list[Call] = []
    if src is not None:
        if ctx.at_place != src.name:
            calls.append(nav(src.name))
        if src.name in CLOSED_CONTAINERS and src.name not in ctx.opened:
            calls.append(Call("open_door", (src.name,)))
            ctx.opened.add(src.name)
        _moved_to(ctx, place=src.name)
    find = Call("find_object", (desc,))
    pick = Call("pick_up", (find,))
    return [*calls, find, pick], pick


def deliver(ctx: Ctx, pick: Call, person: Person) -> list[Call]:
    """Hand the held object to a person, going to them first unless already with them.

    "Find Bob and give him the book" hands over where Bob is; deliveries to the
    user always use the full locate/navigate pattern.
    """
    here = ctx.at_person == person.name and person.name != USER.name
    calls = [] if here else goto_person(person)
    _moved_to(ctx, person=person.name)
    return [*calls, Call("hand_over", (pick, person.name))]


def put(ctx: Ctx, pick: Call, dst: Place) -> list[Call]:
    """Drive to a surface (unless there) and put the held object on it."""
    calls = [] if ctx.at_place == dst.name else [nav(dst.name)]
    _moved_to(ctx, place=dst.name)
    return [*calls, Call("place", (pick, dst.name))]


def _moved_to(ctx: Ctx, place: str | None = None, person: str | None = None) -> None:
    if place != ctx.at_place or person is not None:
        ctx.opened = {p for p in ctx.opened if p == place}
    ctx.at_place, ctx.at_person = place, person


# ---------------------------------------------------------------- words (shared by intents)


def _an(word: str) -> str:
    w = word.lower()
    vowel = w[:1] in "aeio" or (w[:1] == "u" and not w.startswith(("uni", "use", "usu")))
    return "an" if vowel or w.startswith("hour") else "a"


def obj_np(ctx: Ctx, obj: Obj) -> tuple[str, str]:
    """The object as said ("the red cup", "some milk") and as find_object's description."""
    adj = ""
    if obj.colored and ctx.chance(0.35):
        adj = ctx.pick(COLORS)
    elif obj.noun in _DISHES and ctx.chance(0.25):
        adj = ctx.pick(STATES)
    desc = f"{adj} {obj.noun}".strip()
    dets = {"one": ("the",) * 5 + ("a",) * 3 + ("my",) * 2 + ("our",),
            "many": ("the",) * 5 + ("my",) * 3 + ("some", "our"),
            "mass": ("some",) * 3 + ("the",) * 3 + ("my",)}
    det = ctx.choice(dets[obj.count])
    if det == "a":
        det = _an(desc)
    if obj.noun.startswith(("bottle of", "glass of", "can of", "carton of", "box of", "bag of",
                            "slice of", "juice box")) and det in ("my", "our"):
        det = _an(desc)
    return f"{det} {desc}", desc


def pick_person(ctx: Ctx, pronoun_ok: bool = True) -> tuple[Person, bool]:
    """A person, or the one just mentioned (then True: say a pronoun)."""
    last = ctx.last_person
    if (pronoun_ok and last is not None and last.name != "user" and ctx.since_mention <= 1
            and (ctx.force_ctx or ctx.chance(0.35))):
        return last, True
    for _ in range(5):
        p = ctx.pick(PEOPLE)
        if last is None or p.name != last.name:
            return p, False
    raise Skip("no fresh person")


def place_ok(ctx: Ctx, name: str) -> bool:
    """Whether this split may name the place."""
    it = _PLACE_BY_NAME.get(name)
    return it is not None and (it.tier == "shared" or (it.tier == "test") == (ctx.split == "test"))


def pick_place(ctx: Ctx, ok: Callable[[Place], bool]) -> Place:
    """A place of this split passing ``ok`` that is not where the robot already is."""
    place = ctx.pick_where(PLACES, lambda p: ok(p) and p.name != ctx.at_place)
    if place is None:
        raise Skip("no place")
    return place


def in_place(p: Place) -> str:
    """Where something is: "in the kitchen", "on the desk", "by the front door"."""
    return f"{p.prep} the {p.name}"


def src_phrase(ctx: Ctx, p: Place, located: bool = True) -> str:
    """Where an object is fetched from: "from the desk", "on the desk in the office".

    ``located`` allows "on the desk"-style phrases; a move says "from" so that the
    source and the destination cannot be confused.
    """
    if p.name in CLOSED_CONTAINERS:
        return ctx.choice((f"from the {p.name}", f"out of the {p.name}") +
                          ((f"in the {p.name}",) if located else ()))
    roll = ctx.rng.random()
    if not located:
        return f"off the {p.name}" if p.prep == "on" and roll < 0.25 else f"from the {p.name}"
    if p.room and roll < 0.15 and place_ok(ctx, p.room):
        ctx.note(PLACES, p.room)
        return f"{in_place(p)} in the {p.room}"
    if roll < 0.6:
        return f"from the {p.name}"
    if p.kind == "surface" and p.prep == "on" and roll < 0.7:
        return f"off the {p.name}"
    return in_place(p)


def pron(p: Person) -> str:
    """Object pronoun, "me" for the user."""
    return "me" if p.name == "user" else p.obj


def said(p: Person) -> str:
    """How a person is named in the query."""
    return "me" if p.name == "user" else p.name


def _mentioned(ctx: Ctx, p: Person) -> None:
    if p.name != "user":
        ctx.last_person = p
        ctx.since_mention = 0


def _sentence_ok(ctx: Ctx, p: float = 0.5) -> bool:
    return ctx.allow_sentence and ctx.chance(p)


def _there_ok(ctx: Ctx) -> bool:
    return ctx.at_place is not None and (ctx.force_ctx or ctx.chance(0.45))


def _quote(ctx: Ctx, text: str) -> str:
    q = ctx.choice(("'", "'", '"'))
    return f"{q}{cap(text)}{q}"


# ---------------------------------------------------------------- navigation

_GO_PLACE = templates("robot.go_place.vp", [
    "!go to {place}@4", "!head to {place}@2", "drive to {place}", "go over to {place}",
    "make your way to {place}", "move to {place}", "get over to {place}", "roll over to {place}",
    "navigate to {place}", "head over to {place}", "take yourself to {place}", "proceed to {place}",
    "go stand by {place}", "get yourself to {place}", "drive over to {place}",
    "go on over to {place}",
    "wander over to {place}", "zip over to {place}",
])
_GO_PLACE_TERSE = templates("robot.go_place.terse", [
    "!{name}. now.", "{name}, please.", "to {place}.", "{name}. go.", "off to {place}, please.",
    "meet me {at_place}.", "I need you {at_place}.", "{name}, quick.",
    "you, {place}, now.",
])


def go_place(ctx: Ctx) -> Clause:
    """Drive to a named place."""
    place = pick_place(ctx, lambda p: p.kind in ("room", "outdoor", "surface", "door", "appliance"))
    slots = {"place": place.the, "name": place.name, "at_place": in_place(place)}
    if _sentence_ok(ctx, 0.5):
        text, form = fill(ctx.pick(_GO_PLACE_TERSE), **slots), "sentence"
    else:
        text, form = fill(ctx.pick(_GO_PLACE), **slots), "vp"
    calls = [nav(place.name)]
    _moved_to(ctx, place=place.name)
    return Clause("go_place", calls, text, form)


_GO_PERSON = templates("robot.go_person.vp", [
    "!go to {P}@3", "go over to {P}", "head over to {P}", "go find {P}", "go see {P}",
    "drive over to {P}", "join {P}", "go to where {P} is", "make your way to {P}",
    "find {P} and go to {pron}", "track down {P}", "go and be with {P}", "move over to {P}",
    "get over to {P}", "go keep {P} company", "head to wherever {P} is",
])
_COME = templates("robot.come.vp", [
    "!come here@3", "!come to me", "come over here", "come find me", "get over here",
    "come back to me", "come to where I am", "return to me", "come see me", "find me",
    "head back to me", "come over", "get yourself over here", "roll over to me",
])
_COME_TERSE = templates("robot.come.terse", [
    "!here. now.", "over here!", "to me, please.", "come!", "I'm over here, come.",
    "here, please.", "I need you here.",
])


def go_person(ctx: Ctx) -> Clause:
    """Go to a person (or to the user: "come here")."""
    if ctx.at_person != "user" and ctx.chance(0.3):
        person, pronoun = USER, False
    else:
        person, pronoun = pick_person(ctx, pronoun_ok=False)
        if ctx.at_person == person.name:
            raise Skip("already there")
    if person is USER:
        bank = _COME_TERSE if _sentence_ok(ctx, 0.4) else _COME
        text = fill(ctx.pick(bank))
        form = "sentence" if bank is _COME_TERSE else "vp"
    else:
        text, form = fill(ctx.pick(_GO_PERSON), P=person.name, pron=person.obj), "vp"
    calls = goto_person(person)
    _moved_to(ctx, person=person.name)
    _mentioned(ctx, person)
    return Clause("go_person", calls, text, form, uses_ctx=pronoun)


_DRIVE_FWD = templates("robot.drive.fwd", [
    "!drive forward {d}@3", "move forward {d}", "go forward {d}", "roll forward {d}",
    "move ahead {d}", "drive {d} forward", "go straight for {d}", "scoot forward {d}",
    "advance {d}", "drive straight ahead {d}", "move {d} forward", "go ahead {d}",
    "creep forward {d}", "nudge forward {d}",
])
_DRIVE_BACK = templates("robot.drive.back", [
    "!back up {d}@3", "drive backwards {d}", "move back {d}", "reverse {d}", "go backwards {d}",
    "back off {d}", "drive {d} backwards", "roll back {d}", "move backward {d}", "step back {d}",
    "reverse by {d}", "back away {d}",
])
_DRIVE_TERSE = templates("robot.drive.terse", [
    "!{d} forward.", "forward {d}.", "back {d}.", "{d} back, please.", "forward, {d}.",
])


def drive(ctx: Ctx) -> Clause:
    """Drive straight; "back up" is negative."""
    metres = ctx.pick(num.DISTANCES)
    back = ctx.chance(0.35)
    d = num.distance(ctx, metres)
    if _sentence_ok(ctx, 0.3):
        tpl = ctx.pick(_DRIVE_TERSE)
        back = "back" in tpl
        text, form = fill(tpl, d=d), "sentence"
    else:
        text, form = fill(ctx.pick(_DRIVE_BACK if back else _DRIVE_FWD), d=d), "vp"
    _moved_to(ctx)
    return Clause("drive", [Call("drive", (num.whole(-metres if back else metres),))], text, form)


#: Turns said without a number, with their angle (left positive).
_TURN_NAMED: Bank[tuple[str, int]] = Bank("robot.turn.named", [
    ("turn left", 90), ("turn right", -90), ("turn around", 180), ("spin around", 360),
    ("do a full circle", 360), ("do a quarter turn to the right", -90),
    ("make a quarter turn to the left", 90), ("turn to your left", 90), ("turn to your right", -90),
    ("do a 180", 180), ("do a 360", 360), ("face the other way", 180), ("make a u-turn", 180),
    ("rotate a full turn", 360), ("turn halfway around", 180), ("spin in a full circle", 360),
    ("do a quarter turn clockwise", -90), ("do a quarter turn counterclockwise", 90),
    ("rotate to the right", -90), ("rotate left", 90), ("about face", 180),
    ("do a three-quarter turn to the left", 270), ("turn all the way around", 180),
    ("hang a left", 90), ("hang a right", -90), ("go full circle", 360),
], kind="template", key=lambda t: t[0],
    pinned=["turn left", "turn right", "turn around", "spin around", "do a full circle",
            "do a quarter turn to the right"])
_TURN_LEFT = templates("robot.turn.left", [
    "!turn left {deg}@2", "!turn {deg} to the left", "rotate {deg} counterclockwise",
    "rotate {deg} anticlockwise", "turn {deg} counter-clockwise", "rotate left by {deg}",
    "spin {deg} to the left", "turn {deg} left", "rotate {deg} to your left", "swivel left {deg}",
])
_TURN_RIGHT = templates("robot.turn.right", [
    "!turn right {deg}@2", "!turn {deg} to the right", "rotate {deg} clockwise",
    "rotate right by {deg}", "turn {deg} right", "spin {deg} to the right",
    "rotate {deg} to your right", "swivel right {deg}", "turn clockwise by {deg}",
])


def rotate(ctx: Ctx) -> Clause:
    """Turn in place: left positive, "turn around" 180, "spin around" 360."""
    if ctx.chance(0.5):
        text, angle = ctx.pick(_TURN_NAMED)
    else:
        mag = ctx.pick(num.ANGLES)
        left = ctx.chance(0.5)
        text = fill(ctx.pick(_TURN_LEFT if left else _TURN_RIGHT), deg=num.degrees(ctx, mag))
        angle = mag if left else -mag
    return Clause("rotate", [Call("rotate", (angle,))], text)


_POSE = templates("robot.pose.vp", [
    "!go to position x {x}, y {y}@3", "drive to coordinates {x}, {y}",
    "navigate to the point ({dx}, {dy})",
    "go to x equals {x}, y equals {y}", "move to map coordinates {x} and {y}",
    "head to coordinates x {x} y {y}", "go to the spot at {x}, {y}", "drive to ({dx}, {dy})",
    "travel to x={dx}, y={dy}", "navigate to {x}, {y}", "go to map position {x}, {y}",
    "drive to the pose x {x} y {y}", "move to the location at x {x} and y {y}",
])
_YAW = templates("robot.pose.yaw", [
    "!facing {yaw}@3", "with a heading of {yaw}", "and face {yaw}", "ending at a heading of {yaw}",
    "with yaw {yaw}", "oriented at {yaw}", "and turn to face {yaw}", "pointing at {yaw}",
])


def pose(ctx: Ctx) -> Clause:
    """Drive to map coordinates; yaw 0 unless given."""
    x, y = ctx.pick(num.COORDS), ctx.pick(num.COORDS)
    slots = {"x": num.signed(ctx, x), "y": num.signed(ctx, y),
             "dx": num.digits(x), "dy": num.digits(y)}
    text = fill(ctx.pick(_POSE), **slots)
    yaw = 0
    if ctx.chance(0.5):
        yaw = ctx.pick(num.YAWS)
        yaw_text = num.signed(ctx, yaw) if yaw < 0 else num.number(ctx, yaw)
        text = f"{text} {fill(ctx.pick(_YAW), yaw=yaw_text + ' degrees')}"
    _moved_to(ctx)
    return Clause("pose", [Call("navigate_to_pose", (num.whole(x), num.whole(y), yaw))], text)


_DOCK = templates("robot.dock.vp", [
    "!go dock@3", "!go charge yourself@2", "dock", "charge yourself", "head to the charging dock",
    "plug yourself in", "go back to your dock", "return to your charging station", "go recharge",
    "go to your charger", "park yourself on the charger", "head back to base and charge",
    "return to the dock", "go back to your charging dock", "get on your charger", "go charge up",
    "go top up your battery", "go back and charge", "return to base", "dock yourself",
])
_DOCK_TERSE = templates("robot.dock.terse", [
    "!dock, please.", "time to charge.", "back to the dock.", "charging time.",
    "bedtime, robot. dock.", "you need a charge, go dock.", "go charge. now.",
])


def dock(ctx: Ctx) -> Clause:
    """Go to the charging dock: always the dock skill, never navigate_to."""
    if _sentence_ok(ctx, 0.35):
        text, form = fill(ctx.pick(_DOCK_TERSE)), "sentence"
    else:
        text, form = fill(ctx.pick(_DOCK)), "vp"
    _moved_to(ctx)
    return Clause("dock", [Call("dock")], text, form)


# ---------------------------------------------------------------- questions (lookup alone)

_WHERE_Q = templates("robot.where.q", [
    "!where is {P}?@3", "where's {P}?", "do you know where {P} is?", "where did {P} go?",
    "have you seen {P}?", "any idea where {P} is?", "where is {P} right now?", "is {P} home?",
    "where can I find {P}?", "what room is {P} in?", "where's {P} at?", "where has {P} gone?",
])
_WHERE_VP = templates("robot.where.vp", [
    "!tell me where {P} is@2", "check where {P} is", "find out where {P} is",
    "let me know where {P} is", "look up where {P} is", "see where {P} is",
    "figure out where {P} is", "locate {P}", "work out where {P} is", "tell me {P}'s location",
])
_WHERE2 = templates("robot.where2", [
    "!where are {P} and {Q}?", "tell me where {P} and {Q} are",
    "do you know where {P} and {Q} are?",
    "find out where {P} and {Q} are", "where did {P} and {Q} go?", "check where {P} and {Q} are",
])


def where_person(ctx: Ctx) -> Clause:
    """Where is P? Answered by locate_person alone."""
    p, _ = pick_person(ctx, pronoun_ok=False)
    if ctx.chance(0.15):
        q, _ = pick_person(ctx, pronoun_ok=False)
        if q.name == p.name:
            raise Skip("same person twice")
        tpl = ctx.pick(_WHERE2)
        calls = [Call("locate_person", (p.name,)), Call("locate_person", (q.name,))]
        text = fill(tpl, P=p.name, Q=q.name)
        form = "sentence" if text.endswith("?") else "vp"
        if form == "sentence" and not ctx.allow_sentence:
            raise Skip("question only")
        return Clause("where_person", calls, text, form, lookup=True)
    if _sentence_ok(ctx, 0.75):
        text, form = fill(ctx.pick(_WHERE_Q), P=p.name), "sentence"
    else:
        text, form = fill(ctx.pick(_WHERE_VP), P=p.name), "vp"
    _mentioned(ctx, p)
    return Clause("where_person", [Call("locate_person", (p.name,))], text, form, lookup=True)


_BATTERY_Q = templates("robot.battery.q", [
    "!what's your battery level?@3", "how much battery do you have left?", "how's your battery?",
    "what's your charge at?", "how much charge do you have?", "is your battery low?",
    "what percent is your battery at?", "battery?", "battery status?",
    "how much juice do you have left?", "are you running low on battery?", "how charged are you?",
    "what's your battery at?", "how's the battery looking?",
])
_BATTERY_VP = templates("robot.battery.vp", [
    "!check your battery@2", "tell me your battery level", "report your battery level",
    "let me know how much charge you have", "check your battery level", "give me a battery update",
    "check how much battery you have", "tell me how much battery is left",
    "tell me your charge level", "check your power level",
])


def battery(ctx: Ctx) -> Clause:
    """Battery questions: get_battery_level alone."""
    if _sentence_ok(ctx, 0.7):
        text, form = fill(ctx.pick(_BATTERY_Q)), "sentence"
    else:
        text, form = fill(ctx.pick(_BATTERY_VP)), "vp"
    return Clause("battery", [Call("get_battery_level")], text, form, lookup=True)


_LOOK_Q = templates("robot.look.q", [
    "!what do you see?@3", "what's in front of you?", "what can you see right now?",
    "what are you looking at?", "what does it look like around you?",
    "anything interesting around you?",
    "what's around you?", "what's there?", "what can you see from where you are?",
])
_LOOK_VP = templates("robot.look.vp", [
    "!tell me what you see@3", "describe what you see", "describe your surroundings",
    "look around and tell me what's there", "describe the scene", "tell me what's in front of you",
    "have a look around and describe it", "give me a description of what you see",
    "report what you can see", "tell me what's around you", "describe what's in front of you",
])
_LOOK_AT_VP = templates("robot.look.at_vp", [
    "!check {place} and tell me what's there", "take a look {in} and describe it",
    "check how many people are {in}", "see who's {in}", "check if the lights are on {in}",
    "look around {place} and tell me what you see", "go check out {place} and describe it",
    "check whether anyone is {in}", "describe what's happening {in}",
    "go look at {place} and tell me what you see", "check on {place} and describe what you see",
])
_LOOK_AT_Q = templates("robot.look.at_q", [
    "!what's going on {in}?", "is anyone {in}?", "how many people are {in}?",
    "is the light on {in}?", "what does {place} look like right now?", "who's {in}?",
    "is there anybody {in}?",
])


def look(ctx: Ctx) -> Clause:
    """What do you see (here, or after driving to a room or door)? describe_scene."""
    calls: list[Call] = []
    if ctx.at_place is None and ctx.chance(0.45):
        place = pick_place(ctx, lambda p: p.kind in ("room", "outdoor", "door"))
        where = in_place(place) if place.kind != "door" else f"at {place.the}"
        slots = {"place": place.the, "in": where}
        if _sentence_ok(ctx, 0.5):
            text, form = fill(ctx.pick(_LOOK_AT_Q), **slots), "sentence"
        else:
            text, form = fill(ctx.pick(_LOOK_AT_VP), **slots), "vp"
        calls.append(nav(place.name))
        _moved_to(ctx, place=place.name)
    elif _sentence_ok(ctx, 0.6):
        text, form = fill(ctx.pick(_LOOK_Q)), "sentence"
    else:
        text, form = fill(ctx.pick(_LOOK_VP)), "vp"
    calls.append(Call("describe_scene"))
    return Clause("look", calls, text, form, lookup=True)


# ---------------------------------------------------------------- objects

_FIND = templates("robot.find.vp", [
    "!find {obj} {loc}@3", "!look for {obj} {loc}@2", "search for {obj} {loc}",
    "see if you can find {obj} {loc}", "try to find {obj} {loc}", "locate {obj} {loc}",
    "spot {obj} {loc}", "hunt for {obj} {loc}", "have a look for {obj} {loc}",
    "check for {obj} {loc}", "look around for {obj} {loc}", "track down {obj} {loc}",
])
_FIND_SEARCH = templates("robot.find.search", [
    "!search {place} for {obj}", "look through {place} for {obj}", "scan {place} for {obj}",
    "check {place} for {obj}", "go through {place} looking for {obj}",
])
_FIND_Q = templates("robot.find.q", [
    "!is there {qobj} {loc}?", "do we have {qobj} {loc}?",
    "I can't find {obj}. Can you look for {it} {loc}?",
    "I lost {obj}, could you find {it} {loc}?", "where did I leave {obj}? Look for {it} {loc}.",
    "have you seen {obj}? Search {loc}.", "I misplaced {obj}. Find {it} {loc}.",
])
_FIND_THERE = templates("robot.find.there", [
    "!look for {obj} there", "find {obj} there", "while you're there, look for {obj}",
    "look for {obj} while you're there", "see if {obj} {is} there", "check for {obj} there",
])


def find(ctx: Ctx) -> Clause:
    """Find X (at a place, here or where the robot just went): find_object, no pick up."""
    obj = ctx.pick(OBJECTS)
    there = _there_ok(ctx)
    src: Place | None = None
    if there:
        src = _PLACE_BY_NAME[ctx.at_place].value if ctx.at_place in _PLACE_BY_NAME else None
    elif ctx.chance(0.6):
        anywhere = ctx.chance(0.15)
        src = pick_place(ctx, lambda p: p.name in HOMES[obj.cat] or (anywhere and p.kind == "room"))
    said_obj, desc = obj_np(ctx, obj)
    loc = ""
    if src is not None and not there:
        loc = in_place(src)
    slots = {"obj": said_obj, "loc": loc, "it": obj.it,
             "is": "are" if obj.count == "many" else "is"}
    if there:
        text, form = fill(ctx.pick(_FIND_THERE), **slots), "vp"
    elif loc and _sentence_ok(ctx, 0.35):
        slots["qobj"] = f"{_an(desc) if obj.count == 'one' else 'any'} {desc}"
        text, form = fill(ctx.pick(_FIND_Q), **slots), "sentence"
    elif src is not None and src.kind == "room" and ctx.chance(0.3):
        text, form = fill(ctx.pick(_FIND_SEARCH), place=src.the, obj=said_obj), "vp"
    else:
        text, form = fill(ctx.pick(_FIND), **slots), "vp"
    calls: list[Call] = []
    if src is not None:
        if ctx.at_place != src.name:
            calls.append(nav(src.name))
        if src.name in CLOSED_CONTAINERS and src.name not in ctx.opened:
            calls.append(Call("open_door", (src.name,)))
            ctx.opened.add(src.name)
        _moved_to(ctx, place=src.name)
    calls.append(Call("find_object", (desc,)))
    return Clause("find", calls, text, form, uses_ctx=there)


def _fetch_source(ctx: Ctx, obj: Obj, p_none: float = 0.2) -> tuple[Place | None, bool]:
    """Where to fetch from: the current place ("there"), a usual place for the object, or none."""
    if _there_ok(ctx) and ctx.at_place in _PLACE_BY_NAME:
        return _PLACE_BY_NAME[ctx.at_place].value, True
    if ctx.chance(p_none):
        return None, False
    return pick_place(ctx, lambda p: p.name in HOMES[obj.cat]), False


_BRING_ME = templates("robot.bring_me.vp", [
    "!bring me {obj} {src}@4", "!get me {obj} {src}@2", "grab me {obj} {src}@2",
    "fetch me {obj} {src}", "bring {obj} {src} to me", "bring {obj} {src} over here",
    "go get {obj} {src} and bring {it} to me", "get {obj} {src} for me", "hand me {obj} {src}",
    "bring {obj} {src} here", "pick up {obj} {src} and bring {it} to me",
    "grab {obj} {src} and give {it} to me", "fetch {obj} {src} for me", "bring me back {obj} {src}",
    "go grab {obj} {src} for me", "get {obj} {src} and bring {it} over", "go fetch {obj} {src}",
])
_NEED = templates("robot.need.sent", [
    "!I need {obj} {src}.@3", "I'd like {obj} {src}.", "can I get {obj} {src}?",
    "could I have {obj} {src}?", "I could use {obj} {src}.", "I want {obj} {src}.",
    "{obj} {src}, please.", "I'd love {obj} {src}.", "mind getting me {obj} {src}?",
    "I really need {obj} {src}.", "can I have {obj} {src}, please?",
])
_REASON_FORM = templates("robot.reason.form", [
    "!{reason}. Can you bring me {obj} {src}?", "{reason}, could you get me {obj} {src}?",
    "{reason}. I need {obj} {src}.", "{reason} — {obj} {src}, please.",
    "{reason}, so bring me {obj} {src}.", "{reason}. Grab me {obj} {src}, would you?",
    "ugh, {reason}. Get me {obj} {src}, please.", "{reason}. I'd love {obj} {src}.",
])
_BRING_TO = templates("robot.bring_to.vp", [
    "!bring {obj} {src} to {P}@3", "take {obj} {src} to {P}", "give {P} {obj} {src}",
    "bring {P} {obj} {src}", "deliver {obj} {src} to {P}", "grab {obj} {src} and take {it} to {P}",
    "get {obj} {src} and hand {it} to {P}", "fetch {obj} {src} for {P}",
    "carry {obj} {src} over to {P}", "go get {obj} {src} for {P}",
    "pick up {obj} {src} and give {it} to {P}", "run {obj} {src} over to {P}",
])
_BRING_TO_SENT = templates("robot.bring_to.sent", [
    "!{P} needs {obj} {src}. Can you take {it} to {pron}?",
    "{P} wants {obj} {src}, please bring {it} to {pron}.",
    "{P} asked for {obj} {src}. Bring {it} to {pron}, please.",
    "{P} could use {obj} {src}; take {it} to {pron}.",
])
_BRING_PRON = templates("robot.bring_pron.vp", [
    "!bring {pron} {obj} {src}", "take {pron} {obj} {src}", "give {pron} {obj} {src}",
    "get {pron} {obj} {src}", "fetch {pron} {obj} {src}", "grab {pron} {obj} {src}",
])
_GIVE_HERE = templates("robot.give_here.vp", [
    "!give {pron} {obj}", "hand {pron} {obj}", "pass {pron} {obj}",
    "find {obj} and give {it} to {pron}",
    "pick up {obj} and hand {it} to {pron}",
])
_BRING_THERE = templates("robot.bring.there", [
    "!grab {obj} there and bring {it} to {R}", "while you're there, get {obj} for {R}",
    "bring {obj} from there to {R}", "pick up {obj} there and take {it} to {R}",
    "grab {obj} while you're there and bring {it} to {R}",
    "get {obj} from there and give {it} to {R}",
])


def bring(ctx: Ctx) -> Clause:
    """Bring X (from a place) to the user or a person: fetch, then locate, navigate, hand over."""
    obj = ctx.pick(OBJECTS)
    to_user = not ctx.force_ctx and ctx.chance(0.65)
    person, pronoun = (USER, False) if to_user else pick_person(ctx)
    at_person = not to_user and ctx.at_person == person.name
    if at_person:
        src, there = None, False
    else:
        src, there = _fetch_source(ctx, obj)
    said_obj, desc = obj_np(ctx, obj)
    sp = src_phrase(ctx, src) if src is not None and not there else ""
    slots = {"obj": said_obj, "src": sp, "it": obj.it, "P": person.name, "pron": pron(person),
             "R": "me" if to_user else (person.obj if pronoun else person.name)}
    form = "vp"
    if at_person:
        text = fill(ctx.pick(_GIVE_HERE), **slots)
    elif there:
        text = fill(ctx.pick(_BRING_THERE), **slots)
    elif to_user:
        reasons = REASONS.get(obj.cat)
        if reasons is not None and _sentence_ok(ctx, 0.55):
            slots["reason"] = ctx.pick(reasons)
            text, form = fill(ctx.pick(_REASON_FORM), **slots), "sentence"
        elif _sentence_ok(ctx, 0.45):
            text, form = fill(ctx.pick(_NEED), **slots), "sentence"
        else:
            text = fill(ctx.pick(_BRING_ME), **slots)
    elif pronoun:
        text = fill(ctx.pick(_BRING_PRON), **slots)
    elif _sentence_ok(ctx, 0.3):
        text, form = fill(ctx.pick(_BRING_TO_SENT), **slots), "sentence"
    else:
        text = fill(ctx.pick(_BRING_TO), **slots)
    calls, pick = fetch(ctx, desc, src)
    calls += deliver(ctx, pick, person)
    _mentioned(ctx, person)
    return Clause("bring", calls, text, form, uses_ctx=pronoun or there or at_person)


_MOVE = templates("robot.move.vp", [
    "!put {obj} {src} {dprep} {dst}@3", "move {obj} {src} to {dst}", "take {obj} {src} to {dst}",
    "pick up {obj} {src} and put {it} {dprep} {dst}",
    "grab {obj} {src} and place {it} {dprep} {dst}",
    "bring {obj} {src} to {dst}", "get {obj} {src} and leave {it} {dprep} {dst}",
    "carry {obj} {src} over to {dst}", "place {obj} {src} {dprep} {dst}",
    "set {obj} {src} down {dprep} {dst}", "relocate {obj} {src} to {dst}",
    "drop {obj} {src} off {dprep} {dst}", "stick {obj} {src} {dprep} {dst}",
])
_MOVE_SENT = templates("robot.move.sent", [
    "!{obj} {src} goes {dprep} {dst}.",
    "{obj} {src} belongs {dprep} {dst}. Put {it} there, please.",
    "can you tidy up? {obj} {src} should go {dprep} {dst}.",
    "{obj} {src} needs to go {dprep} {dst}.",
])
_MOVE_THERE = templates("robot.move.there", [
    "!grab {obj} there and put {it} {dprep} {dst}", "while you're there, move {obj} to {dst}",
    "take {obj} from there to {dst}", "pick up {obj} there and set {it} {dprep} {dst}",
])


def move(ctx: Ctx) -> Clause:
    """Put X (from a place) on a surface: fetch, navigate to the surface, place."""
    obj = ctx.pick(OBJECTS)
    src, there = _fetch_source(ctx, obj, p_none=0.15)
    dst = pick_place(ctx, lambda p: p.name in PUT_SURFACES and (src is None or p.name != src.name))
    said_obj, desc = obj_np(ctx, obj)
    sp = src_phrase(ctx, src, located=False) if src is not None and not there else ""
    slots = {"obj": said_obj, "src": sp, "it": obj.it, "dprep": dst.prep, "dst": dst.the}
    form = "vp"
    if there:
        text = fill(ctx.pick(_MOVE_THERE), **slots)
    elif _sentence_ok(ctx, 0.25):
        text, form = fill(ctx.pick(_MOVE_SENT), **slots), "sentence"
    else:
        text = fill(ctx.pick(_MOVE), **slots)
    calls, pick = fetch(ctx, desc, src)
    calls += put(ctx, pick, dst)
    return Clause("move", calls, text, form, uses_ctx=there)


_PICK = templates("robot.pick.vp", [
    "!pick up {obj} {src}@3", "grab {obj} {src}", "grasp {obj} {src}", "take hold of {obj} {src}",
    "lift {obj} {src}", "get hold of {obj} {src}", "collect {obj} {src}", "pick {obj} up {src}",
])
_PICK_THERE = templates("robot.pick.there", [
    "!pick up {obj} there", "grab {obj} there", "pick up {obj} while you're there",
    "while you're there, grab {obj}", "get hold of {obj} there",
])


def pick(ctx: Ctx) -> Clause:
    """Pick X up and hold it (a later "bring it to Bob" or "put it on the shelf" uses it)."""
    obj = ctx.pick(OBJECTS)
    src, there = _fetch_source(ctx, obj, p_none=0.2)
    said_obj, desc = obj_np(ctx, obj)
    sp = src_phrase(ctx, src) if src is not None and not there else ""
    bank = _PICK_THERE if there else _PICK
    text = fill(ctx.pick(bank), obj=said_obj, src=sp)
    calls, pick_call = fetch(ctx, desc, src)
    ctx.holding = (pick_call, obj)
    return Clause("pick", calls, text, uses_ctx=there)


_HELD_TO = templates("robot.held.to", [
    "!bring {it} to {R}@2", "take {it} to {R}", "give {it} to {R}", "hand {it} to {R}",
    "bring {it} over to {R}", "deliver {it} to {R}", "carry {it} to {R}",
])
_HELD_ME = templates("robot.held.me", [
    "!bring {it} to me@2", "bring {it} here", "bring {it} back to me", "hand {it} to me",
    "bring {it} over", "give {it} to me",
])
_HELD_PUT = templates("robot.held.put", [
    "!put {it} {dprep} {dst}@2", "place {it} {dprep} {dst}", "leave {it} {dprep} {dst}",
    "set {it} down {dprep} {dst}", "drop {it} off {dprep} {dst}", "put {it} down {dprep} {dst}",
])


def held_deliver(ctx: Ctx) -> Clause:
    """Bring what was just picked up ("it") to a person or the user."""
    if ctx.holding is None:
        raise Skip("holding nothing")
    pick_call, obj = ctx.holding
    if ctx.chance(0.5):
        person, pronoun = USER, False
        text = fill(ctx.pick(_HELD_ME), it=obj.it)
    else:
        person, pronoun = pick_person(ctx)
        text = fill(ctx.pick(_HELD_TO), it=obj.it, R=person.obj if pronoun else person.name)
    ctx.holding = None
    calls = deliver(ctx, pick_call, person)
    _mentioned(ctx, person)
    return Clause("held_deliver", calls, text, uses_ctx=True)


def held_put(ctx: Ctx) -> Clause:
    """Put what was just picked up ("it") on a surface."""
    if ctx.holding is None:
        raise Skip("holding nothing")
    pick_call, obj = ctx.holding
    dst = pick_place(ctx, lambda p: p.name in PUT_SURFACES)
    text = fill(ctx.pick(_HELD_PUT), it=obj.it, dprep=dst.prep, dst=dst.the)
    ctx.holding = None
    return Clause("held_put", put(ctx, pick_call, dst), text, uses_ctx=True)


_OPEN = templates("robot.open.vp", [
    "!open {door}@4", "open up {door}", "go open {door}", "get {door} open", "pull {door} open",
    "go and open {door}", "swing {door} open", "prop {door} open", "crack {door} open",
    "unlatch and open {door}",
])
_OPEN_IT = templates("robot.open.it", ["!open it@2", "open it up", "get it open", "pull it open"])
_OPEN_REASON = templates("robot.open.reason", [
    "!someone's knocking. Open {door}.", "the dog wants to go out, open {door}.",
    "I've got my hands full, could you open {door}?", "the pizza guy is here. Open {door}, please.",
    "it's stuffy in here. Open {door}.", "grandma is arriving, please open {door}.",
    "the delivery is here — open {door}.",
])


def open_door(ctx: Ctx) -> Clause:
    """Open a door or appliance: navigate to it (unless there), then open_door."""
    here = _PLACE_BY_NAME.get(ctx.at_place or "")
    if (here is not None and here.value.kind in ("door", "appliance")
            and ctx.at_place not in ctx.opened and (ctx.force_ctx or ctx.chance(0.6))):
        ctx.opened.add(here.value.name)
        return Clause("open_door", [Call("open_door", (here.value.name,))],
                      fill(ctx.pick(_OPEN_IT)), uses_ctx=True)
    door = pick_place(ctx, lambda p: p.kind in ("door", "appliance"))
    if door.kind == "door" and _sentence_ok(ctx, 0.3):
        text, form = fill(ctx.pick(_OPEN_REASON), door=door.the), "sentence"
    else:
        text, form = fill(ctx.pick(_OPEN), door=door.the), "vp"
    calls = [nav(door.name), Call("open_door", (door.name,))]
    _moved_to(ctx, place=door.name)
    ctx.opened.add(door.name)
    return Clause("open_door", calls, text, form)


# ---------------------------------------------------------------- camera and messages

_PHOTO = templates("robot.photo.vp", [
    "!take a photo of {subj}@3", "!take a picture of {subj}@2", "snap a photo of {subj}",
    "photograph {subj}", "get a shot of {subj}", "grab a picture of {subj}",
    "capture an image of {subj}", "take a pic of {subj}", "shoot a photo of {subj}",
    "snap a pic of {subj}", "take a snapshot of {subj}",
])
_PHOTO_SEND = templates("robot.photo.send", [
    "!and send it to {R}@3", "and text it to {R}", "and message it to {R}",
    "and send {R} the photo",
    "then send the picture to {R}", "and shoot it over to {R}", "and send it over to {R}",
    "and share it with {R}",
])
_PHOTO_SEND_TEXT = templates("robot.photo.send_text", [
    "!and send it to {R} with the message {Q}", "and text it to {R} saying {msg}",
    "and send it to {R} with a note saying {msg}", "and message it to {R} saying that {msg}",
    "then text {R} the photo with the words {Q}",
])
_PHOTO_TO = templates("robot.photo.to", [
    "!send {R} a photo of {subj}@2", "text {R} a picture of {subj}",
    "message {R} a photo of {subj}",
    "send {R} a pic of {subj}", "send {R} a snapshot of {subj}",
])
_PHOTO_THERE = templates("robot.photo.there", [
    "!take a photo there", "snap a picture while you're there", "take a picture while you're there",
    "get a shot there", "snap a photo of the place",
])
_PHOTO_THERE_OF = templates("robot.photo.there_of", [
    "!take a picture of {subj} while you're there", "photograph {subj} there",
    "get a shot of {subj} there", "while you're there, snap a photo of {subj}",
])


def photo(ctx: Ctx) -> Clause:
    """Photograph a place or thing (going there when a place is named), maybe send the photo."""
    there = _there_ok(ctx)
    calls: list[Call] = []
    if there:
        here = ctx.at_place
        sub = ctx.pick_where(SUBJECTS, lambda s: here in s.home) if ctx.chance(0.6) else None
        if sub is not None:
            subject_word, subj_said = sub.name, f"the {sub.name}"
            text = fill(ctx.pick(_PHOTO_THERE_OF), subj=subj_said)
        else:
            subject_word, subj_said = ctx.at_place, f"the {ctx.at_place}"
            text = fill(ctx.pick(_PHOTO_THERE))
    else:
        sub = ctx.pick(SUBJECTS)
        own = sub.name in _OWNABLE
        det = "the" if sub.place or not own else ctx.choice(("the", "the", "the", "my", "our"))
        subj_said = f"{det} {sub.name}"
        subject_word = sub.name
        target: Place | None = None
        if sub.place:
            if not place_ok(ctx, sub.name) or ctx.at_place == sub.name:
                raise Skip("subject place not in split")
            target = _PLACE_BY_NAME[sub.name].value
            ctx.note(PLACES, sub.name)
        elif sub.home and ctx.chance(0.55):
            homes = [h for h in sub.home if place_ok(ctx, h) and h != ctx.at_place]
            if homes:
                target = _PLACE_BY_NAME[ctx.choice(homes)].value
                ctx.note(PLACES, target.name)
                subj_said = f"{subj_said} {in_place(target)}"
        if target is not None:
            calls.append(nav(target.name))
            _moved_to(ctx, place=target.name)
        text = ""
    shot = Call("take_photo", (subject_word,))
    calls.append(shot)
    roll = ctx.rng.random()
    if roll < 0.45:
        if not text:
            text = fill(ctx.pick(_PHOTO), subj=subj_said)
        return Clause("photo", calls, text, uses_ctx=there)
    if roll < 0.8:
        person, pronoun = USER, False
    else:
        person, pronoun = pick_person(ctx)
    recipient = "me" if person is USER else (person.obj if pronoun else person.name)
    message = ""
    if not text and ctx.chance(0.3):
        text = fill(ctx.pick(_PHOTO_TO), R=recipient, subj=subj_said)
    else:
        head = text or fill(ctx.pick(_PHOTO), subj=subj_said)
        if ctx.chance(0.35):
            content = ctx.pick(TEXTS if person is not USER and ctx.chance(0.5) else NEWS)
            message = spoken_text(content)
            tpl = (ctx.pick_where(_PHOTO_SEND_TEXT, no_bare_that(content))
                   or "and send it to {R} saying {msg}")
            tail = fill(tpl, R=recipient, msg=content, Q=_quote(ctx, content))
        else:
            tail = fill(ctx.pick(_PHOTO_SEND), R=recipient)
        text = f"{head} {tail}"
    calls.append(Call("send_message", (person.name, message, shot)))
    _mentioned(ctx, person)
    return Clause("photo", calls, text, uses_ctx=there or pronoun)


_SAY = templates("robot.say.vp", [
    "!say {Q}@3", "announce that {news}", "!announce {Q}", "yell {Q}", "shout that {news}",
    "say out loud that {news}", "make an announcement that {news}", "call out {Q}",
    "say the words {Q}", "speak up and say {Q}", "announce: {Line}", "say: {Line}",
    "loudly say {Q}", "broadcast that {news}", "let everyone hear you say {Q}",
])
_SAY_AT = templates("robot.say.at", [
    "!announce {in} that {news}", "go to {place} and say {Q}",
    "head to {place} and announce that {news}",
    "say {Q} {in}", "make an announcement {in}: {Line}", "go to {place} and yell {Q}",
    "drive to {place} and announce {Q}",
])


def announce(ctx: Ctx) -> Clause:
    """Say or announce something out loud, where the robot is or at a named place."""
    calls: list[Call] = []
    use_news = ctx.chance(0.5)
    content = ctx.pick(NEWS) if use_news else ctx.pick(LINES)
    slots = {"Q": _quote(ctx, content), "news": content, "Line": cap(content)}
    at = ctx.at_place is None and ctx.chance(0.3)
    bank = _SAY_AT if at else _SAY
    for _ in range(10):
        tpl = ctx.pick(bank)
        if use_news or "{news}" not in tpl:
            break
    else:
        raise Skip("no template for a line")
    if at:
        place = pick_place(ctx, lambda p: p.kind in ("room", "outdoor"))
        slots.update(place=place.the, **{"in": in_place(place)})
        calls.append(nav(place.name))
        _moved_to(ctx, place=place.name)
    calls.append(Call("say", (spoken_text(content),)))
    return Clause("announce", calls, fill(tpl, **slots))


_TELL = templates("robot.tell.vp", [
    "!tell {P} that {news}@4", "tell {P} {news}@2", "let {P} know that {news}@2",
    "go tell {P} that {news}", "find {P} and tell {pron} that {news}",
    "go to {P} and tell {pron} {news}",
    "inform {P} that {news}", "give {P} the message that {news}", "go let {P} know {news}",
    "tell {P} {Q}", "say {Q} to {P}", "go over to {P} and say {Q}", "!tell {P} to {order}@2",
    "go tell {P} to {order}", "find {P} and tell {pron} to {order}", "pop over to {P} and say {Q}",
    "head over to {P} and let {pron} know that {news}",
])
_TELL_HERE = templates("robot.tell.here", [
    "!tell {pron} that {news}", "let {pron} know that {news}", "tell {pron} {news}",
    "!tell {pron} to {order}", "say {Q} to {pron}", "say {Q}", "give {pron} the news that {news}",
])


def tell(ctx: Ctx) -> Clause:
    """Tell P that ... / tell P to ...: go to P (unless there) and say it."""
    here = ctx.at_person is not None and ctx.at_person != "user" and ctx.last_person is not None \
        and ctx.last_person.name == ctx.at_person and (ctx.force_ctx or ctx.chance(0.6))
    if here:
        person, pronoun = ctx.last_person, True
    else:
        person, pronoun = pick_person(ctx)
        if ctx.at_person == person.name:
            raise Skip("already with them")
    tpl = ctx.pick(_TELL_HERE if here else _TELL)
    slots = {"P": person.obj if pronoun else person.name, "pron": person.obj}
    if "{order}" in tpl:
        content = ctx.pick(ORDERS)
        slots["order"] = content
    elif "{news}" in tpl:
        content = ctx.pick(NEWS)
        slots["news"] = content
    else:
        content = ctx.pick(LINES if ctx.chance(0.6) else NEWS)
        slots["Q"] = _quote(ctx, content)
    calls = [] if here else goto_person(person)
    calls.append(Call("say", (spoken_text(content),)))
    _moved_to(ctx, person=person.name)
    _mentioned(ctx, person)
    return Clause("tell", calls, fill(tpl, **slots), uses_ctx=pronoun)


_TEXT = templates("robot.text.vp", [
    "!text {R} that {msg}@4", "!send {R} a message saying {msg}@2", "message {R}: {Msg}",
    "send a text to {R} saying {Q}", "text {R} {Q}", "shoot {R} a text that {msg}",
    "drop {R} a message saying {msg}", "send {R} a text: {Msg}", "message {R} that {msg}",
    "text {R} and say {msg}", "send {R} a quick text saying {msg}",
    "ping {R} with a message that {msg}",
    "send a message to {R}: {Q}", "let {R} know by text that {msg}",
    "fire off a text to {R} saying {msg}",
])


def text_message(ctx: Ctx) -> Clause:
    """Text P (or me) that ...: send_message with no attachment."""
    if ctx.chance(0.25):
        person, pronoun = USER, False
        content = ctx.pick(NEWS)
    else:
        person, pronoun = pick_person(ctx)
        content = ctx.pick(TEXTS if ctx.chance(0.75) else NEWS)
    tpl = ctx.pick_where(_TEXT, no_bare_that(content)) or "text {R} {Q}"
    if person is USER and "let {R} know" in tpl:
        raise Skip("odd for the user")
    recipient = "me" if person is USER else (person.obj if pronoun else person.name)
    text = fill(tpl, R=recipient, msg=content, Msg=cap(content), Q=_quote(ctx, content))
    _mentioned(ctx, person)
    return Clause("text", [Call("send_message", (person.name, spoken_text(content), ""))], text,
                  uses_ctx=pronoun)


_MEET = templates("robot.meet.go", [
    "!find {P}@2", "go find {P}", "track down {P}", "go over to {P}", "look for {P}", "go to {P}",
    "head over to {P}", "hunt down {P}",
])


def meet(ctx: Ctx) -> Clause:
    """Find P and (tell them / give them X): the second part acts where P is."""
    person, _ = pick_person(ctx, pronoun_ok=False)
    if ctx.at_person == person.name:
        raise Skip("already there")
    head = fill(ctx.pick(_MEET), P=person.name)
    calls = goto_person(person)
    _moved_to(ctx, person=person.name)
    _mentioned(ctx, person)
    ctx.force_ctx = True
    try:
        second = tell(ctx) if ctx.chance(0.6) else bring(ctx)
    finally:
        ctx.force_ctx = False
    return Clause("meet", calls + second.calls, f"{head} and {second.text}")


# ---------------------------------------------------------------- the grammar


INTENTS: tuple[Intent, ...] = (
    Intent("go_place", 7, go_place),
    Intent("go_person", 5, go_person),
    Intent("where_person", 5, where_person),
    Intent("battery", 4, battery, repeat=False),
    Intent("look", 6, look, repeat=False),
    Intent("dock", 5, dock, repeat=False),
    Intent("drive", 5, drive),
    Intent("rotate", 5, rotate),
    Intent("pose", 4, pose, repeat=False),
    Intent("find", 6, find),
    Intent("bring", 12, bring),
    Intent("move", 6, move),
    Intent("pick", 3, pick),
    Intent("held_deliver", 0, held_deliver, needs_holding=True),
    Intent("held_put", 0, held_put, needs_holding=True),
    Intent("open_door", 5, open_door),
    Intent("photo", 8, photo, repeat=False),
    Intent("announce", 6, announce),
    Intent("tell", 7, tell),
    Intent("text", 7, text_message),
    Intent("meet", 3, meet),
)
