"""PyTorch reference models for the OptLab model zoo (nn/src/main/java/optlab/nn/models).

Each class here is written from the architecture facts in shared/PAPERS.md section 2 and mirrors
the Java model's module names and registration order, so that a Java checkpoint (safetensors) loads
into it with load_state_dict(strict=True) and both produce the same outputs. They are used by:

  param_counts.py          exact parameter counts -> param_counts.txt (read by ModelZooTest)
  check_checkpoint.py      loads a Java-written checkpoint, compares forward outputs (CheckpointPythonTest)

Torchvision is not installed here, so ResNet-50 is written out in torchvision's layout and names
(torchvision.models.resnet50: Bottleneck with the stride on the 3x3 conv, "v1.5").
Initialization is not reproduced (the random streams differ between engines); only structure.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# CIFAR ResNet-(6n+2), Zhuang et al.'s code (option A shortcut, optional batch norm)
# ---------------------------------------------------------------------------------------------
class CifarBasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, bn):
        super().__init__()
        # registration order as the Zhuang code: conv1, conv2, bn1, bn2
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn = bn
        if bn:
            self.bn1 = nn.BatchNorm2d(planes)
            self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or cin != planes) else None

    def forward(self, x):
        out = self.conv1(x)
        if self.bn:
            out = self.bn1(out)
        out = self.conv2(F.relu(out))
        if self.bn:
            out = self.bn2(out)
        if self.pad is None:
            sc = x
        else:
            sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + sc)


class CifarResNet(nn.Module):
    def __init__(self, depth, bn=True, num_classes=10):
        super().__init__()
        assert (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.bn = bn
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        if bn:
            self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(*[CifarBasicBlock(16, 16, 1, bn) for _ in range(n)])
        self.layer2 = nn.Sequential(*[CifarBasicBlock(16 if i == 0 else 32, 32, 2 if i == 0 else 1, bn) for i in range(n)])
        self.layer3 = nn.Sequential(*[CifarBasicBlock(32 if i == 0 else 64, 64, 2 if i == 0 else 1, bn) for i in range(n)])
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = self.conv1(x)
        if self.bn:
            out = self.bn1(out)
        out = self.layer3(self.layer2(self.layer1(F.relu(out))))
        return self.linear(out.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# DenseNet-BC (bottleneck, compression 0.5), Zhuang et al.'s code
# ---------------------------------------------------------------------------------------------
class DenseBottleneck(nn.Module):
    def __init__(self, cin, growth, bn):
        super().__init__()
        # registration order as the Zhuang code: conv1, conv2, bn1, bn2
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)
        self.bn = bn
        if bn:
            self.bn1 = nn.BatchNorm2d(cin)
            self.bn2 = nn.BatchNorm2d(4 * growth)

    def forward(self, x):
        out = self.bn1(x) if self.bn else x
        out = self.conv1(F.relu(out))
        if self.bn:
            out = self.bn2(out)
        out = self.conv2(F.relu(out))
        return torch.cat((x, out), 1)


class DenseTransition(nn.Module):
    def __init__(self, cin, cout, bn):
        super().__init__()
        self.bn = bn
        if bn:
            self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        out = self.bn1(x) if self.bn else x
        return F.avg_pool2d(self.conv1(F.relu(out)), 2)


class DenseNetBC(nn.Module):
    def __init__(self, depth=100, growth=12, bn=True, num_classes=100):
        super().__init__()
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        self.bn_on = bn
        c = 2 * growth
        self.conv1 = nn.Conv2d(3, c, 3, padding=1, bias=False)
        blocks = []
        for b in range(3):
            layers = []
            for _ in range(n):
                layers.append(DenseBottleneck(c, growth, bn))
                c += growth
            blocks.append(nn.Sequential(*layers))
            if b < 2:
                blocks.append(DenseTransition(c, c // 2, bn))
                c = c // 2
        self.dense1, self.trans1, self.dense2, self.trans2, self.dense3 = blocks
        if bn:
            self.bn = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.trans1(self.dense1(self.conv1(x)))
        x = self.trans2(self.dense2(x))
        x = self.dense3(x)
        if self.bn_on:
            x = self.bn(x)
        return self.fc(F.relu(x).mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# ResNet-50, torchvision's layout and names
# ---------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class ResNet50(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        stages = []
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = []
            for i in range(blocks):
                layers.append(Bottleneck(cin, planes, stride if i == 0 else 1))
                cin = planes * 4
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# VGG-11 for CIFAR (configuration "A"; one linear classifier on the 512 features)
# ---------------------------------------------------------------------------------------------
VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class Vgg11(nn.Module):
    def __init__(self, bn=True, num_classes=10):
        super().__init__()
        layers, c = [], 3
        for v in VGG11_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(nn.Conv2d(c, v, 3, padding=1))
                if bn:
                    layers.append(nn.BatchNorm2d(v))
                layers.append(nn.ReLU())
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# ---------------------------------------------------------------------------------------------
# All-CNN-C (DeepOBS cifar100_allcnnc), Fashion-MNIST 2c2d (DeepOBS fmnist_2c2d)
# ---------------------------------------------------------------------------------------------
class AllCnnC(nn.Module):
    """tf_same=True: the stride-2 convs (conv3, conv6) pad as TensorFlow's "same" does on an even size,
    0 before and 1 after (DeepOBS's tf.layers.conv2d(..., strides=(2, 2), padding="same")); False: PyTorch's
    symmetric padding=1. Same parameters and names either way."""

    def __init__(self, num_classes=100, tf_same=True):
        super().__init__()
        self.tf_same = tf_same
        sp = 0 if tf_same else 1
        self.conv1 = nn.Conv2d(3, 96, 3, 1, 1)
        self.conv2 = nn.Conv2d(96, 96, 3, 1, 1)
        self.conv3 = nn.Conv2d(96, 96, 3, 2, sp)
        self.conv4 = nn.Conv2d(96, 192, 3, 1, 1)
        self.conv5 = nn.Conv2d(192, 192, 3, 1, 1)
        self.conv6 = nn.Conv2d(192, 192, 3, 2, sp)
        self.conv7 = nn.Conv2d(192, 192, 3, 1, 0)
        self.conv8 = nn.Conv2d(192, 192, 1)
        self.conv9 = nn.Conv2d(192, num_classes, 1)

    def forward(self, x):  # inference mode: dropout is the identity
        for i in range(1, 10):
            if self.tf_same and i in (3, 6):
                x = F.pad(x, (0, 1, 0, 1))  # (left, right, top, bottom)
            x = F.relu(getattr(self, "conv%d" % i)(x))
        return x.mean(dim=(2, 3))


class SimpleCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
                                 nn.Conv2d(32, 64, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2),
                                 nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10))

    def forward(self, x):
        return self.net(x)


# ---------------------------------------------------------------------------------------------
# Character LSTM language model (DeepOBS tolstoi_char_rnn), PyTorch layout
# ---------------------------------------------------------------------------------------------
class CharLstm(nn.Module):
    """embedding -> 2-layer LSTM(128) -> linear to the vocabulary, at every position.

    OptLab's DeepOBS layout has TensorFlow's single bias per layer and its constant forget_bias 1.0:
    bias_hh_l* are absent from the Java model, and here they hold that constant (1 in the f block, 0
    elsewhere; safetensors/check_checkpoint.py sets them so).
    """

    def __init__(self, vocab, embed=128, hidden=128, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers)  # time-major (t, n, .)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):  # tokens (n, t) int -> logits (n, t, vocab), (h, c) each (layers, n, hidden)
        x = self.embedding(tokens.t())
        out, state = self.lstm(x, state)
        return self.fc(out).transpose(0, 1), state
