/**
 * The op families a user kernel can replace, one interface each (NOTE [kernel-choices] in
 * {@link optlab.kernels.KernelChoices}). Each method has the arguments, layouts and semantics of the
 * {@link optlab.kernels.Backend} primitive of the same name, whose javadoc is the ABI; the backend has
 * checked every argument (shapes, lengths, dtypes) before it calls the kernel, so a kernel may assume them.
 *
 * <p>On the CPU a kernel is a Java class implementing the interface, named on the command line as
 * {@code OP=java:[JAR_OR_DIR:]CLASS}; it reads and writes the operands' arrays through
 * {@link optlab.kernels.family.HostArrays}. The reference implementations in {@code optlab.kernels.reference}
 * show what each method computes, and docs/KERNELS.md has a worked example per family.
 */
package optlab.kernels.family;
