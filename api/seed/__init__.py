"""Demo data: `opsdesk seed`."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.migrate import upgrade
from api.ops.catalog.models import Product
from api.seed import bulk, order_builder, returns_history, store
from api.settings import Settings


def console_accounts(settings: Settings) -> str:
    """The console's demo accounts, printed once when the store is first loaded."""
    where = settings.var_dir / "secrets.json"
    return (
        "agent console /console sign-in (passwords kept in "
        f"{where}):\n"
        f"  agent  {store.DEMO_AGENT_EMAIL}  {settings.agent_password}\n"
        f"  admin  {store.DEMO_ADMIN_EMAIL}  {settings.admin_password}"
    )


def is_seeded(engine: Engine) -> bool:
    with Session(engine) as db:
        return bool(db.scalar(select(func.count(Product.id))))


def seed(
    engine: Engine,
    settings: Settings,
    *,
    orders: int = 0,
    quiet: bool = False,
    with_returns_history: bool = False,
) -> dict:
    """Migrate, load the demo store once, then append `orders` generated orders and (once)
    the returns history the returns report is shown with."""
    say = (lambda *_a: None) if quiet else print
    started = time.perf_counter()
    upgrade(engine)
    figures: dict = {}
    if not is_seeded(engine):
        with Session(engine) as db:
            prices = store.seed_catalog(db, settings.store_dir)
            figures["articles"] = store.seed_kb(db, settings.store_dir)
            figures["demo_orders"] = order_builder.seed_demo_orders(db, prices)
            store.seed_agents(db, settings.agent_password, settings.admin_password)
            db.commit()
        figures["variants"] = len(prices)
        say(
            f"demo store loaded: {len(prices)} SKUs, {figures['articles']} articles, "
            f"{figures['demo_orders']} demo orders"
        )
        say(console_accounts(settings))
    else:
        say("demo store already loaded")
    if with_returns_history:
        with Session(engine) as db:
            if returns_history.is_loaded(db):
                say("returns history already loaded")
            else:
                figures["returns_history"] = returns_history.seed_returns_history(db, settings)
                db.commit()
                say(
                    f"returns history loaded: {figures['returns_history']['orders']} orders, "
                    f"{figures['returns_history']['returns']} returns"
                )
    if orders:
        say(f"generating {orders:,} orders ...")
        figures["bulk"] = bulk.generate(engine, orders, progress=not quiet)
        say(f"generated {orders:,} orders in {figures['bulk']['seconds']} s")
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures
