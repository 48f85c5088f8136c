"""Every plugin registry refuses a second plugin under a name already taken."""
from __future__ import annotations

import pytest

from compspec import compat, jgf
from compspec.extractors import registry as extractors
from compspec.extractors.plugins import Registry
from rainbow.match import requirements
from rainbow.select import algorithms


def _noop(*args, **kwargs):
    return None


@pytest.mark.parametrize("decorator, name", [
    (compat.comparison, "equal"),
    (jgf.dialect, "rainbow"),
    (requirements.operator, "In"),
    (algorithms.algorithm, "random"),
    (extractors.load_builtin()["system"].section, "os"),
], ids=["comparison", "dialect", "operator", "algorithm", "section"])
def test_a_name_registered_twice_is_refused(decorator, name):
    args = (name, "again") if decorator.__name__ == "section" else (name,)
    with pytest.raises(ValueError, match="registered twice"):
        decorator(*args)(_noop)


def test_an_extractor_registered_twice_is_refused():
    extractors.load_builtin()
    with pytest.raises(ValueError, match="extractor 'system' registered twice"):
        extractors.extractor("system", "again")


def test_the_registry_is_a_plain_mapping_otherwise():
    plugins: Registry[int] = Registry("thing")
    plugins.register("a")(1)
    assert dict(plugins) == {"a": 1} and sorted(plugins) == ["a"] and plugins.get("b") is None
