"""The terrain-class rule (:mod:`planner.terrain_classes`) on the labelled reference lines
whose route the study region's pipeline layer (GEM) holds: labelled class against the
rule's km shares. A check of the rule, not a fit: nothing here changes a threshold.

Run: ``python -m benchmarks.terrain_classes_reference`` (prints a Markdown table);
``--dem PATH`` classifies on another DEM (EPSG:4326) instead of the study region's, e.g.
the NOAA GLOBE raster at its native 30 arcsec that the shipped 1-arcmin composite averages
2 x 2 over 35-50 N.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from planner import settings
from planner.layers import default_layers
from planner.terrain_classes import (
    TERRAIN_CLASSES,
    TerrainClassifier,
    class_km,
    classify,
    terrain_factor_from_km,
)

#: Reference line (planner/data/reference_projects*.csv ``name``) → GEM pipeline_id of
#: the same line in geodata/ (matched by name and route; notes say where only part is).
MATCHES = {
    "Beineu-Bozoi-Shymkent": ("P3273", "Beineu-Bozoy-Shymkent (I)"),
    "Central Asia-China A/B": ("P2299", "Central Asia–China Line A"),
    "East-West (Turkmenistan)": ("P0745", "East-West Gas Pipeline"),
    "South Caucasus Pipeline": ("P0759", "South Caucasus; DEM ends at 44 E (Georgia part "
                                "west of it left out)"),
    "Korpeje-Kurt Kui": ("P0749", "Korpeje-Kordkuy, 63 km of the 200 km"),
    "West-East Gas Pipeline I": ("P4927", "West-East 1; DEM ends at 90 E (Tarim basin part "
                                 "only)"),
    "Kamchik Pass gas pipeline (to the Fergana valley)": (
        "P4071", "Ahangaran-Pungan (Angren to the Fergana valley over the Kamchik Pass)"),
}


def reference_table(dem: Path | None = None) -> pd.DataFrame:
    """The table; ``dem``: a DEM file (EPSG:4326) in place of the layers' terrain."""
    from planner.io import terrain_from_file

    layers = default_layers()
    if dem is not None:
        layers = dataclasses.replace(layers, terrain=terrain_from_file(dem))
    clf = TerrainClassifier.from_terrain(layers.terrain, layers.mountains)
    # the eighth held-out set's lines joined reference_projects.csv in the ninth round
    refs = pd.read_csv(settings.PACKAGE_DIR / "data" / "reference_projects.csv")
    pipes = layers.pipelines.set_index("pipeline_id")
    rows = []
    for name, (pid, what) in MATCHES.items():
        label = str(refs.loc[refs["name"].eq(name), "terrain"].iloc[0])
        km, slope, rng = clf.samples(pipes.loc[pid].geometry)
        inside = np.isfinite(slope)
        k = class_km(km[inside], classify(slope[inside], rng[inside]))
        total = sum(k.values())
        rows.append({"line": name, "GEM route": f"{pid} {what}", "label": label,
                     "km classified": round(total),
                     **{f"{c} %": round(100 * k[c] / total, 1) for c in TERRAIN_CLASSES},
                     "rule's majority": max(k, key=lambda c: k[c]),
                     "factor by rule": round(terrain_factor_from_km(k), 3),
                     "factor by label": round(terrain_factor_from_km({label: 1.0}), 3),
                     "median slope %": round(float(np.median(slope[inside])), 2),
                     # where its mountain km come from: range polygons or steep ground
                     "km in ranges": round(float(km[inside & rng].sum()), 1),
                     "of them ≥ 8 %": round(float(km[inside & rng & (slope >= 8)].sum()), 1),
                     "km ≥ 8 %": round(float(km[inside & (slope >= 8)].sum()), 1)})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dem", type=Path, default=None,
                    help="a DEM file (EPSG:4326) instead of the study region's")
    t = reference_table(ap.parse_args().dem).astype(str)
    print("| " + " | ".join(t.columns) + " |")
    print("|" + "---|" * len(t.columns))
    for r in t.itertuples(index=False):
        print("| " + " | ".join(r) + " |")
