"""Times one attack step's model work (forward + input gradient of the cross-entropy) of torchvision's
r3d_18 in PyTorch on CPU, for bench/r3d-vs-pytorch.ts. Prints JSON: median seconds per thread count."""
import json, statistics, sys, time
import torch, torchvision

frames, size, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
model = torchvision.models.video.r3d_18(num_classes=101).eval()
out = {"torch": torch.__version__}
for threads in (1, 2):
    torch.set_num_threads(threads)
    times = []
    for r in range(reps + 1):
        x = torch.rand(1, 3, frames, size, size, requires_grad=True)
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0]))
        loss.backward()
        if r > 0:
            times.append(time.perf_counter() - t0)
    out[f"threads{threads}"] = {"median": statistics.median(times), "min": min(times), "max": max(times)}
print(json.dumps(out))
