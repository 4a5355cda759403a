"""Route profiles in the map: matplotlib PNG pictures (before) against inline SVG (now).

Draws the elevation and pressure profile of ``N_ROUTES`` routes both ways in one run and
prints the time, the bytes added to the page and the ratio. The profiles are synthetic
(lengths of 300 to 3,600 km sampled every 5 km, as the default study's 77 candidates),
so the benchmark needs no study run.

    .venv/bin/python benchmarks/bench_profiles.py
"""

from __future__ import annotations

import base64
import time

import numpy as np

from planner import webmap

N_ROUTES = 77


def profiles(n: int = N_ROUTES, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        km = rng.uniform(300, 3600)
        d = np.arange(0, km, 5.0)
        z = np.clip(300 + np.cumsum(rng.normal(0, 15, d.size)), 0, None)
        p = np.linspace(75, 45, d.size)
        out.append((d, z, p))
    return out


def main() -> None:
    data = profiles()
    t = time.perf_counter()
    pngs = [webmap.profile_png(d, z, p, title="route") for d, z, p in data]
    t_png = time.perf_counter() - t
    t = time.perf_counter()
    svgs = [webmap.profile_svg(d, z, p, title="route") for d, z, p in data]
    t_svg = time.perf_counter() - t
    png_bytes = sum(len(base64.b64encode(b)) for b in pngs)
    svg_bytes = sum(len(s.encode()) for s in svgs)
    print(f"{N_ROUTES} profiles, matplotlib PNG (baseline): {t_png:6.2f} s, "
          f"{png_bytes / 1e3:7.0f} kB in the page (base64)")
    print(f"{N_ROUTES} profiles, inline SVG:                {t_svg:6.2f} s, "
          f"{svg_bytes / 1e3:7.0f} kB in the page")
    print(f"ratio: {t_png / t_svg:.0f}x faster, {png_bytes / svg_bytes:.1f}x smaller")


if __name__ == "__main__":
    main()
