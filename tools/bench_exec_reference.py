"""The Python side of tools/bench_exec.sh: the protocol resist runs, written as a careful PyTorch
user would write it on the same LibTorch (Debian's python3-torch), to measure resist's executor
against. Not part of resist; it reads the plan `resist plan --format json` wrote and the network
`resist model ARCH --format json` wrote, so both sides train the same (sub)networks round by round.

    python3 tools/bench_exec_reference.py --plan P.json --network N.json --workers 2 --threads 1 \
        --data /usr/share/datasets/fashion-mnist --out result.json [--device cpu|cuda]

Per worker and round: l local iterations on its sub-network (the blocks the plan assigns it), SGD
with momentum and weight decay (one optimizer for the run: blocks a worker does not hold this round
get no gradient and keep their momentum), `zero_grad(set_to_none=True)`, the loss accumulated on the
device and read once per round; then the blocks are averaged over the workers that trained them
(one all-reduce over Gloo: what resist moves peer to peer, the reference moves in one collective,
which is not what is compared). Worker 0 evaluates the final model on the first 2,000 test samples
with the plan's test-time scale. Writes images/s per worker of training-step time (the clock runs
around the local iterations only), the accuracy and the mean final-round loss.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resist_pytorch import PreActBlock  # noqa: E402  (the same block definition resist's checkpoints load into)


class SubNetResNet(nn.Module):
    """A pre-activation ResNet whose forward runs only the blocks it is given."""

    def __init__(self, blocks):
        super().__init__()
        self.ids = [b["id"] for b in blocks]
        self.partitionable = {b["id"]: b["partitionable"] for b in blocks}
        mods = {}
        for b in blocks:
            key = b["id"].replace(".", "_")
            if b["kind"] == "stem_3x3":
                mods[key] = nn.Conv2d(b["in_channels"], b["out_channels"], 3, 1, 1, bias=False)
            elif b["kind"] in ("preact_basic", "preact_bottleneck"):
                mods[key] = PreActBlock(b["kind"], b["in_channels"], b["out_channels"], b["stride"], b["projection"])
            elif b["kind"] == "head_preact":
                mods[key] = nn.ModuleDict({"bn": nn.BatchNorm2d(b["in_channels"]),
                                           "fc": nn.Linear(b["in_channels"], b["out_channels"])})
            else:
                raise SystemExit(f"bench_exec_reference: block {b['id']} is {b['kind']}; the reference trains ResNets")
        self.blocks = nn.ModuleDict(mods)
        self.keys = {i: i.replace(".", "_") for i in self.ids}

    def forward(self, x, active, scale=1.0):
        for i in self.ids:
            if i not in active:
                continue
            m = self.blocks[self.keys[i]]
            if isinstance(m, nn.ModuleDict):
                x = m["fc"](F.adaptive_avg_pool2d(F.relu(m["bn"](x)), 1).flatten(1))
            elif isinstance(m, PreActBlock):
                m.scale = scale if self.partitionable[i] else 1.0
                x = m(x)
            else:
                x = m(x)
        return x

    def block_state(self, block_id):
        m = self.blocks[self.keys[block_id]]
        return [t for t in list(m.parameters()) + list(m.buffers()) if t.is_floating_point()]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(folder, split):
    images = read_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz")).unsqueeze(1)
    labels = read_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz")).long()
    return images, labels


def worker(a, rank):
    torch.set_num_threads(a.threads)
    plan = json.load(open(a.plan))
    network = json.load(open(a.network))
    sc = plan["scenario"]
    device = torch.device(a.device)
    torch.manual_seed(sc["strategy"]["seed"])
    model = SubNetResNet(network["blocks"]).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    tr = sc["training"]
    opt = torch.optim.SGD(model.parameters(), lr=tr["learning_rate"], momentum=tr["momentum"],
                          weight_decay=tr["weight_decay"])
    images, labels = load(a.data, "train")
    images, labels = images[rank::a.workers].to(device), labels[rank::a.workers].to(device)  # a small set lives on the device
    gen = torch.Generator().manual_seed(sc["strategy"]["seed"] * 7919 + rank)
    order, cursor = torch.randperm(len(labels), generator=gen).to(device), 0
    batch = plan["batch_size"]
    world = a.workers
    if world > 1:
        # use_libuv=0: PyTorch >= 2.4 asks for a libuv TCPStore by default, which Debian 13's 2.6 is
        # built without ("use_libuv was requested but PyTorch was build without libuv support");
        # 1.13 ignores the parameter.
        url = f"tcp://127.0.0.1:{a.port}?use_libuv=0"
        dist.init_process_group("gloo", init_method=url, rank=rank, world_size=world)
    step_s, trained, loss = 0.0, 0, 0.0
    for r in plan["rounds"]:
        active = set(r["assignments"][rank]["blocks"])
        iterations = next(op["iterations"] for op in r["ops"] if op["kind"] == "compute" and op.get("worker") == rank)
        model.train()
        loss_sum = torch.zeros((), device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iterations):
            if cursor + batch > len(order):
                order, cursor = torch.randperm(len(labels), generator=gen).to(device), 0
            idx = order[cursor:cursor + batch]
            cursor += batch
            x = images.index_select(0, idx).float().div_(127.5).sub_(1.0)
            if a.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = labels.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            out = F.cross_entropy(model(x, active), y)
            out.backward()
            opt.step()
            loss_sum += out.detach()
        loss = loss_sum.item() / iterations  # the one host read of the round
        step_s += time.perf_counter() - t0
        trained += iterations * batch
        if world > 1:
            with torch.no_grad():
                holders = {}
                for w in r["assignments"]:
                    for b in w["blocks"]:
                        holders[b] = holders.get(b, 0) + 1
                for b in network["blocks"]:
                    tensors = model.block_state(b["id"])
                    if not tensors:
                        continue
                    mine = b["id"] in active
                    flat = torch.cat([t.reshape(-1) for t in tensors]) * (1.0 if mine else 0.0)
                    dist.all_reduce(flat)
                    flat /= holders.get(b["id"], world)
                    at = 0
                    for t in tensors:
                        t.copy_(flat[at:at + t.numel()].view_as(t))
                        at += t.numel()
    result = {"rank": rank, "images_per_s": trained / step_s, "step_s": step_s, "images": trained, "loss": loss}
    if rank == 0:
        test_x, test_y = load(a.data, "t10k")
        model.eval()
        correct = 0
        with torch.no_grad():
            for at in range(0, 2000, 250):
                x = test_x[at:at + 250].to(device).float().div_(127.5).sub_(1.0)
                pred = model(x, set(model.ids), plan["test_scale"]).argmax(1)
                correct += int((pred == test_y[at:at + 250].to(device)).sum())
        result["accuracy"] = correct / 2000
    if world > 1:
        dist.destroy_process_group()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", required=True)
    p.add_argument("--network", required=True)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--port", type=int, default=29611)
    p.add_argument("--rank", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.rank is not None:
        json.dump(worker(a, a.rank), open(a.out, "w"))
        return
    # One process per worker, as resist runs them.
    procs = [subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--rank", str(r), "--out", f"{a.out}.{r}"])
             for r in range(a.workers)]
    if any(proc.wait() != 0 for proc in procs):
        raise SystemExit("bench_exec_reference: a worker failed")
    results = [json.load(open(f"{a.out}.{r}")) for r in range(a.workers)]
    for r in range(a.workers):
        os.remove(f"{a.out}.{r}")
    json.dump({"workers": results, "images_per_s": sum(x["images_per_s"] for x in results) / len(results),
               "accuracy": results[0]["accuracy"]}, open(a.out, "w"))


if __name__ == "__main__":
    main()
