/**
 * The reference: one plain, commented, single-threaded double-precision implementation of every
 * primitive of {@link optlab.kernels.Backend}. This is the spec. The CPU backend runs it for FLOAT64
 * buffers (so gradient checks exercise it), and every fast kernel, CPU or CUDA, is tested against it
 * on random inputs. Arrays are passed C-style, as (array, offset) pairs.
 */
package optlab.kernels.reference;
