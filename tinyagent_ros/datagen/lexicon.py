"""Entity pools and shared phrase banks: people, places, objects, messages, wrappers, glue.

Every pool is a :class:`~tinyagent_ros.datagen.heldout.Bank`, so about a fifth of
it is held out for the test split. The core rooms and furniture of the home are
``shared`` (a robot always has a kitchen); everything else is partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyagent_ros.datagen.heldout import Bank, templates

# ---------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    """A person by the name the plan uses; gender picks the pronoun."""

    name: str
    gender: str = "n"  # "m", "f" or "n"

    @property
    def obj(self) -> str:
        """Object pronoun: him, her, them."""
        return {"m": "him", "f": "her"}.get(self.gender, "them")

    @property
    def subj(self) -> str:
        """Subject pronoun: he, she, they."""
        return {"m": "he", "f": "she"}.get(self.gender, "they")


def _people(spec: str) -> list[Person]:
    out = []
    for chunk in spec.split(","):
        name, gender = chunk.strip().rsplit(":", 1)
        out.append(Person(name.strip(), gender.strip()))
    return out


_HOUSEHOLD = _people(
    "Bob:m, Alice:f, Emma:f, Liam:m, Sarah:f, Noah:m, Olivia:f, Mia:f, Lucas:m, Sophia:f, "
    "Ethan:m, Ava:f, James:m, Isabella:f, Mohammed:m, Priya:f, Wei:m, Yuki:f, Carlos:m, "
    "Fatima:f, Diego:m, Aisha:f, Kenji:m, Ingrid:f, Olga:f, Tariq:m, Nia:f, Mateo:m, Chloe:f, "
    "Hannah:f, Jonas:m, Leila:f, Ravi:m, Sven:m, Amara:f, Omar:m, Zoe:f, Grace:f, Daniel:m, "
    "Ben:m, Lucy:f, Max:m, Nora:f, Theo:m, Ruby:f, Felix:m, Maya:f, Oscar:m, Ella:f, Hugo:m, "
    "Iris:f, Jack:m, Lena:f, Sam:n, Alex:n, Jordan:n, Taylor:n, Robin:n, Kai:m, Anya:f, "
    "Mom:f, Dad:m, Grandma:f, Grandpa:m, Nana:f, Aunt Linda:f, Uncle Joe:m, Aunt Rosa:f, "
    "Uncle Ken:m, Mrs. Chen:f, Mr. Patel:m, Dr. Novak:f, Coach Rivera:m, Miss Lee:f"
)
#: People in the home the robot can find, talk to and message.
PEOPLE: Bank[Person] = Bank(
    "robot.person", _HOUSEHOLD, key=lambda p: p.name,
    pinned=["Bob", "Alice", "Emma", "Mom", "Dad", "Liam", "Sarah"],
)

# ---------------------------------------------------------------- places


@dataclass(frozen=True)
class Place:
    """A named place of the home; ``prep`` is how an object sits there."""

    name: str
    kind: str  # room, outdoor, surface, door, appliance
    prep: str = "in"
    room: str | None = None  # the room a piece of furniture stands in

    @property
    def the(self) -> str:
        """The place with its article: "the kitchen"."""
        return f"the {self.name}"


def _places(kind: str, prep: str, spec: str) -> list[Place]:
    out = []
    for chunk in spec.split(","):
        chunk = chunk.strip()
        name, _, room = chunk.partition("/")
        p = prep
        if name.startswith("^"):  # a different preposition: ^in sink
            p, name = name[1:].split(" ", 1)
        out.append(Place(name.strip(), kind, p, room.strip() or None))
    return out


_ROOMS = _places("room", "in", (
    "kitchen, living room, bedroom, bathroom, garage, office, hallway, dining room, basement, "
    "laundry room, study, guest room, playroom, pantry, attic, nursery, den, mudroom, sunroom, "
    "master bedroom, kids' room, tv room, home office, utility room, entryway, lounge, library, "
    "upstairs bathroom, workshop, wine cellar"
))
_OUTDOOR = _places("outdoor", "in", (
    "garden, backyard, front yard, ^on patio, ^on porch, ^on balcony, ^on driveway, ^on deck, "
    "greenhouse, ^on terrace, vegetable garden, ^by pool"
))
_SURFACES = _places("surface", "on", (
    "kitchen table/kitchen, kitchen counter/kitchen, coffee table/living room, desk/office, "
    "nightstand/bedroom, couch/living room, sofa/living room, bookshelf/study, "
    "dining table/dining room, ^in sink/kitchen, stove/kitchen, shelf, dresser/bedroom, "
    "tv stand/living room, side table/living room, windowsill, workbench/garage, bed/bedroom, "
    "kitchen island/kitchen, armchair/living room, bathroom counter/bathroom, hall table/hallway, "
    "piano/living room, ottoman/living room, bench/entryway, shoe rack/hallway, "
    "bedside table/bedroom, ^in toy box/playroom, changing table/nursery, "
    "filing cabinet/office, ^in laundry basket/laundry room, ^in cupboard/kitchen, "
    "bar cart/dining room, ^in bathtub/bathroom, crib/nursery, ^in recliner/den"
))
_DOORS = _places("door", "by", (
    "front door, back door, garage door, bedroom door, bathroom door, patio door, office door, "
    "basement door, side door, closet door, kitchen door, pantry door, garden gate, "
    "laundry room door, nursery door"
))
_APPLIANCES = _places("appliance", "in", "fridge, freezer, microwave, dishwasher, oven")

#: Rooms, gardens, furniture, doors and appliances the robot can drive to.
PLACES: Bank[Place] = Bank(
    "robot.place", _ROOMS + _OUTDOOR + _SURFACES + _DOORS + _APPLIANCES, key=lambda p: p.name,
    shared=["kitchen", "living room", "bedroom", "bathroom", "garage", "office", "garden",
            "kitchen table", "coffee table", "desk", "couch", "front door", "fridge",
            "kitchen counter", "dining table", "sink", "back door", "oven"],
)
#: Places whose contents are behind a door (open_door before the fetch).
CLOSED_CONTAINERS = ("fridge", "freezer")

# ---------------------------------------------------------------- objects


@dataclass(frozen=True)
class Obj:
    """An object kind: the noun the plan writes, how it counts, where it is usually found."""

    noun: str
    count: str  # "one", "many" or "mass"
    cat: str
    colored: bool = False

    @property
    def it(self) -> str:
        """The pronoun for the object: it or them."""
        return "them" if self.count == "many" else "it"


def _objs(cat: str, spec: str) -> list[Obj]:
    out = []
    for chunk in spec.split(","):
        chunk = chunk.strip()
        colored = chunk.endswith("*")
        chunk = chunk.rstrip("*")
        count = "one"
        if chunk.endswith("+"):
            count, chunk = "many", chunk[:-1]
        elif chunk.endswith("~"):
            count, chunk = "mass", chunk[:-1]
        out.append(Obj(chunk, count, cat, colored))
    return out


_OBJECTS = (
    _objs("drink", (
        "water bottle, bottle of water, glass of water, soda, can of soda, orange juice~, "
        "bottle of juice, milk~, carton of milk, beer, lemonade~, iced tea~, sparkling water~, "
        "energy drink, bottle of wine, juice box, can of lemonade, smoothie, cold brew~, "
        "coconut water~"
    ))
    + _objs("food", (
        "apple, banana, orange, sandwich, yogurt, granola bar, bag of chips, cookies+, "
        "slice of pizza, cheese~, grapes+, pear, muffin, chocolate bar, leftover pasta~, "
        "hummus~, carrot sticks+, box of crackers, peach, string cheese~, pudding cup"
    ))
    + _objs("kitchen", (
        "cup*, mug*, plate*, bowl*, spoon, fork, glass, pan, cutting board, kettle, thermos*, "
        "lunchbox*, coffee cup, tea towel*, salt shaker, teapot, baking tray, measuring cup, "
        "ladle, spatula"
    ))
    + _objs("personal", (
        "keys+, phone, wallet, glasses+, reading glasses+, sunglasses+, watch, purse*, "
        "backpack*, hairbrush, hat*, scarf*, gloves+, slippers+, umbrella*, jacket*, sweater*, "
        "hoodie*, shoes+, sneakers+, wristband*, lip balm, house keys+, car keys+, id card"
    ))
    + _objs("comfort", "towel*, blanket*, pillow*, cushion*, throw blanket*, heating pad, robe*")
    + _objs("media", (
        "book*, notebook*, newspaper, magazine, laptop, tablet, TV remote, remote, "
        "game controller, headphones+, earbuds+, phone charger, charger, laptop charger, "
        "folder*, envelope*, letter, crossword, photo album, sketchbook"
    ))
    + _objs("office", (
        "pen*, pencil, scissors+, tape, stapler, marker*, ruler, calculator, sticky notes+"
    ))
    + _objs("health", (
        "medicine~, pill bottle, tissues+, box of tissues, thermometer, first aid kit, inhaler, "
        "vitamins+, ice pack, bandages+, eye drops+, hand cream~"
    ))
    + _objs("pet", "dog leash*, dog toy, cat toy, dog bowl*, ball*, chew toy, bag of dog treats")
    + _objs("toy", (
        "teddy bear, toy car*, doll, building blocks+, puzzle box, toy truck*, stuffed rabbit, "
        "coloring book, crayons+, rubber duck"
    ))
    + _objs("misc", (
        "flashlight, batteries+, candle, potted plant, vase*, photo frame, watering can*, "
        "light bulb, extension cord, screwdriver, tape measure, hammer, basket*, shopping bag*, "
        "trash bag, spray bottle"
    ))
)
#: Objects the robot can find, pick up and hand over.
OBJECTS: Bank[Obj] = Bank(
    "robot.object", _OBJECTS, key=lambda o: o.noun,
    pinned=["water bottle", "cup", "keys", "book", "TV remote", "soda", "phone", "mug"],
)
#: Adjectives for objects that come in colours.
COLORS: Bank[str] = Bank(
    "robot.color",
    ["red", "blue", "green", "yellow", "black", "white", "pink", "purple", "grey", "brown",
     "striped", "small", "big", "old", "new", "favorite", "silver", "dark blue",
     "light green", "spotted", "tiny"],
    pinned=["red", "blue"],
)
#: States of dishes ("empty mug", "dirty plate").
STATES: Bank[str] = Bank("robot.state", ["empty", "dirty", "clean", "hot", "used", "full"],
                         pinned=["empty", "dirty"])
#: Which places an object category is fetched from.
HOMES: dict[str, tuple[str, ...]] = {
    "drink": ("fridge", "kitchen", "kitchen counter", "kitchen island", "pantry", "dining table",
              "bar cart", "freezer", "kitchen table", "wine cellar", "cupboard"),
    "food": ("fridge", "kitchen", "pantry", "kitchen counter", "kitchen table",
             "kitchen island", "dining table", "cupboard", "freezer"),
    "kitchen": ("kitchen", "sink", "kitchen counter", "dining table", "kitchen table", "cupboard",
                "coffee table", "desk", "kitchen island", "nightstand", "office"),
    "personal": ("hallway", "entryway", "bedroom", "nightstand", "dresser", "hall table", "bench",
                 "shoe rack", "desk", "kitchen counter", "couch", "mudroom", "living room",
                 "bedside table", "coffee table", "bathroom counter", "garage", "office"),
    "comfort": ("bedroom", "couch", "sofa", "living room", "bed", "armchair", "laundry room",
                "laundry basket", "guest room", "den", "bathroom", "ottoman", "recliner"),
    "media": ("living room", "coffee table", "desk", "office", "study", "bookshelf", "couch",
              "nightstand", "tv stand", "side table", "kitchen table", "bedroom", "library",
              "den", "home office", "tv room", "bedside table", "filing cabinet"),
    "office": ("desk", "office", "study", "home office", "kitchen counter", "shelf",
               "filing cabinet", "workbench", "kitchen table"),
    "health": ("bathroom", "bathroom counter", "nightstand", "kitchen", "kitchen counter",
               "bedroom", "upstairs bathroom", "bedside table", "cupboard", "freezer", "shelf"),
    "pet": ("backyard", "garden", "hallway", "mudroom", "living room", "kitchen", "porch",
            "garage", "patio", "entryway", "laundry room"),
    "toy": ("playroom", "kids' room", "living room", "nursery", "toy box", "couch", "bedroom",
            "garden", "backyard", "crib", "changing table"),
    "misc": ("garage", "workbench", "basement", "utility room", "kitchen", "hallway", "attic",
             "shelf", "windowsill", "workshop", "greenhouse", "patio", "laundry room"),
}
#: Surfaces an object can be put down on.
PUT_SURFACES = tuple(p.name for p in _SURFACES)


@dataclass(frozen=True)
class Subject:
    """Something to photograph; ``place`` is True when the subject is itself a place."""

    name: str
    place: bool = False
    home: tuple[str, ...] = ()


_SUBJECTS = [
    Subject("garden", True), Subject("backyard", True), Subject("front yard", True),
    Subject("driveway", True), Subject("patio", True), Subject("porch", True),
    Subject("living room", True), Subject("kitchen", True), Subject("garage", True),
    Subject("balcony", True), Subject("vegetable garden", True), Subject("greenhouse", True),
    Subject("plants", home=("living room", "garden", "windowsill", "greenhouse", "balcony")),
    Subject("stove", home=("kitchen",)), Subject("car", home=("garage", "driveway")),
    Subject("visitor", home=("front door", "porch")), Subject("dog", home=("backyard", "garden")),
    Subject("cat", home=("living room", "bedroom", "couch")),
    Subject("mailbox", home=("front yard",)),
    Subject("package", home=("porch", "front door")), Subject("fridge shelves", home=("fridge",)),
    Subject("broken lamp", home=("living room", "bedroom")),
    Subject("whiteboard", home=("office", "study")),
    Subject("fish tank", home=("living room", "den")),
    Subject("bird feeder", home=("garden", "backyard")), Subject("flowers", home=("garden",)),
    Subject("birthday cake", home=("kitchen", "dining table")),
    Subject("children", home=("playroom",)),
    Subject("leak under the sink", home=("kitchen", "bathroom")),
    Subject("thermostat", home=("hallway",)), Subject("window", home=("bedroom", "living room")),
    Subject("sunset", home=("balcony", "backyard")), Subject("puzzle", home=("coffee table",)),
    Subject("bookshelf", home=("study", "living room")),
    Subject("laundry pile", home=("laundry room",)),
    Subject("baby", home=("nursery",)), Subject("pantry shelves", home=("pantry",)),
    Subject("tomato plants", home=("vegetable garden", "greenhouse")),
    Subject("dinner table", home=("dining room",)),
    Subject("christmas tree", home=("living room",)),
]
#: Things and places to photograph.
SUBJECTS: Bank[Subject] = Bank(
    "robot.subject", _SUBJECTS, key=lambda s: s.name,
    pinned=["car", "plants", "stove", "visitor"],
    shared=[s.name for s in _SUBJECTS if s.place],  # a place's own tier (robot.place) applies
)

# ---------------------------------------------------------------- what to say

#: Statements for "tell P that ...", "announce that ...": no I/you, so no perspective shift.
NEWS: Bank[str] = Bank("robot.news", [
    "dinner is ready", "lunch is ready", "breakfast is ready", "the movie is starting",
    "it's bedtime", "the pizza is here", "the taxi has arrived", "it's time to leave",
    "the laundry is done", "the bath is ready", "the game starts in ten minutes",
    "there's cake in the kitchen", "the dog needs a walk", "it's raining outside",
    "the plumber is here", "the package has arrived", "the guests are here",
    "school starts in twenty minutes", "the oven is preheated", "homework time starts now",
    "the meeting starts soon", "the cookies are out of the oven", "the car is ready",
    "it has started snowing", "dessert is served", "the show is about to begin",
    "the bus comes in five minutes", "the water is boiling", "the kettle is on",
    "the groceries were delivered", "the internet is back", "the power is back on",
    "the washing machine finished", "tea is ready", "the soup is getting cold",
    "the babysitter is on the way", "visiting hours end at eight", "the party starts at seven",
    "the neighbors are outside", "the paint is still wet", "the floor is wet",
    "the garden needs watering", "the mail came", "the table is set",
    "the cat knocked over a plant", "practice was cancelled", "the train is delayed",
    "pancakes are on the table", "the fire drill starts at noon", "the coffee is ready",
    "the front gate is open", "the lasagna needs ten more minutes", "the rain has stopped",
    "movie night is at eight", "the doctor called", "the heating is fixed",
    "the puppy is asleep", "the pool is open", "the barbecue is lit",
], pinned=["dinner is ready", "lunch is ready", "the package has arrived"])
#: Imperatives for "tell P to ...": said verbatim.
ORDERS: Bank[str] = Bank("robot.order", [
    "come to the kitchen", "come downstairs", "get ready for school", "come to dinner",
    "turn off the TV", "take out the trash", "call Grandma back", "wash up for dinner",
    "start packing", "put on a jacket", "feed the cat", "check the mailbox", "be quiet",
    "hurry up", "come say goodbye", "set the table", "water the plants", "close the windows",
    "lock the back door", "get off the computer", "finish the homework", "come help in the garage",
    "pick up the phone", "bring the laundry down", "turn the music down", "come look at this",
    "meet at the car", "get dressed", "clean up the toys", "go to sleep",
], pinned=["come to the kitchen", "come downstairs"])
#: Short lines to say out loud, usually quoted.
LINES: Bank[str] = Bank("robot.line", [
    "hello everyone", "welcome home", "happy birthday", "please wait a moment", "good morning",
    "dinner is served", "wake up", "be right there", "excuse me", "attention please",
    "good night", "time to go", "nice to meet you", "welcome to our home", "thank you for coming",
    "lights out", "rise and shine", "the kitchen is closed", "please take off your shoes",
    "who is there", "come in", "one moment please", "surprise", "congratulations",
    "see you later", "stay calm", "everyone to the living room", "the door is open",
    "please leave the package by the door", "hello there", "happy new year", "bon appetit",
], pinned=["hello everyone", "welcome home"])
#: Texts for messages to phones (first person is fine: the user is the sender).
TEXTS: Bank[str] = Bank("robot.text", [
    "I'll be home at six", "I'm running late", "I'm on my way", "I left the keys under the mat",
    "don't forget the dentist appointment", "the door is unlocked", "I'll call you later",
    "the kids are asleep", "dinner is in the oven", "please pick up milk", "the car is in the shop",
    "I need a ride at five", "the meeting got moved", "everything is fine at home",
    "the heating is on", "I fed the dog", "the package is on the porch", "don't wait up",
    "I'm at the store", "the babysitter is here", "call me when you land", "the game is on",
    "I'm working late tonight", "your glasses are on the desk", "the plants are watered",
    "the window is broken", "the cat is missing", "the oven is off", "I got the tickets",
    "see you at the station", "the lights are off", "the spare key is in the drawer",
    "we're out of coffee", "the garage is open", "I'll bring dessert", "all good here",
    "the party is at eight", "the repair guy came", "mail is on the table", "grab some bread",
], pinned=["I'm running late", "I'll be home at six", "I'm on my way"])

# ---------------------------------------------------------------- reasons people give

#: Why someone needs a thing, by object category ("I'm thirsty").
REASONS: dict[str, Bank[str]] = {
    "drink": Bank("robot.reason.drink", [
        "I'm thirsty", "I'm so thirsty", "I'm parched", "my throat is dry", "I need a drink",
        "it's so hot today", "I just got back from a run", "I'm dying of thirst",
    ], pinned=["I'm thirsty"]),
    "food": Bank("robot.reason.food", [
        "I'm hungry", "I'm starving", "I skipped lunch", "I need a snack", "my stomach is growling",
        "I could eat something", "I'm a bit peckish",
    ], pinned=["I'm hungry"]),
    "comfort": Bank("robot.reason.comfort", [
        "I'm freezing", "it's cold in here", "I'm so cold", "I'm chilly",
        "I spilled water on myself",
        "I want to lie down", "my back hurts",
    ], pinned=["I'm freezing"]),
    "personal": Bank("robot.reason.personal", [
        "I'm heading out", "I'm about to leave", "I'm late for work", "I'm going for a walk",
        "I can't see a thing", "it's raining out", "I'm going out soon",
    ], pinned=["I'm heading out"]),
    "media": Bank("robot.reason.media", [
        "I want to watch TV", "I'm bored", "my phone is dying", "I want to read",
        "the game is about to start", "I need to check something", "my battery is almost dead",
    ], pinned=["I want to watch TV"]),
    "health": Bank("robot.reason.health", [
        "I have a headache", "I don't feel well", "I think I have a fever", "I cut my finger",
        "my allergies are acting up", "I feel sick", "my eyes are itchy",
    ], pinned=["I have a headache"]),
}

# ---------------------------------------------------------------- wrappers and glue

#: Question-shaped requests: "could you {vp}?".
POLITE_Q = templates("wrap.polite_q", [
    "!could you {vp}?@3", "!can you {vp}?@3", "would you {vp}?", "!could you please {vp}?@3",
    "can you please {vp}?@2", "would you please {vp}?", "do you think you could {vp}?",
    "any chance you could {vp}?", "is it possible for you to {vp}?", "would you be able to {vp}?",
    "could you maybe {vp}?", "would you mind if I asked you to {vp}?", "could you kindly {vp}?",
    "can you {vp} for me?", "would you be so kind as to {vp}?",
])
#: Polite statements: "please {vp}.".
POLITE = templates("wrap.polite", [
    "!please {vp}.@3", "!{vp}, please.@3", "kindly {vp}.",
    "if you could {vp}, that would be great.",
    "I'd appreciate it if you could {vp}.", "it would be great if you could {vp}.",
    "when you get a chance, {vp}.", "{vp} when you have a moment.", "please {vp}, thanks.",
    "{vp}, if you don't mind.", "if it's not too much trouble, {vp}.", "{vp}, would you?",
    "please, {vp}.", "{vp}, thank you.",
])
#: Indirect requests: "I need you to {vp}.".
INDIRECT = templates("wrap.indirect", [
    "!I need you to {vp}.@3", "!I'd like you to {vp}.@2", "I want you to {vp}.",
    "your next task is to {vp}.", "here's what I need: {vp}.", "go ahead and {vp}.",
    "I'd love it if you could {vp}.", "what I need you to do is {vp}.", "you should {vp}.",
    "make sure to {vp}.", "I was hoping you could {vp}.", "I'm going to need you to {vp}.",
    "it's time to {vp}.", "can I ask you to {vp}?", "let's have you {vp}.", "your job now: {vp}.",
])
#: Ways to address the robot first.
ADDRESS_ROBOT = templates("wrap.address.robot", [
    "!hey robot, {s}", "robot, {s}", "hey buddy, {s}", "okay robot, {s}", "hey there, {s}",
    "listen, {s}", "hi robot! {s}", "yo, {s}", "hey, {s}",
])
#: Ways to address the Mac assistant first.
ADDRESS_MAC = templates("wrap.address.mac", [
    "!hey, {s}", "okay, {s}", "alright, {s}", "hi! {s}", "quick one: {s}", "hey assistant, {s}",
    "so, {s}", "right, {s}", "listen, {s}",
])
#: Spoken fillers for rambling requests.
FILLERS = templates("wrap.filler", [
    "!um,", "!uh,", "so,", "um, so,", "so, like,", "okay so", "hmm,", "uh, yeah,", "well,",
    "right, so", "like,", "er,", "you know,", "so basically,", "um, okay,", "uh, let me think,",
])
#: Sentences before the request that ask for nothing.
DISTRACT_PRE = templates("wrap.distract_pre", [
    "!It's been a long day, anyway.", "Ugh, what a morning.", "I just got back from work.",
    "Okay, listen.", "Quick thing.", "Alright, here's the deal.", "Sorry to bother you.",
    "So, I was thinking.", "Man, I'm tired.", "Right, where was I.", "Oh, before I forget.",
    "Busy day today.", "The weather is terrible today.", "Okay, new task.", "Let me think.",
    "Long story short.", "Good news, the week is almost over.", "Phew, finally home.",
    "Right, okay.", "I'm so behind on everything.", "Anyway, moving on.",
])
#: Sentences after the request that ask for nothing.
DISTRACT_POST = templates("wrap.distract_post", [
    "!Thanks!", "Thank you.", "Thanks a lot.", "No rush.", "Appreciate it.", "You're the best.",
    "That's all for now.", "Take your time.", "Cheers.", "Thanks in advance.",
    "That would be great.",
    "Much appreciated.", "Thanks, buddy.", "That's it.", "Nothing else for now.",
])
#: Joining two verb phrases in one sentence (plan order kept).
JOIN_VP = templates("conn.vp", [
    " and {b}@6", ", and {b}@3", " and then {b}@3", ", then {b}@3", " then {b}", ", after that {b}",
    ", and after that {b}", ", and also {b}", " and also {b}", "; then {b}",
    ", and once that's done, {b}", ", and when you're done, {b}", ", and afterwards {b}",
    ", plus {b}", " and after that, {b}", " — then {b}",
    ", and right after that {b}", ", next {b}",
], shared=[" and {b}", ", and {b}", " and then {b}", ", then {b}"])
#: Starting a new sentence that continues the request.
JOIN_SENT = templates("conn.sent", [
    "Then {b}@3", "After that, {b}@2", "Also, {b}@2", "Oh, and {b}", "And {b}", "Next, {b}",
    "Once you're done, {b}", "When you're finished, {b}", "Afterwards, {b}", "Oh, also, {b}",
    "Plus, {b}", "And then {b}", "Oh, and one more thing: {b}", "{b}@2", "After you're done, {b}",
    "Anyway, {b}", "Another thing: {b}",
], shared=["Then {b}", "Also, {b}", "{b}", "And {b}"])
#: Reordered pairs: the text names b first, the plan does a first.
BEFORE = templates("conn.before", [
    "before you {b}, {a}", "{b}, but first {a}", "{b}, but before that, {a}",
    "{b} — but {a} first", "first {a}, and only then {b}", "{a} before you {b}",
    "{a} first, then {b}", "{b} — and {a} before that",
])
#: Three or more verb phrases in one go (keys dispatched on in compose.py).
SERIES = templates("conn.series", [
    "!first_then_finally@3", "comma_list@2", "then_chain@2", "semicolons", "first_after_lastly",
    "and_finally", "steps", "and_then_chain", "numbered", "sentences",
], shared=["comma_list"])

# ---------------------------------------------------------------- Mac: people and groups

_MAC_PEOPLE = _people(
    "Sarah:f, John:m, Alice:f, Bob:m, Maria:f, Tom:m, Priya:f, Kevin:m, Lena:f, Omar:m, Nina:f, "
    "Sam:n, Lisa:f, Jake:m, Anna:f, David:m, Rachel:f, Michael:m, Emily:f, Chris:n, Jessica:f, "
    "Daniel:m, Laura:f, Mark:m, Sophie:f, Raj:m, Mei:f, Hiroshi:m, Elena:f, Pablo:m, Fatima:f, "
    "Ahmed:m, Olga:f, Lars:m, Chloe:f, Marcus:m, Grace:f, Ivan:m, Zara:f, Leo:m, Hannah:f, "
    "Victor:m, Paula:f, Ken:m, Dana:f, Eric:m, Tessa:f, Noah:m, Amy:f, Ben:m, Kate:f, Ali:m, "
    "Professor Kim:n, Dr. Patel:n, Dr. Alvarez:n, Mrs. Johnson:f, Mr. Garcia:m, Coach Miller:m, "
    "John Smith:m, Maria Lopez:f, Wei Chen:m, Aisha Khan:f, Tom Becker:m, Julia Roberts:f, "
    "Mom:f, Dad:m, Grandma:f, Grandpa:m, Aunt Susan:f, Uncle Bill:m"
)
#: Contacts on the user's Mac.
CONTACTS: Bank[Person] = Bank(
    "mac.person", _MAC_PEOPLE, key=lambda p: p.name,
    pinned=["Sarah", "John", "Alice", "Bob", "Mom", "Dad", "Tom", "Maria"],
)
#: Relationship words dropped from contact names ("my boss Dave" is "Dave").
RELATIONS: Bank[tuple[str, str]] = Bank("mac.relation", [
    ("my boss", ""), ("my colleague", ""), ("my manager", ""), ("my friend", ""),
    ("my sister", "f"), ("my brother", "m"), ("my coworker", ""), ("my landlord", "m"),
    ("my neighbor", ""), ("my teammate", ""), ("my cousin", ""), ("my client", ""),
    ("my roommate", ""), ("my assistant", ""), ("my doctor", ""), ("my accountant", ""),
    ("my tutor", ""), ("my mentor", ""), ("my aunt", "f"), ("my uncle", "m"),
], kind="template", key=lambda r: r[0], pinned=["my boss", "my friend"])
#: Groups looked up as one name.
GROUPS: Bank[str] = Bank("mac.group", [
    "design team", "marketing team", "sales team", "engineering team", "book club",
    "leadership team", "project team", "finance team", "hiking group", "board", "product team",
    "support team", "band", "soccer team", "study group", "research group", "HR team", "PTA",
], pinned=["design team", "marketing team"])
#: Literal email addresses said in full.
ADDRESSES: Bank[str] = Bank("mac.address", [
    "jane.doe@example.com", "bob.smith@example.org", "team@acme.io", "hr@company.com",
    "support@example.net", "li.wang@uni.edu", "alex99@mail.com", "info@bakery.com",
    "m.rossi@studio.it", "sales@widgets.co", "k.tanaka@example.jp", "dev-team@startup.io",
    "pat@lawfirm.com", "hello@garden.club", "orders@shop.example", "frank.b@example.com",
    "contact@dentist.example", "nora.lee@school.org", "ops@example.com", "tickets@venue.com",
])

# ---------------------------------------------------------------- Mac: files, notes, reminders

#: Files by the name people say (no article, no "pdf"/"file"/extension).
FILES: Bank[str] = Bank("mac.file", [
    "Q3 report", "budget proposal", "lease agreement", "research paper", "invoice November",
    "project plan", "meeting minutes", "tax return 2025", "resume", "cover letter",
    "travel itinerary", "quarterly review", "marketing plan", "user manual", "onboarding guide",
    "contract draft", "style guide", "annual report", "sales deck", "grant proposal",
    "thesis draft", "insurance policy", "expense report", "lab results", "course syllabus",
    "wedding menu", "floor plan", "project brief", "board minutes", "pitch deck", "case study",
    "release notes", "safety checklist", "benefits summary", "conference agenda",
    "product roadmap", "customer survey", "vendor contract", "school calendar", "recipe book",
    "Q4 forecast", "employee handbook", "trip photos", "bank statement", "rental application",
], pinned=["Q3 report", "budget proposal", "research paper", "resume"])
#: Note titles.
NOTES: Bank[str] = Bank("mac.note", [
    "Groceries", "Travel Ideas", "Meeting Notes", "Vacation", "Book List", "Recipes",
    "Gift Ideas", "Workout Plan", "Packing List", "Project Ideas", "Movies to Watch",
    "Garden Plans", "Reading List", "Home Repairs", "Wedding Planning", "Podcast Ideas",
    "Birthday Party", "Daily Journal", "Budget", "Side Project", "Lecture Notes", "Wishlist",
    "Team Retro", "House Hunting", "Weekend Trips", "Ideas", "To Do", "Passwords Hint",
    "Dinner Menu", "Baby Names", "Quotes", "Interview Prep",
], pinned=["Groceries", "Meeting Notes", "Ideas"])
#: Note folders.
FOLDERS: Bank[str] = Bank("mac.folder", [
    "Personal", "Work", "Home", "Trips Abroad", "School", "Family", "Projects", "Archive",
    "Cooking", "Money", "Health", "Hobbies",
], pinned=["Personal", "Work"])
#: Note contents people dictate.
NOTE_TEXTS: Bank[str] = Bank("mac.note_text", [
    "eggs, milk and bread", "buy sunscreen", "follow up with legal", "call the plumber",
    "book the hotel in Lisbon", "try the new ramen place", "renew the car insurance",
    "ask about the parking permit", "pack the chargers", "read Dune", "fix the leaky faucet",
    "order more printer ink", "check the flight times", "bananas, rice and olive oil",
    "look into solar panels", "update the resume", "send thank-you cards", "plant tulip bulbs",
    "research standing desks", "cancel the gym membership", "pick a paint color",
    "bring the projector", "make a vet appointment", "learn the chorus", "clean the gutters",
    "water filter, batteries and tape", "finish chapter three", "ideas for the team offsite",
    "compare phone plans", "write the toast",
], pinned=["eggs, milk and bread", "buy sunscreen"])
#: Reminder tasks, imperative.
TASKS: Bank[str] = Bank("mac.task", [
    "call the dentist", "pay rent", "water the plants", "pick up the dry cleaning",
    "renew my passport", "submit my timesheet", "buy a birthday gift", "call mom",
    "take out the recycling", "book a haircut", "send the invoice", "feed the neighbor's cat",
    "return the library books", "schedule the car service", "cancel the trial subscription",
    "buy groceries", "back up my laptop", "pay the electricity bill", "file the taxes",
    "pick up the kids", "check in for the flight", "refill the prescription", "walk the dog",
    "order a cake", "email the landlord", "finish the slides", "renew the library card",
    "charge the camera", "confirm the reservation", "update the budget", "stretch",
    "drink water", "lock the garage", "defrost the chicken", "buy stamps",
], pinned=["call the dentist", "pay rent", "call mom"])
#: Reminder lists.
LISTS: Bank[str] = Bank("mac.list", [
    "Grocery", "Errands", "Chores", "Office Tasks", "Household", "Bills", "Garden Jobs",
    "Kid Stuff",
    "Travel Prep", "Someday",
], pinned=["Errands", "Grocery"])

# ---------------------------------------------------------------- Mac: events, places, words

#: Event names said without people ("the planning session").
EVENTS: Bank[str] = Bank("mac.event", [
    "planning session", "design review", "dentist appointment", "team standup", "budget review",
    "product sync", "quarterly review", "yoga class", "haircut", "parent-teacher conference",
    "car service", "project kickoff", "sprint retro", "doctor's appointment", "piano lesson",
    "interview", "business review", "code review", "town hall", "one-on-one", "brainstorm",
    "training session", "client demo", "vet appointment", "team lunch",
    "launch party", "strategy meeting", "study session", "tennis practice", "onboarding call",
    "wine tasting",
], pinned=["planning session", "design review", "dentist appointment", "team standup"])
#: What a get-together is called: "lunch with Priya" is titled "Lunch with Priya".
MEET_KINDS = templates("mac.meet_kind", [
    "!meeting@4", "!lunch@2", "dinner", "coffee", "call", "catch-up", "breakfast", "sync",
    "drinks", "video call", "chat", "check-in",
])
#: Event locations said as names.
VENUES: Bank[str] = Bank("mac.venue", [
    "Blue Bottle Cafe", "Conference Room B", "Bright Smile Dental", "City Hall", "Joe's Diner",
    "Room 204", "Main Street Library", "Golden Gate Park", "Tartine Bakery", "Starbucks",
    "Pier 23 Cafe", "Room 4B", "Hotel Nikko", "Cafe Luna", "Riverside Community Center",
    "Building 7", "Sunset Yoga Studio", "Mario's Pizzeria", "HQ", "Lab 3",
], pinned=["Conference Room B", "Blue Bottle Cafe", "Starbucks"])
#: Places to show in Maps.
MAP_PLACES: Bank[str] = Bank("mac.map_place", [
    "Golden Gate Bridge", "Union Square", "Chinatown", "Apple Park", "Palo Alto", "airport",
    "Central Park", "Times Square", "Fisherman's Wharf", "Stanford University", "Berkeley",
    "Ferry Building", "Oakland Airport", "Pier 39", "Dolores Park", "Mission District",
    "Santa Monica Pier", "Griffith Observatory", "Space Needle", "Pike Place Market",
    "Lake Tahoe", "Napa Valley", "Half Moon Bay", "Sausalito", "Yosemite", "Alcatraz",
    "train station", "Coit Tower", "Twin Peaks", "Lombard Street", "Chase Center",
    "Oracle Park", "SFO", "Mountain View", "San Jose", "Muir Woods", "Ocean Beach",
    "nearest pharmacy", "Whole Foods on 4th Street", "1 Infinite Loop",
], pinned=["Golden Gate Bridge", "Union Square", "airport", "Palo Alto"])
#: Map places said with "the" ("directions to the airport").
MAP_THE = ("airport", "train station", "nearest pharmacy")
#: Email subjects said in quotes.
SUBJECTS_MAIL: Bank[str] = Bank("mac.subject", [
    "Quarterly numbers", "Team offsite", "Invoice", "Project update", "Weekend plans",
    "Notes from today", "Follow-up", "Schedule change", "Welcome aboard", "Budget question",
    "Trip details", "Quick question", "Contract renewal", "Many thanks", "Party on Saturday",
    "Feedback", "Launch checklist", "Status report", "Holiday hours", "Friendly nudge",
], pinned=["Project update", "Invoice"])
#: What an email body says.
MAIL_TEXTS: Bank[str] = Bank("mac.mail_text", [
    "the report is ready for review", "I'll join the call", "please review by Friday",
    "thanks for your help", "the meeting is moved to Thursday", "I'm out of office next week",
    "the slides are attached", "let's push the deadline", "I approve the budget",
    "I can't make it today", "the contract looks good", "please send the final numbers",
    "welcome to the team", "the package shipped", "I'll send the draft tonight",
    "the demo went well", "please confirm the venue", "the invoice is paid",
    "happy to help", "we need one more reviewer", "I'm running ten minutes late",
    "let's catch up next week", "the kickoff is confirmed", "great work on the launch",
    "I left comments in the doc", "the numbers look off", "count me in",
    "please add me to the list", "see you at the offsite", "I fixed the typo",
], pinned=["the report is ready for review", "thanks for your help", "I'll join the call"])
#: Text messages.
SMS_TEXTS: Bank[str] = Bank("mac.sms_text", [
    "I'm running late", "the flight landed", "I'm on my way", "dinner is at seven",
    "I'll be there in ten minutes", "can't talk now", "happy birthday", "the keys are with Sam",
    "I'm outside", "call me when you're free", "running fifteen minutes behind",
    "got the tickets", "I'm at the pharmacy", "the meeting ended early", "don't forget the milk",
    "parking is on level 3", "I'll pick you up at the station", "traffic is terrible",
    "I'm home", "see you tomorrow", "good luck today", "the door code is 4512",
    "miss you", "leaving the office now", "bring an umbrella", "the game starts at eight",
    "I found your charger", "lunch is on me", "the package arrived", "stuck in a meeting",
], pinned=["I'm running late", "I'm on my way", "the flight landed"])
#: Transport words said before "directions" ("walking directions"), with the Maps code.
MODES: Bank[tuple[str, str]] = Bank("mac.mode", [
    ("walking", "w"), ("driving", "d"), ("transit", "r"), ("public transit", "r"), ("bus", "r"),
    ("train", "r"), ("subway", "r"), ("pedestrian", "w"), ("car", "d"), ("metro", "r"),
], kind="template", key=lambda t: t[0], pinned=["walking", "driving", "transit"])
#: Transport words said after the destination ("to Union Square by bus").
BY_MODES: Bank[tuple[str, str]] = Bank("mac.by_mode", [
    ("walking", "w"), ("on foot", "w"), ("by foot", "w"), ("by train", "r"), ("by transit", "r"),
    ("by bus", "r"), ("by subway", "r"), ("on public transport", "r"), ("by public transit", "r"),
    ("by metro", "r"), ("by car", "d"), ("driving", "d"), ("by tram", "r"), ("with transit", "r"),
], kind="template", key=lambda t: t[0],
    pinned=["walking", "by train", "by transit", "by bus", "by car", "on foot"])
