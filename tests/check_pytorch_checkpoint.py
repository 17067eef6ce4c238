"""Loads a resist checkpoint folder with PyTorch as a user would, and checks it (used by
test_pytorch_checkpoint). Prints one line per check; exits non-zero on the first failure.

    python3 check_pytorch_checkpoint.py CHECKPOINT_DIR SOURCE_ROOT
"""
import gzip
import json
import os
import sys

import torch

directory, source_root = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(source_root, "tools"))
import resist_pytorch  # noqa: E402

path = os.path.join(directory, "model.pt")
# PyTorch 2.6 and later load with weights_only=True by default; 1.13 has the flag, off by default.
plain = torch.load(path, weights_only=True)
default = torch.load(path)
assert type(plain) is dict, type(plain)
assert all(isinstance(v, torch.Tensor) for v in plain.values())
assert list(plain) == list(default) and all(torch.equal(plain[k], default[k]) for k in plain)
print("loaded", len(plain), "tensors with weights_only=True and with the defaults of torch", torch.__version__)

manifest = json.load(open(os.path.join(directory, "checkpoint.json")))
model = resist_pytorch.build(manifest["network"], manifest["eval_scale"])
expected = model.state_dict()
missing = sorted(set(expected) - set(plain))
unexpected = sorted(set(plain) - set(expected))
assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"
for name, tensor in expected.items():
    assert plain[name].shape == tensor.shape, f"{name}: {tuple(plain[name].shape)} vs {tuple(tensor.shape)}"
    assert plain[name].dtype == tensor.dtype, f"{name}: {plain[name].dtype} vs {tensor.dtype}"
print("names, shapes and types equal those of the PyTorch model")

model = resist_pytorch.from_checkpoint(directory)
model.eval()
if manifest["scenario"]["data"]["dataset"] == "fashion_mnist":
    folder = manifest["scenario"]["data"].get("path") or "/usr/share/datasets/fashion-mnist"
    images = gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")).read()[16:]
    labels = gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")).read()[8:]
    n = 2000
    x = torch.frombuffer(bytearray(images[: n * 784]), dtype=torch.uint8).view(n, 1, 28, 28)
    y = torch.frombuffer(bytearray(labels[:n]), dtype=torch.uint8).long()
    right = 0
    with torch.no_grad():
        for at in range(0, n, 250):
            batch = x[at : at + 250].float().div(127.5).sub(1.0)
            right += int(model(batch).argmax(1).eq(y[at : at + 250]).sum())
    print(f"accuracy {right / n:.6f} scale {manifest['eval_scale']:.6f}")
