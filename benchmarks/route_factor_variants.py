"""Cost-surface factor variants tried against built lines (README, "Route backtest").

Each variant is scored like ``planner calibrate routes``: the same seeded Latin-hypercube
search (``candidate_params``, seed 12) plus candidate 0, every candidate routed on the 51
default lines at 10 km, the fit = best mean objective, 5-fold cross-validation grouped by
system. Variants the package cannot express through ``--parameters`` (another town
threshold, links between towns, terrain masks) are built here on top of
:class:`planner.backtest.routes.RouteSurfaces`; none of them is in the package, because
none validated better than the shipped search.

    python benchmarks/route_factor_variants.py towns 5000          # 5 factors, towns 5,000+
    python benchmarks/route_factor_variants.py towns 20000 --slopes # + slopes and ranges
    python benchmarks/route_factor_variants.py links 10000 60       # Delaunay edges ≤ 60 km
    python benchmarks/route_factor_variants.py places               # the NE demand centres
    python benchmarks/route_factor_variants.py mask desert          # desert | lowland |
                                                                    # below_sea | playa
    python benchmarks/route_factor_variants.py towns 10000 --slopes --neighbours 16
                                  # the shipped search on the 16-lattice (a variant)
    python benchmarks/route_factor_variants.py towns 10000 --slopes \
        --cross length_base=0,0.5,1,2,4      # the shipped search's 41 sets x 5 (205 sets)
    python benchmarks/route_factor_variants.py towns 10000 --slopes \
        --cross water_body_mult=inf,10,30,100    # water crossable at a price
    python benchmarks/route_factor_variants.py towns 10000 --slopes \
        --cross deviation_weight=0,0.25,0.5,1,2,4,8,16 \
        --holdout P3273,P2492,P1124,P0739,P3964,P2291,P4048
                                # the deviation prior (41 sets x 8), with the 9 Central
                                # Asian lines held out; prints the folds' weights and the
                                # lines it moves against weight 0 (the README rows)
    python benchmarks/route_factor_variants.py towns 10000 --slopes \
        --cross deviation_weight=4 --holdout P3273,...
                                # weight held at 4 (read off the run above: not a
                                # validation of the weight)
    python benchmarks/route_factor_variants.py towns 10000 --slopes \
        --draw-with deviation_weight --cross deviation_weight=0 --holdout P3273,...
                                # control of the joint search (planner calibrate routes
                                # --parameters $F,deviation_weight): its 41 sets at weight 0
    python benchmarks/route_factor_variants.py energy 10000 --slopes
                                # + GEM gas fields and gas power plants as towns

8-neighbour routes are not straightened, as studies and the backtest route them
(``R.ROUTE_STRAIGHTEN``); ``--straighten`` applies ``planner.routing.straighten_path``, as
every 8-neighbour row of the README measured before that default changed did (those rows
say so: rerun them with ``--straighten``).

Mask variants search one multiplier (12 values from 0.5 to 4, and neutral) with the other
factors at the five-factor towns ≥ 10,000 fit (fitted on all lines: their validation
compares only with the neutral candidate's). Runs one process (about 2–5 minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy.spatial import Delaunay

from planner import settings
from planner.backtest import routes as R
from planner.costsurface import CostParams, cell_centres_xy
from planner.io import read_vector
from planner.lattice import NEIGHBOURS
from planner.layers import default_layers

FIVE = ["border_crossing_mult", "parallel_mult", "parallel_corridor_m", "town_access_mult",
        "town_access_m"]
SLOPES = ["slope_hill_mult", "slope_mtn_mult", "mountain_mult"]
#: The five-factor towns ≥ 10,000 fit (candidate 4 of that search), base of the masks.
TOWNS_10K_FIT = dict(border_crossing_mult=53.319011, parallel_mult=0.854467,
                     parallel_corridor_m=2634.937364, town_access_mult=0.890472,
                     town_access_m=13145.26895)
#: Natural Earth playas: not shipped in geodata/ (no variant using them is in the package);
#: read from the raw data folder beside the repository (``../shared/data``).
PLAYAS = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "hydro"
             / "ne_10m_playas_region.geojson")


@dataclasses.dataclass(eq=False)
class MaskedSurfaces(R.RouteSurfaces):
    """Route surfaces with one more multiplier on a mask (``mask_mult`` set per run)."""

    mask: np.ndarray | None = None
    mask_mult: float = 1.0

    def cost(self, params: CostParams, removed: Any = ()) -> np.ndarray:
        c = super().cost(params, removed)
        if self.mask is not None and self.mask_mult != 1.0:
            finite = np.isfinite(c)
            c[self.mask & finite] *= self.mask_mult
        return c


def _mask(s: R.RouteSurfaces, polygons: Any) -> np.ndarray:
    g = polygons.to_crs(s.template.crs)
    return rasterio.features.rasterize(((x, 1) for x in g.geometry), out_shape=s.template.shape,
                                       transform=s.template.transform, fill=0,
                                       dtype="uint8") > 0


def _link_distance(s: R.RouteSurfaces, towns: Any, min_pop: float, link_km: float
                   ) -> np.ndarray:
    """Distance (m) of each cell centre to the nearest Delaunay edge between towns of
    ``min_pop`` people at most ``link_km`` long (a road-network proxy)."""
    t = towns[towns["population"] >= min_pop].to_crs(s.template.crs)
    xy = shapely.get_coordinates(t.geometry)
    edges = {tuple(sorted((int(a), int(b)))) for tri in Delaunay(xy).simplices
             for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[0], tri[2]))}
    segs = [shapely.LineString([xy[a], xy[b]]) for a, b in edges
            if np.hypot(*(xy[a] - xy[b])) <= link_km * 1000.0]
    pts = shapely.points(cell_centres_xy(s.template.transform, s.template.shape))
    _, d = shapely.STRtree(segs).query_nearest(pts, return_distance=True, all_matches=False)
    return np.asarray(d).reshape(s.template.shape)


def _with_energy_sites(geonames: Any, min_pop: float) -> Any:
    """GeoNames towns plus GEM Asia Gas Tracker gas extraction areas and gas power plants
    (points; given the towns' population threshold so they count as towns)."""
    sites = read_vector(settings.raw_path("gem_asia"))
    kind = sites["type"].astype(str).str.lower()
    sites = sites[~kind.str.contains("pipeline")].copy()
    sites["geometry"] = sites.geometry.representative_point()
    sites["population"] = min_pop
    return pd.concat([geonames[["population", "geometry"]],
                      sites[["population", "geometry"]].to_crs(geonames.crs)],
                     ignore_index=True).pipe(lambda d: d.set_geometry("geometry"))


def _report(name: str, scores: pd.DataFrame, lines: Any, holdout: list[str] | None = None,
            cands: pd.DataFrame | None = None, factor: str = "") -> None:
    routable = scores.groupby("pipeline_id")["share_25km"].apply(lambda x: x.notna().any())
    train = lines[lines["pipeline_id"].map(routable)]
    if holdout:
        _report_holdout(scores, train, holdout, cands, factor)
    cid = R.best_candidate(scores, train["pipeline_id"])
    fit = R.summarise(scores[(scores["candidate"] == cid)
                             & scores["pipeline_id"].isin(train["pipeline_id"])])
    folds = R.cross_validate(scores, train, 5, seed=12)
    cv = R.summarise(folds)
    print(f"{name}: fitted candidate {cid}")
    if factor and cands is not None:
        picks = folds.groupby("fold")["candidate"].first()
        print(f"  {factor}: fit {cands.loc[cid, factor]:g}; folds pick "
              + ", ".join(f"{cands.loc[c, factor]:g} (candidate {c})" for c in picks))
        if (cands[factor] == 0).any() and (cands[factor] != 0).any():
            _report_moved_lines(scores, train, folds, cands.index[cands[factor] == 0])
    ok = scores[scores["share_25km"].notna()]
    beats = ok.assign(b=ok.apply(R.beats_baseline_distance, axis=1))
    per_line = beats.groupby("pipeline_id")["b"].any()
    per_cand = beats.groupby("candidate")["b"].mean()
    print(f"  ceiling of this search (training, distance measure): some candidate beats the "
          f"straight line on {100 * per_line.mean():.0f} % of lines; the best single "
          f"candidate (no. {int(per_cand.idxmax())}) on {100 * per_cand.max():.0f} %")
    for label, d in (("training", fit), ("5-fold validation", cv)):
        print(f"  {label:18s} within 10 km {100 * d['share_10km']:.1f} %, within 25 km "
              f"{100 * d['share_25km']:.1f} %, mean distance {d['mean_distance_km']:.1f} km, "
              f"beats straight line {100 * d['beats_baseline']:.0f} % (strict) / "
              f"{100 * d['beats_baseline_distance']:.0f} % (distance), no extra country "
              f"{100 * d['no_extra_country']:.0f} %")


def _report_moved_lines(scores: pd.DataFrame, lines: Any, folds: pd.DataFrame,
                        zero: pd.Index, min_km: float = 3.0) -> None:
    """Per line, the 5-fold mean distance with the factor against the same search's sets
    at 0 (their own 5-fold), for the lines it moves by ``min_km`` or more."""
    plain = R.cross_validate(scores[scores["candidate"].isin(zero)], lines, 5, seed=12)
    d = pd.concat([plain.set_index("pipeline_id")["mean_distance_km"].rename("at 0"),
                   folds.set_index("pipeline_id")["mean_distance_km"].rename("with")], axis=1)
    d = d.join(lines.set_index("pipeline_id")["name"])
    moved = d[(d["with"] - d["at 0"]).abs() >= min_km].sort_values("with")
    print(f"  5-fold mean distance per line, at 0 -> with it (lines moved {min_km:g} km or "
          "more):")
    for pid, r in moved.iterrows():
        print(f"    {pid} {r['name']}: {r['at 0']:.1f} -> {r['with']:.1f} km")


def _report_holdout(scores: pd.DataFrame, lines: Any, holdout: list[str],
                    cands: pd.DataFrame | None = None, factor: str = "") -> None:
    """As ``planner backtest routes --holdout``: the held-out lines and every line of
    their groups (system, parallels) are left out, the search is fitted on the rest, and
    the held-out lines are scored with that fit (validation)."""
    is_held = R.held_out(lines, holdout)
    cid = R.best_candidate(scores, lines.loc[~is_held, "pipeline_id"])
    held_ids = set(lines.loc[is_held, "pipeline_id"])
    rows = scores[(scores["candidate"] == cid) & scores["pipeline_id"].isin(held_ids)]
    d = R.summarise(rows)
    value = f", {factor} {cands.loc[cid, factor]:g}" if factor and cands is not None else ""
    print(f"  held out ({d['lines']} lines; fitted on the other {int((~is_held).sum())}: "
          f"candidate {cid}{value}) within 10 km {100 * d['share_10km']:.1f} %, within 25 km "
          f"{100 * d['share_25km']:.1f} %, mean distance {d['mean_distance_km']:.1f} km "
          f"(straight {d['baseline_mean_distance_km']:.1f}), beats straight line "
          f"{100 * d['beats_baseline']:.0f} % (strict) / "
          f"{100 * d['beats_baseline_distance']:.0f} % (distance), no extra country "
          f"{100 * d['no_extra_country']:.0f} %")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variant", choices=["towns", "links", "places", "mask", "energy"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--slopes", action="store_true", help="also search slopes and ranges")
    ap.add_argument("--neighbours", type=int, default=8, choices=NEIGHBOURS,
                    help="routing lattice (planner.lattice; default 8: the grid)")
    ap.add_argument("--cross", default="",
                    help="NAME=v1,v2,...: every searched set crossed with each value of one "
                    "more factor (candidate numbers: set + 41 x value index)")
    ap.add_argument("--draw-with", default="", help="NAME: add one optional factor "
                    "(R.OPTIONAL_SEARCH_SPACE) to the Latin-hypercube draw, as planner "
                    "calibrate routes --parameters ...,NAME does")
    ap.add_argument("--objective", default="shares", choices=R.OBJECTIVES)
    ap.add_argument("--no-straighten", action="store_true",
                    help="8-neighbour routes without planner.routing.straighten_path")
    ap.add_argument("--straighten", action="store_true",
                    help="8-neighbour routes with planner.routing.straighten_path (the "
                    "backtest's default: R.ROUTE_STRAIGHTEN, off, as studies route)")
    ap.add_argument("--as-built", action="store_true", help="corridors as they stood when "
                    "each line was built (built_lines(as_built=True))")
    ap.add_argument("--holdout", default="", help="IDS: also refit without these lines "
                    "(and their systems and parallels) and score them apart, as "
                    "planner backtest routes --holdout does")
    ap.add_argument("--scores-out", default="", help="write every (candidate, line) score "
                    "to this CSV")
    a = ap.parse_args(argv)
    if a.cross and a.variant == "mask":
        ap.error("--cross does not apply to mask variants (they search their own multiplier)")
    if a.neighbours != 8 and (a.straighten or a.no_straighten):
        ap.error("--straighten / --no-straighten apply to 8 neighbours only")
    layers = default_layers()
    geonames = read_vector(settings.raw_path("geonames"))
    lines = R.built_lines(layers.pipelines, as_built=a.as_built)
    res = settings.DEFAULT_RESOLUTION_KM * 1000.0
    searched = (SLOPES + FIVE) if a.slopes else FIVE
    if a.draw_with:
        searched = [*searched, a.draw_with]
    name = (f"{a.variant} {' '.join(a.args)}{' + slopes' if a.slopes else ''}, "
            f"{a.neighbours} neighbours{', x ' + a.cross if a.cross else ''}, {a.objective}"
            f"{', as built' if a.as_built else ''}"
            f"{', drawn with ' + a.draw_with if a.draw_with else ''}"
            f"{', not straightened' if a.no_straighten else ''}")
    # 8-neighbour routes as the backtest routes them (R.ROUTE_STRAIGHTEN) unless told
    straighten = None if a.neighbours != 8 else (
        False if a.no_straighten else True if a.straighten else None)

    cands: pd.DataFrame | None = None

    def candidates(searched: list[str]) -> pd.DataFrame:
        nonlocal cands
        cands = R.candidate_params(40, seed=12, parameters=searched)
        if a.cross:
            factor, _, values = a.cross.partition("=")
            cands = pd.concat([cands.assign(**{factor: float(v)}) for v in values.split(",")],
                              ignore_index=True)
            cands.index.name = "candidate"
        return cands
    factor = a.cross.partition("=")[0] or a.draw_with

    if a.variant in ("towns", "places", "energy"):
        pop = float(a.args[0]) if a.args else 0.0
        towns = layers.demand_centres if a.variant == "places" else geonames
        if a.variant == "energy":
            towns = _with_energy_sites(geonames, pop)
        s = R.RouteSurfaces.from_layers(layers, res, towns=towns, neighbours=a.neighbours,
                                        straighten=straighten,
                                        params=CostParams(town_access_min_population=pop))
        scores = R.with_objective(R.score_candidates(s, lines, candidates(searched)),
                                  a.objective)
    elif a.variant == "links":
        pop, link_km = float(a.args[0]), float(a.args[1])
        s = R.RouteSurfaces.from_layers(layers, res, neighbours=a.neighbours,
                                        straighten=straighten)
        s.town_distance = _link_distance(s, geonames, pop, link_km)
        scores = R.with_objective(R.score_candidates(s, lines, candidates(searched)),
                                  a.objective)
    else:
        kind = a.args[0]
        base = R.RouteSurfaces.from_layers(layers, res, neighbours=a.neighbours,
                                           straighten=straighten)
        s = MaskedSurfaces(**{f.name: getattr(base, f.name)
                              for f in dataclasses.fields(R.RouteSurfaces)})
        regions = read_vector(settings.raw_path("regions"))
        if kind == "desert":
            s.mask = _mask(s, regions[regions["featurecla"] == "Desert"])
        elif kind == "lowland":
            s.mask = _mask(s, regions[regions["name"] == "CASPIAN DEPRESSION"])
        elif kind == "below_sea":
            with np.errstate(invalid="ignore"):
                s.mask = s.template.elevation < 0
        else:
            s.mask = _mask(s, read_vector(PLAYAS))
        params = R.cost_params_from_dict(TOWNS_10K_FIT)
        parts = []
        for cid, mult in enumerate([1.0, *np.exp(np.linspace(np.log(0.5), np.log(4.0), 12))]):
            s.mask_mult = float(mult)
            rows = [R.route_line(s, params, rec) for rec in lines.to_dict("records")]
            parts.append(pd.DataFrame(rows).assign(candidate=cid))
        scores = R.with_objective(pd.concat(parts, ignore_index=True), a.objective)
    if a.scores_out:
        scores.to_csv(a.scores_out, index=False)
    _report(name, scores, lines, [x for x in a.holdout.split(",") if x], cands, factor)


if __name__ == "__main__":
    main()
