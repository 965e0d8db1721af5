"""Tests of the model-asset manager with fake wheels; pip never leaves tmp_path."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyagent_ros import models as M


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(where: Path, package: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal but valid wheel that ``pip download --no-index --find-links`` accepts."""
    mod = package.replace("-", "_")
    path = where / f"{mod}-{version}-py3-none-any.whl"
    info = f"{mod}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(member, data)
        zf.writestr(f"{info}/METADATA",
                    f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                     "Tag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return buf.getvalue()


PART1 = b"GGUF" + bytes(range(256)) * 40 + b"first"
PART2 = b"second part " * 500
TOKENIZER = b'{"padding": {"strategy": {"Fixed": 128}}}'
CONFIG = b'{"hidden_size": 384}'


class Env:
    """A fake registry (a wheel directory), a manifest for it and a models directory."""

    def __init__(self, tmp: Path) -> None:
        self.wheels = tmp / "wheels"
        self.wheels.mkdir()
        self.root = tmp / "models"
        self.index = ["--no-index", "--find-links", str(self.wheels)]
        w1 = make_wheel(self.wheels, "fake-part1", "1.0.0", {"fake_part1/data/part01.bin": PART1})
        w2 = make_wheel(self.wheels, "fake-part2", "1.0.0", {"fake_part2/data/part02.bin": PART2})
        w3 = make_wheel(self.wheels, "fake-enc", "0.1.2", {
            "fake_enc/__init__.py": b"",
            "fake_enc/model.zip": zip_bytes({"tokenizer.json": TOKENIZER,
                                             "sub/config.json": CONFIG}),
        })
        self.data: dict = {
            "schema_version": 1,
            "wheels": {
                "fake-part1==1.0.0": sha(w1.read_bytes()),
                "fake-part2==1.0.0": sha(w2.read_bytes()),
                "fake-enc==0.1.2": sha(w3.read_bytes()),
            },
            "assets": [
                {
                    "name": "planner-x", "kind": "gguf", "file": "planner-x.gguf",
                    "size": len(PART1 + PART2), "sha256": sha(PART1 + PART2), "default": True,
                    "license": "test", "origin": "test",
                    "source": [
                        {"package": "fake-part1", "version": "1.0.0",
                         "member": "fake_part1/data/part01.bin", "size": len(PART1),
                         "sha256": sha(PART1)},
                        {"package": "fake-part2", "version": "1.0.0",
                         "member": "fake_part2/data/part02.bin"},
                    ],
                },
                {
                    "name": "enc-tokenizer", "kind": "tokenizer", "file": "enc/tokenizer.json",
                    "size": len(TOKENIZER), "sha256": sha(TOKENIZER), "default": True,
                    "license": "test", "origin": "test", "notes": "fixed padding",
                    "source": [{"package": "fake-enc", "version": "0.1.2",
                                "member": "fake_enc/model.zip!tokenizer.json"}],
                },
                {
                    "name": "enc-config", "kind": "config", "file": "enc/config.json",
                    "size": len(CONFIG), "sha256": sha(CONFIG), "default": False,
                    "license": "test", "origin": "test",
                    "source": [{"package": "fake-enc", "version": "0.1.2",
                                "member": "fake_enc/model.zip!sub/config.json"}],
                },
            ],
        }

    @property
    def manifest(self) -> M.Manifest:
        return M.Manifest.model_validate(self.data)

    def install(self, names=None, **kw):
        return M.install(names, progress=False, manifest=self.manifest, root=self.root,
                         index_options=self.index, **kw)

    def verify(self, names=None):
        return M.verify(names, progress=False, manifest=self.manifest, root=self.root)

    def path(self, name):
        return M.model_path(name, manifest=self.manifest, root=self.root)

    def states(self):
        return {s.name: s.state for s in M.list_assets(manifest=self.manifest, root=self.root)}

    def leftovers(self):
        return sorted(p.name for p in self.root.rglob("*")
                      if p.name.endswith(".partial") or p.name.startswith(".download-"))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def no_pip(*_a, **_k):
    raise AssertionError("pip must not run")


# ------------------------------------------------------------------ install


def test_assembles_two_parts_in_order(env: Env) -> None:
    results = env.install(["planner-x"])
    assert [(r.name, r.action) for r in results] == [("planner-x", "installed")]
    path = env.path("planner-x")
    assert path == env.root / "planner-x.gguf"
    assert path.read_bytes() == PART1 + PART2
    stamp = json.loads((env.root / "planner-x.gguf.verified").read_text())
    assert stamp["sha256"] == sha(PART1 + PART2) and stamp["size"] == len(PART1 + PART2)
    assert env.states()["planner-x"] == "installed"
    assert env.leftovers() == []


def test_defaults_and_members_of_a_zip_inside_the_wheel(env: Env) -> None:
    results = env.install()  # defaults: planner-x and enc-tokenizer, not enc-config
    assert sorted(r.name for r in results) == ["enc-tokenizer", "planner-x"]
    assert env.path("enc-tokenizer").read_bytes() == TOKENIZER
    assert env.states()["enc-config"] == "missing"
    env.install(["enc-config"])
    assert env.path("enc-config").read_bytes() == CONFIG
    assert env.leftovers() == []


def test_sha_mismatch_is_an_error_and_installs_nothing(env: Env) -> None:
    env.data["assets"][0]["sha256"] = sha(PART2 + PART1)  # right bytes, wrong order
    with pytest.raises(M.InstallError, match="planner-x: sha256"):
        env.install(["planner-x"])
    assert not (env.root / "planner-x.gguf").exists()
    assert not (env.root / "planner-x.gguf.verified").exists()
    assert env.leftovers() == []
    with pytest.raises(M.ModelMissing):
        env.path("planner-x")


def test_part_and_wheel_pins_are_checked(env: Env) -> None:
    env.data["assets"][0]["source"][0]["sha256"] = sha(b"other")
    with pytest.raises(M.InstallError, match="part 1"):
        env.install(["planner-x"])
    env.data["assets"][0]["source"][0]["sha256"] = sha(PART1)
    env.data["wheels"]["fake-part2==1.0.0"] = "0" * 64
    with pytest.raises(M.InstallError, match="wheel fake_part2-1.0.0"):
        env.install()
    # The other default asset does not depend on the bad wheel and still installs.
    assert env.states() == {"planner-x": "missing", "enc-tokenizer": "installed",
                            "enc-config": "missing"}
    assert env.leftovers() == []


def test_stamp_makes_a_second_install_a_no_op(env: Env, monkeypatch) -> None:
    env.install(["planner-x"])
    monkeypatch.setattr(M, "_pip_download", no_pip)
    monkeypatch.setattr(M, "_hash_file", no_pip)
    results = env.install(["planner-x"])
    assert [(r.name, r.action) for r in results] == [("planner-x", "present")]
    assert env.path("planner-x").is_file()  # no rehash either


def test_force_reinstalls(env: Env) -> None:
    env.install(["planner-x"])
    results = env.install(["planner-x"], force=True)
    assert results[0].action == "installed"
    assert env.path("planner-x").read_bytes() == PART1 + PART2


# ------------------------------------------------------------------ broken files


def test_truncated_file_is_not_installed(env: Env) -> None:
    env.install(["planner-x"])
    path = env.root / "planner-x.gguf"
    with path.open("r+b") as fh:
        fh.truncate(100)
    assert env.states()["planner-x"] == "unverified"
    with pytest.raises(M.ModelMissing, match="not verified.*tinyagent models install planner-x"):
        env.path("planner-x")
    [res] = env.verify(["planner-x"])
    assert res.status == "mismatch" and "size 100" in res.detail
    # install (no --force) notices and replaces it
    assert env.install(["planner-x"])[0].action == "installed"
    assert env.path("planner-x").read_bytes() == PART1 + PART2


def test_same_size_corruption_is_caught_by_verify(env: Env) -> None:
    env.install(["planner-x"])
    path = env.root / "planner-x.gguf"
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # hide the edit from the stamp
    [res] = env.verify(["planner-x"])
    assert res.status == "mismatch"
    assert not (env.root / "planner-x.gguf.verified").exists()
    with pytest.raises(M.ModelMissing):
        env.path("planner-x")


def test_leftovers_of_a_killed_install_are_not_installed_and_get_cleaned(env: Env) -> None:
    env.root.mkdir()
    (env.root / ".planner-x.gguf.abc.partial").write_bytes(PART1)
    (env.root / ".download-xyz").mkdir()
    assert env.states()["planner-x"] == "missing"
    env.install(["planner-x"])
    assert env.leftovers() == []


def test_verify_reports_ok_and_missing(env: Env) -> None:
    env.install(["planner-x"])
    results = {r.name: r.status for r in env.verify()}
    assert results == {"planner-x": "ok", "enc-tokenizer": "missing"}


# ------------------------------------------------------------------ local files, messages


def test_missing_model_message_names_the_install_command(env: Env) -> None:
    with pytest.raises(M.ModelMissing) as info:
        env.path("planner-x")
    assert str(info.value) == (
        "model planner-x is not installed: run `tinyagent models install planner-x`")
    with pytest.raises(M.UnknownModel, match="known: planner-x, enc-tokenizer"):
        env.path("nope")


def test_unstamped_good_file_is_verified_without_download(env: Env, monkeypatch) -> None:
    monkeypatch.setattr(M, "_pip_download", no_pip)
    env.root.mkdir()
    (env.root / "planner-x.gguf").write_bytes(PART1 + PART2)
    with pytest.raises(M.ModelMissing, match="not verified"):
        env.path("planner-x")
    assert env.install(["planner-x"])[0].action == "verified"
    assert env.path("planner-x").is_file()


def test_install_from_a_user_file(env: Env, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(M, "_pip_download", no_pip)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(PART1)
    with pytest.raises(M.InstallError, match="assembled"):
        env.install(["planner-x"], from_file=bad)
    assert env.states()["planner-x"] == "missing" and env.leftovers() == []
    good = tmp_path / "good.gguf"
    good.write_bytes(PART1 + PART2)
    assert env.install(["planner-x"], from_file=good)[0].action == "installed"
    assert env.path("planner-x").read_bytes() == PART1 + PART2
    with pytest.raises(M.InstallError, match="exactly one"):
        env.install(None, from_file=good)


def test_pip_failure_is_one_clear_line(env: Env) -> None:
    env.data["wheels"]["fake-part9==1.0.0"] = "0" * 64
    env.data["assets"][0]["source"][1]["package"] = "fake-part9"
    with pytest.raises(M.InstallError, match="pip download failed") as info:
        env.install(["planner-x"])
    assert "\n" not in str(info.value)
    assert env.leftovers() == []


# ------------------------------------------------------------------ manifest


def test_manifest_errors_are_clear(env: Env, tmp_path: Path) -> None:
    import yaml

    def load(data) -> str:
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(M.ManifestError) as info:
            M.load_manifest(path)
        return str(info.value)

    data = env.data
    data["assets"][0]["colour"] = "red"
    assert "assets[planner-x].colour: Extra inputs are not permitted" in load(data)
    del data["assets"][0]["colour"]
    data["assets"][0]["source"][1]["size"] = len(PART2) + 1
    assert "part sizes add up" in load(data)
    del data["assets"][0]["source"][1]["size"]
    del data["wheels"]["fake-enc==0.1.2"]
    assert "fake-enc==0.1.2 has no sha256" in load(data)
    with pytest.raises(M.ManifestError, match="cannot read"):
        M.load_manifest(tmp_path / "absent.yaml")


def test_shipped_manifest_is_valid() -> None:
    manifest = M.load_manifest()
    defaults = {a.name for a in manifest.select(None)}
    assert "planner-0.5b" in defaults and "planner-1.5b" not in defaults
    assert {"encoder-minilm-int8", "encoder-minilm-tokenizer", "encoder-minilm-fp32"} <= defaults
    assert manifest.get("planner-0.5b").sha256 == (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert "padding" in manifest.get("encoder-minilm-tokenizer").notes.lower()


def test_models_dir_from_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(M.MODELS_DIR_ENV, str(tmp_path))
    assert M.models_dir() == tmp_path
    monkeypatch.delenv(M.MODELS_DIR_ENV)
    assert M.models_dir() == Path.home() / ".cache" / "tinyagent_ros" / "models"


# ------------------------------------------------------------------ CLI


def test_cli(env: Env, tmp_path: Path, monkeypatch) -> None:
    import yaml

    manifest = tmp_path / "models.yaml"
    manifest.write_text(yaml.safe_dump(env.data))
    monkeypatch.setenv(M.MANIFEST_ENV, str(manifest))
    monkeypatch.setenv(M.MODELS_DIR_ENV, str(env.root))
    run = CliRunner().invoke

    res = run(M.models_cli, ["path", "planner-x"])
    assert res.exit_code == 1 and "tinyagent models install planner-x" in res.output
    res = run(M.models_cli, ["install", "-q", "--find-links", str(env.wheels)])
    assert res.exit_code == 0, res.output
    assert "planner-x: installed" in res.output
    res = run(M.models_cli, ["list", "--json"])
    states = {a["name"]: a["state"] for a in json.loads(res.output)["assets"]}
    assert states == {"planner-x": "installed", "enc-tokenizer": "installed",
                      "enc-config": "missing"}
    res = run(M.models_cli, ["path", "planner-x"])
    assert res.exit_code == 0 and res.output.strip() == str(env.root / "planner-x.gguf")
    res = run(M.models_cli, ["verify", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ok"] is True
    (env.root / "enc" / "tokenizer.json").write_bytes(b"{}")
    res = run(M.models_cli, ["verify", "-q"])
    assert res.exit_code == 1 and "enc-tokenizer: mismatch" in res.output
    res = run(M.models_cli, ["list"])
    assert res.exit_code == 0 and "unverified" in res.output
    assert run(M.models_cli, ["--help"]).exit_code == 0


def test_planner_models_are_named_or_given_as_paths(env: Env, tmp_path: Path, capsys,
                                                   monkeypatch) -> None:
    import yaml

    from tinyagent_ros.cli import main
    from tinyagent_ros.planner import (
        PLANNER_MODEL_ENV,
        PlannerError,
        default_model_path,
        resolve_model,
    )

    env.install()
    manifest = tmp_path / "models.yaml"
    manifest.write_text(yaml.safe_dump(env.data))
    monkeypatch.setenv(M.MANIFEST_ENV, str(manifest))
    monkeypatch.setenv(M.MODELS_DIR_ENV, str(env.root))
    monkeypatch.delenv(PLANNER_MODEL_ENV, raising=False)
    installed = env.root / "planner-x.gguf"
    assert resolve_model("x") == resolve_model("planner-x") == resolve_model(" X ") == installed
    own = tmp_path / "own.gguf"
    assert resolve_model(str(own)) == own  # a path is taken as given, even a missing one
    monkeypatch.chdir(tmp_path)
    Path("x").write_bytes(b"a file called x")
    assert resolve_model("x") == Path("x")  # an existing file wins over a name
    with pytest.raises(PlannerError, match=r"'tokenizer' does not exist: not a file, "
                                           r"nor a model name \(x\)"):
        resolve_model("tokenizer")  # enc-tokenizer is an asset, but no planner
    monkeypatch.setenv(PLANNER_MODEL_ENV, "planner-x")
    assert resolve_model(None) == resolve_model("") == default_model_path() == installed
    installed.unlink()
    with pytest.raises(PlannerError, match="run `tinyagent models install planner-x`"):
        resolve_model("planner-x")
    for argv in (["plan", "go to the kitchen", "--model", "large"],
                 ["bench-bfcl", "--data", str(tmp_path), "--model", "planner-x"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and len(err.strip().splitlines()) == 1, err
        assert "Invalid value for '--model'" in err


# ------------------------------------------------------------------ the real planner


def _real_planner_installed() -> bool:
    try:
        M.model_path("planner-0.5b")
    except M.ModelError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _real_planner_installed(), reason="planner-0.5b is not installed")
def test_real_planner_verifies() -> None:
    [res] = M.verify(["planner-0.5b"], progress=False)
    assert res.status == "ok", res.detail
