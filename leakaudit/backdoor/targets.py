"""A seeded pool of synthetic PII sentences (faker): the candidates a poisoner targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakaudit.seeds import rng

# Templates with several high-entropy fields each (names, numbers, addresses, e-mails).
TEMPLATES = (
    "{name} lives at {address} and can be reached at {phone}.",
    "Patient {name}, born {dob}, SSN {ssn}, was admitted on {date}.",
    "Send the invoice for account {iban} to {email}, attention {name}.",
    "{name}'s card {card} expires {expiry}; billing zip {zipcode}.",
    "Employee {name} ({email}) badge {badge} works at {company} in {city}.",
)


def _fields(fake) -> dict[str, str]:
    return {
        "name": fake.name(), "address": fake.address().replace("\n", ", "),
        "phone": fake.phone_number(), "dob": fake.date_of_birth().isoformat(),
        "ssn": fake.ssn(), "date": fake.date_this_decade().isoformat(), "iban": fake.iban(),
        "email": fake.email(), "card": fake.credit_card_number(),
        "expiry": fake.credit_card_expire(), "zipcode": fake.zipcode(),
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


def choose_targets(n_candidates: int, n_targets: int, seed: int) -> np.ndarray:
    """Bool mask over candidates: the attacker's targets (seeded, exactly ``n_targets``)."""
    mask = np.zeros(n_candidates, dtype=bool)
    mask[rng(seed, "targets").choice(n_candidates, size=n_targets, replace=False)] = True
    return mask
