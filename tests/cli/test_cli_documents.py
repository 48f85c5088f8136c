"""Files the rainbow CLI sends are checked for what the server would only misname."""
from __future__ import annotations

from click.testing import CliRunner

from rainbow.cli import main


def test_an_empty_graph_file_is_named_as_empty_before_anything_is_sent(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("\n")
    result = CliRunner().invoke(main, ["register", "--nodes-json", str(empty), "--cluster-name", "red", "--secret",
                                       "s", "--host", "127.0.0.1:9", "--config-path", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: nodes file {empty}: empty"
