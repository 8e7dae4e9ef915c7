"""Writes param_counts.txt: the exact parameter count of every model of the OptLab zoo, counted on
the PyTorch reference models of reference_models.py (same architecture, same names as the Java
models), and state_names.txt: each reference model's state_dict keys in order (without BN's
num_batches_tracked, which OptLab does not keep; PyTorch's load_state_dict fills it in). Run from
this directory with a Python that has torch:

    /tmp/venv/bin/python param_counts.py

CifarResNetTest and ModelZooTest read both files and check the Java models against them, and the
counts against the ones the papers publish (rounded: ResNet-20 0.27M, ..., ResNet-50 25.6M).
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

    named = [("CifarResNet-20-bn", CifarResNet(20, True, 10)), ("CifarResNet-20-nobn", CifarResNet(20, False, 10)),
             ("DenseNetBC-100-k12-bn", DenseNetBC(100, 12, True, 100)), ("DenseNetBC-100-k12-nobn", DenseNetBC(100, 12, False, 100)),
             ("ResNet50", ResNet50(1000)), ("Vgg11-bn", Vgg11(True, 10)), ("Vgg11-nobn", Vgg11(False, 10)),
             ("AllCnnC", AllCnnC(100)), ("SimpleCnn", SimpleCnn()), ("CharLstm-pytorch", CharLstm(83))]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "state_names.txt")
    with open(out, "w") as f:
        f.write("# state_dict keys of the PyTorch reference models (reference_models.py), in order, without\n")
        f.write("# num_batches_tracked; written by param_counts.py. A line '[model]' starts each model.\n")
        for name, model in named:
            f.write("[%s]\n" % name)
            for k in model.state_dict().keys():
                if not k.endswith("num_batches_tracked"):
                    f.write(k + "\n")


if __name__ == "__main__":
    main()
