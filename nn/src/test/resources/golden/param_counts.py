"""Writes param_counts.txt: the exact parameter count of every model of the OptLab zoo, counted on
the PyTorch reference models of reference_models.py (same architecture, same names as the Java
models). Run from this directory with a Python that has torch:

    /tmp/venv/bin/python param_counts.py

ModelZooTest reads param_counts.txt and checks the Java models against it, and against the counts
the papers publish (rounded: ResNet-20 0.27M, ..., ResNet-50 25.6M).
"""
import os

from reference_models import AllCnnC, CharLstm, CifarResNet, DenseNetBC, ResNet50, SimpleCnn, Vgg11


def count(model):
    return sum(p.numel() for p in model.parameters())


def main():
    rows = []
    for depth in (20, 32, 44, 56, 110, 218):
        for bn in (True, False):
            for classes in (10, 100):
                rows.append(("CifarResNet-%d-%s-c%d" % (depth, "bn" if bn else "nobn", classes), count(CifarResNet(depth, bn, classes))))
    for bn in (True, False):
        rows.append(("DenseNetBC-100-k12-%s-c100" % ("bn" if bn else "nobn"), count(DenseNetBC(100, 12, bn, 100))))
        rows.append(("DenseNetBC-100-k12-%s-c10" % ("bn" if bn else "nobn"), count(DenseNetBC(100, 12, bn, 10))))
    rows.append(("ResNet50-c1000", count(ResNet50(1000))))
    rows.append(("ResNet50-c10", count(ResNet50(10))))
    rows.append(("Vgg11-bn-c10", count(Vgg11(True, 10))))
    rows.append(("Vgg11-nobn-c10", count(Vgg11(False, 10))))
    rows.append(("AllCnnC-c100", count(AllCnnC(100))))
    rows.append(("SimpleCnn", count(SimpleCnn())))
    # The character LSTM: PyTorch's nn.LSTM has two biases per layer (b_ih, b_hh); TensorFlow's
    # LSTMCell (DeepOBS) has one, so the TF-layout count is 2 layers x 4h fewer.
    for vocab in (83, 65):
        pt = count(CharLstm(vocab))
        rows.append(("CharLstm-pytorch-v%d" % vocab, pt))
        rows.append(("CharLstm-tf-v%d" % vocab, pt - 2 * 4 * 128))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "param_counts.txt")
    with open(out, "w") as f:
        f.write("# Parameter counts of the PyTorch reference models (reference_models.py), written by param_counts.py.\n")
        f.write("# name count\n")
        for name, n in rows:
            f.write("%s %d\n" % (name, n))
    for name, n in rows:
        print("%-32s %12d" % (name, n))


if __name__ == "__main__":
    main()
