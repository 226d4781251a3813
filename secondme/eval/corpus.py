"""A synthetic but life-like personal corpus for ``mem eval perf``.

:func:`generate_corpus` yields memory drafts as dicts whose keys are :class:`NewMemory` field
names, so a run can do ``NewMemory(**item)``.  The mix follows a typical user's data: chat
windows with a handful of recurring people (about 55%), note paragraphs (15%), screenshot OCR
text (10%), facts typed with ``mem add`` (15%), events typed with ``mem add`` (3%), secrets'
captions for the vault (1%) and a few core memories.  Sentences are built from templates
with many slot values (people, places, foods, projects, numbers, dates), so search over the
corpus has to rank, not just match.  Everything derives from the seed: the same ``(n, seed)``
gives the same items, on any machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

#: The generated memories span these five years.
SPAN_START = datetime(2020, 1, 1)
SPAN_END = datetime(2024, 12, 31, 23, 59, 59)

#: Share of each kind among the non-core items.
MIX: dict[str, float] = {
    "chat": 0.56,
    "note": 0.15,
    "screenshot": 0.10,
    "fact": 0.15,
    "event": 0.03,
    "secret": 0.01,
}

ME = "Sam"
# The recurring people, with how often each one chats (a partner far more than a landlord).
FRIENDS = {
    "Anna": 10,
    "Tom": 6,
    "Maya": 5,
    "Lukas": 4,
    "Priya": 4,
    "Mum": 4,
    "Jonas": 2,
    "Sofia": 2,
    "Dad": 2,
    "Keiko": 1,
    "Rafael": 1,
}
_FRIEND_NAMES = tuple(FRIENDS)
OTHERS = (
    "Elena", "Marco", "Ines", "Omar", "Hannah", "Diego", "Chloe", "Viktor", "Amara", "Felix",
    "Noor", "Pablo", "Greta", "Yusuf", "Lena", "Mateo", "Ingrid", "Kwame", "Zoe", "Arjun",
)  # fmt: skip
SURNAMES = (
    "Silva", "Becker", "Okafor", "Novak", "Lindqvist", "Moreau", "Tanaka", "Rossi", "Haddad",
    "Kowalski", "Fischer", "Costa", "Sato", "Andersen", "Dubois", "Ferreira", "Weber",
)  # fmt: skip
CITIES = (
    "Lisbon", "Porto", "Berlin", "Hamburg", "Vienna", "Prague", "Copenhagen", "Barcelona",
    "Valencia", "Rome", "Bologna", "Amsterdam", "Ghent", "Edinburgh", "Dublin", "Krakow",
    "Seville", "Lyon", "Zurich", "Oslo", "Tallinn", "Athens", "Istanbul", "Marrakesh", "Kyoto",
)  # fmt: skip
VENUES = (
    "Cafe Lua", "the climbing gym", "the farmers market", "Taberna do Rio", "the library",
    "Pho Saigon", "the cinema on Rua Augusta", "the Thursday pub quiz", "Bar Kaffee",
    "the bouldering hall", "the night market", "Osteria Nove", "the bakery on the corner",
    "the co-working space", "the yoga studio", "Ramen Ichi", "the riverside park",
    "the jazz club", "the Sunday flea market", "Casa Verde", "the swimming pool",
    "the bookshop on Main Street", "Trattoria Bella", "the rooftop bar", "the dog park",
)  # fmt: skip
FOODS = (
    "ramen", "pastel de nata", "shakshuka", "pho", "paella", "dumplings", "tacos al pastor",
    "bibimbap", "pad thai", "falafel", "lasagne", "sushi", "banana bread", "mushroom risotto",
    "green curry", "pierogi", "croissants", "bacalhau", "goulash", "pizza margherita",
    "lentil soup", "cheesecake", "burritos", "khachapuri", "tiramisu", "halloumi wraps",
    "sourdough", "gyoza", "carbonara", "chili con carne", "apple crumble", "poke bowls",
)  # fmt: skip
PROJECTS = (
    "Falcon", "Harbor", "Atlas", "Juniper", "Nimbus", "Orchid", "Kestrel", "Beacon",
    "Tundra", "Mosaic", "Lighthouse", "Quartz", "Sparrow", "Monsoon",
)  # fmt: skip
HOME_PROJECTS = (
    "the kitchen renovation", "the garden shed", "the balcony plants", "the bathroom tiles",
    "the bike repair", "the attic clear-out", "the new bookshelf", "the photo album",
)  # fmt: skip
ACTIVITIES = (
    "bouldering", "a long run", "the pottery class", "salsa lessons", "a hike", "swimming",
    "the book club", "a board game night", "yoga", "a bike ride", "the Spanish class",
    "a cooking class", "tennis", "the choir rehearsal", "a kayak trip", "volunteering",
)  # fmt: skip
THINGS = (
    "the blue umbrella", "a charger", "oat milk", "the spare keys", "batteries", "the tent",
    "a birthday card", "coffee beans", "the drill", "sunscreen", "the passport",
    "the printer ink", "a bottle of wine", "fresh basil", "the parcel", "dog food",
    "the headphones", "bin bags", "the camera", "a cake tin",
)  # fmt: skip
TITLES = (
    "The Overstory", "Piranesi", "Dune", "Station Eleven", "Project Hail Mary",
    "The Left Hand of Darkness", "Klara and the Sun", "Pachinko", "The Remains of the Day",
    "Severance", "Arrival", "Spirited Away", "Past Lives", "The Bear", "Dark", "Parasite",
)  # fmt: skip
COMPANIES = (
    "Nordlicht Labs", "Bluefin Health", "Castle Robotics", "Papercraft Studio", "Verde Energy",
    "Kite Logistics", "Orbit Bank", "Helix Games", "Sable Insurance", "Tidewater Media",
)  # fmt: skip
JOBS = (
    "data engineer", "nurse", "product designer", "teacher", "architect", "accountant",
    "chef", "physiotherapist", "researcher", "lawyer", "photographer", "translator",
)  # fmt: skip
STREETS = (
    "Rua das Flores", "Oak Street", "Kastanienallee", "Via Roma", "Calle Mayor",
    "Baker Lane", "Harbour Road", "Linden Way", "Mill Street", "Canal Walk",
)  # fmt: skip
SERVICES = (
    "email", "bank", "cloud backup", "router admin", "streaming", "tax portal",
    "health insurance", "gym app", "password manager", "work VPN",
)  # fmt: skip
APPS = ("WhatsApp", "Telegram", "Signal", "iMessage")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
TOPICS = ("work", "travel", "health", "home", "food", "money", "family", "reading", "fitness")

CORE_ITEMS: tuple[tuple[str, str], ...] = (
    ("name", f"My name is {ME} Rivera and I go by {ME}."),
    ("home", "I live in Lisbon, in the Graca neighbourhood, with my partner Anna."),
    ("work", "I work as a backend engineer at Nordlicht Labs, mostly on the Falcon project."),
    ("diet", "I am vegetarian and allergic to peanuts."),
    ("languages", "I speak English and Portuguese, and I am learning Spanish."),
    ("family", "My parents live in Porto; my sister Maya lives in Berlin."),
    ("birthday", "My birthday is on 14 March."),
    ("pet", "We have a dog called Biscuit, a beagle, adopted in 2021."),
    ("health", "I take vitamin D in winter and see the dentist every six months."),
    ("style", "Keep answers short and say when you are not sure."),
    ("hobbies", "I climb twice a week and play in a Thursday pub quiz team."),
    ("commute", "I cycle to work and take the train when it rains."),
)


def _pick(rng: random.Random, values: tuple[str, ...]) -> str:
    return values[rng.randrange(len(values))]


def _a_job(rng: random.Random) -> str:
    job = _pick(rng, JOBS)
    return f"an {job}" if job[0] in "aeiou" else f"a {job}"


# How to fill each template slot.  Every occurrence of a slot draws anew, so
# "{food} or {food}" names two foods (sometimes the same one, as people do).
_SLOT_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "ME": lambda r: ME,
    "app": lambda r: _pick(r, APPS),
    "friend": lambda r: _pick(r, _FRIEND_NAMES),
    "other": lambda r: _pick(r, OTHERS),
    "surname": lambda r: _pick(r, SURNAMES),
    "city": lambda r: _pick(r, CITIES),
    "venue": lambda r: _pick(r, VENUES),
    "food": lambda r: _pick(r, FOODS),
    "project": lambda r: _pick(r, PROJECTS),
    "home": lambda r: _pick(r, HOME_PROJECTS),
    "activity": lambda r: _pick(r, ACTIVITIES),
    "thing": lambda r: _pick(r, THINGS),
    "title": lambda r: _pick(r, TITLES),
    "company": lambda r: _pick(r, COMPANIES),
    "job": lambda r: _pick(r, JOBS),
    "a_job": _a_job,
    "street": lambda r: _pick(r, STREETS),
    "service": lambda r: _pick(r, SERVICES),
    "weekday": lambda r: _pick(r, WEEKDAYS),
    "month": lambda r: _pick(r, MONTHS),
    "day": lambda r: str(r.randint(1, 28)),
    "hour": lambda r: f"{r.randint(7, 22)}:{_pick(r, ('00', '15', '30', '45'))}",
    "n": lambda r: str(r.randint(2, 60)),
    "big": lambda r: str(r.randint(100, 9999)),
    "price": lambda r: f"{r.randint(5, 480)}.{r.randint(0, 99):02d}",
    "km": lambda r: f"{r.randint(3, 42)}.{r.randint(0, 9)}",
    "year": lambda r: str(r.randint(2020, 2024)),
}


class _Slots(dict[str, str]):
    """A mapping for ``str.format_map`` that draws each slot value as it is asked for."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return _SLOT_MAKERS[key](self.rng)


def _format(rng: random.Random, template: str) -> str:
    return template.format_map(_Slots(rng))


# Templates carry enough slots that repeats are rare even at 100,000 items: the store drops
# duplicate text, and a corpus that shrank on ingest would misreport its own size.
_CHAT_LINES = (
    "are we still on for {food} at {venue} on {weekday} at {hour}?",
    "running {n} minutes late to {venue}, sorry! traffic on {street}",
    "did you see the {project} review notes? {other} asked about the {day} {month} deadline",
    "I just booked the flights to {city} for {month}, {price} euros each",
    "can you pick up {thing} and {thing} from {venue} on the way home?",
    "the {project} demo went well, {other} wants a follow-up on {weekday} at {hour}",
    "I'm reading {title} now, about {big} pages left",
    "{other} recommended {venue} for {food}, want to try it {weekday}?",
    "how was {activity} with {other} yesterday? did you go to {venue} after?",
    "we did {km} km around {city} today in {n} minutes, legs are dead",
    "don't forget {other}'s birthday on {day} {month}, drinks at {venue}",
    "the plumber comes {weekday} at {hour} for {home}, the quote was {price}",
    "just finished {title}, {n} hours well spent, {other} was right about it",
    "dinner at mine {weekday} at {hour}? making {food} for {n} people",
    "landed in {city} after {n} hours! hotel is on {street}, room {big}",
    "can you send me the photos from {city} and the one with {other} at {venue}?",
    "I paid the {price} for {home}, you owe me half",
    "meeting with {other} {surname} moved to {hour}",
    "{other} says {venue} is closed on {weekday}s now, so let's do {venue} instead",
    "left {thing} at {venue} on {weekday}, can you ask {other}?",
    "starting {activity} again next {month} at {venue}, {price} for {n} sessions, join me?",
    "ticket number for the {project} bug is {big}",
    "train to {city} leaves at {hour} from platform {n}",
    "got a parking fine of {price} near {street} :(",
    "the landlord wants to raise rent by {n} percent from {month}, to {price}",
    "mum called, she wants us in {city} for {n} days in {month}",
    "ordered {food} from {venue}, arriving at {hour}",
    "I think {title} is on at the cinema {weekday} at {hour}, {price} a ticket",
    "remind me to call {other} {surname} about {home} before {weekday}",
    "{other} {surname} got the {job} job at {company}!",
    "quiz night at {venue}: {n} points, we came in place {n}",
    "new record at {activity}: {km} km in {n} minutes",
    "can we move {activity} with {other} to {weekday} at {hour}?",
    "the {project} release slipped from {day} {month} to {day} {month}",
    "saw {other} {surname} at {venue} on {weekday}, they said hi",
    "thinking of {food} or {food} tonight, or we could try {venue}",
    "the vet appointment for Biscuit is {weekday} {day} {month} at {hour}",
    "booked {venue} for {n} people at {hour}",
    "I owe you {price} for the {city} trip",
    "happy birthday {friend}!! have the best day, see you at {venue} at {hour}",
)

_NOTE_SENTENCES = (
    "Meeting about {project}: we agreed to ship the import step first; {other} owns testing.",
    "Recipe: {food} with fresh basil on the side, {n} minutes in the oven.",
    "Went to {venue} with {friend}; the {food} was better than last time.",
    "Idea for {home}: ask {other} {surname} for a quote before {month}.",
    "Budget check: spent {price} on food and {price} on transport this month.",
    "Reading notes on {title}: the middle drags but the last {n} chapters are great.",
    "Trip plan for {city}: {n} nights, stay near {street}, try {food} at {venue}.",
    "Retro for {project}: too many meetings, not enough time for reviews.",
    "Health: slept badly {n} nights this week; less coffee after {hour}.",
    "Training log: {activity} on {weekday}, {km} km, felt strong.",
    "Gift ideas for {friend}: {thing}, a copy of {title}, dinner at {venue}.",
    "Call with {other} from {company} about {a_job} role; follow up on {day} {month}.",
    "Home: {home} needs {n} more hours and about {price} in materials.",
    "Learned today that {other} grew up in {city} and worked as {a_job}.",
    "To do before {month}: renew the passport, book {city}, fix {home}.",
    "Weekend in {city}: rained {n} days, museums were worth it, {food} everywhere.",
    "Note to self: the {service} account uses the work email since {year}.",
    "Biscuit weighs {km} kg; the vet wants a check-up in {month}.",
)

_SCREENSHOT_TEMPLATES = (
    "Booking confirmed\nFlight TP{big} Lisbon - {city}\n{weekday} {day} {month} {hour}\n"
    "Gate B{n}  Seat {n}C\nPassenger {ME} Rivera",
    "RECEIPT\n{venue}\n{food} x{n}\nTOTAL EUR {price}\nCard ****{big}\nThank you!",
    "{app}\n{friend}: are you coming to {venue}?\n{ME}: yes, at {hour}\n{friend}: bring {thing}",
    "Order #{big} shipped\n{thing} - arriving {weekday} {day} {month}\nTrack your parcel",
    "Calendar\n{weekday} {day} {month}\n{hour} {project} sync with {other}\n{hour} {activity}",
    "Wi-Fi networks\n{venue} Guest\n{surname}-home-{big}\nOther...",
    "Boarding pass\n{city} Central -> {city}\nCoach {n} Seat {n}\nDep {hour}",
    "{company}\nInvoice {big}\nAmount due: {price} EUR\nDue date: {day} {month} {year}",
    "Map\n{venue}\n{street} {n}\n{n} min walk - open until {hour}",
    "Notes\nShopping: {food}, {thing}, {thing}\nCall {other} re {home}",
    "Weather {city}\n{n} C  light rain\n{weekday}: sunny {n} C",
    "Screen time\nDaily average {n} min\n{app} {n} min  Maps {n} min",
)

# (template, whether the first word names the person the fact is about)
_FACT_TEMPLATES = (
    ("{friend}'s birthday is on {day} {month}; they would love {thing} or {title}.", True),
    ("{other} {surname} works at {company} as {a_job} and lives near {street}.", True),
    ("{friend} is allergic to {food} and {food}; found out at {venue} in {year}.", True),
    ("{friend}'s favourite restaurant is {venue}; they always order {food} for {n} euros.", True),
    ("The dentist is Dr. {surname} on {street}, number {n}; appointments at {hour}.", False),
    ("The warranty for {thing} from {company} runs out in {month} {year} (receipt {big}).", False),
    ("{other} lives in {city} near {street} since {year} and works as {a_job}.", True),
    ("{friend} recommended {title}; we plan to watch it at {venue} on {weekday} at {hour}.", True),
    ("The {service} account was opened in {month} {year}; customer number {big}.", False),
    ("Spare keys for the {city} flat are with {other} {surname} on {street} {n}.", False),
    ("{other}'s partner works at {company}; they met in {city} in {year}.", True),
    ("{friend} prefers {food} over {food}, especially at {venue}.", True),
    ("The {project} repository moved to {company} in {month} {year} after {n} releases.", False),
    ("{venue} is closed on {weekday}s, opens at {hour} and takes groups of up to {n}.", False),
    ("The building manager is {other} {surname}, flat {n} on {street}.", False),
    ("{friend} is training for a {km} km race in {city}.", True),
)

_EVENT_TEMPLATES = (
    "Ran {km} km along the river with {friend} in {n} minutes.",
    "Went to {venue} with {friend} for {food} and paid {price}.",
    "Finished {title} after {n} days; {friend} lent it to me.",
    "Started {activity} with {other} at {venue} on {weekday}.",
    "Paid {price} for {home}.",
    "Flew to {city} for {n} days, flight TP{big}.",
    "Reset the {service} password after a lockout; ticket {big}.",
    "{project} launched to {big} users.",
)

_SECRET_TEMPLATES = (
    "Wi-Fi password for {venue} (network {surname}-{big})",
    "PIN for the {service} card ending {big}",
    "Recovery codes for the {service} account, set up {day} {month} {year}",
    "Door code at {friend}'s building on {street} {n}, flat {n}",
    "Alarm code for the {city} flat on {street}, changed {month} {year}",
    "Locker {big} combination at {venue}",
)

_QUERY_TEMPLATES = (
    "when is {friend}'s birthday",
    "what did {friend} say about {venue}",
    "flights to {city}",
    "{project} release date",
    "where did I eat {food}",
    "who works at {company}",
    "what is {friend} allergic to",
    "receipt from {venue}",
    "how far did I run",
    "plumber {home}",
    "book {title}",
    "trip to {city} with {friend}",
    "{other} {surname} address",
    "wifi password {venue}",
    "what do I owe {friend}",
    "meeting notes {project}",
    "dentist appointment",
    "when did I start {activity}",
    "vet Biscuit",
    "train to {city}",
)


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


class _Generator:
    """The state of one corpus: the random stream, the current chat thread, line counters."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.span = int((SPAN_END - SPAN_START).total_seconds())
        self.friends = tuple(FRIENDS)
        self.friend_weights = tuple(FRIENDS.values())
        self.thread_left = 0
        self.thread_friend = ""
        self.thread_app = ""
        self.thread_time = SPAN_START
        self.lines: dict[str, int] = {}
        self.kinds = tuple(MIX)
        self.kind_weights = tuple(MIX.values())
        self.makers: dict[str, Callable[[], dict[str, Any]]] = {
            "chat": self.chat,
            "note": self.note,
            "screenshot": self.screenshot,
            "fact": self.fact,
            "event": self.event,
            "secret": self.secret,
        }

    def moment(self) -> datetime:
        return SPAN_START + timedelta(seconds=self.rng.randrange(self.span))

    def item(self) -> dict[str, Any]:
        kind = self.rng.choices(self.kinds, self.kind_weights)[0]
        return self.makers[kind]()

    def chat(self) -> dict[str, Any]:
        rng = self.rng
        if self.thread_left <= 0:
            # A new conversation: one friend, one app, a burst of windows over an evening.
            self.thread_friend = rng.choices(self.friends, self.friend_weights)[0]
            self.thread_app = _pick(rng, APPS)
            self.thread_time = self.moment()
            self.thread_left = rng.randint(1, 6)
        self.thread_left -= 1
        friend, app = self.thread_friend, self.thread_app
        self.thread_time = min(self.thread_time + timedelta(seconds=rng.randint(30, 5400)), SPAN_END)
        lines = []
        speakers: list[str] = []
        for _ in range(rng.randint(1, 4)):
            speaker = ME if rng.random() < 0.45 else friend
            if speaker not in speakers:
                speakers.append(speaker)
            lines.append(f"{speaker}: {_format(rng, _pick(rng, _CHAT_LINES))}")
        ref = f"chats/{app.lower()}-{_slug(friend)}.txt"
        first = self.lines.get(ref, 0) + 1
        self.lines[ref] = first + len(lines) - 1
        return _draft(
            "\n".join(lines),
            "episodic",
            self.thread_time,
            "chat",
            f"{ref}#L{first}..L{first + len(lines) - 1}",
            [app.lower(), _slug(friend)],
            actor=", ".join(speakers),
        )

    def note(self) -> dict[str, Any]:
        rng = self.rng
        when = self.moment()
        topic = _pick(rng, TOPICS)
        sentences = [_format(rng, _pick(rng, _NOTE_SENTENCES)) for _ in range(rng.randint(2, 4))]
        paragraph = rng.randint(1, 12)
        ref = f"notes/{topic}/{when:%Y-%m-%d}-{topic}.md#p{paragraph}"
        # Journal-style paragraphs are events; the rest are knowledge.
        kind = "episodic" if rng.random() < 0.4 else "semantic"
        return _draft(" ".join(sentences), kind, when, "note", ref, ["note", topic])

    def screenshot(self) -> dict[str, Any]:
        rng = self.rng
        when = self.moment()
        text = _format(rng, _pick(rng, _SCREENSHOT_TEMPLATES))
        title = f"Screenshot {when:%Y-%m-%d} at {when:%H.%M.%S}"
        return _draft(
            text,
            "resource",
            when,
            "screenshot",
            f"Screenshots/{title}.png",
            ["screenshot"],
            title=title,
            resource_kind="screenshot",
        )

    def fact(self) -> dict[str, Any]:
        rng = self.rng
        template, about_person = _FACT_TEMPLATES[rng.randrange(len(_FACT_TEMPLATES))]
        text = _format(rng, template)
        subject = text.split("'")[0].split()[0] if about_person else None
        return _draft(
            text,
            "semantic",
            self.moment(),
            "cli",
            None,
            ["fact", _pick(rng, TOPICS)],
            subject=subject,
        )

    def event(self) -> dict[str, Any]:
        rng = self.rng
        text = _format(rng, _pick(rng, _EVENT_TEMPLATES))
        return _draft(text, "episodic", self.moment(), "cli", None, ["event"], actor=ME)

    def secret(self) -> dict[str, Any]:
        rng = self.rng
        # Only the caption: the secret itself would live encrypted in the vault, never here.
        text = _format(rng, _pick(rng, _SECRET_TEMPLATES))
        return _draft(text, "vault", self.moment(), "cli", None, ["secret"])


def _draft(
    text: str,
    kind: str,
    when: datetime,
    source_kind: str,
    source_ref: str | None,
    tags: list[str],
    **extra: Any,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "text": text,
        "type": kind,
        "occurred_at": _iso(when),
        "source_kind": source_kind,
        "source_ref": source_ref,
        "tags": tags,
        "title": extra.pop("title", None),
    }
    item.update(extra)
    return item


def generate_corpus(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Yield ``n`` memory drafts, the same ones for the same ``n`` and ``seed``.

    Every dict has ``text``, ``type`` (core, episodic, semantic, resource or vault),
    ``occurred_at`` (local ISO, 2020-2024), ``source_kind`` (note, chat, screenshot or cli),
    ``source_ref`` (None for typed items), ``tags`` and ``title`` (set for screenshots); some add
    ``actor``, ``subject``, ``label`` or ``resource_kind``.  All keys are :class:`NewMemory`
    fields.  A few core memories (one per 2,000 items, at most 12, at least 1) sit at evenly
    spaced positions; the rest follow :data:`MIX`.
    """
    if n < 0:
        raise ValueError(f"corpus size must not be negative, got {n}")
    generator = _Generator(seed)
    core_count = min(len(CORE_ITEMS), max(1, n // 2000)) if n else 0
    core_at = {i * n // core_count: i for i in range(core_count)}
    for index in range(n):
        if index in core_at:
            label, text = CORE_ITEMS[core_at[index]]
            yield _draft(text, "core", SPAN_START, "cli", None, ["core"], label=label)
        else:
            yield generator.item()


def perf_queries(seed: int = 0, n: int = 50) -> list[str]:
    """``n`` distinct search queries a user might type against :func:`generate_corpus`.

    They draw on the corpus' own names, places and projects, so most have real matches.
    """
    rng = random.Random(f"queries-{seed}")
    queries: dict[str, None] = {}
    # The template space holds thousands of distinct queries; the cap only guards a huge n.
    for _ in range(n * 50):
        if len(queries) >= n:
            break
        queries.setdefault(_format(rng, _pick(rng, _QUERY_TEMPLATES)), None)
    return list(queries)
