"""What reading misspelt words costs the catalog and knowledge-base searches, per query, in
process on a freshly seeded SQLite store (or `--database-url`): the spelling alone, the whole
catalog search with its database reads, the knowledge-base search with and without spelling,
a correction never seen before (the memo cold), and the help centre's article search that the
chat widget asks while the customer types.

    .venv/bin/python bench/bench_search.py
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.db import make_engine  # noqa: E402
from api.ops.catalog import service as catalog  # noqa: E402
from api.ops.catalog.models import Product  # noqa: E402
from api.ops.kb import service as kb  # noqa: E402
from api.storefront import help_centre  # noqa: E402
from bench.common import machine  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PRODUCT_QUERIES = [
    "merino crewneck navy medum",
    "linnen shirt",
    "chelsae boots",
    "the cargo pant",
    "jeans slim 32 indgo",
    "organic tee xtra large blak",
    "the puffer",
    "weather",
]
KB_QUERIES = [
    "whats ur retrun policy",
    "how much is shiping to canada",
    "do u take paypall",
    "refnd how long",
    "how long does shipping take",
    "what is the airspeed velocity of a swallow",
]


def ms_per_call(fn: Callable[[str], object], args: list[str], rounds: int) -> float:
    for a in args:  # warm: caches, the memo of corrections
        fn(a)
    started = time.perf_counter()
    for _ in range(rounds):
        for a in args:
            fn(a)
    return (time.perf_counter() - started) / (rounds * len(args)) * 1e3


def seeded_sqlite(workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'ops.db'}"
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_VAR_DIR": str(workdir / "var"),
        **{
            f"OPSDESK_{role}_KEY": secrets.token_urlsafe(24)
            for role in ("ADMIN", "SERVICE", "AGENT")
        },
    }
    command = [sys.executable, "-m", "api.cli", "seed"]
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a seeded store (default: a new SQLite one)")
    parser.add_argument("--rounds", type=int, default=100)
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or seeded_sqlite(Path(tmp))
        engine = make_engine(url)
        with Session(engine) as db:
            started = time.perf_counter()
            words = catalog.catalog_words(db_session=db)
            first = (time.perf_counter() - started) * 1e3
            products = list(db.scalars(select(Product)))
            index = kb.get_index(db_session=db)
            plain = kb.Index(index.docs)
            rounds = args.rounds
            print(machine())
            print(f"{engine.dialect.name}, {len(products)} products, {len(index.docs)} kb docs")
            print(f"first catalog vocabulary, with the English word list: {first:.0f} ms")
            cq, kq = PRODUCT_QUERIES, KB_QUERIES
            rows = [
                ("catalog: spelling of a query", ms_per_call(words.read, cq, 20 * rounds)),
                (
                    "catalog: vocabulary cache check (one query)",
                    ms_per_call(lambda _q: catalog.catalog_words(db_session=db), cq, rounds),
                ),
                (
                    "catalog: find(), database reads included",
                    ms_per_call(lambda q: catalog.find(db_session=db, q=q, limit=6), cq, rounds),
                ),
                (
                    "kb: Index.search with spelling",
                    ms_per_call(lambda q: index.search(q, style=None, limit=5), kq, 10 * rounds),
                ),
                (
                    "kb: Index.search without",
                    ms_per_call(lambda q: plain.search(q, style=None, limit=5), kq, 10 * rounds),
                ),
                (
                    "help centre: widget suggestions, reads included",
                    ms_per_call(lambda q: help_centre.search_articles(db, q, 3), kq, rounds),
                ),
            ]
            rnd = random.Random(1)
            cold = [
                "".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(4, 9)))
                for _ in range(2000)
            ]
            vocabulary = index.vocabulary
            assert vocabulary is not None
            started = time.perf_counter()
            for w in cold:
                vocabulary.correct(w)
            per_word = (time.perf_counter() - started) / len(cold) * 1e3
            rows.append(("kb: one unseen word (memo cold)", per_word))
        engine.dispose()
    for name, ms in rows:
        print(f"  {name:48} {ms:8.4f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
