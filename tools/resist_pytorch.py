"""resist's networks in PyTorch, to use the global model a `resist run --checkpoint-dir D` wrote.

    import torch, resist_pytorch
    model = resist_pytorch.from_checkpoint("D")   # builds the network, loads D/model.pt
    model.eval()
    logits = model(images)                         # pixels scaled to [-1, 1], as resist trains

D/model.pt alone is a plain dict of tensors: torch.load("D/model.pt") reads it with PyTorch's
defaults (weights_only), keyed as this module's models name their tensors (conv1.weight,
layer3.5.conv1.weight, bn.weight, fc.weight; fc1.weight, bn1.running_mean, out.bias for the mlp).
D/checkpoint.json says which network it is ("network": its blocks) and the scale of the
partitioned blocks' residual branches for evaluation ("eval_scale": ResIST's test-time scale).
"""
import json
import os

import torch
import torch.nn.functional as F
from torch import nn


class PreActBlock(nn.Module):
    """Pre-activation residual block, basic or bottleneck; `scale` multiplies the residual branch."""

    def __init__(self, kind, in_channels, out_channels, stride, projection, scale=1.0):
        super().__init__()
        self.bottleneck = kind == "preact_bottleneck"
        self.scale = scale
        planes = out_channels // 4 if self.bottleneck else out_channels
        self.bn1 = nn.BatchNorm2d(in_channels)
        if self.bottleneck:
            self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False) if projection else None

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        skip = self.shortcut(pre) if self.shortcut is not None else x
        y = self.conv2(F.relu(self.bn2(self.conv1(pre))))
        if self.bottleneck:
            y = self.conv3(F.relu(self.bn3(y)))
        return skip + self.scale * y


class PreActResNet(nn.Module):
    """3x3 stem (conv1), stages layer1..layer4 of pre-activation blocks, BatchNorm-ReLU, pooling, fc."""

    def __init__(self, blocks, eval_scale=1.0):
        super().__init__()
        stages = {}
        for b in blocks:
            if b["kind"] == "stem_3x3":
                self.conv1 = nn.Conv2d(b["in_channels"], b["out_channels"], 3, 1, 1, bias=False)
            elif b["kind"] in ("preact_basic", "preact_bottleneck"):
                scale = eval_scale if b["partitionable"] else 1.0
                stage, _ = b["id"].split(".")
                stages.setdefault(stage, []).append(PreActBlock(
                    b["kind"], b["in_channels"], b["out_channels"], b["stride"], b["projection"], scale))
            elif b["kind"] == "head_preact":
                self.bn = nn.BatchNorm2d(b["in_channels"])
                self.fc = nn.Linear(b["in_channels"], b["out_channels"])
            else:
                raise ValueError(f"block {b['id']}: resist trains no {b['kind']} block")
        for name, members in stages.items():
            setattr(self, name, nn.Sequential(*members))
        self.stages = list(stages)

    def forward(self, x):
        x = self.conv1(x)
        for name in self.stages:
            x = getattr(self, name)(x)
        x = F.adaptive_avg_pool2d(F.relu(self.bn(x)), 1).flatten(1)
        return self.fc(x)


class MLP(nn.Module):
    """IST's fully connected net: fc<k> (Linear), bn<k> (BatchNorm1d), ReLU per hidden layer; out."""

    def __init__(self, blocks):
        super().__init__()
        self.hidden = []
        for b in blocks:
            if b["kind"] == "hidden":
                k = b["id"][2:]
                setattr(self, "fc" + k, nn.Linear(b["in_channels"], b["out_channels"]))
                setattr(self, "bn" + k, nn.BatchNorm1d(b["out_channels"]))
                self.hidden.append(k)
            elif b["kind"] == "output":
                self.out = nn.Linear(b["in_channels"], b["out_channels"])
            else:
                raise ValueError(f"block {b['id']}: an mlp has no {b['kind']} block")

    def forward(self, x):
        x = x.flatten(1)
        for k in self.hidden:
            x = F.relu(getattr(self, "bn" + k)(getattr(self, "fc" + k)(x)))
        return self.out(x)


def build(network, eval_scale=1.0):
    """The PyTorch model of a network description (checkpoint.json's "network", or
    `resist model ARCH --format json`), untrained."""
    blocks = network["blocks"]
    if any(b["kind"] == "hidden" for b in blocks):
        return MLP(blocks)
    return PreActResNet(blocks, eval_scale)


def from_checkpoint(directory, map_location="cpu"):
    """The global model of a resist checkpoint folder, its tensors loaded (strictly)."""
    with open(os.path.join(directory, "checkpoint.json")) as f:
        manifest = json.load(f)
    model = build(manifest["network"], manifest.get("eval_scale", 1.0))
    state = torch.load(os.path.join(directory, manifest["model"]), map_location=map_location, weights_only=True)
    model.load_state_dict(state)
    return model
