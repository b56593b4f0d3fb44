#!/usr/bin/env python3
"""Export a PyTorch video model's weights as a .safetensors file that multav loads.

Needs only PyTorch and torchvision (Debian's python3-torch / python3-torchvision are enough): the
safetensors format is written here directly, so the `safetensors` package is not needed.

Usage:
    python3 python/export_safetensors.py --arch r3d_18 [--weights ckpt.pth] [--classes K] --out model.safetensors

  --arch      the torchvision architecture the checkpoint belongs to (r3d_18: multav's r3d18,
              torchvision layout)
  --weights   a checkpoint saved with torch.save: a state dict, or a dict holding one under
              "state_dict" or "model" ("module." prefixes from DataParallel are removed). Without it
              the model keeps torchvision's random initialisation (seeded by --seed)
  --classes   the number of classes (default: read from the checkpoint's fc.weight, else 400)
  --out       the .safetensors file to write

Then, in multav: `multav import model.safetensors --arch r3d18 --clip 16x112x112 --mean … --std …
--classes labels.txt --out DIR`, or `models.loadSafetensors(file, { layout: 'torchvision', classes })`.

As a library: `from export_safetensors import save_safetensors; save_safetensors(model.state_dict(), path)`.

The format (https://github.com/huggingface/safetensors): 8 bytes, the little-endian unsigned length n
of the header; n bytes of UTF-8 JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]},
"__metadata__": {...}}` (padded with spaces to a multiple of 8 bytes); then the tensors' raw bytes,
row-major and little-endian, at the offsets given (relative to the end of the header).
"""
import argparse
import json
import os
import struct
import sys

import torch

# torch dtype -> (safetensors dtype, bytes per element)
DTYPES = {
    torch.float64: ("F64", 8),
    torch.float32: ("F32", 4),
    torch.float16: ("F16", 2),
    torch.bfloat16: ("BF16", 2),
    torch.int64: ("I64", 8),
    torch.int32: ("I32", 4),
    torch.int16: ("I16", 2),
    torch.int8: ("I8", 1),
    torch.uint8: ("U8", 1),
    torch.bool: ("BOOL", 1),
}

# same-width integer types whose bytes a tensor is viewed as (numpy has no bfloat16)
AS_INTEGER = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def tensor_bytes(t):
    """A tensor's values as row-major little-endian bytes."""
    t = t.detach().cpu().contiguous()
    width = DTYPES[t.dtype][1]
    raw = t.view(AS_INTEGER[width]) if t.dtype not in (torch.bool, torch.uint8, torch.int8) else t
    array = raw.numpy()
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def save_safetensors(state_dict, path, skip_num_batches_tracked=True, metadata=None):
    """Write `state_dict` (name -> tensor) to `path` in the safetensors format.

    BatchNorm's `num_batches_tracked` counters are left out by default (multav reads float tensors and
    ignores them). The file is written to `path + ".tmp"` first and renamed, so a failed export never
    leaves a half-written file under `path`.
    """
    header = {"__metadata__": {"format": "pt", **(metadata or {})}}
    blobs, offset = [], 0
    for name, value in state_dict.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"tensor name {name!r} cannot be stored")
        if skip_num_batches_tracked and name.endswith("num_batches_tracked"):
            continue
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor, got {type(value).__name__}")
        if value.dtype not in DTYPES:
            raise TypeError(f"{name}: dtype {value.dtype} has no safetensors equivalent here")
        blob = tensor_bytes(value)
        header[name] = {"dtype": DTYPES[value.dtype][0], "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the reference writer does
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


ARCHS = ("r3d_18",)


def state_dict_of(checkpoint):
    """The state dict inside what torch.save wrote (a state dict, or one under "state_dict"/"model")."""
    if isinstance(checkpoint, torch.nn.Module):
        checkpoint = checkpoint.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise SystemExit("export_safetensors: --weights holds no state dict (expected name -> tensor)")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in checkpoint.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description="export a torchvision video model's weights as safetensors for multav")
    p.add_argument("--arch", required=True, choices=ARCHS)
    p.add_argument("--weights", help="a checkpoint saved with torch.save (default: random weights)")
    p.add_argument("--classes", type=int, help="number of classes (default: from the checkpoint, else 400)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights when --weights is not given")
    p.add_argument("--out", required=True, help="the .safetensors file to write")
    a = p.parse_args(argv)
    import torchvision

    weights = None
    if a.weights is not None:
        weights = state_dict_of(torch.load(a.weights, map_location="cpu"))
    classes = a.classes
    if classes is None:
        fc = weights.get("fc.weight") if weights is not None else None
        classes = fc.shape[0] if fc is not None else 400
    if classes < 1:
        raise SystemExit(f"export_safetensors: --classes must be at least 1, got {classes}")
    torch.manual_seed(a.seed)
    model = getattr(torchvision.models.video, a.arch)(num_classes=classes).eval()
    if weights is not None:
        model.load_state_dict(weights)  # strict: a checkpoint of another architecture fails here, by name
    state = {k: v.float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_safetensors(state, a.out, metadata={"arch": a.arch, "classes": str(classes)})
    kept = sum(1 for k in state if not k.endswith("num_batches_tracked"))
    print(f"wrote {a.out}: {a.arch}, {classes} classes, {kept} tensors (float32)", file=sys.stderr)


if __name__ == "__main__":
    main()
