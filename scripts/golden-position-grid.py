"""Golden for SigLIP's position table resized to another patch grid (src/models/vision/position-grid.ts).

Hugging Face's SiglipVisionEmbeddings.interpolate_pos_encoding views the table [g*g, D] as a [1, D, g, g] image and
calls torch.nn.functional.interpolate(size=(n, n), mode="bicubic", align_corners=False); this script does exactly
that call on the position table of each SigLIP fixture in ../shared/fixtures, for a smaller and a larger grid, and
writes test/goldens/position-grid.json. Run with any PyTorch (Debian's python3-torch will do):

    /usr/bin/python3 scripts/golden-position-grid.py [FIXTURES]
"""
import json
import struct
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "fixtures"
# The table's name in the Imp-v1.5 layout, and in imp-v1's phi-msft one.
NAMES = [
    prefix + ".vision_tower.vision_tower.vision_model.embeddings.position_embedding.weight"
    for prefix in ("model", "transformer")
]
DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def read_tensor(folder: Path, names: list) -> torch.Tensor:
    """The first of `names` in a safetensors checkpoint (single file or sharded), as float32."""
    index = folder / "model.safetensors.index.json"
    weight_map = json.loads(index.read_text())["weight_map"] if index.exists() else None
    name = next(n for n in names if weight_map is None or n in weight_map)
    file = folder / (weight_map[name] if weight_map else "model.safetensors")
    raw = file.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    name = next(n for n in names if n in header)
    meta = header[name]
    dtype, _ = DTYPES[meta["dtype"]]
    start, end = meta["data_offsets"]
    data = bytearray(raw[8 + n + start : 8 + n + end])
    return torch.frombuffer(data, dtype=dtype).reshape(meta["shape"]).float()


out = {}
for folder in sorted(FIXTURES.iterdir()):
    config = folder / "config.json"
    if not config.exists() or "vision_tower_config" not in json.loads(config.read_text()):
        continue
    table = read_tensor(folder, NAMES)
    rows, dim = table.shape
    g = int(round(rows**0.5))
    grid = table.reshape(1, g, g, dim).permute(0, 3, 1, 2)
    sizes = {}
    for n in (g - 1, g + 2):
        resized = torch.nn.functional.interpolate(grid, size=(n, n), mode="bicubic", align_corners=False)
        sizes[str(n)] = resized.permute(0, 2, 3, 1).reshape(n * n, dim).flatten().tolist()
    out[folder.name] = {"grid": g, "dim": dim, "torch": torch.__version__, "resized": sizes}

target = ROOT / "test" / "goldens" / "position-grid.json"
target.write_text(json.dumps(out) + "\n")
print(f"wrote {target}: {', '.join(out)}")
