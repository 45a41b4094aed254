package io.github.lbpdjl.zoo;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.repository.MRL;
import ai.djl.repository.Repository;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelLoader;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.DefaultTranslatorFactory;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Progress;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads one {@link VitVariant} through DJL's Criteria, offline: the block is built in Java, seeded
 * and initialised, then optionally filled with weights.
 *
 * <p>Criteria arguments ({@code optArgument}, or the same keys as {@code optOption} strings):
 *
 * <ul>
 *   <li>{@value #ARG_NUM_CLASSES}: classes of the head (default: the variant's);
 *   <li>{@value #ARG_IN_CHANNELS}: input channels (default: the variant's);
 *   <li>{@value #ARG_SEED}: the engine random seed used for the initialisation (default {@value
 *       #DEFAULT_SEED}); note that it sets the engine's global seed;
 *   <li>{@value #ARG_WEIGHTS}: a local file, either {@code *.safetensors} with timm or Hugging Face
 *       names (see {@link VitWeights}) or a DJL {@code <name>-<NNNN>.params} file saved from this
 *       block;
 *   <li>{@value #ARG_PRETRAINED}: the name of a data set whose weights the zoo ships, the same as
 *       {@code optFilter("dataset", name)}; only {@code vit_micro_patch4_32} / {@code mnist}.
 * </ul>
 *
 * Without weights or a data set the model is untrained. Supported input/output: {@code NDList ->
 * NDList} (input (B, C_in, H, W), output logits (B, classes)) or whatever a supplied translator
 * declares. The block is a {@link VisionTransformer}: {@code (VisionTransformer) model.getBlock()}
 * gives the timm paths and the token layout.
 */
public class VitModelLoader implements ModelLoader {

    /** Argument: number of classes. */
    public static final String ARG_NUM_CLASSES = "numClasses";

    /** Argument: number of input channels. */
    public static final String ARG_IN_CHANNELS = "inChannels";

    /** Argument: path of a .safetensors or DJL .params weights file. */
    public static final String ARG_WEIGHTS = "weights";

    /** Argument: data set of the shipped weights to load, e.g. "mnist". */
    public static final String ARG_PRETRAINED = "pretrained";

    /** Argument: the engine random seed for the initialisation. */
    public static final String ARG_SEED = "seed";

    /** Filter key selecting shipped weights by data set. */
    public static final String FILTER_DATASET = "dataset";

    /** Default initialisation seed. */
    public static final int DEFAULT_SEED = 42;

    /** Classpath folder of the shipped weights. */
    public static final String WEIGHTS_RESOURCE_DIR = "io/github/lbpdjl/zoo/weights/";

    private static final Logger logger = LoggerFactory.getLogger(VitModelLoader.class);
    private static final Pattern PARAMS_FILE = Pattern.compile("(.+)-(\\d{4})\\.params");
    private static final Map<String, String> SHIPPED = new HashMap<>();

    static {
        SHIPPED.put("vit_micro_patch4_32:mnist", "vit_micro_patch4_32-mnist.safetensors");
    }

    private final VitVariant variant;
    private MRL mrl;

    /**
     * Creates the loader of a variant.
     *
     * @param variant the variant
     */
    public VitModelLoader(VitVariant variant) {
        this.variant = variant;
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return VitModelZoo.GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public String getArtifactId() {
        return variant.getName();
    }

    /** {@inheritDoc} */
    @Override
    public Application getApplication() {
        return Application.CV.IMAGE_CLASSIFICATION;
    }

    /** {@inheritDoc} */
    @Override
    public synchronized MRL getMrl() {
        if (mrl == null) {
            Repository repo =
                    Repository.newInstance(
                            "lbp-model-zoo", Paths.get(System.getProperty("java.io.tmpdir")));
            mrl =
                    MRL.model(
                            repo,
                            getApplication(),
                            getGroupId(),
                            getArtifactId(),
                            "0.1.0",
                            variant.getName());
        }
        return mrl;
    }

    /**
     * @return the variant this loader builds
     */
    public VitVariant getVariant() {
        return variant;
    }

    /** {@inheritDoc} */
    @Override
    public <I, O> ZooModel<I, O> loadModel(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException, MalformedModelException {
        String dataset = null;
        Map<String, String> filters = criteria.getFilters();
        if (filters != null) {
            for (Map.Entry<String, String> f : filters.entrySet()) {
                if (!FILTER_DATASET.equals(f.getKey())) {
                    throw new ModelNotFoundException(
                            variant.getName()
                                    + ": unknown filter '"
                                    + f.getKey()
                                    + "', supported: "
                                    + FILTER_DATASET);
                }
                dataset = f.getValue();
            }
        }
        String pretrained = argument(criteria, ARG_PRETRAINED);
        if (pretrained != null) {
            if (dataset != null && !dataset.equals(pretrained)) {
                throw new ModelNotFoundException(
                        "filter dataset=" + dataset + " contradicts pretrained=" + pretrained);
            }
            dataset = pretrained;
        }
        String resource = null;
        if (dataset != null && !dataset.isEmpty() && !"none".equals(dataset)) {
            String file = SHIPPED.get(variant.getName() + ':' + dataset);
            if (file == null) {
                throw new ModelNotFoundException(
                        "no shipped weights for "
                                + variant.getName()
                                + " on '"
                                + dataset
                                + "'; shipped: "
                                + SHIPPED.keySet());
            }
            resource = WEIGHTS_RESOURCE_DIR + file;
        }
        String weights = argument(criteria, ARG_WEIGHTS);
        if (weights != null && resource != null) {
            throw new IllegalArgumentException(
                    "give either weights=" + weights + " or a data set, not both");
        }

        TranslatorFactory factory = criteria.getTranslatorFactory();
        if (factory == null) {
            factory = new DefaultTranslatorFactory();
        }
        Class<I> in = criteria.getInputClass();
        Class<O> out = criteria.getOutputClass();
        if (!factory.isSupported(in, out)) {
            throw new ModelNotFoundException(
                    variant.getName()
                            + " supports NDList -> NDList unless a translator is given,"
                            + " got "
                            + in
                            + " -> "
                            + out);
        }

        String engineName = criteria.getEngine();
        if (engineName == null) {
            engineName = Engine.getDefaultEngineName();
        }
        if (engineName == null || !Engine.hasEngine(engineName)) {
            throw new ModelNotFoundException("engine " + engineName + " is not available");
        }

        VisionTransformerBuilder builder = variant.builder();
        Integer numClasses = intArgument(criteria, ARG_NUM_CLASSES);
        if (numClasses != null) {
            builder.optNumClasses(numClasses);
        }
        Integer inChannels = intArgument(criteria, ARG_IN_CHANNELS);
        if (inChannels != null) {
            builder.optInChannels(inChannels);
        }
        Integer seed = intArgument(criteria, ARG_SEED);
        VisionTransformer vit = builder.build();

        Model model = Model.newInstance(variant.getName(), criteria.getDevice(), engineName);
        boolean ok = false;
        try {
            model.setBlock(vit);
            Engine.getEngine(engineName).setRandomSeed(seed == null ? DEFAULT_SEED : seed);
            vit.initialize(model.getNDManager());
            model.setProperty("artifactId", variant.getName());
            if (resource != null) {
                loadShipped(vit, resource);
                model.setProperty("dataset", dataset);
            } else if (weights != null) {
                loadFile(model, vit, Paths.get(weights));
                model.setProperty("weights", weights);
            }
            Translator<I, O> translator =
                    factory.newInstance(in, out, model, new HashMap<>(arguments(criteria)));
            ok = true;
            return new ZooModel<>(model, translator);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(e.getMessage(), e);
        } catch (TranslateException e) {
            throw new ModelNotFoundException("no matching translator", e);
        } finally {
            if (!ok) {
                model.close();
            }
        }
    }

    private static void loadShipped(VisionTransformer vit, String resource) throws IOException {
        ClassLoader cl = VitModelLoader.class.getClassLoader();
        byte[] bytes;
        try (InputStream is = cl.getResourceAsStream(resource)) {
            if (is == null) {
                throw new IOException("shipped weights not found on the class path: " + resource);
            }
            bytes = is.readAllBytes();
        }
        try (SafetensorsFile f = SafetensorsFile.fromBytes(bytes, "classpath:" + resource)) {
            VitWeights.Result r = VitWeights.load(vit, f);
            logger.debug("loaded {} tensors from {}", r.getLoaded(), resource);
        }
    }

    private static void loadFile(Model model, VisionTransformer vit, Path file)
            throws IOException, MalformedModelException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("weights file not found: " + file.toAbsolutePath());
        }
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            VitWeights.Result r = VitWeights.load(vit, file);
            logger.debug(
                    "loaded {} tensors ({} names) from {}", r.getLoaded(), r.getNaming(), file);
            return;
        }
        Matcher m = PARAMS_FILE.matcher(name);
        if (!m.matches()) {
            throw new IOException(
                    "weights file "
                            + file
                            + " is neither *.safetensors nor DJL <name>-<NNNN>.params");
        }
        Map<String, Shape> before = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : vit.timmParameters().entrySet()) {
            before.put(e.getKey(), e.getValue().getArray().getShape());
        }
        Path dir = file.toAbsolutePath().getParent();
        Map<String, Object> options = new HashMap<>();
        options.put("epoch", m.group(2));
        try {
            model.load(dir, m.group(1), options);
        } catch (IOException | MalformedModelException e) {
            throw new MalformedModelException(
                    file
                            + ": cannot load as DJL parameters of "
                            + model.getName()
                            + ": "
                            + e.getMessage(),
                    e);
        } catch (RuntimeException e) {
            throw new MalformedModelException(
                    file + ": cannot load as DJL parameters of " + model.getName() + ": " + e, e);
        }
        for (Map.Entry<String, Parameter> e : vit.timmParameters().entrySet()) {
            Shape got = e.getValue().getArray().getShape();
            Shape want = before.get(e.getKey());
            if (!got.equals(want)) {
                throw new MalformedModelException(
                        file
                                + ": parameter '"
                                + e.getKey()
                                + "' has shape "
                                + got
                                + " but the model needs "
                                + want);
            }
        }
    }

    private static Map<String, Object> arguments(Criteria<?, ?> criteria) {
        Map<String, Object> all = new LinkedHashMap<>();
        if (criteria.getOptions() != null) {
            all.putAll(criteria.getOptions());
        }
        if (criteria.getArguments() != null) {
            all.putAll(criteria.getArguments());
        }
        return all;
    }

    private static String argument(Criteria<?, ?> criteria, String key) {
        Object v = arguments(criteria).get(key);
        return v == null ? null : v.toString();
    }

    private static Integer intArgument(Criteria<?, ?> criteria, String key) {
        String v = argument(criteria, key);
        if (v == null) {
            return null;
        }
        try {
            return Integer.valueOf(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "argument " + key + " must be an integer, got " + v, e);
        }
    }

    /** {@inheritDoc} */
    @Override
    public <I, O> boolean isDownloaded(Criteria<I, O> criteria) {
        return true;
    }

    /** {@inheritDoc} */
    @Override
    public <I, O> void downloadModel(Criteria<I, O> criteria, Progress progress) {
        // everything is local
    }

    @Override
    public String toString() {
        return getGroupId() + ':' + getArtifactId();
    }
}
