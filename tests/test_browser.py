"""The generated map in headless Chromium with no network (Playwright driving Debian's chromium).

Every request that is not ``file:`` or ``data:`` is aborted. The page must load without
JavaScript errors (console errors are allowed only for tile loads), list every layer in the
layer control, open a candidate route's popup with its figures on click, and show hostile
names as text without running them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from planner import webmap

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
# Tile servers of the base layers and minimap: their loads may fail offline, nothing else.
TILE_URL = re.compile(r"^https?://([a-z0-9-]+\.)*(openstreetmap\.org|opentopomap\.org)/\d+/\d+/\d+")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None,
                       reason="needs Debian's chromium at /usr/bin/chromium "
                              "(`make chromium` or apt-get install chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (python)")

FIND_MAP = """() => Object.keys(window).find(
    k => k.startsWith('map_') && window[k] instanceof L.Map)"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class OfflinePage:
    """A page with the network cut off and everything it reports collected."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 860})
        self.blocked: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[tuple[str, str]] = []
        self.dialogs: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_function("() => document.querySelector('.leaflet-control-layers')")
        self.page.wait_for_timeout(300)

    def _route(self, route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append((msg.text, msg.location.get("url", "")))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def map_name(self) -> str:
        return self.page.evaluate(FIND_MAP)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def study_map(tmp_path_factory, layers):
    """The existing system (curated default layers) with candidate routes and a profile."""
    import numpy as np
    from test_webmap import small_routes

    m = webmap.existing_system_map(layers)
    png = webmap.profile_png([0, 700, 1480], [200, 900, 400], [75, 66, 58], title="Route 1")
    webmap.add_routes(m, small_routes(), profiles={"r1": png},
                      labels={"length_km": "Length (km)", "capex_musd": "Capex (M USD)"})
    webmap.add_cost_surface(m, np.random.default_rng(0).random((60, 90)), (50, 38, 80, 55))
    path = webmap.save_map(m, tmp_path_factory.mktemp("map") / "index.html")
    return m, path


@pytest.fixture(scope="module")
def hostile_map(tmp_path_factory):
    from test_webmap import PAYLOADS, small_layers, small_routes

    m = webmap.existing_system_map(
        small_layers(lambda i, kind: f"{kind} {PAYLOADS[i % len(PAYLOADS)]}"))
    webmap.add_routes(m, small_routes(lambda i: f"route {PAYLOADS[i - 1]}{PAYLOADS[i + 1]}"),
                      name=f"Candidates: {PAYLOADS[1]}{PAYLOADS[2]}")
    path = webmap.save_map(m, tmp_path_factory.mktemp("hostile") / "index.html")
    return m, path


def test_map_loads_offline_without_errors(browser, study_map):
    _, path = study_map
    pg = OfflinePage(browser, path)
    try:
        assert pg.page_errors == []
        assert all(TILE_URL.match(u) for u in pg.blocked), \
            [u for u in pg.blocked if not TILE_URL.match(u)]
        bad = [(t, u) for t, u in pg.console_errors if not TILE_URL.match(u)]
        assert bad == [], bad
        # the data draws without tiles: many vector paths, legend, attributions, controls
        n_paths = pg.page.locator("path.leaflet-interactive").count()
        assert n_paths > 200
        assert pg.page.locator(".planner-legend").is_visible()
        attribution = pg.page.inner_text(".leaflet-control-attribution")
        for a in webmap.ATTRIBUTIONS:
            assert a in attribution
        for cls in (".leaflet-control-zoom-fullscreen", ".leaflet-control-measure",
                    ".leaflet-control-minimap", ".leaflet-control-search"):
            assert pg.page.locator(cls).count() == 1, cls
    finally:
        pg.close()


def test_every_layer_is_in_the_layer_control(browser, study_map):
    m, path = study_map
    pg = OfflinePage(browser, path)
    try:
        labels = pg.page.eval_on_selector_all(
            ".leaflet-control-layers label",
            "els => els.map(e => e.textContent.trim())")
        names = webmap.layer_names(m)
        assert labels == names["base"] + names["overlays"]
        assert "Candidate routes" in labels and "Cost surface" in labels
    finally:
        pg.close()


def _route_point(pg: OfflinePage, route_id: str) -> tuple[float, float]:
    """Page coordinates of a visible, unobstructed point on a route, after zooming to it."""
    return pg.page.evaluate(
        """([mapName, rid]) => {
            const map = window[mapName];
            let layer = null;
            map.eachLayer(l => { if (l.feature && l.feature.properties
                                     && l.feature.properties.route_id === rid) layer = l; });
            map.fitBounds(layer.getBounds(), {animate: false, padding: [80, 80]});
            const ll = layer.getLatLngs().flat(), r = map.getContainer().getBoundingClientRect();
            for (const f of [0.5, 0.3, 0.7, 0.1, 0.9]) {
                for (let i = 0; i + 1 < ll.length; i++) {
                    const a = map.latLngToContainerPoint(ll[i]);
                    const b = map.latLngToContainerPoint(ll[i + 1]);
                    const x = r.left + a.x + f * (b.x - a.x), y = r.top + a.y + f * (b.y - a.y);
                    if (document.elementFromPoint(x, y) === layer._path) return [x, y];
                }
            }
            throw new Error('no unobstructed point on route ' + rid);
        }""",
        [pg.map_name(), route_id],
    )


def test_clicking_a_route_opens_its_popup_with_figures(browser, study_map):
    _, path = study_map
    pg = OfflinePage(browser, path)
    try:
        x, y = _route_point(pg, "r1")
        pg.page.mouse.click(x, y)
        popup = pg.page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5000)
        text = popup.inner_text()
        assert "#1 Route 1" in text
        for figure in ("Score", "0.81", "Length (km)", "1,480", "Capex (M USD)", "2,100"):
            assert figure in text, figure
        assert popup.locator("img[src^='data:image/png;base64,']").count() == 1
        assert pg.page_errors == []
    finally:
        pg.close()


def test_hostile_names_show_as_text_and_run_nothing(browser, hostile_map):
    _, path = hostile_map
    from test_webmap import PAYLOADS

    pg = OfflinePage(browser, path)
    try:
        page = pg.page
        # open every tooltip (layers' and routes') and the route popups
        # hover (mouseover, as a pointer would fire it) every feature that has a tooltip
        tips = page.evaluate(
            """(mapName) => {
                const map = window[mapName], out = [];
                map.eachLayer(l => {
                    if (!l.feature) return;
                    const center = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
                    l.fire('mouseover', {latlng: center}, true);
                    document.querySelectorAll('.leaflet-tooltip').forEach(
                        t => out.push(t.innerText));
                    l.fire('mouseout', {latlng: center}, true);
                });
                return out;
            }""", pg.map_name())
        joined = "\n".join(tips)
        for p in PAYLOADS:
            assert p in joined, p
        x, y = _route_point(pg, "r1")
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5000)
        assert PAYLOADS[0] + PAYLOADS[2] in popup.inner_text()
        # the search lists hostile names as text too
        page.click(".leaflet-control-search .search-button")
        page.locator(".leaflet-control-search input").press_sequentially("pipel", delay=10)
        page.wait_for_selector(".search-tip", timeout=5000)
        search_tips = page.eval_on_selector_all(".search-tip", "els => els.map(e => e.innerText)")
        assert any(PAYLOADS[0] in t for t in search_tips)
        # user-named layers (a study's scenarios) show as text in the layer control
        labels = page.eval_on_selector_all(".leaflet-control-layers label",
                                           "els => els.map(e => e.textContent.trim())")
        assert f"Candidates: {PAYLOADS[1]}{PAYLOADS[2]}" in labels
        page.click(".planner-legend summary")  # closed by default on short screens
        assert page.inner_text(".planner-legend").count(PAYLOADS[1]) == 1
        # nothing ran: no dialog, no injected element, no error
        page.wait_for_timeout(200)
        assert pg.dialogs == []
        assert page.locator(".leaflet-tooltip img, .leaflet-popup-content img[src='x'], "
                            ".search-tip img, .leaflet-tooltip script, "
                            ".leaflet-control-layers img, .planner-legend img").count() == 0
        assert pg.page_errors == []
    finally:
        pg.close()


def test_decision_panel_shows_hostile_names_as_text(browser, tmp_path):
    """The side panel (title, ranking, summary, compare) puts data in with textContent."""
    import geopandas as gpd
    from test_mapui import candidates, study
    from test_webmap import PAYLOADS, small_layers

    from planner.mapui import decision_map

    m = decision_map(study(PAYLOADS[0]), small_layers(),
                     candidates(lambda i: PAYLOADS[(i + 1) % len(PAYLOADS)]),
                     gpd.GeoDataFrame())
    path = webmap.save_map(m, tmp_path / "index.html")
    pg = OfflinePage(browser, path)
    try:
        page = pg.page
        page.wait_for_function("() => window.plannerPanel !== undefined")
        assert page.inner_text("#planner-title") == PAYLOADS[0]
        rows = page.locator("#planner-ranking tr.planner-row")
        assert rows.count() == 3
        for i in range(3):
            rows.nth(i).click()
            rows.nth(i).locator("input[type=checkbox]").click()
        assert PAYLOADS[1] in page.inner_text("#planner-compare")
        page.locator("#planner-switch button").nth(1).click()
        ranking = page.inner_text("#planner-ranking")
        assert all(p in ranking for p in PAYLOADS[1:])
        page.wait_for_timeout(200)
        assert pg.dialogs == [] and pg.page_errors == []
        assert page.locator(".planner-panel img, .planner-panel script").count() == 0
    finally:
        pg.close()
