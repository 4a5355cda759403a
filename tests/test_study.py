"""Study files: the shipped studies load; bad files get errors naming field and line."""

from __future__ import annotations

import pytest

from planner.study import (
    StudyError,
    layers_for_study,
    load_study,
    parse_study,
    resolve_place,
    shipped_studies,
)
from planner.validation import LayerError

GOOD = """
[study]
name = "demo"

[[supply]]
name = "Beyneu"

[[destinations]]
name = "Shymkent"
throughput_bcm_y = 5
"""


def test_shipped_studies_load_and_resolve(layers):
    paths = shipped_studies()
    assert {p.stem for p in paths} >= {"trilateral_gas_union",
                                       "russia_kazakhstan_china_via_astana"}
    for p in paths:
        s = load_study(p)
        for place in s.supply + s.destinations:
            r = resolve_place(place, layers)
            w, so, e, n = s.region
            assert w <= r.lon <= e and so <= r.lat <= n


def test_default_study_names_the_trilateral_places(layers):
    s = load_study(next(p for p in shipped_studies() if p.stem == "trilateral_gas_union"))
    names = {d.name for d in s.destinations}
    assert {"Tashkent", "Samarqand", "Shymkent", "Almaty", "Astana", "Qaraghandy"} <= names
    supply = resolve_place(s.supply[0], layers)
    # The CAC crossing near Aleksandrov Gay (48.57 E, 50.14 N).
    assert abs(supply.lon - 48.6) < 0.5 and abs(supply.lat - 50.14) < 0.3


def test_errors_name_field_and_line():
    text = GOOD.replace("throughput_bcm_y = 5", 'throughput_bcm_y = "five"')
    text += '\n[region]\nresolution_km = -2\n'
    with pytest.raises(StudyError) as err:
        parse_study(text, "bad.toml")
    msg = str(err.value)
    assert msg.startswith("study bad.toml: 2 problems")
    assert "destinations[0].throughput_bcm_y (line 10): must be a number, got 'five'" in msg
    assert "region.resolution_km (line 13): must be greater than 0, got -2" in msg


def test_syntax_error_names_the_line():
    with pytest.raises(StudyError, match=r"not valid TOML: .*line 3"):
        parse_study('[study]\nname = "x"\nbroken = \n', "x.toml")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('name = "demo"', 'name = "no/slash"'), "study.name"),
        (("[[supply]]\nname = \"Beyneu\"", ""), "at least one [[supply]]"),
        (("throughput_bcm_y = 5", "throughput_bcm_y = 5000"), "must be at most 200"),
        (("throughput_bcm_y = 5", ""), "destinations[0].throughput_bcm_y (line 8): is required"),
        (('name = "Shymkent"', 'name = "Shymkent"\nlon = 69.6'), "give both lon and lat"),
        (('name = "Shymkent"', 'name = "Shymkent"\nlon = 250\nlat = 42'), "in [-180, 180]"),
        (("[study]", "[studdy]\n[study]"),
         "studdy (line 2): unknown table (did you mean 'study'?)"),
    ],
)
def test_bad_fields(change, expected):
    with pytest.raises(StudyError, match=None) as err:
        parse_study(GOOD.replace(*change), "s.toml")
    assert expected in str(err.value)


def test_unknown_place_is_a_clear_error(layers):
    s = parse_study(GOOD.replace('"Shymkent"', '"Atlantis"'))
    with pytest.raises(LayerError, match="destination 'Atlantis' is not a name"):
        resolve_place(s.destinations[0], layers)


def test_missing_study_file(tmp_path):
    with pytest.raises(StudyError, match="file not found"):
        load_study(tmp_path / "none.toml")


def test_user_layer_file_replaces_the_shipped_one(layers, tmp_path):
    mine = layers.demand_centres.head(5).rename(columns={"name": "CITY"})
    mine = mine.drop(columns=[c for c in mine.columns
                              if c not in ("centre_id", "CITY", "country", "population",
                                           "geometry")])
    path = tmp_path / "my_centres.gpkg"
    mine.to_file(path)
    text = GOOD + f"""
[layers.demand_centres]
path = "{path.name}"
columns = {{ CITY = "name" }}
"""
    study_path = tmp_path / "s.toml"
    study_path.write_text(text)
    s = load_study(study_path)
    got = layers_for_study(s)
    assert len(got.demand_centres) == 5
    assert got.sources["demand_centres"] == str(path)
    assert got.pipelines is layers.pipelines


def test_missing_user_layer_file_is_named(tmp_path):
    study_path = tmp_path / "s.toml"
    study_path.write_text(GOOD + '\n[layers.pipelines]\npath = "nowhere.gpkg"\n')
    with pytest.raises(StudyError, match=r"layers.pipelines.path \(line \d+\): file not found"):
        load_study(study_path)
