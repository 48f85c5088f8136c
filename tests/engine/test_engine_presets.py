"""Scored presets: each preset's winner on one fixture table, the formulas at their edges, tuning and site presets."""
from __future__ import annotations

import pytest

from rainbow.select import Context, SelectionError, builtin_presets, select, site_presets

NAMES = ["east", "north", "west"]
CAPACITY = {"east": {"node": 4, "core": 64}, "north": {"node": 8, "core": 128}, "west": {"node": 2, "core": 32}}
STATES = {
    "east": {"cores_free": 16, "cost_per_node_hour": 2.0, "eta_seconds": 120},
    "north": {"cores_free": "96", "cost_per_node_hour": 3.5, "eta_seconds": 600},
    "west": {"cores_free": 30, "cost_per_core_hour": 0.05, "eta_seconds": 0},
}
REGISTERED = {"north": 1.0, "west": 2.0, "east": 3.0}
ACTIVE = {"east": 1, "north": 4}


def context(cores: int = 24, nodes: int = 1, duration: float | None = None) -> Context:
    return Context(demand={"node": nodes, "core": cores}, duration=duration, capacity=CAPACITY.__getitem__,
                   created=lambda names: {n: REGISTERED[n] for n in names},
                   active=lambda names: {n: ACTIVE[n] for n in names if n in ACTIVE})


# preset -> (winner, why)
TABLE = {
    "first-fit": ("north", "registered first"),
    "least-loaded": ("west", "30 of 32 cores free (93.8 %) against 96 of 128 (75 %) and 16 of 64"),
    "spread": ("west", "no jobs in hand"),
    "bin-pack": ("west", "24 of 30 free cores used: 6 of 32 left over"),
    "cheapest": ("west", "0.05 x 24 cores = 1.2 against 2.0 and 3.5 per node-hour"),
    "earliest-start": ("west", "ETA 0 s"),
}


@pytest.mark.parametrize("preset", sorted(TABLE))
def test_each_preset_picks_its_winner(preset):
    chosen = select(preset, NAMES, states=STATES, context=context())
    expected = TABLE[preset][0]
    assert chosen.chosen == expected, chosen.reasons
    assert set(chosen.reasons) == set(NAMES)
    assert chosen.reasons[expected].startswith(f"{preset} score ") and "chosen" in chosen.reasons[expected]
    assert all("behind " + expected in line for name, line in chosen.reasons.items() if name != expected)
    assert all("\n" not in line for line in chosen.reasons.values())


def test_every_builtin_preset_is_in_the_table():
    assert set(builtin_presets()) == set(TABLE)


def test_figures_and_margins_in_the_reasons():
    reasons = select("least-loaded", NAMES, states=STATES, context=context()).reasons
    assert reasons["west"] == ("least-loaded score 93.8: least-loaded 93.8 x1 (30 of 32 cores free); "
                               "chosen, 18.8 ahead of north")
    assert reasons["east"].endswith("(16 of 64 cores free); 3rd, 68.8 behind west")


def test_bin_pack_refuses_what_does_not_fit_now_and_counts_silent_clusters_empty():
    scored = select("bin-pack", NAMES, states={"east": {"cores_free": 8}}, context=context(cores=16))
    assert "needs 16 cores, 8 free" in scored.reasons["east"]
    assert "(no state: empty)" in scored.reasons["west"]
    assert scored.chosen == "west"  # 16 of 32 left over beats 112 of 128


def test_cheapest_prices_the_job_for_its_duration_and_size():
    scored = select("cheapest", ["east", "north"], states=STATES, context=context(nodes=3, duration=7200))
    assert "cost 12 for 2 h" in scored.reasons["east"] and "cost 21 for 2 h" in scored.reasons["north"]


def test_ties_follow_the_stated_rule_then_the_name():
    same = {name: {"cores_free": 16} for name in NAMES}
    capacity = {name: {"core": 32, "node": 1} for name in NAMES}
    ctx = Context(demand={"core": 1}, capacity=capacity.__getitem__, active=lambda names: {"east": 2})
    scored = select("least-loaded", NAMES, states=same, context=ctx)
    assert scored.chosen == "north"  # least-loaded ties; spread (fewer jobs) breaks it; then the name
    assert "on a tie (higher spread, then name)" in scored.reasons["north"]
    assert scored.eligible == ["north", "west", "east"]


def test_missing_figures_score_zero_and_say_so():
    scored = select("earliest-start", ["a", "b"], states={"b": {"wait_seconds": "30"}}, context=Context())
    assert scored.chosen == "b" and "no ETA reported" in scored.reasons["a"]


def test_weights_and_filters_tune_a_preset_per_request():
    options = {"weight.spread": "3", "filter": "cores_free >= 20"}
    scored = select("least-loaded", NAMES, states=STATES, context=context(), options=options)
    assert scored.eligible == ["west", "north"]
    assert scored.reasons["east"] == "fits, but filter 'cores_free >= 20' is false"
    assert "spread 100.0 x3" in scored.reasons["west"]
    for bad, message in (({"weight.speed": "1"}, "unknown scorer"), ({"weight.spread": "x"}, "not a number"),
                         ({"weight.least-loaded": "0"}, "weight 0"), ({"priorities": "[]"}, "not an option"),
                         ({"filter": "cores_free >"}, "ends too early")):
        with pytest.raises(SelectionError, match=message):
            select("least-loaded", NAMES, states=STATES, context=context(), options=bad)


def test_site_presets_combine_scorers_and_are_validated():
    presets = site_presets({"balanced": {"scorers": {"least-loaded": 2, "cheapest": 1}, "tie_break": ["spread"],
                                         "filters": ["eta_seconds < 300"]}})
    scored = select("balanced", NAMES, states=STATES, context=context(), presets=presets)
    assert scored.eligible == ["west", "east"] and "filter 'eta_seconds < 300' is false" in scored.reasons["north"]
    for doc, message in (({"random": {"scorers": {"spread": 1}}}, "built-in algorithm"),
                         ({"x": {"scorers": {"fastest": 1}}}, "selection_presets"),
                         ({"x": {"scorers": {}}}, "selection_presets"),
                         ({"x": {"scorers": {"spread": 1}, "filters": ["(("]}}, r"x\.filters\[0\]")):
        with pytest.raises(SelectionError, match=message):
            site_presets(doc)


def test_no_candidates_no_choice():
    assert select("spread", [], context=context()).chosen is None
