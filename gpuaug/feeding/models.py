"""Models for the feeding check: a small ResNet-style network, or a torchvision one by name."""

from __future__ import annotations

from torch import nn

__all__ = ["ResNet50", "SmallResNet", "build_model"]


class _Block(nn.Module):
    """ResNet basic block: two 3x3 convs with batch norm, projection shortcut where the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.short is None else self.short(x)))


class SmallResNet(nn.Module):
    """A ResNet-style classifier: stride-4 stem, ``len(widths)`` stages of basic blocks, global pool, linear.

    ``SmallResNet(num_classes, widths=(32, 64, 128, 256), depth=1)``: ``depth`` blocks per stage, each stage
    after the first halves the resolution. Input ``(B, 3, H, W)`` float, any ``H, W >= 16``.
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = (32, 64, 128, 256), depth: int = 1,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
        )
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(depth):
                blocks.append(_Block(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((2, 3)))


class _Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv, as torchvision's)."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + (x if self.short is None else self.short(x)))


class ResNet50(nn.Module):
    """ResNet-50 (v1.5, the architecture of ``torchvision.models.resnet50``: 3-4-6-3 bottlenecks,
    25,557,032 parameters at 1000 classes), so the feeding check times the standard model without
    torchvision."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
            for j in range(n):
                blocks.append(_Bottleneck(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width * 4
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


def build_model(name: str, num_classes: int) -> nn.Module:
    """``"small"`` (ResNet-style, ~1.2M parameters), ``"tiny"`` (slow CPUs), ``"resnet50"`` (built in, the
    torchvision architecture) or any other ``torchvision.models`` name (needs torchvision)."""
    if name == "small":
        return SmallResNet(num_classes)
    if name == "tiny":
        return SmallResNet(num_classes, widths=(16, 32, 64), depth=1)
    if name == "resnet50":
        return ResNet50(num_classes)
    try:
        import torchvision.models as tvm
    except ImportError:
        raise ValueError(f"model {name!r} needs torchvision (pip install torchvision); "
                         "built in: 'small', 'tiny'") from None
    fn = getattr(tvm, name, None)
    if fn is None:
        raise ValueError(f"unknown model {name!r}: not 'small', 'tiny' or a torchvision.models name")
    return fn(num_classes=num_classes)
