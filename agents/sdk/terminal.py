"""The SDK agent's terminal: what it prints, its prompt, and its questions.

It prints like the other agents do (`● ` for what it says and runs, `└` for
output) and ends every turn with a prompt, `<agent>> `, alone on the last line:
that is what the supervisor looks for before it types a mail notice. A question
to the person ends with `[y/N]` on the last line, which every state reader sees
as a question (`screen.question`), so nothing is ever typed into it.
"""

from __future__ import annotations

import sys
from typing import TextIO

BOLD, DIM, CYAN, YELLOW, RED, RESET = (
    "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[33m", "\x1b[31m", "\x1b[0m",
)  # fmt: skip


class Terminal:
    """Writes to `stdout` and reads typed lines from `stdin` (the pane's tty)."""

    def __init__(
        self, stdin: TextIO | None = None, stdout: TextIO | None = None, colour: bool = True
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.colour = colour
        self._streaming = False

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{RESET}" if self.colour and style else text

    def _line(self, text: str) -> None:
        self.end_stream()
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def say(self, text: str, style: str = "") -> None:
        """`● text`: something the agent says or does."""
        self._line(self._paint(style, "● ") + text)

    def detail(self, text: str) -> None:
        """`  └ text`, dimmed: a tool's output, line by line."""
        for line in text.splitlines() or [""]:
            self._line("  " + self._paint(DIM, f"└ {line}"))

    def note(self, text: str) -> None:
        self._line(self._paint(DIM, f"✻ {text}"))

    def warn(self, text: str) -> None:
        self._line(self._paint(YELLOW, f"⚠ {text}"))

    def error(self, text: str) -> None:
        self._line(self._paint(RED, f"✗ {text}"))

    def stream(self, piece: str) -> None:
        """A piece of the model's answer as it arrives."""
        if not piece:
            return
        if not self._streaming:
            self.stdout.write("● ")
            self._streaming = True
        self.stdout.write(piece.replace("\n", "\n  "))
        self.stdout.flush()

    def end_stream(self) -> None:
        if self._streaming:
            self._streaming = False
            self.stdout.write("\n")
            self.stdout.flush()

    def _read(self) -> str | None:
        line = self.stdin.readline()
        if line == "":
            return None  # end of input: the terminal closed
        line = line.rstrip("\r\n")
        if not self.stdin.isatty():  # a terminal echoes what is typed; a pipe does not
            self.stdout.write(line + "\n")
        return line

    def prompt(self, agent: str) -> str | None:
        """Show `<agent>> ` and read one typed line; None at end of input."""
        self.end_stream()
        self.stdout.write(self._paint(BOLD, f"{agent}>") + " ")
        self.stdout.flush()
        return self._read()

    def ask(self, question: str) -> bool:
        """A yes/no question on one line; True only for a typed yes."""
        self.end_stream()
        flat = " ⏎ ".join(question.splitlines())
        self.stdout.write(self._paint(YELLOW + BOLD, f"? {flat}") + " [y/N] ")
        self.stdout.flush()
        answer = self._read()
        return answer is not None and answer.strip().lower() in ("y", "yes")
