package optlab.kernels.vendor;

import optlab.kernels.Conv2dGeometry;
import optlab.kernels.LstmGeometry;
import optlab.kernels.Pool2dGeometry;

/**
 * The cuDNN variants on device addresses (FLOAT32, as the Backend primitives they stand for; 0 is a null
 * pointer where the primitive allows one): convolutions, pooling, batch norm, the LSTM layer. Implemented by
 * {@link Cudnn9}.
 */
public interface Dnn {
    void convForward(VendorContext be, Conv2dGeometry g, long x, long w, long y);

    void convBackwardData(VendorContext be, Conv2dGeometry g, long dy, long w, long dx);

    void convBackwardFilter(VendorContext be, Conv2dGeometry g, long x, long dy, long dw);

    void poolForward(VendorContext be, Pool2dGeometry g, PoolKind kind, long x, long y);

    /** x and y are read by max pooling only (the averages' backward has neither: Backend#avgPool2dBackward). */
    void poolBackward(VendorContext be, Pool2dGeometry g, PoolKind kind, long x, long y, long dy, long dx);

    void bnForwardTraining(VendorContext be, int n, int c, int hw, long x, long gamma, long beta, double eps, double momentum,
                           long runningMean, long runningVar, long y, long saveMean, long saveInvStd);

    void bnForwardInference(VendorContext be, int n, int c, int hw, long x, long gamma, long beta, long runningMean, long runningVar,
                            double eps, long y);

    void bnBackward(VendorContext be, int n, int c, int hw, long x, long dy, long gamma, long saveMean, long saveInvStd, long dx,
                    long dgamma, long dbeta);

    int lstmReserveSize(VendorContext be, LstmGeometry g);

    void lstmForward(VendorContext be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long bIh, long bHh, long y,
                     long hT, long cT, long reserve);

    void lstmBackward(VendorContext be, LstmGeometry g, long x, long h0, long c0, long wIh, long wHh, long y, long reserve, long dy,
                      long dhT, long dcT, long dx, long dh0, long dc0, long dwIh, long dwHh, long db);

    String description();
}
