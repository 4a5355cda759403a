"""The ``[coalitions]`` table of a study file: players, seller, buyers and prices, cited.

Every price carries its source; problems are collected and raised once as a
:class:`planner.study.StudyError` naming the file, line and key. Example::

    [coalitions]
    players = ["RUS", "KAZ", "UZB"]
    seller = "RUS"
    seller_cost_usd_per_1000m3 = 139
    seller_cost_source = "estimate: ..."
    price_uncertainty = 0.25

    [[coalitions.buyers]]
    country = "UZB"
    destinations = ["Tashkent", "Samarqand"]
    alternative_price_usd_per_1000m3 = 187
    source = "..."

    [[coalitions.published_prices]]
    buyer = "UZB"
    price_usd_per_1000m3 = 160
    year = 2023
    source = "..."
    verified = false
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from planner.study import Study, StudyError, _Checker
from planner.study_schema import did_you_mean


@dataclass(frozen=True)
class Buyer:
    """A buyer: its country, the destinations it buys for and its alternative price."""

    country: str
    destinations: tuple[str, ...]
    alternative_price_usd_per_1000m3: float
    source: str


@dataclass(frozen=True)
class PublishedPrice:
    """A published (or reported) border price to compare the corridor with."""

    buyer: str
    price_usd_per_1000m3: float
    year: int
    source: str
    verified: bool = False


@dataclass(frozen=True)
class GameSpec:
    """The coalition game of a study.

    Attributes
    ----------
    players : tuple of str
        ISO3 codes (2 to 6).
    seller : str
        The player that sells gas; ``seller_cost_usd_per_1000m3`` its opportunity cost.
    buyers : tuple of Buyer
    published : tuple of PublishedPrice
    price_uncertainty : float
        Relative range (±) of every price assumption in the sensitivity sweep.
    """

    players: tuple[str, ...]
    seller: str
    seller_cost_usd_per_1000m3: float
    seller_cost_source: str
    buyers: tuple[Buyer, ...]
    published: tuple[PublishedPrice, ...] = ()
    price_uncertainty: float = 0.25
    workers: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def buyer(self, country: str) -> Buyer | None:
        return next((b for b in self.buyers if b.country == country), None)


_ISO3 = re.compile(r"^[A-Z]{3}$")
_KEYS = {"players", "seller", "seller_cost_usd_per_1000m3", "seller_cost_source",
         "price_uncertainty", "buyers", "published_prices", "workers"}


def game_spec_from_study(study: Study) -> GameSpec:
    """The study's ``[coalitions]`` table, validated (every problem reported at once)."""
    table = study.raw.get("coalitions")
    if not isinstance(table, dict):
        raise StudyError(str(study.path), [
            "coalitions: the study has no [coalitions] table (players, seller, buyers with "
            "their alternative prices and sources); see README, 'Coalitions'"])
    text = study.path.read_text(encoding="utf-8") if study.path.exists() else ""
    c = _Checker(text)
    for k in table:
        if k not in _KEYS:
            c.add(f"coalitions.{k}", f"unknown key{did_you_mean(k, _KEYS)}; known: "
                  f"{', '.join(sorted(_KEYS))}", k)
    players = table.get("players", [])
    if (not isinstance(players, list) or not 2 <= len(players) <= 6
            or not all(isinstance(p, str) and _ISO3.match(p) for p in players)
            or len(set(players)) != len(players)):
        c.add("coalitions.players", f"must list 2-6 distinct ISO3 codes, got {players!r}",
              "players")
        players = []
    seller = table.get("seller")
    if seller not in players:
        c.add("coalitions.seller", f"must be one of the players {players}, got {seller!r}",
              "seller")
    cost = c.number(table, "seller_cost_usd_per_1000m3", "coalitions", default=None,
                    maximum=2000.0)
    cost_src = table.get("seller_cost_source")
    if not isinstance(cost_src, str) or not cost_src.strip():
        c.add("coalitions.seller_cost_source", "is required: where the figure comes from",
              "seller_cost_source")
    unc = table.get("price_uncertainty", 0.25)
    if isinstance(unc, bool) or not isinstance(unc, int | float) or not 0 <= unc < 1:
        c.add("coalitions.price_uncertainty", f"must be a number in [0, 1), got {unc!r}",
              "price_uncertainty")
        unc = 0.25
    workers = table.get("workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 16:
        c.add("coalitions.workers", f"must be a whole number 1-16, got {workers!r}", "workers")
        workers = 2
    dest_names = {d.name for d in study.destinations}
    buyers = []
    for i, b in enumerate(_tables(c, table, "buyers")):
        where = f"coalitions.buyers[{i}]"
        if not isinstance(b, dict):
            c.add(where, f"must be a table ([[coalitions.buyers]]), got {b!r}", "buyers")
            continue
        country = b.get("country")
        if country not in players:
            c.add(f"{where}.country", f"must be one of the players {players}, got {country!r}",
                  "country", country)
        if country == seller:
            c.add(f"{where}.country", "the seller cannot also be a buyer", "country", country)
        dests = b.get("destinations", [])
        if not isinstance(dests, list) or not dests:
            c.add(f"{where}.destinations", "must list the study's destinations it buys for",
                  "destinations")
            dests = []
        for d in dests:
            if not isinstance(d, str):
                c.add(f"{where}.destinations", f"must list destination names, got {d!r}",
                      "destinations")
                dests = []
                break
            if d not in dest_names:
                c.add(f"{where}.destinations", f"{d!r} is not a destination of the study "
                      f"({sorted(dest_names)})", "destinations")
        price = c.number(b, "alternative_price_usd_per_1000m3", where, default=None,
                         maximum=2000.0)
        src = b.get("source")
        if not isinstance(src, str) or not src.strip():
            c.add(f"{where}.source", "is required: where the alternative price comes from",
                  "source")
        if isinstance(country, str) and price is not None:
            buyers.append(Buyer(country, tuple(str(d) for d in dests), float(price),
                                str(src or "")))
    if not buyers:
        c.add("coalitions.buyers", "at least one [[coalitions.buyers]] entry is required",
              None)
    published = []
    for i, p in enumerate(_tables(c, table, "published_prices")):
        where = f"coalitions.published_prices[{i}]"
        if not isinstance(p, dict):
            c.add(where, f"must be a table ([[coalitions.published_prices]]), got {p!r}",
                  "published_prices")
            continue
        if p.get("buyer") not in [b.country for b in buyers]:
            c.add(f"{where}.buyer", f"must name a buyer, got {p.get('buyer')!r}", "buyer")
        price = c.number(p, "price_usd_per_1000m3", where, default=None, maximum=2000.0)
        year = p.get("year")
        if isinstance(year, bool) or not isinstance(year, int):
            c.add(f"{where}.year", f"must be a year, got {year!r}", "year")
        src = p.get("source")
        if not isinstance(src, str) or not src.strip():
            c.add(f"{where}.source", "is required", "source")
        if price is not None and isinstance(year, int):
            published.append(PublishedPrice(str(p.get("buyer")), float(price), int(year),
                                            str(src or ""), bool(p.get("verified", False))))
    if c.problems:
        raise StudyError(str(study.path), c.problems)
    return GameSpec(tuple(players), str(seller), float(cost or 0.0), str(cost_src),
                    tuple(buyers), tuple(published), float(unc), int(workers))


def _tables(c: _Checker, table: dict[str, Any], key: str) -> list[Any]:
    """``table[key]`` as a list (an array of tables); anything else is one problem."""
    v = table.get(key, [])
    if isinstance(v, list):
        return v
    c.add(f"coalitions.{key}", f"must be an array of tables ([[coalitions.{key}]]), "
          f"got {v!r}", key)
    return []


__all__ = ["Buyer", "GameSpec", "PublishedPrice", "game_spec_from_study"]
