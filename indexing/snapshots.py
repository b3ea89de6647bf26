"""Versioned index snapshots on disk, switched atomically, so a search never sees half an index.

A data directory keeps its indexes under `snapshots/`:

    snapshots/v000001/      one complete snapshot: the caller's files plus manifest.json, which
                            records the size and sha256 of every other file ("files")
    snapshots/v000002/
    snapshots/CURRENT       the name of the snapshot to serve, e.g. "v000002\\n"
    snapshots/.tmp-<random>/  a snapshot being written; nobody reads it
    snapshots/.lock         serialises version numbering, switching and pruning between processes

A build writes into a temporary folder and only then renames it to the next version and rewrites
CURRENT with `os.replace`, fsyncing files and folders before each step. A crash (even SIGKILL or a
power cut) therefore leaves either the old CURRENT or the new one, both naming complete folders;
the worst leftover is a `.tmp-*` folder, which `cleanup()` removes. Readers only read CURRENT and
the folder it names, and never take a lock. `check_files()` compares a snapshot's files with the
sizes and hashes its manifest recorded, so a file changed after the build (a flipped block, a hand
edit, a partial copy) is refused by name instead of being served.

A build holds an flock on its own temporary folder while it runs. The kernel drops that lock when
the process dies, which is how `cleanup()` tells a killed build's leftovers from a live build it
must not touch.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from models.errors import FaqsearchError, InvalidValueError

logger = logging.getLogger(__name__)

SNAPSHOTS_DIR = "snapshots"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
TMP_PREFIX = ".tmp-"
VERSION_DIGITS = 6
FILES_KEY = "files"  # manifest: {relative path: {"bytes": size, "sha256": hex}} of every other file
RESERVED_MANIFEST_KEYS = ("version", "created_at", FILES_KEY)
HASH_CHUNK = 1 << 24  # 16 MiB reads: hashlib releases the GIL on each, and memory stays flat

# What the error messages tell people to run; one place to change if the CLI's names change.
BUILD_HINT = "rebuild with `faqsearch index build`"
ROLLBACK_HINT = "roll back with `faqsearch index rollback [VERSION]`"

_VERSION_RE = re.compile(r"v(\d+)")  # version_number() also rejects non-canonical padding


# What a client of the service may be told; the log gets the message with folders and causes.
PUBLIC_FIX = "roll back (faqsearch index rollback) or rebuild the index (faqsearch index build)"


class SnapshotError(FaqsearchError, ValueError):
    """A snapshot that is missing, broken or cannot be switched to; the message says what to do.
    `public`: the same without paths or library text, for clients of the service."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or f"the index snapshots cannot be read; {PUBLIC_FIX}"


class DamagedSnapshotError(SnapshotError):
    """A snapshot whose files differ from what its manifest recorded, or cannot be read back.
    str(): the folder, the file and the cause (for the log); `public`: the version, the file and the
    fix (for clients); `version` and `file` for callers that choose another snapshot."""

    def __init__(self, folder: Path, file: str, detail: str, summary: str) -> None:
        self.folder, self.version, self.file = folder, folder.name, file
        self.detail, self.summary = detail, summary
        super().__init__(
            f"snapshot {folder} is incomplete or damaged: {file}: {detail}. Roll back to the previous "
            "snapshot (faqsearch index rollback) or rebuild the index (faqsearch index build)",
            f"snapshot {folder.name} is damaged: {file} {summary}; {PUBLIC_FIX}",
        )


@dataclass(frozen=True)
class Verdict:
    """What `Snapshots.verify()` found in one snapshot folder."""

    version: str
    is_current: bool
    problem: str | None  # None: good; else the damaged file and what is wrong with it
    hashed: bool = True  # False: an older snapshot that records no hashes, so nothing was checked

    def line(self) -> str:
        """One line for people: `v000002 ok (current)`, `v000003 damaged: index.faiss: ...`."""
        current = " (current)" if self.is_current else ""
        if self.problem is not None:
            return f"{self.version} damaged{current}: {self.problem}"
        unchecked = ", no hashes recorded (built by an older faqsearch): files not checked"
        return f"{self.version} ok{current}{'' if self.hashed else unchecked}"


@dataclass(frozen=True)
class SnapshotInfo:
    """One complete snapshot. `manifest` is its parsed manifest.json (do not modify it)."""

    version: str
    path: Path
    manifest: dict
    is_current: bool


def version_name(number: int) -> str:
    """`7` -> `"v000007"`."""
    return f"v{number:0{VERSION_DIGITS}d}"


def version_number(name: str) -> int | None:
    """`"v000007"` -> 7; None for anything that is not a version name (temp folders, CURRENT, ...)."""
    match = _VERSION_RE.fullmatch(name)
    if match is None:
        return None
    number = int(match.group(1))
    return number if version_name(number) == name else None  # one name per number: no "v0000001"


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's fsync makes the names in it durable)."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file and folder under `root`, folders after their contents."""
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink():
                _fsync_path(file)
        _fsync_path(Path(folder))


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _try_lock_folder(path: Path) -> int | None:
    """An fd holding an exclusive flock on the folder `path`, or None if a live process holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_records(folder: Path) -> dict[str, dict[str, int | str]]:
    """Size and sha256 of every file under `folder` but the manifest, by path relative to it."""
    records: dict[str, dict[str, int | str]] = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        name = file.relative_to(folder).as_posix()
        if name != MANIFEST_FILE:
            records[name] = {"bytes": file.stat().st_size, "sha256": file_sha256(file)}
    return records


_warned_unhashed: set[Path] = set()  # snapshots of older versions, warned about once per process


def check_files(folder: Path, manifest: dict) -> bool:
    """Check every file `manifest` records against its size, then its sha256; raises
    DamagedSnapshotError naming the first that is missing or differs. Sizes go first: a missing or
    cut file is found without hashing gigabytes. Returns False, checking nothing, for a snapshot
    written before faqsearch recorded hashes (it is read as before; a warning is logged once)."""
    records = manifest.get(FILES_KEY)
    if records is None:
        if folder not in _warned_unhashed:
            _warned_unhashed.add(folder)
            logger.warning(
                "snapshot %s records no file hashes (it was built by an older faqsearch), so its files "
                "are not checked; rebuild the index (faqsearch index build) to have them checked",
                folder,
            )
        return False
    if not isinstance(records, dict):
        raise DamagedSnapshotError(
            folder, MANIFEST_FILE, f'"{FILES_KEY}" is a {type(records).__name__}', "is not readable"
        )
    try:
        expected = {str(name): (int(r["bytes"]), str(r["sha256"])) for name, r in records.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedSnapshotError(
            folder, MANIFEST_FILE, f'"{FILES_KEY}": {type(exc).__name__}: {exc}', "is not readable"
        ) from exc
    for name, (recorded_size, _sha) in expected.items():
        try:
            size = (folder / name).stat().st_size
        except FileNotFoundError:
            raise DamagedSnapshotError(folder, name, "the file is missing", "is missing") from None
        except OSError as exc:
            raise DamagedSnapshotError(folder, name, str(exc), "cannot be read") from exc
        if size != recorded_size:
            raise DamagedSnapshotError(
                folder,
                name,
                f"it has {size} bytes, the manifest recorded {recorded_size} (it changed after the build)",
                "does not match what was recorded when it was built",
            )
    for name, (_size, recorded_sha) in expected.items():
        try:
            actual = file_sha256(folder / name)
        except OSError as exc:
            raise DamagedSnapshotError(folder, name, str(exc), "cannot be read") from exc
        if actual != recorded_sha:
            raise DamagedSnapshotError(
                folder,
                name,
                f"its sha256 is {actual[:12]}, the manifest recorded {recorded_sha[:12]} (it changed "
                "after the build)",
                "does not match what was recorded when it was built",
            )
    return True


def _read_manifest(folder: Path) -> dict:
    """The manifest of `folder`; raises SnapshotError naming the folder if it is missing or invalid."""
    file = folder / MANIFEST_FILE
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "does not exist" if not folder.exists() else f"has no {MANIFEST_FILE}"
        raise SnapshotError(
            f"snapshot folder {folder} {problem}; {ROLLBACK_HINT} or {BUILD_HINT}",
            f"snapshot {folder.name} {problem}; {PUBLIC_FIX}",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(
            f"cannot read {file}: {exc}; the snapshot folder {folder} is broken, {ROLLBACK_HINT} or {BUILD_HINT}",
            f"snapshot {folder.name} is damaged: {MANIFEST_FILE} is not readable; {PUBLIC_FIX}",
        ) from exc
    if not isinstance(manifest, dict):
        raise SnapshotError(
            f"{file} holds a JSON {type(manifest).__name__}, not an object; the snapshot folder "
            f"{folder} is broken, {ROLLBACK_HINT} or {BUILD_HINT}",
            f"snapshot {folder.name} is damaged: {MANIFEST_FILE} is not readable; {PUBLIC_FIX}",
        )
    return manifest


class Snapshots:
    """The index snapshots of one data directory. Safe to use from several threads and processes.

    Nothing is created on disk until the first `create()`, so reading a data directory that has no
    snapshots yet is harmless.
    """

    def __init__(self, data_dir: str | Path, keep: int = 3) -> None:
        """`keep`: how many complete snapshots `create()` retains (>= 1); the current one always stays."""
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise InvalidValueError(f"keep must be a whole number of at least 1 snapshot, not {keep!r}")
        self._data_dir = Path(data_dir)
        self._root = self._data_dir / SNAPSHOTS_DIR
        self._keep = keep

    @property
    def root(self) -> Path:
        """The `snapshots/` folder."""
        return self._root

    @property
    def keep(self) -> int:
        return self._keep

    def __repr__(self) -> str:
        return f"Snapshots({str(self._data_dir)!r}, keep={self._keep})"

    def path(self, version: str) -> Path:
        """The folder of `version` (which may not exist)."""
        return self._root / version

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def create(self, manifest: dict) -> Iterator[Path]:
        """Yield a fresh temporary folder inside snapshots/ for the caller to write files into.

        On normal exit: write manifest.json (the given dict, as it is at exit, so keys added inside
        the block count, plus "version", "created_at" in UTC ISO-8601 and "files", the size and
        sha256 of every file written), fsync every file and the
        folder, rename the folder to the next version name (max existing number + 1, zero-padded to
        6), fsync snapshots/, then switch CURRENT atomically (write CURRENT.tmp, fsync, os.replace,
        fsync the directory), then prune old complete snapshots beyond `keep` (oldest first, never
        the current one nor the newest good one before it). On exception: delete the temp folder, leave CURRENT untouched, re-raise.
        The caller reads the new version from `self.current()` after.
        """
        self._check_manifest(manifest)
        self._ensure_root()
        with self._locked():
            # Made under the lock, and locked before the lock is let go, so cleanup() (which
            # holds the same lock) never sees this folder unlocked and mistakes it for a leftover.
            tmp = self._make_tmp_folder()
            folder_lock = _try_lock_folder(tmp)
        if folder_lock is None:  # impossible: nobody else knows the folder's name yet
            raise SnapshotError(f"could not lock the new temporary folder {tmp}; run create() again")
        try:
            try:
                yield tmp
                self._check_manifest(manifest)
                self._commit(tmp, manifest)
            finally:
                os.close(folder_lock)
        except BaseException:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            raise

    @staticmethod
    def _check_manifest(manifest: dict) -> None:
        if not isinstance(manifest, dict):
            raise TypeError(f"the manifest must be a dict, not {type(manifest).__name__}")
        reserved = [key for key in RESERVED_MANIFEST_KEYS if key in manifest]
        if reserved:
            raise SnapshotError(
                f"the manifest must not contain {', '.join(map(repr, reserved))}: create() sets "
                "those keys itself; remove them from the dict"
            )
        try:
            json.dumps(manifest, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise SnapshotError(
                f"the manifest cannot be written as JSON ({exc}); use only dicts with string keys, "
                "lists, strings, numbers, booleans and None"
            ) from exc

    def _ensure_root(self) -> None:
        if self._data_dir.exists() and not self._data_dir.is_dir():
            raise NotADirectoryError(
                f"data directory {self._data_dir} exists but is not a directory; "
                "point FAQSEARCH_DATA_DIR at a folder"
            )
        if self._root.is_dir():
            return
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._root.mkdir(exist_ok=True)
        _fsync_path(self._data_dir)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive inter-process lock `snapshots/.lock`. Each call opens the file anew,
        so two threads of one process exclude each other too (flock is per open file)."""
        fd = os.open(self._root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _make_tmp_folder(self) -> Path:
        while True:
            tmp = self._root / f"{TMP_PREFIX}{secrets.token_hex(8)}"
            try:
                tmp.mkdir()  # mode 0o777 less the umask, so the final snapshot is readable as usual
            except FileExistsError:
                continue
            return tmp

    def _commit(self, tmp: Path, manifest: dict) -> None:
        # The caller's files (possibly large) are synced before taking the lock, so other builds
        # wait only for the manifest, which needs the version number the lock hands out.
        _fsync_tree(tmp)
        files = _file_records(tmp)  # read back after the sync: what the disk holds is what is hashed
        with self._locked():
            version = version_name(self._next_number())
            full = {**manifest, "version": version, "created_at": _utc_now(), FILES_KEY: files}
            text = json.dumps(full, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
            _write_durably(tmp / MANIFEST_FILE, text.encode("utf-8"))
            _fsync_path(tmp)
            final = self._root / version
            # rename(2) would silently replace an empty folder; _next_number counts every
            # version-named folder, so this only trips if someone bypassed the lock.
            if final.exists():
                raise SnapshotError(f"{final} already exists; another process wrote it without the lock")
            os.rename(tmp, final)
            _fsync_path(self._root)
            self._switch(version)
            try:
                self._prune(version)
            except OSError as exc:  # the new snapshot is live; a failed prune must not undo that
                logger.warning("could not remove old snapshots in %s: %s", self._root, exc)

    def _next_number(self) -> int:
        numbers = [version_number(entry.name) for entry in self._scan() if entry.is_dir()]
        current = self._current_or_none()  # a garbled CURRENT must not block the rebuild that fixes it
        numbers.append(version_number(current) if current else None)
        return max((n for n in numbers if n is not None), default=0) + 1

    def _switch(self, version: str) -> None:
        """Point CURRENT at `version` atomically and durably. Call with the lock held."""
        tmp = self._root / f"{CURRENT_FILE}.tmp"
        _write_durably(tmp, f"{version}\n".encode("ascii"))
        os.replace(tmp, self._root / CURRENT_FILE)
        _fsync_path(self._root)

    def _prune(self, current: str) -> list[Path]:
        """Remove complete snapshots beyond `keep`, oldest first, never `current` nor the newest
        good snapshot before it: the one a rollback, or a server finding `current` damaged, turns
        to; damaged ones newer than it must not push it out. Call with the lock."""
        snapshots = self.list()
        doomed = [s for s in snapshots[: max(0, len(snapshots) - self._keep)] if s.version != current]
        if doomed:  # only then are older snapshots hashed: pruning nothing costs nothing
            spared = self.newest_good(before=current)
            doomed = [s for s in doomed if spared is None or s.version != spared.version]
        removed = []
        for snapshot in doomed:
            # Renamed first, in one step: a half-deleted folder then looks like a leftover temp
            # folder (cleanup() takes it), never like a snapshot missing some of its files.
            trash = self._root / f"{TMP_PREFIX}prune-{snapshot.version}-{secrets.token_hex(4)}"
            os.rename(snapshot.path, trash)
            shutil.rmtree(trash)
            removed.append(snapshot.path)
        if removed:
            _fsync_path(self._root)
        return removed

    # -- reading -----------------------------------------------------------------------------

    def _scan(self) -> builtins.list[os.DirEntry[str]]:
        try:
            with os.scandir(self._root) as entries:
                return list(entries)
        except FileNotFoundError:
            return []

    def current(self) -> str | None:
        """The name in CURRENT, or None if no snapshot was made yet. Does not check the folder;
        `current_info()` does."""
        file = self._root / CURRENT_FILE
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise SnapshotError(
                f"cannot read {file}: {exc}; {ROLLBACK_HINT} or {BUILD_HINT}",
                f"the {CURRENT_FILE} file of the index snapshots is not readable; {PUBLIC_FIX}",
            ) from exc
        name = text.strip()
        if version_number(name) is None:
            raise SnapshotError(
                f"{file} holds {name[:40]!r}, not a snapshot name like 'v000001'; {ROLLBACK_HINT} "
                f"or {BUILD_HINT}",
                f"the {CURRENT_FILE} file of the index snapshots does not name a snapshot; {PUBLIC_FIX}",
            )
        return name

    def current_info(self) -> SnapshotInfo | None:
        """The current snapshot, or None if there is none yet. Raises SnapshotError naming the
        folder if CURRENT points at a missing or broken one."""
        current = self.current()
        if current is None:
            return None
        folder = self._root / current
        return SnapshotInfo(current, folder, _read_manifest(folder), is_current=True)

    def list(self) -> builtins.list[SnapshotInfo]:
        """Complete snapshots, oldest first. Temp folders and folders without a valid manifest are
        skipped (`info(version)` says what is wrong with one)."""
        current = self._current_or_none()
        found = []
        for entry in self._scan():
            number = version_number(entry.name)
            if number is None or not entry.is_dir(follow_symlinks=False):
                continue
            folder = Path(entry.path)
            try:
                manifest = _read_manifest(folder)
            except SnapshotError:
                continue
            found.append((number, SnapshotInfo(entry.name, folder, manifest, entry.name == current)))
        found.sort(key=lambda pair: pair[0])
        return [info for _number, info in found]

    def _current_or_none(self) -> str | None:
        try:
            return self.current()
        except SnapshotError:
            return None

    def info(self, version: str | None = None) -> SnapshotInfo:
        """The snapshot `version`, or the current one if None. Raises SnapshotError if it does not
        exist (listing the versions that do) or is broken."""
        if version is None:
            info = self.current_info()
            if info is None:
                raise SnapshotError(f"there is no index snapshot in {self._root} yet; {BUILD_HINT}")
            return info
        if version_number(version) is None or not (self._root / version).is_dir():
            raise SnapshotError(f"there is no snapshot {version!r} in {self._root}; {self._existing()}")
        folder = self._root / version
        return SnapshotInfo(version, folder, _read_manifest(folder), version == self._current_or_none())

    def check(self, info: SnapshotInfo) -> bool:
        """Check the files of `info` against its manifest (`check_files`): raises
        DamagedSnapshotError naming the file; False if it records no hashes (an older snapshot)."""
        return check_files(info.path, info.manifest)

    def verify(self) -> builtins.list[Verdict]:
        """Check every version-named folder, oldest first, broken manifests included."""
        current = self._current_or_none()
        names = [e.name for e in self._scan() if version_number(e.name) is not None and e.is_dir()]
        verdicts = []
        for name in sorted(names, key=lambda n: version_number(n) or 0):
            try:
                hashed = self.check(self.info(name))
            except DamagedSnapshotError as exc:
                verdicts.append(Verdict(name, name == current, f"{exc.file}: {exc.detail}"))
            except SnapshotError as exc:  # no manifest, or one that is not JSON
                verdicts.append(Verdict(name, name == current, f"{MANIFEST_FILE}: {exc}"))
            else:
                verdicts.append(Verdict(name, name == current, None, hashed))
        return verdicts

    def newest_good(self, before: str | None = None) -> SnapshotInfo | None:
        """The newest complete snapshot whose files match its manifest (older ones, without hashes,
        count as good), older than `before` if given; None if there is none."""
        limit = version_number(before) if before is not None else None
        for info in reversed(self.list()):
            if limit is not None and (version_number(info.version) or 0) >= limit:
                continue
            try:
                self.check(info)
            except SnapshotError as exc:
                logger.warning("snapshot %s is not good: %s", info.version, exc)
                continue
            return info
        return None

    def _existing(self) -> str:
        versions = [s.version for s in self.list()]
        if not versions:
            return f"there are no snapshots; {BUILD_HINT}"
        return f"the snapshots are: {', '.join(versions)}"

    # -- switching and tidying ------------------------------------------------------------------

    def rollback(self, version: str | None = None) -> SnapshotInfo:
        """Switch CURRENT to `version`, or to the newest complete snapshot older than the current
        one, and return it. Works when the current snapshot is missing or broken, which is how to
        recover from that. Raises SnapshotError if there is nothing to switch to."""
        if not self._root.is_dir():
            raise SnapshotError(f"there is no index snapshot in {self._root} yet; {BUILD_HINT}")
        with self._locked():
            if version is not None:
                target = self.info(version)  # raises if unknown or broken
            else:
                current = self.current()
                if current is None:
                    raise SnapshotError(
                        f"there is no current snapshot in {self._root} to roll back from; {BUILD_HINT}"
                    )
                number = version_number(current)
                older = [s for s in self.list() if (version_number(s.version) or 0) < (number or 0)]
                if not older:
                    raise SnapshotError(
                        f"there is no complete snapshot older than {current} in {self._root}; "
                        f"{self._existing()}; {BUILD_HINT}"
                    )
                target = older[-1]
            self._switch(target.version)
        return SnapshotInfo(target.version, target.path, target.manifest, is_current=True)

    def cleanup(self) -> builtins.list[Path]:
        """Remove leftover `.tmp-*` folders of killed builds (and interrupted prunes); returns them.
        Folders of builds still running (in any process) are left alone. A stale CURRENT.tmp goes
        too (it is not returned)."""
        if not self._root.is_dir():
            return []
        removed = []
        with self._locked():
            for entry in self._scan():
                if not entry.name.startswith(TMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
                    continue
                folder = Path(entry.path)
                fd = _try_lock_folder(folder)
                if fd is None:  # a live create() holds it
                    continue
                try:
                    shutil.rmtree(folder)
                finally:
                    os.close(fd)
                removed.append(folder)
            (self._root / f"{CURRENT_FILE}.tmp").unlink(missing_ok=True)
        return removed
