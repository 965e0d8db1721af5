"""Merge a GGUF LoRA adapter into its GGUF base model with numpy and ``gguf``: no torch.

llama.cpp runs an adapter as extra matrix products beside every weight it
touches, and cannot use its repacked CPU kernels for those weights; a merged
model runs like a plain one (docs/planner.md: the same plans, faster). Each
touched weight is dequantised, ``(alpha / r) * B @ A`` is added, and the sum is
stored as Q8_0, whose rounding error is far below that of the base's 4-6 bit
quantisation. Every other tensor and all metadata are copied byte for byte.

The merged file lives in the model cache with a manifest naming the sha256 of
the base and the adapter it was made from; :func:`merged_model` finds it only
for that exact pair, and only while the file is the one written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyagent_ros.encoder import file_sha256

#: How merged weights are stored.
MERGED_TYPE_NAME = "Q8_0"
MANIFEST_SUFFIX = ".json"
_LORA_A, _LORA_B = ".lora_a", ".lora_b"


class MergeError(RuntimeError):
    """The adapter does not fit the base, or a file cannot be read or written; one line."""


@dataclass
class MergeReport:
    """What a merge did (also the manifest beside the merged file)."""

    base: str
    base_sha256: str
    adapter: str
    adapter_sha256: str
    out: str
    out_sha256: str
    size: int
    mtime_ns: int
    merged_tensors: int
    copied_tensors: int
    rank: int
    alpha: float
    seconds: float


def read_gguf(path: Path) -> Any:
    """A GGUF file opened for reading; a one-line error when it is not one."""
    from gguf import GGUFReader

    try:
        return GGUFReader(str(path))
    except (OSError, ValueError) as err:
        raise MergeError(f"{path}: not a readable GGUF file ({err})") from None


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def lora_pairs(adapter: Any, path: Path) -> tuple[dict[str, tuple[Any, Any]], float]:
    """Base tensor name -> (lora_a, lora_b) tensors of a GGUF LoRA adapter, and its alpha."""
    if _field(adapter, "general.type") != "adapter" or _field(adapter, "adapter.type") != "lora":
        raise MergeError(f"{path}: not a GGUF LoRA adapter (general.type / adapter.type)")
    alpha = _field(adapter, "adapter.lora.alpha")
    if alpha is None:
        raise MergeError(f"{path}: no adapter.lora.alpha")
    parts: dict[str, dict[str, Any]] = {}
    for t in adapter.tensors:
        for suffix in (_LORA_A, _LORA_B):
            if t.name.endswith(suffix):
                parts.setdefault(t.name.removesuffix(suffix), {})[suffix] = t
                break
        else:
            raise MergeError(f"{path}: unexpected tensor {t.name}")
    pairs = {}
    for name, ab in parts.items():
        if set(ab) != {_LORA_A, _LORA_B}:
            raise MergeError(f"{path}: {name} lacks its lora_a or lora_b")
        pairs[name] = (ab[_LORA_A], ab[_LORA_B])
    if not pairs:
        raise MergeError(f"{path}: the adapter has no tensors")
    return pairs, float(alpha)


def _as_float(tensor: Any) -> np.ndarray:
    """A tensor's values as a float32 copy in numpy order (rows = GGUF's second dimension)."""
    from gguf import quants

    return np.array(quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)


def _merged(weight: Any, a: Any, b: Any, alpha: float) -> tuple[np.ndarray, int]:
    w = _as_float(weight)
    la, lb = _as_float(a), _as_float(b)
    rank = la.shape[0]
    if lb.shape[1] != rank or w.shape != (lb.shape[0], la.shape[1]):
        raise MergeError(f"{weight.name}: shape {w.shape} does not fit lora_b {lb.shape} "
                         f"@ lora_a {la.shape}")
    w += (alpha / rank if alpha else 1.0) * (lb @ la)  # llama.cpp's scale
    return w, rank


def _copy_metadata(base: Any, writer: Any) -> None:
    from gguf import GGUFValueType

    for key, field in base.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # the writer writes these itself
        if key == "general.alignment":
            writer.add_custom_alignment(int(field.contents()))
            continue
        vtype = GGUFValueType(field.types[0])
        sub = GGUFValueType(field.types[-1]) if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)


def _progress(items: list[Any], desc: str, progress: bool) -> Iterator[Any]:
    if not progress:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, unit="tensor", dynamic_ncols=True)


def merge_lora(base_path: str | os.PathLike[str], adapter_path: str | os.PathLike[str],
               out_path: str | os.PathLike[str], *, progress: bool = True,
               base_sha256: str | None = None) -> MergeReport:
    """Write ``out_path``: the base with the adapter merged in (touched weights as Q8_0).

    Writes the manifest (:class:`MergeReport`) beside it. ``base_sha256``: the
    base the adapter was trained on; another base is refused before any work.
    Raises :class:`MergeError`.
    """
    from gguf import GGMLQuantizationType, GGUFWriter, quants

    base_p, adapter_p, out = Path(base_path), Path(adapter_path), Path(out_path)
    start = time.monotonic()
    base_sha = file_sha256(base_p)
    if base_sha256 is not None and base_sha != base_sha256:
        raise MergeError(f"{base_p} is not the model the adapter was trained for "
                         f"(sha256 {base_sha[:12]}..., expected {base_sha256[:12]}...)")
    base, adapter = read_gguf(base_p), read_gguf(adapter_p)
    pairs, alpha = lora_pairs(adapter, adapter_p)
    names = {t.name for t in base.tensors}
    missing = sorted(set(pairs) - names)
    if missing:
        raise MergeError(f"{adapter_p}: adapts {missing[0]}, which the base "
                         f"{base_p.name} does not have ({len(missing)} such tensors)")
    arch = _field(base, "general.architecture")
    if arch != _field(adapter, "general.architecture"):
        raise MergeError(f"{adapter_p}: made for {_field(adapter, 'general.architecture')}, "
                         f"the base is {arch}")
    q8 = GGMLQuantizationType[MERGED_TYPE_NAME]
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.*.tmp"):  # left by a merge that was killed
        stale.unlink(missing_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = GGUFWriter(str(tmp), arch)
    rank = 0
    try:
        _copy_metadata(base, writer)
        for t in _progress(list(base.tensors), "merge", progress):
            if t.name in pairs:
                w, rank = _merged(t, *pairs[t.name], alpha)
                writer.add_tensor(t.name, quants.quantize(w, q8), raw_dtype=q8)
            else:
                writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    except OSError as err:
        raise MergeError(f"cannot write {out}: {err.strerror or err}") from None
    except (ValueError, NotImplementedError, UnicodeDecodeError) as err:
        raise MergeError(f"cannot merge {adapter_p.name} into {base_p.name}: {err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    st = out.stat()
    report = MergeReport(
        base=str(base_p), base_sha256=base_sha, adapter=str(adapter_p),
        adapter_sha256=file_sha256(adapter_p), out=str(out), out_sha256=file_sha256(out),
        size=st.st_size, mtime_ns=st.st_mtime_ns, merged_tensors=len(pairs),
        copied_tensors=len(names) - len(pairs), rank=rank, alpha=alpha,
        seconds=round(time.monotonic() - start, 1))
    manifest_of(out).write_text(json.dumps(asdict(report), indent=1) + "\n", encoding="utf-8")
    return report


def manifest_of(merged: Path) -> Path:
    """The manifest beside a merged model."""
    return merged.with_name(merged.name + MANIFEST_SUFFIX)


def merged_model(path: Path, base_sha256: str, adapter_sha256: str) -> Path | None:
    """``path`` when it is a merge of exactly this base and adapter, untouched since; else None.

    The manifest's size and mtime stand in for rehashing the file at every start
    (``merge_lora`` hashed it when it wrote it).
    """
    try:
        report = json.loads(manifest_of(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return None
    ok = (report.get("base_sha256") == base_sha256
          and report.get("adapter_sha256") == adapter_sha256
          and report.get("size") == st.st_size and report.get("mtime_ns") == st.st_mtime_ns)
    return path if ok else None
