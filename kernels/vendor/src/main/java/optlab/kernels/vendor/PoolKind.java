package optlab.kernels.vendor;

/** The engine's pooling flavours, as the cuDNN binding takes them. */
public enum PoolKind { MAX, AVG_INCLUDE_PAD, AVG_EXCLUDE_PAD }
