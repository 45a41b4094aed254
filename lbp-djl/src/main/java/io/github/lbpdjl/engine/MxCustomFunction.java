package io.github.lbpdjl.engine;

import ai.djl.mxnet.engine.MxNDArray;
import ai.djl.mxnet.engine.MxNDManager;
import ai.djl.mxnet.jna.JnaUtils;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.sun.jna.Callback;
import com.sun.jna.CallbackReference;
import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MXNet's custom autograd function, the one Python's {@code mx.autograd.Function} records, through
 * the C API's {@code MXCustomFunctionRecord} in the library DJL's MXNet engine loaded: outputs
 * computed without recording are recorded as one node whose backward is a Java callback. MXNet runs
 * the callback on a worker thread of its own (attached to the JVM by JNA), with the output
 * gradients and the arrays to write the input gradients into; the callback objects are held here
 * until MXNet deletes the node. A callback must not throw into MXNet (a failed backward aborts the
 * process there): a failure fills the input gradients with NaN, is logged, and is kept for {@link
 * #takeFailure()}. At JVM exit MXNet's custom-operator threads are stopped ({@code
 * MXNotifyShutdown}), which MXNet needs once they have run.
 */
final class MxCustomFunction {

    /** The backward of one recorded node. */
    interface Backward {

        /**
         * Computes the input gradients.
         *
         * @param outputGrads the gradients of the outputs, in a manager of the callback
         * @param manager a manager for the results, closed after the callback
         * @return one gradient per input, in the inputs' order (null where none is needed)
         */
        NDList run(NDList outputGrads, NDManager manager);

        /** Frees what the node saved; called once when MXNet deletes the node. */
        void release();
    }

    private interface BackwardCallback extends Callback {
        int invoke(
                int numOutputGrads,
                int numInputGrads,
                Pointer ptrs,
                Pointer reqs,
                int isTrain,
                Pointer state);
    }

    private interface DeleteCallback extends Callback {
        int invoke(Pointer state);
    }

    private static final Logger logger = LoggerFactory.getLogger(MxCustomFunction.class);
    private static final int REQ_NULL = 0;
    private static final int REQ_ADD = 3;
    private static final Map<Long, Object[]> LIVE = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final AtomicLong BACKWARDS = new AtomicLong();
    private static final AtomicReference<Throwable> FAILURE = new AtomicReference<>();
    private static volatile Functions functions;

    /** The C functions, found once. */
    private record Functions(Function record, Function slice, Function shutdown) {}

    private MxCustomFunction() {}

    /**
     * Whether the C function is there: DJL's MXNet engine loaded a library that has it.
     *
     * @return true if {@link #record} can be called
     */
    static boolean isAvailable() {
        try {
            return functions() != null;
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    private static Functions functions() {
        Functions f = functions;
        if (f != null) {
            return f;
        }
        synchronized (MxCustomFunction.class) {
            if (functions == null) {
                NativeLibrary lib = library();
                functions =
                        new Functions(
                                lib.getFunction("MXCustomFunctionRecord"),
                                lib.getFunction("MXNDArraySlice"),
                                lib.getFunction("MXNotifyShutdown"));
                Runtime.getRuntime()
                        .addShutdownHook(
                                new Thread(
                                        () -> functions.shutdown.invokeInt(new Object[0]),
                                        "lbp-mxnet-shutdown"));
            }
            return functions;
        }
    }

    /** The library DJL's engine loaded (not global, so found through DJL's JNA proxy). */
    private static NativeLibrary library() {
        try {
            Field f = JnaUtils.class.getDeclaredField("LIB");
            f.setAccessible(true);
            Object proxy = f.get(null);
            return ((Library.Handler) Proxy.getInvocationHandler(proxy)).getNativeLibrary();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalStateException("MXNet's native library not found: " + e, e);
        }
    }

    /**
     * Returns and clears the failure of a backward callback since the last call.
     *
     * @return the failure, or null
     */
    static Throwable takeFailure() {
        return FAILURE.getAndSet(null);
    }

    /**
     * Returns how many nodes were recorded and how many backward callbacks ran (for tests).
     *
     * @return {recorded, backward calls}
     */
    static long[] counts() {
        return new long[] {IDS.get(), BACKWARDS.get()};
    }

    /**
     * Records outputs computed from inputs, while autograd records, as one node with a Java
     * backward.
     *
     * @param inputs the inputs whose gradients the backward gives
     * @param outputs the outputs, computed without recording
     * @param backward the backward
     */
    static void record(NDList inputs, NDList outputs, Backward backward) {
        Functions fn = functions();
        long id = IDS.incrementAndGet();
        BackwardCallback bwd =
                (numOut, numIn, ptrs, reqs, isTrain, state) ->
                        runBackward(backward, numOut, numIn, ptrs, reqs);
        DeleteCallback del =
                state -> {
                    Object[] held = LIVE.remove(id);
                    if (held != null) {
                        try {
                            backward.release();
                        } catch (RuntimeException e) {
                            logger.debug("LBP-WHT MXNet backward: release failed", e);
                        }
                    }
                    return 1;
                };
        // JNA attaches MXNet's thread for each call and detaches it after: a thread left attached
        // blocks MXNotifyShutdown's join of MXNet's workers at JVM exit
        Memory callbacks = new Memory(2L * Native.POINTER_SIZE);
        callbacks.setPointer(0, CallbackReference.getFunctionPointer(bwd));
        callbacks.setPointer(Native.POINTER_SIZE, CallbackReference.getFunctionPointer(del));
        Memory contexts = new Memory(2L * Native.POINTER_SIZE);
        contexts.clear();
        Memory list = new Memory(8L + 2L * Native.POINTER_SIZE); // {int; void**; void**}
        list.clear();
        list.setInt(0, 2);
        list.setPointer(8, callbacks);
        list.setPointer(8 + Native.POINTER_SIZE, contexts);
        LIVE.put(id, new Object[] {bwd, del, callbacks, contexts, list});
        int rc =
                fn.record.invokeInt(
                        new Object[] {
                            inputs.size(), handles(inputs), outputs.size(), handles(outputs), list
                        });
        if (rc != 0) {
            LIVE.remove(id);
            throw new IllegalStateException("MXCustomFunctionRecord failed (" + rc + ")");
        }
    }

    /**
     * Returns a second handle on an array's data (no copy), detached from every manager: it stays
     * valid when the first handle is freed, until it is closed.
     *
     * @param a an MXNet array with at least one axis
     * @return the view; close it when done
     */
    static NDArray view(NDArray a) {
        PointerByReference out = new PointerByReference();
        int rc =
                functions()
                        .slice
                        .invokeInt(
                                new Object[] {
                                    ((MxNDArray) a).getHandle(), 0, (int) a.getShape().get(0), out
                                });
        if (rc != 0) {
            throw new IllegalStateException("MXNDArraySlice failed (" + rc + ")");
        }
        MxNDArray v = ((MxNDManager) a.getManager()).create(out.getValue());
        v.detach();
        return v;
    }

    private static Memory handles(NDList arrays) {
        Memory m = new Memory((long) arrays.size() * Native.POINTER_SIZE);
        for (int i = 0; i < arrays.size(); i++) {
            m.setPointer((long) i * Native.POINTER_SIZE, ((MxNDArray) arrays.get(i)).getHandle());
        }
        return m;
    }

    private static int runBackward(
            Backward backward, int numOut, int numIn, Pointer ptrs, Pointer reqs) {
        BACKWARDS.incrementAndGet();
        Pointer[] handles = ptrs.getPointerArray(0, numOut + numIn);
        int[] req = reqs.getIntArray(0, numIn);
        boolean recording = JnaUtils.autogradSetIsRecording(false);
        try (MxNDManager m = (MxNDManager) NDManager.newBaseManager("MXNet")) {
            NDList outGrads = new NDList();
            for (int i = 0; i < numOut; i++) {
                outGrads.add(m.create(handles[i]));
            }
            NDArray[] inGrads = new NDArray[numIn];
            for (int i = 0; i < numIn; i++) {
                inGrads[i] = m.create(handles[numOut + i]);
            }
            try {
                NDList grads = backward.run(outGrads, m);
                for (int i = 0; i < numIn; i++) {
                    NDArray g = grads.get(i);
                    if (req[i] == REQ_NULL || g == null) {
                        continue;
                    }
                    if (req[i] == REQ_ADD) {
                        inGrads[i].addi(g);
                    } else {
                        g.copyTo(inGrads[i]);
                    }
                }
            } catch (RuntimeException | Error e) {
                FAILURE.compareAndSet(null, e);
                logger.error("LBP-WHT MXNet backward failed; gradients set to NaN", e);
                for (NDArray g : inGrads) {
                    g.set(new NDIndex(), Float.NaN);
                }
            }
            return 1;
        } catch (RuntimeException | Error e) {
            FAILURE.compareAndSet(null, e);
            logger.error("LBP-WHT MXNet backward failed", e);
            return 1;
        } finally {
            JnaUtils.autogradSetIsRecording(recording);
        }
    }
}
