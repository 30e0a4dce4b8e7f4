"""Deterministic generator of a realistic household budget for the built-in demo connector.

Everything here is a pure function of the seed: `generate_budget(seed)` gives twelve months of
categorized history ending at `ANCHOR_DATE`; `next_batch(seed, n)` gives the n-th bank import
(1-based) of 10-40 new, uncategorized transactions dated after the history, batch after batch.
Payee statement names vary between transactions (store numbers, codes), as real bank data does.
"""
from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from budget.connector import Account, Category, Payee, Transaction

ANCHOR_DATE = dt.date(2025, 6, 30)
"""Last day of the generated history; batches start the day after."""
HISTORY_DAYS = 365
HISTORY_TARGET = 3000
"""About this many categorized transactions in the history (recurring ones included)."""
BATCH_DAYS = 3
"""Each bank import covers this many days after the previous one."""
BATCH_MIN, BATCH_MAX = 10, 40
NOVEL_SHARE = 0.12
"""Share of batch transactions whose payee never appears in the history."""

_NS = uuid.UUID("6f1c8a2e-3b7d-4c1e-9a55-0d2b7f3e9c41")

ACCOUNTS: list[Account] = [
    Account("acct-checking", "Everyday Checking"),
    Account("acct-savings", "High-Yield Savings"),
    Account("acct-credit", "Rewards Visa"),
]
ACCOUNT_NAMES = {a.id: a.name for a in ACCOUNTS}

CATEGORY_GROUPS: dict[str, list[str]] = {
    "Bills": ["Rent", "Electricity", "Water", "Internet", "Phone", "Insurance"],
    "Food": ["Groceries", "Restaurants", "Coffee", "Food Delivery"],
    "Transport": ["Fuel", "Public Transit", "Rideshare", "Parking"],
    "Shopping": ["General Shopping", "Clothing", "Household", "Electronics"],
    "Entertainment": ["Streaming", "Music", "Events", "Games"],
    "Health": ["Pharmacy", "Fitness", "Doctor"],
    "Personal": ["Haircut", "Pets"],
    "Travel": ["Flights", "Hotels"],
    "Giving": ["Charity"],
    "Income": ["Salary", "Interest"],
}
INCOME_GROUPS = {"Income"}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


CATEGORIES: list[Category] = [
    Category(f"cat-{_slug(name)}", name, group)
    for group, names in CATEGORY_GROUPS.items()
    for name in names
]
CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}
CATEGORY_GROUP_IDS = {group: f"grp-{_slug(group)}" for group in CATEGORY_GROUPS}


@dataclass(frozen=True)
class PayeeSpec:
    """One merchant: statement name templates, usual categories (weights), amounts, frequency."""

    key: str
    display: str
    templates: tuple[str, ...]
    categories: tuple[tuple[str, float], ...]
    account: str
    amount: tuple[float, float]  # dollars, negative for outflows
    weight: float = 1.0  # relative frequency of discretionary spending (0 = recurring only)
    days: tuple[int, ...] = ()  # recurring: days of the month

    @property
    def id(self) -> str:
        return f"payee-{self.key}"


def _p(key, display, templates, categories, account="acct-credit", amount=(-5, -50), weight=1.0, days=()):
    if isinstance(templates, str):
        templates = (templates,)
    if isinstance(categories, str):
        categories = ((categories, 1.0),)
    return PayeeSpec(key, display, tuple(templates), tuple(categories), account, amount, weight, tuple(days))


CHK, SAV, CC = "acct-checking", "acct-savings", "acct-credit"

PAYEES: list[PayeeSpec] = [
    # Recurring bills and income
    _p("oakwood", "Oakwood Properties", "OAKWOOD PROPERTIES RENT PMT {n4}", "Rent", CHK, (-1850, -1850), 0, (1,)),
    _p("acme-payroll", "Acme Corp Payroll", "ACME CORP PAYROLL PPD ID:{n9}", "Salary", CHK, (3180, 3320), 0, (1, 15)),
    _p("pge", "PG&E", "PGANDE WEB ONLINE {n6}", "Electricity", CHK, (-58, -145), 0, (12,)),
    _p("ebmud", "EBMUD Water", "EBMUD WATER BILL {n5}", "Water", CHK, (-38, -72), 0, (25,)),
    _p("comcast", "Comcast Xfinity", "COMCAST XFINITY {n4}", "Internet", CC, (-79.99, -79.99), 0, (8,)),
    _p("verizon", "Verizon Wireless", ("VZWRLSS*APOCC VISB", "VERIZON WRLS {n5}-01"), "Phone", CC, (-65, -88), 0, (20,)),
    _p("geico", "GEICO", "GEICO *AUTO {n6}", "Insurance", CHK, (-112, -118), 0, (22,)),
    _p("interest", "Interest Payment", "INTEREST PAYMENT", "Interest", SAV, (2, 16), 0, (28,)),
    _p("netflix", "Netflix", "NETFLIX.COM", "Streaming", CC, (-15.49, -15.49), 0, (5,)),
    _p("spotify", "Spotify", "SPOTIFY USA {n4}", "Music", CC, (-10.99, -10.99), 0, (9,)),
    _p("hulu", "Hulu", "HULU.COM/BILL", "Streaming", CC, (-7.99, -7.99), 0, (14,)),
    _p("disney", "Disney+", "DISNEYPLUS {n4}", "Streaming", CC, (-13.99, -13.99), 0, (18,)),
    _p("youtube", "YouTube Premium", "GOOGLE *YOUTUBEPREMIUM", "Streaming", CC, (-13.99, -13.99), 0, (3,)),
    _p("planet-fitness", "Planet Fitness", "PLANET FITNESS CLUB {n4}", "Fitness", CHK, (-24.99, -24.99), 0, (17,)),
    _p("chewy", "Chewy", "CHEWY.COM", "Pets", CC, (-38, -64), 0, (11,)),
    # Food
    _p("wholefoods", "Whole Foods", "WHOLEFDS MKT #{n5}", "Groceries", CC, (-18, -165), 9),
    _p("traderjoes", "Trader Joe's", "TRADER JOE'S #{n3}", "Groceries", CC, (-22, -110), 9),
    _p("safeway", "Safeway", ("SAFEWAY #{n4}", "SAFEWAY STORE {n4}"), "Groceries", CHK, (-12, -95), 6),
    _p("sprouts", "Sprouts", "SPROUTS FARMERS MKT#{n3}", "Groceries", CC, (-15, -70), 2),
    _p("birite", "Bi-Rite Market", "BI-RITE MARKET", "Groceries", CC, (-9, -48), 2),
    _p("costco", "Costco", "COSTCO WHSE #{n4}", (("Groceries", 0.7), ("Household", 0.3)), CC, (-45, -260), 3),
    _p("target", "Target", "TARGET {n8}", (("General Shopping", 0.5), ("Groceries", 0.5)), CC, (-8, -120), 4),
    _p("walmart", "Walmart", "WAL-MART #{n4}", (("Groceries", 0.6), ("Household", 0.4)), CHK, (-10, -90), 2),
    _p("bluebottle", "Blue Bottle", ("SQ *BLUE BOTTLE", "SQ *BLUE BOTTLE {n4}"), "Coffee", CC, (-4.5, -14), 10),
    _p("starbucks", "Starbucks", "STARBUCKS STORE {n5}", "Coffee", CC, (-3.5, -12), 9),
    _p("philz", "Philz Coffee", "PHILZ COFFEE {n4}", "Coffee", CC, (-4, -11), 5),
    _p("ritual", "Ritual Coffee", "SQ *RITUAL COFFEE ROASTERS", "Coffee", CC, (-4, -10), 3),
    _p("sweetgreen", "Sweetgreen", "TST* SWEETGREEN {n4}", "Restaurants", CC, (-12, -19), 6),
    _p("chipotle", "Chipotle", "CHIPOTLE {n4}", "Restaurants", CC, (-10, -24), 5),
    _p("mcdonalds", "McDonald's", "MCDONALD'S F{n5}", "Restaurants", CC, (-6, -16), 3),
    _p("nopa", "Nopa", "TST* NOPA", "Restaurants", CC, (-60, -140), 1),
    _p("tartine", "Tartine", "TST* TARTINE BAKERY {n3}", (("Coffee", 0.5), ("Restaurants", 0.5)), CC, (-6, -35), 3),
    _p("doordash", "DoorDash", ("DD *DOORDASH THAIBASIL", "DD *DOORDASH BURGERJOIN", "DD *DOORDASH PIZZERIA"),
       "Food Delivery", CC, (-18, -55), 5),
    _p("ubereats", "Uber Eats", "UBER *EATS {c6}", "Food Delivery", CC, (-16, -48), 4),
    # Transport
    _p("shell", "Shell", "SHELL OIL {n5}", "Fuel", CC, (-35, -72), 4),
    _p("chevron", "Chevron", "CHEVRON {n7}", "Fuel", CC, (-38, -75), 4),
    _p("arco", "ARCO", "ARCO #{n5}", "Fuel", CHK, (-30, -60), 2),
    _p("clipper", "Clipper", "CLIPPER SERVICE {n6}", "Public Transit", CC, (-20, -50), 5),
    _p("bart", "BART", ("BART-EMBARCADERO", "BART-16TH ST MISSION", "BART-MACARTHUR"), "Public Transit", CC, (-2.5, -7.2), 4),
    _p("uber", "Uber", ("UBER *TRIP HELP.UBER.COM", "UBER *TRIP {c5} HELP.UBER.COM"), "Rideshare", CC, (-9, -42), 6),
    _p("lyft", "Lyft", "LYFT *RIDE {n4}", "Rideshare", CC, (-8, -38), 3),
    _p("sfmta", "SFMTA", "SFMTA METER {n4}", "Parking", CC, (-2, -9), 3),
    _p("impark", "Impark", "IMPARK {n5}", "Parking", CC, (-12, -28), 1),
    # Shopping
    _p("amazon-mktp", "Amazon Marketplace", "AMZN Mktp US*{c3}", (("General Shopping", 0.75), ("Household", 0.25)), CC, (-9, -120), 12),
    _p("amazon", "Amazon", "AMAZON.COM*{c5}", (("General Shopping", 0.6), ("Household", 0.4)), CC, (-12, -90), 4),
    _p("bestbuy", "Best Buy", "BEST BUY {n8}", "Electronics", CC, (-20, -450), 0.7),
    _p("applestore", "Apple Store", "APPLE STORE #R{n3}", "Electronics", CC, (-29, -1200), 0.4),
    _p("uniqlo", "Uniqlo", "UNIQLO USA {n4}", "Clothing", CC, (-20, -110), 1.2),
    _p("hm", "H&M", "H&M {n4}", "Clothing", CC, (-15, -80), 1),
    _p("nordstrom", "Nordstrom", "NORDSTROM #{n4}", "Clothing", CC, (-40, -220), 0.6),
    _p("ikea", "IKEA", ("IKEA EMERYVILLE", "IKEA EAST PALO ALTO"), "Household", CC, (-25, -380), 0.5),
    _p("homedepot", "Home Depot", "THE HOME DEPOT #{n4}", "Household", CC, (-8, -160), 1.2),
    _p("cvs", "CVS", "CVS/PHARMACY #{n5}", (("Pharmacy", 0.6), ("Household", 0.4)), CC, (-6, -45), 3),
    _p("walgreens", "Walgreens", "WALGREENS #{n4}", "Pharmacy", CC, (-5, -40), 2),
    _p("usps", "USPS", "USPS PO {n10}", "General Shopping", CHK, (-4, -25), 0.6),
    _p("petco", "Petco", "PETCO {n4}", "Pets", CC, (-12, -70), 1),
    # Entertainment
    _p("steam", "Steam", "STEAMGAMES.COM {n10}", "Games", CC, (-5, -60), 0.7),
    _p("amc", "AMC Theatres", "AMC METREON 16 #{n4}", "Events", CC, (-14, -45), 0.8),
    _p("ticketmaster", "Ticketmaster", "TICKETMASTER*{c7}", "Events", CC, (-45, -220), 0.4),
    _p("applebill", "Apple Services", "APPLE.COM/BILL", (("Streaming", 0.6), ("Games", 0.4)), CC, (-0.99, -9.99), 2),
    # Health and personal
    _p("kaiser", "Kaiser Permanente", "KAISER PERMANENTE {n4}", "Doctor", CHK, (-20, -80), 0.6),
    _p("onemedical", "One Medical", "ONE MEDICAL {n5}", "Doctor", CC, (-25, -25), 0.3),
    _p("greatclips", "Great Clips", "GREAT CLIPS #{n4}", "Haircut", CC, (-22, -35), 0.8),
    _p("yoga", "Mission Yoga", "SQ *MISSION YOGA", "Fitness", CC, (-20, -25), 1.5),
    _p("banfield", "Banfield Pet Hospital", "BANFIELD PET HOSP {n4}", "Pets", CC, (-60, -240), 0.2),
    # Travel and giving
    _p("united", "United Airlines", "UNITED {n10}", "Flights", CC, (-180, -620), 0.25),
    _p("southwest", "Southwest", "SOUTHWES {n10}", "Flights", CC, (-90, -340), 0.25),
    _p("marriott", "Marriott", ("MARRIOTT SEATTLE", "MARRIOTT PORTLAND", "MARRIOTT DENVER"), "Hotels", CC, (-160, -480), 0.2),
    _p("airbnb", "Airbnb", "AIRBNB * HM{c8}", "Hotels", CC, (-150, -700), 0.2),
    _p("redcross", "American Red Cross", "PAYPAL *REDCROSS", "Charity", CHK, (-25, -100), 0.2),
]
PAYEE_BY_KEY = {p.key: p for p in PAYEES}

NOVEL_PAYEES: list[PayeeSpec] = [
    # Never in the history: some resemble known payees (fuzzy matches), some are entirely new (skipped).
    _p("n-starbucks-coffee", "Starbucks Coffee", "STARBUCKS COFFEE {n5}", "Coffee", CC, (-4, -12)),
    _p("n-shell-station", "Shell Service Station", "SHELL SERVICE STATION {n5}", "Fuel", CC, (-30, -70)),
    _p("n-philz", "Philz Coffee Truck", "SQ *PHILZ COFFEE TRUCK", "Coffee", CC, (-4, -9)),
    _p("n-chipotle", "Chipotle Online", "CHIPOTLE ONLINE {n4}", "Restaurants", CC, (-10, -30)),
    _p("n-traderjoes", "Trader Joes", "TRADER JOES #{n3} QPS", "Groceries", CC, (-20, -90)),
    _p("n-zen-nails", "Zen Nail Spa", "ZEN NAIL SPA {n4}", "Haircut", CC, (-30, -60)),
    _p("n-parkmobile", "ParkMobile", "PARKMOBILE {n6}", "Parking", CC, (-3, -15)),
    _p("n-blueapron", "Blue Apron", "BLUE APRON {n4}", "Food Delivery", CC, (-60, -80)),
    _p("n-nytimes", "New York Times", "NYTIMES.COM", "Streaming", CC, (-4, -4)),
    _p("n-patreon", "Patreon", "PATREON* MEMBERSHIP", "Streaming", CC, (-5, -10)),
    _p("n-rei", "REI", "REI #{n3} SAN CARLOS", "Clothing", CC, (-25, -240)),
    _p("n-lucky", "Lucky Supermarket", "LUCKY #{n3}", "Groceries", CHK, (-15, -80)),
    # Known merchants under spellings the history never had (another store format, app, web shop): no
    # earlier transaction has this payee, so neither the exact vote nor "last category" can place them;
    # the learned model does, from the merchant's name inside the new string (SPELLING_VARIANTS).
    _p("n-wholefoods-sf", "Whole Foods Market SF", "WHOLE FOODS MARKET {n5} SAN FRANCISCO", "Groceries", CC, (-25, -140)),
    _p("n-bluebottle-oak", "Blue Bottle Oakland", "SQ *BLUEBOTTLE COFFEE OAKLAND", "Coffee", CC, (-4.5, -12)),
    _p("n-chevron-stn", "Chevron Station", "CHEVRON STN {n7}", "Fuel", CC, (-35, -70)),
    _p("n-philz-app", "Philz Coffee App", "PHILZ COFFEE MOBILE APP", "Coffee", CC, (-4, -11)),
    _p("n-doordash-sushi", "DoorDash Sushi", "DOORDASH*SUSHIHOUSE", "Food Delivery", CC, (-25, -55)),
    _p("n-sprouts-market", "Sprouts Farmers Market", "SPROUTS FARMERS MARKET {n3}", "Groceries", CC, (-15, -70)),
    _p("n-clipper-autoload", "Clipper Autoload", "CLIPPER CARD AUTOLOAD", "Public Transit", CC, (-20, -50)),
    _p("n-petco-supplies", "Petco Animal Supplies", "PETCO ANIMAL SUPPLIES {n4}", "Pets", CC, (-12, -70)),
    _p("n-nordstrom-rack", "Nordstrom Rack", "NORDSTROM RACK {n4}", "Clothing", CC, (-30, -150)),
    _p("n-impark-lot", "Impark Lot", "IMPARK LOT {n5}", "Parking", CC, (-12, -28)),
]
SPELLING_VARIANTS = {"n-wholefoods-sf": "wholefoods", "n-bluebottle-oak": "bluebottle", "n-chevron-stn": "chevron",
                     "n-philz-app": "philz", "n-doordash-sushi": "doordash", "n-sprouts-market": "sprouts",
                     "n-clipper-autoload": "clipper", "n-petco-supplies": "petco", "n-nordstrom-rack": "nordstrom",
                     "n-impark-lot": "impark"}
"""New spelling (novel payee key) -> the known merchant it is (for tests and the README's demo note)."""


def _fill(template: str, rng: random.Random) -> str:
    """Expand {n4} (four digits), {c6} (six-character code with at least one digit) placeholders."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            j = template.index("}", i)
            kind, size = template[i + 1], int(template[i + 2 : j])
            if kind == "n":
                out.append("".join(rng.choice(string.digits) for _ in range(size)))
            else:
                chars = [rng.choice(string.ascii_uppercase + string.digits) for _ in range(size)]
                chars[rng.randrange(size)] = rng.choice(string.digits)
                out.append("".join(chars))
            i = j + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


class _Merchant:
    """A PayeeSpec bound to one seed: a few stable statement-name variants (store numbers)."""

    def __init__(self, spec: PayeeSpec, rng: random.Random) -> None:
        self.spec = spec
        # Store numbers repeat (people go to the same few stores); codes ({c..}) are fresh each time.
        self.variants = [_fill_stable(t, rng) for t in spec.templates for _ in range(3)]

    def statement(self, rng: random.Random) -> str:
        return _fill(rng.choice(self.variants), rng)


def _fill_stable(template: str, rng: random.Random) -> str:
    """Fix digit placeholders (store numbers) and keep code placeholders for per-transaction filling."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            j = template.index("}", i)
            if template[i + 1] == "n":
                out.append(_fill(template[i : j + 1], rng))
            else:
                out.append(template[i : j + 1])
            i = j + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _merchants(seed: int) -> dict[str, _Merchant]:
    rng = random.Random(f"demo-merchants:{seed}")
    return {spec.key: _Merchant(spec, rng) for spec in PAYEES + NOVEL_PAYEES}


def _tx_id(seed: int, part: str, index: int) -> str:
    return str(uuid.uuid5(_NS, f"{seed}:{part}:{index}"))


def _make(rng: random.Random, seed: int, part: str, index: int, merchant: _Merchant, date: dt.date,
          categorized: bool) -> Transaction:
    spec = merchant.spec
    lo, hi = spec.amount
    amount = round(rng.uniform(lo, hi) * 100)
    category_id: Optional[str] = None
    if categorized:
        names = [c for c, _ in spec.categories]
        weights = [w for _, w in spec.categories]
        category_id = CATEGORY_BY_NAME[rng.choices(names, weights)[0]].id
    return Transaction(
        id=_tx_id(seed, part, index),
        account_id=spec.account,
        account_name=ACCOUNT_NAMES[spec.account],
        payee_id=spec.id,
        payee_name=merchant.statement(rng),
        date=date,
        amount=amount,
        category_id=category_id,
        notes="",
    )


def _recurring_on(date: dt.date) -> list[PayeeSpec]:
    return [p for p in PAYEES if date.day in p.days]


def _discretionary() -> tuple[list[PayeeSpec], list[float]]:
    specs = [p for p in PAYEES if p.weight > 0]
    return specs, [p.weight for p in specs]


@dataclass(frozen=True)
class DemoBudget:
    accounts: list[Account]
    categories: list[Category]
    payees: list[Payee]
    transactions: list[Transaction]


def history_start() -> dt.date:
    return ANCHOR_DATE - dt.timedelta(days=HISTORY_DAYS - 1)


def generate_history(seed: int) -> list[Transaction]:
    """Twelve months of categorized transactions ending at ANCHOR_DATE, sorted by date."""
    return list(_history(seed))


@lru_cache(maxsize=4)
def _history(seed: int) -> tuple[Transaction, ...]:
    """generate_history, computed once per seed (a pure function of it; Transactions are frozen)."""
    rng = random.Random(f"demo-history:{seed}")
    merchants = _merchants(seed)
    start = history_start()
    days = [start + dt.timedelta(days=i) for i in range(HISTORY_DAYS)]
    planned: list[tuple[dt.date, PayeeSpec]] = [(d, p) for d in days for p in _recurring_on(d)]
    specs, weights = _discretionary()
    extra = HISTORY_TARGET - len(planned) + rng.randint(-60, 60)
    planned += [(rng.choice(days), spec) for spec in rng.choices(specs, weights, k=extra)]
    planned.sort(key=lambda item: item[0])
    return tuple(_make(rng, seed, "h", i, merchants[spec.key], date, True) for i, (date, spec) in enumerate(planned))


def payees_of(transactions: list[Transaction]) -> list[Payee]:
    """The canonical payees appearing in `transactions` (display names, not statement names)."""
    by_id = {p.id: p for p in PAYEES + NOVEL_PAYEES}
    seen: dict[str, Payee] = {}
    for t in transactions:
        if t.payee_id and t.payee_id not in seen:
            seen[t.payee_id] = Payee(t.payee_id, by_id[t.payee_id].display)
    return list(seen.values())


def payee_display_name(payee_id: str) -> str:
    for p in PAYEES + NOVEL_PAYEES:
        if p.id == payee_id:
            return p.display
    return payee_id


def generate_budget(seed: int) -> DemoBudget:
    """The whole seeded budget: accounts, categories, the usual payees, the categorized history."""
    history = generate_history(seed)
    return DemoBudget(
        accounts=list(ACCOUNTS),
        categories=list(CATEGORIES),
        payees=[Payee(p.id, p.display) for p in PAYEES],
        transactions=history,
    )


def batch_window(batch_number: int) -> tuple[dt.date, dt.date]:
    """First and last date of batch N (1-based): consecutive BATCH_DAYS-day windows after the anchor."""
    if batch_number < 1:
        raise ValueError("batch_number starts at 1")
    first = ANCHOR_DATE + dt.timedelta(days=(batch_number - 1) * BATCH_DAYS + 1)
    return first, first + dt.timedelta(days=BATCH_DAYS - 1)


def next_batch(seed: int, batch_number: int) -> list[Transaction]:
    """The N-th bank import (1-based): 10-40 new uncategorized transactions, deterministic per (seed, N)."""
    rng = random.Random(f"demo-batch:{seed}:{batch_number}")
    merchants = _merchants(seed)
    first, last = batch_window(batch_number)
    days = [first + dt.timedelta(days=i) for i in range(BATCH_DAYS)]
    count = rng.randint(BATCH_MIN, BATCH_MAX)
    planned: list[tuple[dt.date, PayeeSpec]] = [(d, p) for d in days for p in _recurring_on(d)][:count]
    specs, weights = _discretionary()
    while len(planned) < count:
        if rng.random() < NOVEL_SHARE:
            spec = rng.choice(NOVEL_PAYEES)
        else:
            spec = rng.choices(specs, weights)[0]
        planned.append((rng.choice(days), spec))
    planned.sort(key=lambda item: item[0])
    part = f"b{batch_number}"
    return [_make(rng, seed, part, i, merchants[spec.key], date, False) for i, (date, spec) in enumerate(planned)]
