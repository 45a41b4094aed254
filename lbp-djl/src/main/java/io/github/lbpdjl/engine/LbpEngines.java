package io.github.lbpdjl.engine;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the {@link LbpEngineAdapter} of an engine through {@link ServiceLoader}; an engine with
 * none gets a plain NDArray fallback (correction added separately) and a warning, once.
 */
public final class LbpEngines {

    private static final Logger logger = LoggerFactory.getLogger(LbpEngines.class);
    private static final Map<String, LbpEngineAdapter> ADAPTERS = new ConcurrentHashMap<>();

    static {
        for (LbpEngineAdapter a : ServiceLoader.load(LbpEngineAdapter.class)) {
            ADAPTERS.putIfAbsent(a.getEngineName(), a);
        }
    }

    private LbpEngines() {}

    /**
     * Returns the adapter for an engine.
     *
     * @param engineName the DJL engine name
     * @return its adapter, or the fallback
     */
    public static LbpEngineAdapter forEngine(String engineName) {
        return ADAPTERS.computeIfAbsent(
                engineName,
                name -> {
                    logger.warn(
                            "No LBP-WHT adapter for engine {}; using the plain NDArray fallback,"
                                    + " which is correct but may be slow",
                            name);
                    return new SurrogateLbpAdapter(name, false) {
                        @Override
                        public boolean accumulatesGradients() {
                            return true; // clearing is harmless where gradients are overwritten
                        }
                    };
                });
    }
}
