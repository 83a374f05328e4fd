"""unet.py — the classic U-Net (Ronneberger, Fischer and Brox, 2015) with
BatchNorm and padded 3x3 convolutions: dlmem's `unet` model (src/models/unet.c)
in PyTorch, module for module (the same parameter names, shapes and order).

Levels i = 0..depth-1 at base * 2**i channels: two 3x3 conv (no bias) +
BatchNorm + ReLU(inplace), then a 2x2 max-pool; a bottleneck double conv at
base * 2**depth; back up, a 2x2 stride-2 transposed conv halving the channels
(upsample=0; or 1: nn.Upsample(scale_factor=2, mode="nearest") and a 1x1 conv
halving them, 2: the same with mode="bilinear", align_corners=False),
torch.cat([skip, up], 1) and a double conv; a 1x1 conv to the classes.
tools/torch_reference.py builds it as `unet` (knobs as dlmem's --set has them).
"""
import torch
import torch.nn as nn


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, cin, cout, upsample=0):
        super().__init__()
        if upsample == 0:
            self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        else:
            mode = "nearest" if upsample == 1 else "bilinear"
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode=mode,
                            **({} if upsample == 1 else {"align_corners": False})),
                nn.Conv2d(cin, cout, 1))
        self.conv = DoubleConv(2 * cout, cout)

    def forward(self, x, skip):
        x = self.up(x)
        x = torch.cat([skip, x], 1)
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, in_channels=3, classes=2, base=64, depth=4, upsample=0):
        super().__init__()
        self.downs = nn.ModuleList(
            DoubleConv(in_channels if i == 0 else base << (i - 1), base << i) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(base << (depth - 1), base << depth)
        self.ups = nn.ModuleList(
            Up(base << (depth - i), base << (depth - 1 - i), upsample) for i in range(depth))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, skip in zip(self.ups, reversed(skips)):
            x = up(x, skip)
        return self.head(x)
