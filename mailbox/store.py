"""The Maildir store: one mailbox per recipient under `.missionctl/mailbox/<name>/`.

Each mailbox has `tmp/`, `new/` and `cur/` (and `bad/` once a malformed file was
quarantined). A message is written to `tmp/<id>`, fsynced, and renamed into
`new/<id>`: the rename is atomic, so no reader ever sees half a message, and a
writer killed mid-write leaves only a file in `tmp/`. Reading renames it to
`cur/<id>:2,S` (the Maildir "seen" flag). Every path is built from a validated
name and a validated id, so nothing is ever written outside the mailbox root.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from missionctl.errors import UserError
from missionctl.files import (
    NotAPlainFile,
    make_private_dir,
    open_private,
    read_regular,
    write_private,
)
from missionctl.mailbox.message import (
    ID_PART_RE,
    ID_RE,
    MAX_BODY_BYTES,
    MalformedMessage,
    Message,
    content_problem,
    format_ts,
    new_id,
)
from missionctl.orgfile import NAME_RE, ROLES
from missionctl.workspace import Workspace

HUMAN = "human"
BROADCAST = "all"
TMP, NEW, CUR, BAD = "tmp", "new", "cur", "bad"
SEEN_SUFFIX = ":2,S"
# The Maildir convention: a writer may legitimately sit on a tmp/ file for a long
# time (here: an agent paused mid-send), so only much older files are litter.
STALE_TMP_AGE = 36 * 3600.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Envelope:
    """A stored message with where it lies: whose mailbox, read or not, which file."""

    message: Message
    recipient: str
    read: bool
    path: Path


def check_name(name: str, what: str = "name") -> str:
    """`name` if it is a safe mailbox name (an agent's, `human`, ...); else a `UserError`."""
    if not NAME_RE.match(name):
        raise UserError(
            f"{what} {name!r} is not a valid name; names are 1-24 characters of a-z, 0-9"
            " and '-', starting with a letter"
        )
    return name


def base_name(filename: str) -> str:
    """The message id part of a Maildir file name (before the `:2,` info)."""
    return filename.split(":", 1)[0]


def load_message(path: Path, recipient: str) -> Message:
    """The message in `path`, checked against its file name and mailbox.

    Raises `MalformedMessage` (with the reason) or `OSError` (e.g. the file moved).
    """
    expected = base_name(path.name)
    if not ID_RE.match(expected):
        raise MalformedMessage(f"the file name {path.name!r} is not a message id")
    message = Message.decode(_read_message_file(path))
    if message.id != expected:
        raise MalformedMessage(f"the file is named {expected} but holds message {message.id}")
    if message.to != recipient:
        raise MalformedMessage(f"addressed to {message.to!r} but found in {recipient!r}'s mailbox")
    return message


# A message file is JSON around a body of at most MAX_BODY_BYTES (escaped, it may grow).
MAX_FILE_BYTES = 8 * MAX_BODY_BYTES


def _read_message_file(path: Path) -> bytes:
    """The bytes of a message file; anything else (a FIFO, a device, a symlink, a huge
    file) is malformed. Agents can write into each other's `new/`: a FIFO there must
    not block the watcher, nor a link to /dev/zero fill the memory."""
    try:
        return read_regular(path, MAX_FILE_BYTES)
    except NotAPlainFile as exc:
        raise MalformedMessage(f"{exc.reason}, not a message file") from None


def mailbox_names(root: Path) -> list[str]:
    """The recipients that have a mailbox folder under `root`, sorted."""
    try:
        entries = os.listdir(root)
    except FileNotFoundError:
        return []
    # A symlinked folder would lead writes (and the watcher's mkdir) outside the root.
    return sorted(
        n
        for n in entries
        if NAME_RE.match(n) and (root / n).is_dir() and not (root / n).is_symlink()
    )


def clean_stale_tmp(
    root: Path, max_age: float = STALE_TMP_AGE, now: float | None = None
) -> list[Path]:
    """Delete `tmp/` files older than `max_age` seconds, left by crashed writers; return them."""
    cutoff = (time.time() if now is None else now) - max_age
    removed: list[Path] = []
    for name in mailbox_names(root):
        tmp = root / name / TMP
        try:
            entries = list(os.scandir(tmp))
        except FileNotFoundError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue  # its writer finished (or another cleaner won) meanwhile
    return removed


def quarantine(root: Path, recipient: str, filename: str, reason: str) -> Path:
    """Move a malformed `new/` file to `bad/`, with `<file>.reason` beside it; return its path.

    Raises `FileNotFoundError` if the file is no longer in `new/`.
    """
    check_name(recipient, "recipient")
    if not filename or "/" in filename or filename in (".", ".."):
        raise ValueError(f"not a file name: {filename!r}")
    bad = make_private_dir(root / recipient / BAD)
    target = bad / filename
    suffix = 1
    while target.exists() or target.with_name(target.name + ".reason").exists():
        target = bad / f"{filename}.{suffix}"
        suffix += 1
    os.rename(root / recipient / NEW / filename, target)
    write_private(target.with_name(target.name + ".reason"), reason + "\n")
    return target


class Mailbox:
    """The org's mailboxes: send, list, read and follow threads.

    `recipients` are the names that can receive mail (the org's agents, and
    always `human`); `roles` maps a role (`researcher`, `chief`) to its agents,
    so mail can be addressed to a role. Without `recipients`, both come from the
    workspace's `org.toml`.
    """

    def __init__(
        self,
        workspace: Workspace | Path,
        recipients: Iterable[str] | None = None,
        *,
        roles: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        if isinstance(workspace, Workspace):
            # Checks the runtime folder is the user's alone before any mail is read or sent.
            self.root = workspace.private_dir("mailbox")
            if recipients is None:
                org = workspace.load_org()
                recipients = org.names
                if roles is None:
                    roles = {r: [a.name for a in org.agents if a.role == r] for r in ROLES}
        else:
            self.root = Path(workspace)
        if recipients is None:
            # A bare mailbox root: whoever has a folder, plus the human.
            recipients = mailbox_names(self.root)
        names = [check_name(n, "recipient") for n in recipients]
        self.recipients: tuple[str, ...] = tuple(dict.fromkeys([*names, HUMAN]))
        self.roles: dict[str, tuple[str, ...]] = {
            role: tuple(members) for role, members in (roles or {}).items()
        }
        for members in self.roles.values():
            for member in members:
                if member not in self.recipients:
                    raise ValueError(f"role member {member!r} is not a recipient")

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> Mailbox:
        """The mailbox of `workspace`, with the recipients and roles of its org."""
        return cls(workspace)

    # -- paths -------------------------------------------------------------

    def folder(self, name: str) -> Path:
        """The mailbox folder of recipient `name` (a `UserError` for unknown names)."""
        if name not in self.recipients:
            raise UserError(f"{name!r} has no mailbox; the recipients are {self._valid_names()}")
        return self.root / name

    def real_folder(self, name: str) -> Path:
        """`folder(name)`, refusing (`UserError`) a mailbox whose folders are symbolic links.

        A link there would lead every write and rename of mail outside the workspace.
        """
        folder = self.folder(name)
        for path in (self.root, folder, folder / TMP, folder / NEW, folder / CUR):
            if path.is_symlink():
                raise UserError(
                    f"{path} is a symbolic link, and mail goes only into real folders inside"
                    " the workspace; remove the link (missionctl makes the folder again)"
                )
        return folder

    def ensure(self, names: Iterable[str] | None = None) -> None:
        """Create the `tmp/`, `new/`, `cur/` folders of `names` (default: every recipient)."""
        for name in self.recipients if names is None else names:
            self._make_folder(self.real_folder(name))

    def _make_folder(self, folder: Path) -> None:
        created = not folder.exists()
        for sub in (TMP, NEW, CUR):
            make_private_dir(folder / sub)
        if created:
            # The new folder's own entry must survive a crash as well as the message in it.
            _fsync_dir(folder.parent)

    def _valid_names(self) -> str:
        return ", ".join(self.recipients)

    # -- addressing --------------------------------------------------------

    def resolve(self, to: str | Iterable[str], sender: str) -> list[str]:
        """The recipients `to` stands for: agent names first, then roles, then `all`.

        `to` is a name, or several (a list, or comma-separated). A role or `all`
        never includes the sender itself; naming yourself directly is allowed.
        """
        targets = [to] if isinstance(to, str) else list(to)
        parts = [p.strip() for t in targets for p in t.split(",") if p.strip()]
        if not parts:
            raise UserError(f"no recipient given; send to one of {self._addresses()}")
        out: list[str] = []
        for part in parts:
            if part in self.recipients:
                names: Sequence[str] = [part]
            elif part in self.roles:
                names = [n for n in self.roles[part] if n != sender]
                if not names:
                    who = f" besides {sender}" if sender in self.roles[part] else ""
                    raise UserError(
                        f"the org has no {part}{who} to send to; send to one of {self._addresses()}"
                    )
            elif part == BROADCAST:
                names = [n for n in self.recipients if n != sender]
            else:
                raise UserError(f"unknown recipient {part!r}; send to one of {self._addresses()}")
            out.extend(n for n in names if n not in out)
        if not out:
            raise UserError(f"nobody to send to besides {sender}")
        return out

    def _addresses(self) -> str:
        roles = [r for r, members in self.roles.items() if members]
        text = self._valid_names()
        if roles:
            text += ", a role (" + ", ".join(roles) + ")"
        return text + ", or all"

    # -- sending -----------------------------------------------------------

    def send(
        self,
        sender: str,
        to: str | Iterable[str],
        body: str,
        *,
        kind: str = "note",
        subject: str = "",
        runs: Iterable[str] = (),
        experiment: str | None = None,
        reply_to: str | None = None,
    ) -> list[Message]:
        """Deliver one message to every recipient `to` stands for; return one copy each.

        Everything is checked before anything is written: a bad kind, an empty or
        oversize body, or an unknown recipient raise a `UserError` and write nothing.
        """
        check_name(sender, "sender")
        runs = tuple(runs)
        problem = content_problem(kind, subject, body, runs, experiment, reply_to)
        if problem:
            raise UserError(problem)
        recipients = self.resolve(to, sender)
        now = time.time_ns()
        message_id, ts = new_id(now), format_ts(now)
        messages = [
            Message(
                id=message_id,
                ts=ts,
                sender=sender,
                to=name,
                kind=kind,
                subject=subject,
                body=body,
                runs=runs,
                experiment=experiment,
                reply_to=reply_to,
            )
            for name in recipients
        ]
        self.deliver(messages)
        return messages

    def deliver(self, messages: Sequence[Message]) -> list[Path]:
        """Write ready-made messages into their recipients' `new/`; return the files.

        All copies are written and fsynced in `tmp/` first, so a full disk delivers
        nothing; then each is renamed into `new/` and the `new/` folders are fsynced.
        """
        staged: list[tuple[Path, Path]] = []
        try:
            for message in messages:
                if not ID_RE.match(message.id):
                    raise ValueError(f"not a message id: {message.id!r}")
                folder = self.real_folder(message.to)
                tmp = folder / TMP / message.id
                self._write_new_file(folder, tmp, message.encode())
                staged.append((tmp, folder / NEW / message.id))
        except BaseException as exc:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise UserError(
                    f"could not write mail under {self.root}: {exc.strerror or exc};"
                    " check free disk space and permissions; nothing was sent"
                ) from None
            raise
        delivered: list[Path] = []
        for tmp, dest in staged:
            try:
                os.rename(tmp, dest)
            except OSError as exc:
                # Only a broken mailbox tree gets here; copies already in new/ may
                # have been seen, so they stay, and the error says who got one.
                for left, _ in staged[len(delivered) :]:
                    left.unlink(missing_ok=True)
                got = ", ".join(p.parent.parent.name for p in delivered) or "nobody"
                raise UserError(
                    f"could not deliver mail to {dest.parent.parent.name}: {exc.strerror or exc}"
                    f" ({dest.parent}); delivered to: {got}; repair that mailbox folder"
                ) from None
            delivered.append(dest)
        for new_dir in dict.fromkeys(dest.parent for dest in delivered):
            _fsync_dir(new_dir)
        return delivered

    def _write_new_file(self, folder: Path, path: Path, data: bytes) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = open_private(path, flags)
        except FileNotFoundError:
            # First mail to this recipient: make its folders (rare, so not checked up front).
            self._make_folder(folder)
            fd = open_private(path, flags)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)

    # -- reading -----------------------------------------------------------

    def envelopes(self, name: str, include_read: bool = False) -> list[Envelope]:
        """The messages in `name`'s mailbox with their state, oldest first.

        Malformed files are skipped here (the watcher quarantines them).
        """
        folder = self.folder(name)
        subs = ((NEW, False), (CUR, True)) if include_read else ((NEW, False),)
        found: dict[str, Envelope] = {}
        for sub, read in subs:
            for path in _files(folder / sub):
                try:
                    message = load_message(path, name)
                except FileNotFoundError:
                    continue  # read (moved to cur/) while we listed; cur/ is listed next
                except (MalformedMessage, OSError) as exc:
                    log.warning("skipping %s: %s", path, exc)
                    continue
                # A message read between the two listings shows in both: keep one.
                found.setdefault(message.id, Envelope(message, name, read, path))
        return sorted(found.values(), key=lambda e: e.message.id)

    def inbox(self, name: str, include_read: bool = False) -> list[Message]:
        """The unread messages of `name` (with `include_read`, all of them), oldest first."""
        return [e.message for e in self.envelopes(name, include_read)]

    def unread_count(self, name: str) -> int:
        """How many messages wait in `name`'s `new/` (one listdir, no parsing)."""
        try:
            return sum(1 for n in os.listdir(self.folder(name) / NEW) if not n.startswith("."))
        except FileNotFoundError:
            return 0

    def read(self, name: str, message_id: str) -> Message:
        """The message `message_id` (or a unique start or end of it) of `name`; marks it read."""
        envelope = self.find(name, message_id)
        if not envelope.read:
            self._mark(name, envelope.message.id)
        return envelope.message

    def read_next(self, name: str) -> Message | None:
        """The oldest unread message of `name`, marked read; None when there is none.

        Two readers of one mailbox never get the same message: the rename into
        `cur/` decides who has it.
        """
        folder = self.real_folder(name)
        for path in sorted(_files(folder / NEW)):
            try:
                message = load_message(path, name)
            except FileNotFoundError:
                continue  # another reader took it
            except (MalformedMessage, OSError) as exc:
                log.warning("skipping %s: %s", path, exc)
                continue
            try:
                os.rename(path, folder / CUR / (path.name + SEEN_SUFFIX))
            except FileNotFoundError:
                continue  # another reader took it
            except OSError as exc:
                raise _mark_error(name, message.id, folder, exc) from None
            return message
        return None

    def mark_read(self, name: str, message_id: str) -> None:
        """Mark `message_id` (or a unique start or end) of `name` read; nothing if it already is."""
        envelope = self.find(name, message_id)
        if not envelope.read:
            self._mark(name, envelope.message.id)

    def _mark(self, name: str, message_id: str) -> None:
        folder = self.real_folder(name)
        try:
            os.rename(folder / NEW / message_id, folder / CUR / (message_id + SEEN_SUFFIX))
        except FileNotFoundError:
            pass  # another reader marked it first: it is read either way
        except OSError as exc:
            raise _mark_error(name, message_id, folder, exc) from None

    def find(self, name: str, message_id: str) -> Envelope:
        """The message `message_id` (or a unique start or end of it) in `name`'s mailbox."""
        message_id = message_id.strip().lower()
        if not ID_PART_RE.match(message_id):
            raise UserError(f"{message_id!r} is not a message id (see `missionctl mail inbox`)")
        folder = self.folder(name)
        candidates: list[tuple[Path, bool]] = []
        if ID_RE.match(message_id):
            for path, read in (
                (folder / NEW / message_id, False),
                (folder / CUR / (message_id + SEEN_SUFFIX), True),
            ):
                if path.is_file():
                    candidates = [(path, read)]
                    break
        if not candidates:
            for sub, read in ((NEW, False), (CUR, True)):
                candidates += [
                    (p, read)
                    for p in _files(folder / sub)
                    if _matches(base_name(p.name), message_id)
                ]
        ids = {base_name(p.name) for p, _ in candidates}
        if not ids:
            raise UserError(
                f"no message {message_id} in {name}'s mailbox; list it with"
                f" `missionctl mail inbox --agent {name} --all`"
            )
        if len(ids) > 1:
            raise UserError(
                f"{message_id!r} matches {len(ids)} messages in {name}'s mailbox;"
                " type more of the id"
            )
        path, read = min(candidates, key=lambda c: c[1])  # prefer new/ if listed in both
        if not path.exists():
            # Read by someone else between the listing and now: it is in cur/.
            path, read = folder / CUR / (base_name(path.name) + SEEN_SUFFIX), True
        try:
            message = load_message(path, name)
        except (MalformedMessage, OSError) as exc:
            raise UserError(
                f"message {path.name} in {name}'s mailbox is unreadable ({exc});"
                f" move that file out of {path.parent}"
            ) from None
        return Envelope(message, name, read, path)

    def all_envelopes(self) -> list[Envelope]:
        """Every message in every mailbox folder on disk, read or not, oldest first."""
        out: list[Envelope] = []
        for name in mailbox_names(self.root):
            for sub, read in ((NEW, False), (CUR, True)):
                for path in _files(self.root / name / sub):
                    try:
                        out.append(Envelope(load_message(path, name), name, read, path))
                    except (MalformedMessage, OSError):
                        continue
        return sorted(out, key=lambda e: (e.message.id, e.recipient))

    def thread(self, message_id: str) -> list[Message]:
        """The conversation `message_id` belongs to: its root and every reply, oldest first.

        Copies of a broadcast share an id; each copy is returned, ordered by id
        then recipient, so a caller can show them as one message to many.
        """
        message_id = message_id.strip().lower()
        if not ID_PART_RE.match(message_id):
            raise UserError(f"{message_id!r} is not a message id (see `missionctl mail inbox`)")
        envelopes = self.all_envelopes()
        by_id: dict[str, list[Message]] = {}
        for envelope in envelopes:
            copies = by_id.setdefault(envelope.message.id, [])
            if all(c.to != envelope.message.to for c in copies):
                copies.append(envelope.message)
        matches = [i for i in by_id if _matches(i, message_id)]
        if not matches:
            raise UserError(f"no message {message_id} in any mailbox")
        if len(matches) > 1:
            raise UserError(f"{message_id!r} matches {len(matches)} messages; type more of the id")
        root = matches[0]
        visited = {root}
        while (parent := by_id[root][0].reply_to) in by_id and parent not in visited:
            root = parent
            visited.add(root)
        children: dict[str, list[str]] = {}
        for mid, copies in by_id.items():
            parent = copies[0].reply_to
            if parent is not None:
                children.setdefault(parent, []).append(mid)
        members, todo = {root}, [root]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in members:
                    members.add(child)
                    todo.append(child)
        return [m for mid in sorted(members) for m in sorted(by_id[mid], key=lambda m: m.to)]

    def original(self, name: str, message_id: str) -> Message | None:
        """The message `message_id` if it is in `name`'s mailbox (read or not), else None.

        Cheap (two stats): `send --reply-to` uses it to fill in the recipient and subject.
        """
        if not ID_RE.match(message_id) or name not in self.recipients:
            return None
        folder = self.root / name
        for path in (folder / NEW / message_id, folder / CUR / (message_id + SEEN_SUFFIX)):
            try:
                return load_message(path, name)
            except (MalformedMessage, OSError):
                continue
        return None

    # -- upkeep ------------------------------------------------------------

    def clean_tmp(self, max_age: float = STALE_TMP_AGE) -> list[Path]:
        """Delete stale `tmp/` files left by crashed writers; return them."""
        return clean_stale_tmp(self.root, max_age)


def _mark_error(name: str, message_id: str, folder: Path, exc: OSError) -> UserError:
    return UserError(
        f"cannot mark message {message_id} in {name}'s mailbox read: moving it from"
        f" {folder / NEW} to {folder / CUR} failed ({exc.strerror or exc}); make both"
        " folders writable by you and read it again"
    )


def _matches(message_id: str, typed: str) -> bool:
    """Whether `typed` names `message_id`: the whole id, or its start or end.

    Ids made close together share their start (it is the time), so the end,
    which is random, is the handier short form.
    """
    return message_id.startswith(typed) or message_id.endswith(typed)


def _files(directory: Path) -> Iterator[Path]:
    """The entries of a Maildir sub-folder, without dot-files (Maildir ignores them)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if not name.startswith("."):
            yield directory / name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
