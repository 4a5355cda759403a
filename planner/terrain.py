"""Terrain: a digital elevation model held in memory with its georeferencing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine


@dataclass(frozen=True)
class Terrain:
    """Elevation grid in metres (float32, NaN where unknown) with its transform and CRS.

    ``source_code`` optionally holds a per-cell code of where each value came from
    (the shipped composite DEM has one; see ``geodata/SOURCES.md``).
    """

    elevation: np.ndarray
    transform: Affine
    crs: str
    source_code: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.elevation.shape[0]), int(self.elevation.shape[1]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in the terrain's CRS."""
        h, w = self.shape
        west, north = self.transform @ (0, 0)
        east, south = self.transform @ (w, h)
        return (float(min(west, east)), float(min(south, north)),
                float(max(west, east)), float(max(south, north)))

    def elevation_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevation (m) at points given in the terrain's CRS; NaN outside the grid."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        col, row = ~self.transform @ (x, y)
        col = np.floor(col).astype(int)
        row = np.floor(row).astype(int)
        h, w = self.shape
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        out = np.full(x.shape, np.nan, dtype=float)
        out[inside] = self.elevation[row[inside], col[inside]]
        return out
