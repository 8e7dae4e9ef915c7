package optlab.kernels.family;

import optlab.kernels.Buffer;

/**
 * A buffer whose memory is a Java array of its dtype ({@code float[]}, {@code double[]} or {@code int[]}): the CPU
 * backend's. {@link HostArrays} hands that array to a user's Java kernel.
 */
public interface HostBuffer extends Buffer {
    /** The array; throws if the buffer was freed. */
    Object array();
}
