"""Codex CLI, interactive, in its own CODEX_HOME, reporting state through its hooks.

Each agent gets a CODEX_HOME of its own under `.missionctl/agent-config/<agent>/codex`:
- `config.toml`: the user's own Codex config as the base, plus what missionctl
  needs — the worktree's folder trust, the model provider for `base_url`, and the
  trust entries of missionctl's hooks. No key is ever written: a provider names
  the environment variable that holds it (`env_key`).
- `hooks.json`: Codex's Claude-style lifecycle hooks, each calling `missionctl hook`.
- `auth.json`: a link to the user's own login, when there is one.

Measured on Codex 0.171 (see ARCHITECTURE.md): hooks found in a user-level
`hooks.json` run only once trusted, and trust is `[hooks.state."<file>:<event>:<group>:<handler>"]
trusted_hash = "sha256:…"` in config.toml — the hash of the hook's normalised
definition, reproduced by `trusted_hash()` below. Trusting exactly the hooks
missionctl wrote (not `--dangerously-bypass-hook-trust`, which would also run any
hook an agent wrote into its worktree's `.codex/`, outside the sandbox) means no
"Hooks need review" dialog. `--no-daemon` keeps each TUI off the shared background
server, which a second TUI would otherwise join with the first one's environment.
Older Codex versions get the `notify` fallback, which reports finished turns only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from missionctl.agents.providers.base import (
    LaunchContext,
    hook_command,
    missionctl_argv,
    require_binary,
    version_output,
)
from missionctl.agents.state.onscreen import FullScreenTUI
from missionctl.errors import UserError
from missionctl.files import write_private

# The first version measured with lifecycle hooks, hook trust and --no-daemon.
HOOKS_SINCE = (0, 171, 0)
# Hook event -> the snake_case label Codex keys its trust entries by. Only events
# that tell missionctl something: Interrupt is Esc, a turn that ends without Stop.
CODEX_HOOKED: dict[str, str] = {
    "SessionStart": "session_start",
    "UserPromptSubmit": "user_prompt_submit",
    "PreToolUse": "pre_tool_use",
    "PostToolUse": "post_tool_use",
    "PermissionRequest": "permission_request",
    "PreCompact": "pre_compact",
    "Stop": "stop",
    "Interrupt": "interrupt",
}
_TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PermissionRequest"}
# Codex caps these events' hook timeout at 3 s and hashes the capped value: writing
# the cap itself keeps the file and the trusted hash in agreement.
_TIMEOUT_S = 10
_TIMEOUT_CAP_S = {"Interrupt": 3}
_PROVIDER_ID = "missionctl"
# `codex --version` prints "codex-cli 0.171.0": a command that is not Codex (a
# wrapper script, a stand-in) must not be taken for a hooks-capable one.
_VERSION_RE = re.compile(r"codex\S*\s+v?(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


@functools.cache
def _version_of(path: str, mtime_ns: int) -> tuple[int, int, int] | None:
    match = _VERSION_RE.search(version_output(path))
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def codex_version(binary: str) -> tuple[int, int, int] | None:
    """The version `binary --version` reports, or None (cached per installed file)."""
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        mtime = Path(path).resolve().stat().st_mtime_ns
    except OSError:
        return None
    return _version_of(path, mtime)


def trusted_hash(event_label: str, group: dict[str, Any]) -> str:
    """Codex's trust hash of one matcher group holding one command hook.

    Codex hashes the TOML form of {event_name, matcher?, hooks: [handler]}, with
    the handler normalised (`async` made explicit, the timeout filled in): as
    canonical JSON (sorted keys, no spaces), sha256, hex, "sha256:" in front.
    """
    (handler,) = group["hooks"]
    identity = {**group, "event_name": event_label, "hooks": [{"async": False, **handler}]}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def hook_groups() -> dict[str, dict[str, Any]]:
    """missionctl's hook group for each Codex event, as hooks.json holds it."""
    groups: dict[str, dict[str, Any]] = {}
    for event in CODEX_HOOKED:
        timeout = min(_TIMEOUT_S, _TIMEOUT_CAP_S.get(event, _TIMEOUT_S))
        group: dict[str, Any] = {
            "hooks": [{"type": "command", "command": hook_command(event), "timeout": timeout}]
        }
        if event in _TOOL_EVENTS:
            group["matcher"] = "*"
        groups[event] = group
    return groups


def user_codex_home(ctx: LaunchContext) -> Path:
    """The user's own CODEX_HOME (the base config and login), never an agent's."""
    env = os.environ.get("CODEX_HOME")
    if env and ctx.workspace.runtime not in Path(env).resolve().parents:
        return Path(env)
    return Path.home() / ".codex"


class Codex(FullScreenTUI):
    # Its input line: `› Ask Codex to do anything`, or `▌` in older versions.
    prompt_pattern = re.compile(r"^\s*[▌›>]\s?(\S.*)?$")
    # 0.171 ends every turn with one of these under the answer; mid-stream it shows
    # its empty prompt and no "Working" line, so their absence is the tell.
    turn_end = re.compile(r"^\s*(Worked for |■ |✗ )", re.IGNORECASE)

    name = "codex"
    submit_delay = 0.5
    notice_channel = "type"
    line_program = False
    has_hooks = True  # lifecycle hooks; or notify, which says when a turn ends
    package = "@openai/codex"

    def __init__(self, binary: str = "codex") -> None:
        self.binary = binary

    def busy(self, lines: list[str]) -> bool:
        """A turn under way: a prompt was sent (a `› text` line above the input line)
        and no turn-end line follows it."""
        prompts = [i for i, line in enumerate(lines) if self.prompt_pattern.match(line)]
        if len(prompts) < 2:
            return False
        sent, field = prompts[-2], prompts[-1]
        return not any(self.turn_end.match(line) for line in lines[sent + 1 : field])

    def hooks_supported(self, binary: str | None = None) -> bool:
        """Whether the installed Codex has lifecycle hooks (else: `notify`)."""
        version = codex_version(binary or self.binary)
        return version is not None and version >= HOOKS_SINCE

    @property
    def reports_work(self) -> bool:
        """UserPromptSubmit and PreToolUse say it works; `notify` only that a turn ended."""
        return self.hooks_supported()

    @property
    def has_prompt_hook(self) -> bool:
        """UserPromptSubmit carries the prompt text (`payload["prompt"]`)."""
        return self.hooks_supported()

    def _argv(self, ctx: LaunchContext) -> list[str]:
        return list(ctx.settings.command or (self.binary,))

    def home(self, ctx: LaunchContext) -> Path:
        """The agent's own CODEX_HOME."""
        return (ctx.workspace.agent_config(ctx.agent.name) / "codex").resolve()

    def check(self, ctx: LaunchContext) -> None:
        require_binary(self._argv(ctx)[0], self.package)

    def prepare(self, ctx: LaunchContext) -> None:
        """Write the agent's CODEX_HOME: config.toml, hooks.json, the login link."""
        home = self.home(ctx)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = self._base_config(ctx)
        if self.hooks_supported(self._argv(ctx)[0]):
            hooks_file = home / "hooks.json"
            groups = hook_groups()
            hooks = {"hooks": {event: [group] for event, group in groups.items()}}
            write_private(hooks_file, json.dumps(hooks, indent=2) + "\n")
            # Trust exactly these hooks: "<file>:<event>:<group index>:<handler index>".
            trust = {
                f"{hooks_file}:{CODEX_HOOKED[event]}:0:0": {
                    "trusted_hash": trusted_hash(CODEX_HOOKED[event], group)
                }
                for event, group in groups.items()
            }
            config["hooks"] = {"state": trust}
        if ctx.settings.prepare_trust:
            projects = config.setdefault("projects", {})
            projects[str(ctx.worktree.resolve())] = {"trust_level": "trusted"}
        if ctx.settings.base_url:
            provider: dict[str, Any] = {
                "name": f"missionctl ({ctx.settings.base_url})",
                "base_url": ctx.settings.base_url,
                "wire_api": "responses",
            }
            if "OPENAI_API_KEY" in {**os.environ, **ctx.settings.env}:
                provider["env_key"] = "OPENAI_API_KEY"  # the name of the variable, not the key
            config.setdefault("model_providers", {})[_PROVIDER_ID] = provider
            config["model_provider"] = _PROVIDER_ID
        # An update offer is a dialog at start; updating is the user's business.
        config.setdefault("check_for_update_on_startup", False)
        features = config.setdefault("features", {})
        # The hooks are the agent's state; a shell snapshot is a file in CODEX_HOME
        # holding the exported environment, keys included (measured on 0.171).
        features |= {"hooks": True, "shell_snapshot": False}
        write_private(home / "config.toml", tomli_w.dumps(config))
        self._link_login(ctx, home)

    def _base_config(self, ctx: LaunchContext) -> dict[str, Any]:
        path = user_codex_home(ctx) / "config.toml"
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"cannot read {path}: {exc}; fix it, or move it aside") from None
        # The user's own hooks are trusted under their file's path, not this one:
        # carried over they would stop the agent at a "Hooks need review" dialog.
        config.pop("hooks", None)
        return config

    def _link_login(self, ctx: LaunchContext, home: Path) -> None:
        """Share the user's Codex login (a link: the credentials are not copied)."""
        login, link = user_codex_home(ctx) / "auth.json", home / "auth.json"
        if link.is_symlink() or link.exists():
            if link.is_symlink() or not login.exists():
                link.unlink()
            else:
                return  # Codex wrote its own (a login inside the agent): keep it
        if login.exists():
            link.symlink_to(login)

    def command(self, ctx: LaunchContext) -> list[str]:
        argv = self._argv(ctx)
        if self.hooks_supported(argv[0]):
            argv.append("--no-daemon")
        else:
            # `-c key=value` overrides config.toml for this session only; the value is TOML.
            notify = json.dumps([*missionctl_argv(), "hook", "codex-notify"])
            argv += ["-c", f"notify={notify}"]
        if ctx.model:
            argv += ["-m", ctx.model]
        return [*argv, ctx.first_message()]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return {**ctx.settings.env, "CODEX_HOME": str(self.home(ctx))}
