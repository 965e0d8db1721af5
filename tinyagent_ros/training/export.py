"""Turn a trained PEFT adapter into files llama.cpp loads.

``export_adapter``: PEFT adapter -> GGUF LoRA adapter with llama.cpp's own
``convert_lora_to_gguf.py``, run from the llama-cpp-python sdist (the same
version as the installed runtime, fetched once with ``pip download
--no-binary :all: --no-deps`` into a cache directory and extracted there;
never copied into this repository). The converter needs only the base model's
``config.json`` (``--base``), which training writes to ``OUT/base/``.

``check_adapter``: load base GGUF + adapter GGUF with ``llama_cpp.Llama`` and
confirm the greedy output differs from the base model's.

``merge_to_gguf`` (optional): merge the adapter into the dequantised base with
peft, save it, convert with ``convert_hf_to_gguf.py`` and quantise with
``llama_cpp.llama_model_quantize``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

#: Where the sdist is downloaded and extracted (``TINYAGENT_SDIST_DIR`` overrides).
SDIST_DIR_ENV = "TINYAGENT_SDIST_DIR"
#: Members of the sdist the converters need.
_NEEDED = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


class ExportError(RuntimeError):
    """The adapter cannot be converted or loaded; one line naming the cause."""


def sdist_dir() -> Path:
    """The cache directory of llama-cpp-python sdists."""
    env = os.environ.get(SDIST_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "tinyagent_ros" / "sdist"


def runtime_llama_version() -> str:
    """The installed llama-cpp-python version (the converter must match the runtime)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return "0.3.36"


def converter_dir(version: str | None = None, download: bool = True) -> Path:
    """``vendor/llama.cpp`` of the extracted sdist (downloading and extracting when needed)."""
    version = version or runtime_llama_version()
    root = sdist_dir()
    llama_dir = root / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if (llama_dir / "convert_lora_to_gguf.py").is_file() and (llama_dir / "conversion").is_dir():
        return llama_dir
    tarball = root / f"llama_cpp_python-{version}.tar.gz"
    if not tarball.is_file():
        if not download:
            raise ExportError(f"no llama-cpp-python {version} sdist in {root}")
        root.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
               "-d", str(root), f"llama-cpp-python=={version}"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0 or not tarball.is_file():
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ExportError(f"pip download of llama-cpp-python=={version} failed: {tail[0]}")
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                   and any(m.name[len(prefix):].startswith(n) for n in _NEEDED)]
        if not members:
            raise ExportError(f"{tarball.name} has no vendor/llama.cpp converters")
        tar.extractall(root, members=members, filter="data")
    return llama_dir


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("NO_LOCAL_GGUF", None)  # use the converter's own gguf-py, matching its version
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        lines = [ln for ln in (run.stderr + run.stdout).splitlines() if ln.strip()]
        raise ExportError(f"{what} failed (exit {run.returncode}): "
                          f"{lines[-1] if lines else 'no output'}")
    return run


def export_adapter(adapter_dir: str | Path, out_file: str | Path,
                   base_dir: str | Path | None = None, outtype: str = "f16",
                   version: str | None = None) -> Path:
    """Convert a PEFT adapter directory to a GGUF LoRA adapter; returns the file.

    ``base_dir`` holds the base model's ``config.json`` (default: ``ADAPTER/base``).
    """
    adapter_dir = Path(adapter_dir)
    out_file = Path(out_file)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ExportError(f"{adapter_dir} has no adapter_config.json")
    base = Path(base_dir) if base_dir else adapter_dir / "base"
    if not (base / "config.json").is_file():
        raise ExportError(f"{base} has no config.json (the base model's HF config)")
    script = converter_dir(version) / "convert_lora_to_gguf.py"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, str(script), "--base", str(base), "--outfile", str(out_file),
          "--outtype", outtype, str(adapter_dir)], "convert_lora_to_gguf.py")
    if not out_file.is_file():
        raise ExportError(f"the converter wrote no {out_file}")
    return out_file


def adapter_summary(path: str | Path) -> dict[str, Any]:
    """Type, alpha, tensor count and size of a GGUF adapter (read with gguf-py)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def field(name: str) -> Any:
        f = reader.fields.get(name)
        if f is None:
            return None
        value = f.parts[f.data[0]]
        if f.types and f.types[0].name == "STRING":
            return bytes(value).decode("utf-8")
        return value.tolist()[0] if hasattr(value, "tolist") else value

    return {"type": field("general.type"), "adapter_type": field("adapter.type"),
            "alpha": field("adapter.lora.alpha"), "architecture": field("general.architecture"),
            "tensors": len(reader.tensors), "bytes": Path(path).stat().st_size}


def check_adapter(base_gguf: str | Path, adapter_gguf: str | Path, prompt: str,
                  max_tokens: int = 48, n_threads: int | None = None) -> dict[str, Any]:
    """Greedy completions of ``prompt`` with and without the adapter; ``changed`` if they differ."""
    from llama_cpp import Llama

    texts = {}
    for name, lora in (("base", None), ("adapter", adapter_gguf)):
        try:
            llm = Llama(model_path=str(base_gguf), lora_path=str(lora) if lora else None,
                        n_ctx=4096, n_threads=n_threads or os.cpu_count(), seed=0, verbose=False)
        except (ValueError, RuntimeError) as err:
            raise ExportError(f"llama.cpp cannot load {lora or base_gguf}: {err}") from None
        out = llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1)
        texts[name] = out["choices"][0]["text"]
        del llm
    return {"base": texts["base"], "adapter": texts["adapter"],
            "changed": texts["base"] != texts["adapter"]}


def merge_to_gguf(adapter_dir: str | Path, out_file: str | Path,
                  base_gguf: str | Path | None = None, quant: str | None = "Q4_K_M",
                  version: str | None = None, keep_f16: bool = False) -> Path:
    """Merge the adapter into the base weights and write a (quantised) GGUF model.

    The base is the dequantised GGUF (as in training), so quantising again
    stacks a second rounding on the first; prefer the adapter file at run time.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(adapter_dir)
    out_file = Path(out_file)
    gguf = Path(base_gguf) if base_gguf else base_from_config(adapter_dir)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    # the weights were dequantised on load; drop the GGUF quantiser so they can be saved
    merged.hf_quantizer = None
    if getattr(merged.config, "quantization_config", None) is not None:
        del merged.config.quantization_config
    script = converter_dir(version) / "convert_hf_to_gguf.py"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="merged-", dir=out_file.parent) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        f16 = out_file.with_suffix(".f16.gguf") if quant else out_file
        _run([sys.executable, str(script), tmp, "--outtype", "f16", "--outfile", str(f16)],
             "convert_hf_to_gguf.py")
    if not quant:
        return out_file
    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}", None)
    if ftype is None:
        raise ExportError(f"unknown quantisation {quant!r}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    rc = llama_cpp.llama_model_quantize(str(f16).encode(), str(out_file).encode(), params)
    if rc != 0:
        raise ExportError(f"llama_model_quantize failed with {rc}")
    if not keep_f16:
        f16.unlink(missing_ok=True)
    return out_file


def base_from_config(adapter_dir: Path) -> Path:
    """The base GGUF an adapter was trained on: the recorded path, else the installed planner model.

    An adapter trained on another machine (a GPU box) records that machine's path;
    the installed model stands in only when its sha256 is the recorded one.
    """
    from tinyagent_ros.encoder import file_sha256
    from tinyagent_ros.training.lora import CONFIG_FILE, default_base_gguf

    cfg = adapter_dir / CONFIG_FILE
    record = json.loads(cfg.read_text()).get("base", {}) if cfg.is_file() else {}
    path = record.get("path")
    if path and Path(path).is_file():
        return Path(path)
    installed = default_base_gguf()
    want = record.get("sha256")
    if want and installed.is_file() and file_sha256(installed) != want:
        raise ExportError(f"the adapter was trained on {path} (sha256 {want[:12]}...), which is "
                          f"not here, and the installed planner model {installed} differs")
    return installed
