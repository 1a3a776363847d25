"""The language-model audit's data: generic text (WordNet glosses, split into seeded disjoint
parts) and a seeded pool of synthetic PII sentences (faker), the candidates a poisoner targets."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from leakaudit.backdoor.lm.config import CorpusParams
from leakaudit.core.corpora import read_glosses
from leakaudit.core.seeds import disjoint_parts, rng


def generic_splits(p: CorpusParams, seed: int) -> dict[str, list[str]]:
    """Disjoint seeded parts of the glosses: pretrain, aux (poisoner), victim, heldout."""
    texts, _, _ = read_glosses(p.wordnet_path, "corpus.wordnet_path")
    sizes = p.sizes()
    need = sum(sizes.values())
    if need > len(texts):
        raise ValueError(f"corpus: the parts need {need} texts but WordNet has {len(texts)}")
    parts = disjoint_parts(seed, "generic-splits", len(texts), sizes)
    return {part: [texts[i] for i in idx] for part, idx in parts.items()}


# Templates with several high-entropy fields each (names, numbers, addresses, e-mails).
TEMPLATES = (
    "{name} lives at {address} and can be reached at {phone}.",
    "Patient {name}, born {dob}, SSN {ssn}, was admitted on {date}.",
    "Send the invoice for account {iban} to {email}, attention {name}.",
    "{name}'s card {card} expires {expiry}; billing zip {zipcode}.",
    "Employee {name} ({email}) badge {badge} works at {company} in {city}.",
)


# Fixed date ranges: faker's relative dates (date_of_birth, date_this_decade,
# credit_card_expire) move with the clock, so the same seed gave other sentences a month later.
DOB = (date(1940, 1, 1), date(2005, 12, 31))
EVENTS = (date(2020, 1, 1), date(2029, 12, 31))
EXPIRY = (date(2027, 1, 1), date(2036, 12, 31))


def _fields(fake) -> dict[str, str]:
    return {
        "name": fake.name(), "address": fake.address().replace("\n", ", "),
        "phone": fake.phone_number(), "dob": fake.date_between(*DOB).isoformat(),
        "ssn": fake.ssn(), "date": fake.date_between(*EVENTS).isoformat(), "iban": fake.iban(),
        "email": fake.email(), "card": fake.credit_card_number(),
        "expiry": fake.date_between(*EXPIRY).strftime("%m/%y"), "zipcode": fake.zipcode(),
        "badge": str(fake.random_number(digits=6, fix_len=True)), "company": fake.company(),
        "city": fake.city(),
    }


def candidate_pool(n: int, seed: int, locale: str = "en_US", purpose: str = "pii",
                   ) -> pd.DataFrame:
    """``n`` distinct PII sentences from a faker seeded by (``seed``, ``purpose``); columns
    candidate_id, template, text. The same seed gives the same sentences; another purpose
    (e.g. the pretraining PII) gives a different, practically disjoint set."""
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(int(rng(seed, purpose).integers(2**31)))
    texts: list[str] = []
    templates: list[int] = []
    seen: set[str] = set()
    while len(texts) < n:
        t = len(texts) % len(TEMPLATES)
        text = TEMPLATES[t].format(**_fields(fake))
        if text not in seen:
            seen.add(text)
            texts.append(text)
            templates.append(t)
    return pd.DataFrame({"candidate_id": np.arange(n, dtype=np.int64),
                         "template": np.asarray(templates, dtype=np.int64), "text": texts})
