#!/usr/bin/env python3
"""PyTorch end to end, for bench/epoch.ts's last columns: each paper row (bench/torch/models.py) trained
for whole epochs on synthetic images of its shape (random uint8 pixels, 10 classes) as PyTorch users
train: a Dataset that scales one image to [0, 1] and applies the paper's augmentation with torchvision
(RandomHorizontalFlip(0.5), then ColorJitter(brightness=0.5, hue=0.25), as `mixture run` does),
DataLoader(batch, shuffle=True, num_workers=<cores>, pin_memory=True, persistent_workers=True),
Adam(lr, eps=1e-8, weight_decay=1e-4), cross-entropy; after every epoch the test split without
augmentation, under no_grad. fp32, TF32 off. Per epoch: training seconds (waiting for the loader
included) and evaluation seconds, each closed by torch.cuda.synchronize(); compare the last epoch.

    python3 bench/gpu/torch_epoch.py --rows resnet18,perceiver --train 50000 --test 10000 \
        --train96 5000 --test96 8000 --epochs 2 --out torch-epoch.json
    python3 bench/gpu/torch_epoch.py --device cpu --rows resnet18 --train 64 --test 16 --batch 8   # without a GPU
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_row(M, torch, name: str, args) -> dict:
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    row = M.ROWS[name]
    device = args.device
    big = row.image >= 96
    n_train = args.train96 if big and args.train96 is not None else args.train
    n_test = args.test96 if big and args.test96 is not None else args.test
    batch = args.batch or row.batch
    gen = torch.Generator().manual_seed(0)
    # uint8 NHWC like the project's splits; scaled and augmented per image in the loader's workers.
    x_train = torch.randint(0, 256, (n_train, row.image, row.image, 3), dtype=torch.uint8, generator=gen)
    y_train = torch.randint(0, 10, (n_train,), generator=gen)
    x_test = torch.randint(0, 256, (n_test, row.image, row.image, 3), dtype=torch.uint8, generator=gen)
    y_test = torch.randint(0, 10, (n_test,), generator=gen)
    augment = T.Compose([T.RandomHorizontalFlip(0.5), T.ColorJitter(brightness=0.5, hue=0.25)])

    class Images(Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.transform = x, y, transform

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            img = self.x[i].permute(2, 0, 1).float().div(255)
            return (self.transform(img) if self.transform else img), self.y[i]

    workers = args.num_workers if args.num_workers is not None else (os.cpu_count() or 1)
    pin = device.startswith('cuda')
    loader_opts = dict(num_workers=workers, pin_memory=pin, persistent_workers=workers > 0)
    train_loader = DataLoader(Images(x_train, y_train, augment), batch_size=batch, shuffle=True, **loader_opts)
    test_loader = DataLoader(Images(x_test, y_test, None), batch_size=batch, shuffle=False, **loader_opts)

    torch.manual_seed(0)
    model = M.build(name, 10).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=row.lr, eps=1e-8, weight_decay=1e-4)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        sync()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        for xb, yb in train_loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(yb)
        sync()
        train_s = time.perf_counter() - t0
        model.eval()
        t1 = time.perf_counter()
        correct = torch.zeros((), device=device)
        with torch.no_grad():
            for xb, yb in test_loader:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                correct += (model(xb).argmax(1) == yb).sum()
        sync()
        eval_s = time.perf_counter() - t1
        epochs.append({'epoch': epoch, 'train_seconds': round(train_s, 3), 'eval_seconds': round(eval_s, 3),
                       'train_loss': float(loss_sum) / n_train, 'test_accuracy': float(correct) / n_test})
        log(f'  epoch {epoch}: {train_s:.2f} s train + {eval_s:.2f} s eval')
    res = {'row': name, 'batch': batch, 'image': row.image, 'train_images': n_train, 'test_images': n_test,
           'num_workers': workers, 'pin_memory': pin, 'train_seconds': epochs[-1]['train_seconds'],
           'eval_seconds': epochs[-1]['eval_seconds'], 'epochs': epochs}
    del model, opt, train_loader, test_loader
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rows', default='resnet18,perceiver')
    ap.add_argument('--train', type=int, default=50000, help='training images of the 32x32 rows')
    ap.add_argument('--test', type=int, default=10000, help='test images of the 32x32 rows')
    ap.add_argument('--train96', type=int, help='training images of the 96x96 rows (default: --train)')
    ap.add_argument('--test96', type=int, help='test images of the 96x96 rows (default: --test)')
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--batch', type=int, default=0, help='batch size for every row (default: the paper\'s)')
    ap.add_argument('--num-workers', type=int, help='DataLoader workers (default: every core)')
    ap.add_argument('--budget', type=float, default=600, help='seconds; later rows are skipped past it')
    ap.add_argument('--out', help='write the JSON result here (else stdout)')
    ap.add_argument('--device', default='cuda', help='cuda, or cpu to try this script without a GPU')
    args = ap.parse_args()

    sys.path.insert(0, HERE)
    from torch_gpu import run_rows
    return run_rows(args, lambda M, torch, name: run_row(M, torch, name, args), extra={'cores': os.cpu_count()})


if __name__ == '__main__':
    sys.exit(main())
