"""Times one Mult-L∞ attack step (forward, input gradient of the cross-entropy, x' = clip(x' · 1.01^sign(g),
x/1.04, 1.04·x) clipped to [0, 1]) of a 3D ResNet-18 in PyTorch on CPU, for bench/r3d-vs-pytorch.ts. Widths 64,128,256,512 is torchvision's r3d_18 itself;
other widths build the same architecture (torchvision layout) at those widths, as multav's r3d18 does.
Prints JSON: median seconds per thread count.

Run: python3 bench/fixtures_r3d18_torch.py FRAMES SIZE REPS [WIDTHS CLASSES BATCH]"""
import json, math, statistics, sys, time
import torch, torchvision
from torch import nn

frames, size, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
widths = [int(w) for w in (sys.argv[4] if len(sys.argv) > 4 else "64,128,256,512").split(",")]
classes = int(sys.argv[5]) if len(sys.argv) > 5 else 101
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 1


class Block(nn.Module):
    """torchvision's BasicBlock with Conv3DSimple: two 3x3x3 convs, BN, ReLU, a 1x1x1 projection when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv3d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm3d(cout))
        self.downsample = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv2(self.conv1(x)) + skip)


def r3d18(widths, classes):
    if widths == [64, 128, 256, 512]:
        return torchvision.models.video.r3d_18(num_classes=classes)
    stem = nn.Sequential(nn.Conv3d(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True))
    layers, cin = [], widths[0]
    for i, w in enumerate(widths):
        layers += [Block(cin, w, 1 if i == 0 else 2), Block(w, w, 1)]
        cin = w
    return nn.Sequential(stem, *layers, nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(cin, classes))


model = r3d18(widths, classes).eval()
out = {"torch": torch.__version__, "widths": widths, "batch": batch}
for threads in (1, 2):
    torch.set_num_threads(threads)
    times = []
    clean = torch.rand(batch, 3, frames, size, size) * 0.95 + 0.05
    labels = torch.zeros(batch, dtype=torch.long)
    adv = clean.clone()
    for r in range(reps + 1):
        t0 = time.perf_counter()
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(adv), labels)
        (g,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            stepped = adv * torch.exp(torch.sign(g) * math.log(1.01))
            adv = torch.minimum(torch.maximum(stepped, clean / 1.04), clean * 1.04).clamp(0, 1)
        loss.item()
        if r > 0:
            times.append(time.perf_counter() - t0)
    out[f"threads{threads}"] = {"median": statistics.median(times), "min": min(times), "max": max(times)}
print(json.dumps(out))
