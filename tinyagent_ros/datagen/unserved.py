"""Requests no skill of the catalog can serve: small talk, questions, chores it has no skill for.

Their gold plan is the empty plan (``1. join()<END_OF_PLAN>``). They teach the
ToolRAG classifier to score every skill low when nothing fits, so the agent can
decline instead of acting on "make me a sandwich". The banks are held out like
every other bank: the test split's requests use phrasings training never saw.
"""

from __future__ import annotations

import random

from tinyagent_ros.datagen.clause import cap, fill
from tinyagent_ros.datagen.heldout import Bank, Split, templates
from tinyagent_ros.datagen.lexicon import (
    ADDRESS_MAC,
    ADDRESS_ROBOT,
    FILLERS,
    INDIRECT,
    POLITE,
    POLITE_Q,
)

#: The gold plan of a request nothing in the catalog serves.
EMPTY_PLAN = "1. join()<END_OF_PLAN>"

#: Said to either agent; asks for nothing.
SMALL_TALK = templates("unserved.small_talk", [
    "!thanks", "!thank you", "thanks a lot", "thank you so much", "cheers", "good job",
    "well done", "nice work", "great, that's all", "that's all for now", "never mind",
    "forget it", "no worries", "ok cool", "okay", "sounds good", "good morning",
    "good night", "hello", "hi there", "how are you doing", "how's it going",
    "what's your name", "who made you", "are you a robot", "I love you", "you're the best",
    "sorry, wrong button", "I'm just testing", "testing, one two three", "nothing, sorry",
    "oops, ignore that", "you're funny", "I'm bored", "I'm tired", "what a day",
    "see you later", "bye for now", "no, that's it", "all good, thanks",
    "hmm, let me think about it", "wait, hold on a second", "actually, don't worry about it",
    "haha, very funny", "that was quick", "nice, appreciate it", "you scared me",
    "I had a great day at work", "my sister is visiting next week", "the kitchen is such a mess",
    "I can't sleep", "I'm so hungry", "it's freezing in here", "long week, huh",
    "happy birthday to me", "congrats on the update", "oh no, I forgot my keys at the office",
    "can you hear me", "are you awake", "do you dream", "what can you do",
    "are you listening", "good afternoon", "how was your day", "sorry, I was talking to my son",
])

#: Chores and physical feats the robot has no skill for (verb phrases).
ROBOT_TASKS = templates("unserved.robot.task", [
    "!cook dinner", "!make me a sandwich", "vacuum the living room", "do the laundry",
    "iron my shirts", "mow the lawn", "wash the dishes", "fold the towels",
    "mop the kitchen floor", "paint the fence", "fix the leaking tap", "change the light bulb",
    "walk the dog", "clean the windows", "make the bed", "bake a cake", "scrub the bathtub",
    "shovel the snow off the driveway", "lock the front door", "turn on the lights",
    "dim the lights in here", "set the thermostat to twenty one degrees",
    "turn up the heating", "play some jazz", "put on some music", "turn the volume down",
    "switch the TV to the news", "order a pizza", "order groceries online",
    "book a table for two tonight", "call a taxi", "book me a flight to Denver",
    "pay the electricity bill", "buy more coffee beans online", "climb the stairs",
    "jump over the fence", "fly up to the roof", "swim across the pool", "dance for me",
    "sing happy birthday", "tie my shoelaces", "cut my hair", "repair the bike",
    "charge my phone", "brew a pot of coffee", "water the lawn with the hose",
    "unclog the sink", "sweep the garage", "assemble the bookshelf", "sew this button on",
    "close the fridge", "shut the window in the bedroom", "clean the kitchen table",
    "wipe down the counters", "take a shower with me", "drive me to the airport",
    "start the car", "open a bottle of wine", "pour me a glass of water", "peel the potatoes",
    "heat up the leftovers in the microwave", "chop some onions", "set the table for dinner",
    "load the dishwasher", "fix the wifi router", "reboot the modem", "record the football match",
    "turn off the TV in the living room", "open the curtains", "close the blinds",
    "feed the goldfish some flakes", "brush the dog", "give the baby a bath",
    "change the baby's diaper", "do my homework for me", "write my essay",
    "pay my rent online", "transfer fifty dollars to my brother", "book a doctor's appointment",
    "renew my library books", "sign this package for me", "carry the sofa upstairs",
    "move the fridge into the garage", "lift the car", "open a jar of pickles",
    "knit me a scarf", "play chess with me", "teach me the guitar", "do a backflip",
    "go buy milk at the store",
    "pick up the kids from school", "post this on Instagram", "check my bank balance",
])

#: Questions the robot has no skill to answer (its own state, people and scene it can).
ROBOT_QUESTIONS = templates("unserved.robot.question", [
    "!what's the weather like tomorrow", "!what's the capital of France",
    "how many ounces are in a pound", "who won the game last night",
    "what time is it in Tokyo", "what's seventeen times twenty three",
    "how do you spell necessary", "when does the pharmacy close",
    "what's on TV tonight", "how tall is Mount Everest", "is it going to rain today",
    "what's the news today", "how long do I boil an egg", "what's a good movie to watch",
    "who wrote Hamlet", "how far away is the moon", "what's the exchange rate for euros",
    "what day of the week is Christmas this year", "how many calories are in an apple",
    "what's the square root of one hundred forty four", "do you know any good recipes",
    "what's the traffic like on the highway", "what should I name my cat",
    "how do I get a stain out of a carpet", "what's the meaning of life",
    "why is the sky blue", "what's the best way to learn Spanish",
    "how old is the universe", "what's the population of Canada",
    "is the stock market up today",
    "how do I fix a flat tire", "what's the score of the match", "who's the president of France",
    "when is the next full moon", "how much is a plane ticket to Rome", "what rhymes with orange",
    "what's the speed of light", "how many legs does a spider have",
    "can you recommend a good book", "what's the best diet to lose weight",
    "how do I reset my password", "what year did World War Two end",
    "what is the tallest building in the world", "how many cups of coffee is too many",
    "should I bring an umbrella", "what's the wifi password", "what's my horoscope today",
    "how do you make pancakes", "who sings this song", "when does daylight saving time start",
    "what's a synonym for happy", "how long is the flight to Tokyo",
    "what's the difference between a frog and a toad", "how do vaccines work",
])

#: Things outside TinyAgent's 16 Mac tools (verb phrases).
MAC_TASKS = templates("unserved.mac.task", [
    "!change my wallpaper", "!empty the trash", "install Slack", "play my workout playlist",
    "turn up the volume", "shut down the computer", "restart the laptop",
    "translate this paragraph into Spanish", "adjust the screen brightness",
    "take a screenshot", "connect to the office wifi", "order an Uber to the airport",
    "book a flight to Denver", "turn on dark mode", "update macOS", "clear my browser history",
    "open Spotify", "back up my files to the external drive", "lock the screen",
    "mute all notifications", "turn off bluetooth", "pair my headphones",
    "check for software updates", "delete my downloads folder", "rename my laptop",
    "print this document", "start a screen recording", "close all my browser tabs",
    "set an alarm on my phone", "convert this video to mp4", "unzip the archive on my desktop",
    "make a new user account", "defragment the disk", "increase the font size",
    "uninstall the game I downloaded", "sync my photos to the cloud",
    "quit all my open apps", "force quit Chrome", "turn on do not disturb", "enable night shift",
    "change the keyboard language to French", "eject the USB stick", "format the SD card",
    "share my screen", "record my voice", "turn on the webcam", "mirror my display to the TV",
    "set up a VPN", "change my login password", "scan this document",
    "compress these photos", "resize this image", "play the next episode",
    "pause the music", "skip this song", "add this song to my favourites",
    "download the latest Xcode", "open a new terminal window", "run the backup script",
    "empty the downloads folder", "hide the dock", "move all my windows to the second screen",
    "show hidden files", "sort my desktop icons", "buy a new charger on Amazon",
    "order dinner from the Thai place", "check my bank balance", "pay my credit card bill",
    "post a tweet", "like her latest photo", "subscribe to that YouTube channel",
    "set my status to away", "turn the keyboard backlight on",
])

#: Questions outside the Mac tools.
MAC_QUESTIONS = templates("unserved.mac.question", [
    "!what's the weather in Chicago", "!how much storage do I have left",
    "what's the price of bitcoin right now", "who won the election",
    "what's the time in London", "how many days until Christmas",
    "what does serendipity mean", "what's fifteen percent of eighty",
    "which version of macOS am I running", "how fast is my internet",
    "what's the battery health of this laptop", "what's trending on twitter",
    "who's the CEO of Apple", "how do I make a pivot table",
    "what's a good name for a podcast", "is the stock market open today",
    "how many tablespoons in a cup", "what's the capital of Australia",
    "when was the Eiffel Tower built", "what's the best pizza place near me",
    "how much RAM does this Mac have", "which app is using the most battery",
    "what's my IP address", "how do I take a screenshot on a Mac",
    "is my Mac infected with a virus",
    "how do I convert euros to dollars", "what's the square root of 2", "who invented the internet",
    "what does HTTP stand for", "how many ounces in a cup", "what's the population of Tokyo",
    "what movies are playing tonight", "when does the Apple store close",
    "what is machine learning", "how do I write a cover letter", "what's the latest news",
    "what's the score of the Lakers game", "how old is Taylor Swift",
    "what's the definition of irony", "how do I center a div",
])

#: Per catalog: what it cannot do, what it cannot answer, how it is addressed.
TASKS: dict[str, Bank[str]] = {"robot": ROBOT_TASKS, "mac": MAC_TASKS}
QUESTIONS: dict[str, Bank[str]] = {"robot": ROBOT_QUESTIONS, "mac": MAC_QUESTIONS}
ADDRESS: dict[str, Bank[str]] = {"robot": ADDRESS_ROBOT, "mac": ADDRESS_MAC}


def _draw(bank: Bank[str], rng: random.Random, split: Split) -> str:
    return bank.draw(rng, split).value


def unserved_query(catalog: str, rng: random.Random, split: Split) -> str:
    """One request for ``catalog`` that none of its skills serves."""
    kind = rng.choices(("task", "question", "small_talk"), (5, 3, 2))[0]
    if kind == "task":
        vp = _draw(TASKS[catalog], rng, split)
        style = rng.random()
        if style < 0.3:
            text = fill(_draw(POLITE_Q, rng, split), vp=vp)
        elif style < 0.55:
            text = fill(_draw(POLITE, rng, split), vp=vp)
        elif style < 0.75:
            text = fill(_draw(INDIRECT, rng, split), vp=vp)
        else:
            text = vp + rng.choice((".", "!", ""))
    elif kind == "question":
        text = _draw(QUESTIONS[catalog], rng, split) + "?"
        if rng.random() < 0.2:
            text = rng.choice(("do you know ", "tell me, ", "quick question: ")) + text
    else:
        text = _draw(SMALL_TALK, rng, split)
        asks = text.split()[0] in ("how", "how's", "what's", "who", "are")
        text += "?" if asks else rng.choice(("!", ".", ""))
    if rng.random() < 0.15:
        text = f"{_draw(FILLERS, rng, split)} {text}"
    if rng.random() < 0.3:
        text = fill(_draw(ADDRESS[catalog], rng, split), s=text)
    text = cap(text)
    return text.lower() if rng.random() < 0.08 else text
