"""rainbow.config: upstream files load, defaults fill gaps, environment overrides, saving keeps other credentials."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from compspec.schemas import FormatError
from rainbow import config

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"


def test_upstream_config_loads_with_defaults_filled():
    cfg = config.load_config(UPSTREAM / "rainbow-config.yaml")
    assert cfg["scheduler"]["secret"] == "chocolate-cookies"
    assert cfg["cluster"] == {"name": "keebler", "secret": "a216a23a-0909-4c52-b45e-7ace4d82c09e", "token": ""}
    assert cfg["clusters"] == [{"name": "keebler", "token": "rainbow"}]
    assert config.server_address(cfg) == "127.0.0.1:50051"
    assert cfg["tls"]["ca"] == ""


def test_selection_priorities_stay_a_string():
    cfg = config.load_config(UPSTREAM / "rainbow-selection-config.yaml")
    selection = cfg["scheduler"]["algorithms"]["selection"]
    assert selection["name"] == "constraint"
    priorities = yaml.safe_load(selection["options"]["priorities"])
    assert [p["priority"] for p in priorities] == [1, 2]


def test_missing_file_and_none_give_defaults(tmp_path):
    assert config.load_config(tmp_path / "absent.yaml") == config.default_config()
    assert config.load_config(None) == config.default_config()
    (tmp_path / "empty.yaml").write_text("")
    assert config.load_config(tmp_path / "empty.yaml") == config.default_config()


def test_default_config_is_a_fresh_copy():
    first = config.default_config()
    first["clusters"].append({"name": "x", "token": "y"})
    assert config.default_config()["clusters"] == []


@pytest.mark.parametrize(
    "text, field",
    [
        ("clusters: [{token: abc}]", "clusters[0]"),
        ("cluster: {name: a, secret: 12}", "cluster.secret"),
        ("cluster: [1, 2]", "cluster"),
        ("tls: {ca: 1}", "tls.ca"),
        ("cluster: {nmae: a}", "cluster"),
        ("scheduler: {algorithms: {selection: {name: random, option: {}}}}", "scheduler.algorithms.selection"),
    ],
)
def test_bad_config_names_the_field(tmp_path, text, field):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(FormatError) as info:
        config.load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert f"{path}: {field}" in message


def test_invalid_yaml_is_a_format_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cluster: {name: [unclosed\n")
    with pytest.raises(FormatError, match="not valid YAML"):
        config.load_config(path)


def test_apply_env_overrides_and_ignores_empty():
    cfg = config.default_config()
    env = {"RAINBOW_HOST": "10.0.0.1:7000", "RAINBOW_CLUSTER_SECRET": "s3", "RAINBOW_TLS_CA": "", "OTHER": "x"}
    out = config.apply_env(cfg, env)
    assert config.server_address(out) == "10.0.0.1:7000"
    assert out["cluster"]["secret"] == "s3"
    assert out["tls"]["ca"] == ""
    assert config.server_address(cfg) == "127.0.0.1:50051"


def test_server_address_falls_back_to_upstream_key():
    cfg = config.default_config()
    assert config.server_address(cfg) == "127.0.0.1:50051"
    cfg["graphdatabase"]["options"] = {"host": "10.1.1.1:50051"}
    assert config.server_address(cfg) == "10.1.1.1:50051"
    cfg["host"] = "10.2.2.2:1"
    assert config.server_address(cfg) == "10.2.2.2:1"


def test_every_env_key_names_a_default_key():
    defaults = config.default_config()
    missing = object()
    for var, dotted in config.env_keys().items():
        assert var.startswith("RAINBOW_")
        assert config.get_dotted(defaults, dotted, missing) is not missing, dotted  # http.port: null, i.e. off


def test_save_round_trips_owner_only(tmp_path):
    path = tmp_path / "sub" / "rainbow-config.yaml"
    cfg = config.add_cluster_credentials(config.default_config(), "keebler", "tok", "sec")
    config.save_config(path, cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load_config(path) == cfg
    assert [p.name for p in path.parent.iterdir()] == ["rainbow-config.yaml"]


def test_save_refuses_an_invalid_config(tmp_path):
    path = tmp_path / "c.yaml"
    with pytest.raises(FormatError, match="clusters"):
        config.save_config(path, {"clusters": "nope"})
    assert not path.exists()


def test_add_credentials_keeps_other_clusters():
    cfg = config.default_config()
    cfg["clusters"] = [{"name": "red", "token": "t-red"}, {"name": "blue", "token": "old"}]
    out = config.add_cluster_credentials(cfg, "blue", "t-blue", "s-blue")
    assert out["cluster"] == {"name": "blue", "secret": "s-blue", "token": "t-blue"}
    assert out["clusters"] == [{"name": "red", "token": "t-red"}, {"name": "blue", "token": "t-blue"}]
    assert cfg["clusters"][1]["token"] == "old"


def test_add_credentials_refuses_to_clobber_another_cluster():
    cfg = config.add_cluster_credentials(config.default_config(), "red", "t-red", "s-red")
    assert config.credentials_conflict(cfg, "blue") == "the config already holds the credentials of cluster red"
    assert config.credentials_conflict(cfg, "red") == ""
    with pytest.raises(FormatError, match="cluster red"):
        config.add_cluster_credentials(cfg, "blue", "t", "s")
