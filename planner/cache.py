"""A persistent cache of a study's expensive, deterministic products.

A study run spends most of its time on things that do not change from one run to the next
while nothing it reads changes: each scenario's candidate routes and their appraisal, and
the system plan's candidate network (the cost surfaces have their own cache,
:mod:`planner.costsurface`). They are kept on disk, as osmnx keeps its downloads, under
:data:`planner.settings.CACHE_DIR`, one file per product, named by a hash of every input
that matters (:func:`cache_key`): the study file, the scenario, the layers' contents, the
network tables, the cost surface's own key (resolution, parameters, terrain) and the
package's code and data (:func:`code_version`), so a changed input or a new version of
``planner`` never reads an old entry.

Safety: entries are written to a temporary file and renamed into place (a reader sees the
whole entry or none); an entry that cannot be read is logged, ignored and rebuilt; nothing
is written anywhere but the cache folder. ``planner study --no-cache``,
``PLANNER_NO_CACHE=1`` or ``settings.USE_CACHE = False`` turn the cache off (no reading,
no writing). Entries are Python pickles: the cache folder is the user's own and must not
be shared with people one would not run code from.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     key = cache_key("demo", {"x": 1})
...     first = cached("demo", key, lambda: [1, 2], cache_dir=d)
...     again = cached("demo", key, lambda: [3], cache_dir=d)
>>> first, again
(([1, 2], False), ([1, 2], True))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from planner import settings

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Bumped when the layout of an entry changes (the code version covers everything else).
CACHE_FORMAT = 1


#: Libraries whose results or pickled objects an entry holds: an upgrade of any of them
#: starts a new cache (a route from another scikit-image, a frame from another pandas).
KEY_LIBRARIES = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "scikit-image",
                 "networkx", "scipy", "highspy")


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the package's source and shipped data files (``planner/**``), the Python
    version and the versions of :data:`KEY_LIBRARIES`, so entries written by other code
    are never read.

    Examples
    --------
    >>> len(code_version())
    16
    """
    h = hashlib.sha256()
    h.update(repr(sys.version_info[:2]).encode())
    for name in KEY_LIBRARIES:
        try:
            h.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=none".encode())
    for path in sorted(settings.PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".csv", ".toml", ".json"} \
                and "__pycache__" not in path.parts:
            h.update(path.relative_to(settings.PACKAGE_DIR).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint_frame(df: pd.DataFrame | None) -> str:
    """Hash of a table's values, index and columns (geometries as WKB).

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> fingerprint_frame(a) == fingerprint_frame(a.copy()), len(fingerprint_frame(None))
    (True, 4)
    """
    if df is None:
        return "none"
    from planner.costsurface import fingerprint_gdf

    if hasattr(df, "geometry") and "geometry" in df.columns:
        return fingerprint_gdf(df)
    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df.astype(str), index=True).to_numpy().tobytes())
    return h.hexdigest()


def cache_key(kind: str, parts: Mapping[str, Any]) -> str:
    """The key of an entry: a hash of its kind, the inputs in ``parts`` (anything JSON can
    write, others by ``str``), :func:`code_version` and :data:`CACHE_FORMAT`.

    Examples
    --------
    >>> cache_key("a", {"x": 1}) == cache_key("a", {"x": 1}) != cache_key("a", {"x": 2})
    True
    """
    src = {"kind": kind, "format": CACHE_FORMAT, "code": code_version(), **parts}
    text = json.dumps(src, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_path(kind: str, key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where an entry lives (``<cache>/<kind>-<key>.pkl``)."""
    folder = Path(cache_dir) if cache_dir is not None else Path(settings.CACHE_DIR)
    return folder / f"{kind}-{key[:32]}.pkl"


def load(kind: str, key: str, cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """The entry, or None when there is none or it cannot be read (logged)."""
    path = entry_path(kind, key, cache_dir)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            stored_key, value = pickle.load(f)
        if stored_key != key:
            raise ValueError("key does not match")
        return value
    except MemoryError:
        raise  # rebuilding would need more memory still
    except Exception as exc:  # a damaged or foreign entry is rebuilt, not fatal
        log.warning("cache: entry %s unreadable (%s); rebuilding", path, exc)
        return None


def store(kind: str, key: str, value: Any,
          cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Write an entry atomically (temporary file, then rename); None when it could not be
    written (logged: the run goes on without it)."""
    path = entry_path(kind, key, cache_dir)
    tmp = None
    try:
        # private: entries are pickles, read back by this user only
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump((key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return path
    except Exception as exc:
        log.warning("cache: could not write %s (%s)", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return None


def cached(kind: str, key: str, compute: Callable[[], T], *,
           cache_dir: str | os.PathLike[str] | None = None,
           use_cache: bool | None = None,
           keep: Callable[[T], bool] | None = None) -> tuple[T, bool]:
    """``compute()``'s value, read from the cache when there (and stored when not); with
    whether it was read. ``use_cache`` defaults to :data:`planner.settings.USE_CACHE`.
    With ``keep``, only values it accepts are stored or read back (e.g. no failed solve)."""
    on = settings.USE_CACHE if use_cache is None else use_cache
    if on:
        value = load(kind, key, cache_dir)
        if value is not None and (keep is None or keep(value)):
            log.info("cache: %s read from %s", kind, entry_path(kind, key, cache_dir))
            return value, True
    value = compute()
    if on and (keep is None or keep(value)):
        store(kind, key, value, cache_dir)
    return value, False


def study_parts(study: Any, layers: Any) -> dict[str, Any]:
    """The inputs every study product depends on: the study file's settings, its vector
    layers' contents, its network tables (interconnections, line flows) and the terrain
    classes' rule and class factors (:func:`planner.terrain_classes.rule_key`: candidates
    and plan arcs hold classified km and are priced by them; read when called, not only
    through the code's hash). The terrain enters through the cost surface's key, which
    every product's key also holds."""
    from planner.interconnections import network_tables_for_study
    from planner.terrain_classes import rule_key

    hubs, flows = network_tables_for_study(study)
    return {
        "study": study.raw,
        "crs": study.crs,
        "layers": {name: fingerprint_frame(gdf)
                   for name, gdf in layers.vector_layers().items()},
        "network": [fingerprint_frame(hubs), fingerprint_frame(flows)],
        "terrain_classes": rule_key(),
    }


def inputs_fingerprint(study: Any, layers: Any, parts: dict[str, Any] | None = None) -> str:
    """A short hash of everything a study's results depend on: :func:`study_parts` (the
    study file, its vector layers' contents, its network tables, the terrain classes'
    rule), the terrain's values (:func:`planner.costsurface.fingerprint_terrain`) and the
    code (:func:`code_version`, through :func:`cache_key`). Results kept beside a study's
    outputs (a coalition game, a sweep's task results and route sets) are used again only
    under the same fingerprint: an edited layer file, DEM or planner gives new results
    instead of stale ones. ``parts``: :func:`study_parts` of the same study and layers,
    when the caller has them already (not computed twice)."""
    from planner.costsurface import fingerprint_terrain

    terrain = getattr(layers, "terrain", None)
    return cache_key("inputs", {
        **(parts if parts else study_parts(study, layers)),
        "terrain": fingerprint_terrain(terrain) if terrain is not None else None})[:16]


__all__ = ["cache_key", "cached", "code_version", "entry_path", "fingerprint_frame",
           "inputs_fingerprint", "load", "store", "study_parts"]
