"""Run the shell sessions of the user guide and compare what they print with what the guide shows.

A session is every ```console block of one Markdown file, in order, in one bash process (so files and variables
carry over from block to block, as they do for a reader typing along). In a block, a line starting with `$ ` is a
command (a line ending in a backslash continues it); the lines up to the next command are its expected output. In
expected output `...` stands for any text within a line, and a line that is only `...` for any number of lines.
A command whose expected output has a line starting with `Error:` must fail; every other command must succeed.

Blocks fenced as ```text or ```yaml are for reading only and are never run.
"""
from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

FENCE = re.compile(r"^```console\s*\n(.*?)^```\s*$", re.M | re.S)


@dataclass
class Command:
    source: str          # file:line, for messages
    text: str            # the command as bash reads it
    expected: list[str] = field(default_factory=list)

    @property
    def must_fail(self) -> bool:
        return any(line.startswith("Error:") for line in self.expected)


def commands_of(path: Path) -> list[Command]:
    """The commands of every console block of a Markdown file, with their expected output."""
    text = path.read_text(encoding="utf-8")
    found: list[Command] = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        current: Command | None = None
        continuing = False
        for offset, line in enumerate(block.group(1).splitlines()):
            if continuing and current is not None:
                current.text += "\n" + line
                continuing = line.endswith("\\")
            elif line.startswith("$ "):
                current = Command(f"{path.name}:{first_line + offset}", line[2:])
                found.append(current)
                continuing = line.endswith("\\")
            elif current is not None:
                current.expected.append(line)
            elif line.strip():
                raise ValueError(f"{path.name}:{first_line + offset}: output before any command in a console block")
    for command in found:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return found


def _line_regex(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("...")) + "$")


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Whether the actual lines fit the expected ones, `...` lines matching any run of lines."""
    memo: dict[tuple[int, int], bool] = {}

    def fits(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i].strip() == "...":
            result = any(fits(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and bool(_line_regex(expected[i].rstrip()).match(actual[j].rstrip()))
            result = result and fits(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return fits(0, 0)


@dataclass
class Outcome:
    command: Command
    returncode: int
    output: list[str]

    def problem(self) -> str:
        """"" when the command did what the guide says, else a message for the test report."""
        failed = self.returncode != 0
        if failed != self.command.must_fail:
            want = "fail" if self.command.must_fail else "succeed"
            return (f"{self.command.source}: `{self.command.text}` should {want} but exited with {self.returncode}:"
                    f"\n" + "\n".join(self.output))
        if not output_matches(self.command.expected, self.output):
            return (f"{self.command.source}: `{self.command.text}` printed:\n" + "\n".join(self.output)
                    + "\n--- the guide shows:\n" + "\n".join(self.command.expected))
        return ""


def run_session(commands: list[Command], cwd: Path, env: Mapping[str, str], timeout: float = 300.0) -> list[Outcome]:
    """Run the commands in one bash process; stdout and stderr of each are taken together, as a terminal shows."""
    marker = f"__docs_{uuid.uuid4().hex}__"
    script = ["exec 2>&1"]
    for command in commands:
        script += [command.text, f"printf '\\n{marker} %s\\n' $?"]
    done = subprocess.run(["bash", "--noprofile", "--norc"], input="\n".join(script) + "\n", capture_output=True,
                          text=True, cwd=cwd, env=dict(env), timeout=timeout)
    outcomes: list[Outcome] = []
    lines: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith(marker):
            if lines and lines[-1] == "":
                lines.pop()  # the newline that ends an output without one
            outcomes.append(Outcome(commands[len(outcomes)], int(line.split()[1]), lines))
            lines = []
        else:
            lines.append(line)
    if len(outcomes) < len(commands):
        missing = commands[len(outcomes)]
        raise AssertionError(f"{missing.source}: the session stopped before `{missing.text}`: {' | '.join(lines)}")
    return outcomes
