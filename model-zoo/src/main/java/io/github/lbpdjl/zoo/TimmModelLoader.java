package io.github.lbpdjl.zoo;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
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
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every loader of this zoo shares: one artifact of a model family, built in Java through DJL's
 * Criteria, offline, seeded and initialised, then optionally filled with weights. A family supplies
 * how to build, initialise and fill its block ({@link VitModelLoader}, {@link
 * EfficientFormerModelLoader}).
 *
 * <p>Criteria arguments ({@code optArgument}, or the same keys as {@code optOption} strings):
 *
 * <ul>
 *   <li>{@value #ARG_NUM_CLASSES}: classes of the classifier (default: the artifact's; for a ViT
 *       the checkpoint's head, see {@link VitModelLoader});
 *   <li>{@value #ARG_IN_CHANNELS}: input channels (default: the artifact's);
 *   <li>{@value #ARG_SEED}: the engine random seed used for the initialisation (default {@value
 *       #DEFAULT_SEED}); note that it sets the engine's global seed;
 *   <li>{@value #ARG_WEIGHTS}: a local file, either {@code *.safetensors} with the names the family
 *       reads (timm's, for the ViTs also Hugging Face's) or a DJL {@code <name>-<NNNN>.params} file
 *       saved from this block; or a checkpoint folder as the Hugging Face Hub holds it: {@code
 *       model.safetensors} (or one weights file) beside a {@code config.json} in timm's hub format
 *       or, for the ViTs, transformers': the preprocessing and class names are then the folder's,
 *       and a ViT's architecture too ({@link VitModelLoader});
 *   <li>{@value #ARG_PRETRAINED}: the name of a data set whose weights the zoo ships, the same as
 *       {@code optFilter("dataset", name)}.
 * </ul>
 *
 * Without weights or a data set the model is untrained. Supported input/output: {@code NDList ->
 * NDList} (input (B, C_in, H, W), output logits (B, classes)), {@code Image -> Classifications}
 * (also from {@code Path}, {@code URL}, {@code String} or {@code InputStream}, and serving {@code
 * Input -> Output}: DJL's image translator expansions), or whatever a supplied translator declares.
 *
 * <p>Images are prepared as the model's {@link #getPreprocessing()} says (timm's evaluation
 * transform: resize, centre crop, normalise; on the host, the same on both engines) and the
 * probabilities are the softmax of the logits. Arguments of {@code Image -> Classifications}:
 *
 * <ul>
 *   <li>{@value #ARG_CROP_PCT}, {@value #ARG_INTERPOLATION} ({@code nearest}, {@code bilinear},
 *       {@code bicubic}), {@value #ARG_MEAN} and {@value #ARG_STD} (one number per channel,
 *       separated by commas, or a {@code float[]}): override the model's preprocessing;
 *   <li>{@value #ARG_SYNSET}: the class names separated by commas, or {@value #ARG_SYNSET_FILE}: a
 *       file with one name per line (blank lines skipped); as many names as the head has classes
 *       (default: "0", "1", ...).
 * </ul>
 */
public abstract class TimmModelLoader implements ModelLoader {

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

    /** Argument: timm's {@code crop_pct} of the Image -> Classifications path. */
    public static final String ARG_CROP_PCT = "cropPct";

    /** Argument: the resize interpolation (nearest, bilinear, bicubic) of images. */
    public static final String ARG_INTERPOLATION = "interpolation";

    /** Argument: the normalisation mean per channel, comma-separated. */
    public static final String ARG_MEAN = "mean";

    /** Argument: the normalisation standard deviation per channel, comma-separated. */
    public static final String ARG_STD = "std";

    /** Argument: the class names, comma-separated. */
    public static final String ARG_SYNSET = "synset";

    /**
     * Argument: a file of class names, one per line; without it and {@value #ARG_SYNSET}, a {@code
     * synset.txt} beside the weights file is read.
     */
    public static final String ARG_SYNSET_FILE = "synsetFile";

    /** Filter key selecting shipped weights by data set. */
    public static final String FILTER_DATASET = "dataset";

    /** Default initialisation seed. */
    public static final int DEFAULT_SEED = 42;

    /** Classpath folder of the shipped weights. */
    public static final String WEIGHTS_RESOURCE_DIR = "io/github/lbpdjl/zoo/weights/";

    private static final Logger logger = LoggerFactory.getLogger(TimmModelLoader.class);

    private static final Pattern PARAMS_FILE = Pattern.compile("(.+)-(\\d{4})\\.params");

    private final String artifactId;
    private MRL mrl;

    /**
     * Creates the loader of one artifact.
     *
     * @param artifactId the artifact id, the timm name
     */
    protected TimmModelLoader(String artifactId) {
        this.artifactId = artifactId;
    }

    /**
     * Builds the family's block for the Criteria's arguments ({@value #ARG_NUM_CLASSES}, {@value
     * #ARG_IN_CHANNELS}, read with {@link #intArgument}).
     *
     * @param arguments the Criteria's options and arguments
     * @return the block, not initialised
     */
    protected abstract Block newBlock(Map<String, Object> arguments);

    /**
     * Initialises the block's parameters.
     *
     * @param block the block {@link #newBlock} made
     * @param manager the model's manager
     */
    protected abstract void initialize(Block block, NDManager manager);

    /**
     * Loads a safetensors checkpoint into the initialised block.
     *
     * @param block the block
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if reading fails
     * @throws IllegalArgumentException if the checkpoint does not fit the block
     */
    protected abstract ImportResult loadSafetensors(Block block, SafetensorsFile file)
            throws IOException;

    /**
     * The images this artifact takes by default (its variant's), before the Criteria's overrides
     * and with its default channels.
     *
     * @return the preprocessing
     */
    public abstract Preprocessing getPreprocessing();

    /**
     * Returns the weights the zoo ships for this artifact.
     *
     * @return data set name to file name in {@value #WEIGHTS_RESOURCE_DIR}; none by default
     */
    protected Map<String, String> shippedWeights() {
        return Map.of();
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return VitModelZoo.GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public String getArtifactId() {
        return artifactId;
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
                            artifactId);
        }
        return mrl;
    }

    /** {@inheritDoc} */
    @Override
    public <I, O> ZooModel<I, O> loadModel(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException, MalformedModelException {
        Map<String, Object> args = arguments(criteria);
        String dataset = dataset(criteria, args);
        String resource = null;
        if (dataset != null && !dataset.isEmpty() && !"none".equals(dataset)) {
            String file = shippedWeights().get(dataset);
            if (file == null) {
                throw new ModelNotFoundException(
                        "no shipped weights for "
                                + artifactId
                                + " on '"
                                + dataset
                                + "'; shipped: "
                                + (shippedWeights().isEmpty()
                                        ? "none"
                                        : shippedWeights().keySet()));
            }
            resource = WEIGHTS_RESOURCE_DIR + file;
        }
        String weights = argument(args, ARG_WEIGHTS);
        if (weights != null && resource != null) {
            throw new MalformedModelException(
                    "give either weights=" + weights + " or a data set, not both");
        }
        HubCheckpoint checkpoint;
        try {
            checkpoint = weights == null ? null : HubCheckpoint.resolve(Paths.get(weights));
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(e.getMessage(), e);
        }

        Class<I> in = criteria.getInputClass();
        Class<O> out = criteria.getOutputClass();
        TranslatorFactory factory = criteria.getTranslatorFactory();
        if (factory == null) {
            Preprocessing pre;
            try {
                pre = preprocessing(checkpoint);
            } catch (IllegalArgumentException e) {
                throw new MalformedModelException(e.getMessage(), e);
            }
            factory =
                    in == NDList.class && out == NDList.class
                            ? new DefaultTranslatorFactory()
                            : new ClassificationTranslatorFactory(pre);
        }
        if (!factory.isSupported(in, out)) {
            throw new ModelNotFoundException(
                    artifactId
                            + " supports NDList -> NDList and Image -> Classifications unless a"
                            + " translator is given, got "
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

        Block block;
        Integer seed;
        try {
            seed = intArgument(args, ARG_SEED);
            block = newBlock(args, checkpoint);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(
                    artifactId + " (arguments " + args + "): " + e.getMessage(), e);
        }
        Model model = Model.newInstance(artifactId, criteria.getDevice(), engineName);
        boolean ok = false;
        try {
            model.setBlock(block);
            Engine.getEngine(engineName).setRandomSeed(seed == null ? DEFAULT_SEED : seed);
            initialize(block, model.getNDManager());
            model.setProperty("artifactId", artifactId);
            Map<String, Object> translatorArgs = new HashMap<>(args);
            if (resource != null) {
                loadShipped(block, resource);
                model.setProperty("dataset", dataset);
            } else if (checkpoint != null) {
                loadFile(model, block, checkpoint.getWeights());
                model.setProperty("weights", weights);
                translatorArgs.put(ARG_WEIGHTS, checkpoint.getWeights().toString());
                addLabelNames(translatorArgs, checkpoint, block);
            }
            Translator<I, O> translator = factory.newInstance(in, out, model, translatorArgs);
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

    /**
     * Builds the family's block for the Criteria's arguments and the checkpoint it will load: a
     * family may take its configuration from the checkpoint's {@code config.json} and tensors.
     *
     * @param arguments the Criteria's options and arguments
     * @param checkpoint the weights file or folder, or null
     * @return the block, not initialised
     */
    Block newBlock(Map<String, Object> arguments, HubCheckpoint checkpoint) {
        return newBlock(arguments);
    }

    /**
     * The images a checkpoint takes, as the {@code Image -> Classifications} path prepares them: a
     * checkpoint folder's {@code config.json} (timm's {@code pretrained_cfg}, or transformers'
     * sizes and {@code preprocessor_config.json}) over this artifact's {@link #getPreprocessing()};
     * for a weights file, the artifact's. A program that prepares its own data (training on a
     * folder's checkpoint) should use this.
     *
     * @param weights the value of the {@value #ARG_WEIGHTS} argument: a file or checkpoint folder
     * @return the preprocessing
     * @throws IOException if the weights cannot be read
     * @throws IllegalArgumentException if the folder or its config is malformed
     */
    public Preprocessing getPreprocessing(Path weights) throws IOException {
        return preprocessing(HubCheckpoint.resolve(weights));
    }

    /**
     * The preprocessing of the images: the artifact's, overridden by a checkpoint folder's {@code
     * config.json}.
     */
    Preprocessing preprocessing(HubCheckpoint checkpoint) {
        return checkpoint == null
                ? getPreprocessing()
                : checkpoint.preprocessing(getPreprocessing());
    }

    /** The class names of a checkpoint folder's config, when the user gave none and they fit. */
    private static void addLabelNames(
            Map<String, Object> translatorArgs, HubCheckpoint checkpoint, Block block) {
        if (translatorArgs.containsKey(ARG_SYNSET) || translatorArgs.containsKey(ARG_SYNSET_FILE)) {
            return;
        }
        List<String> names = checkpoint.labelNames();
        if (names == null || !(block instanceof TimmModel)) {
            return;
        }
        int classes = ((TimmModel) block).getNumClasses();
        if (names.size() == classes) {
            translatorArgs.put(ARG_SYNSET, names);
        } else {
            logger.info(
                    "{}: {} label names for a head of {} classes: not used",
                    checkpoint.getWeights(),
                    names.size(),
                    classes);
        }
    }

    private String dataset(Criteria<?, ?> criteria, Map<String, Object> args)
            throws ModelNotFoundException {
        String dataset = null;
        Map<String, String> filters = criteria.getFilters();
        if (filters != null) {
            for (Map.Entry<String, String> f : filters.entrySet()) {
                if (!FILTER_DATASET.equals(f.getKey())) {
                    throw new ModelNotFoundException(
                            artifactId
                                    + ": unknown filter '"
                                    + f.getKey()
                                    + "', supported: "
                                    + FILTER_DATASET);
                }
                dataset = f.getValue();
            }
        }
        String pretrained = argument(args, ARG_PRETRAINED);
        if (pretrained != null) {
            if (dataset != null && !dataset.equals(pretrained)) {
                throw new ModelNotFoundException(
                        "filter dataset=" + dataset + " contradicts pretrained=" + pretrained);
            }
            dataset = pretrained;
        }
        return dataset;
    }

    private void loadShipped(Block block, String resource) throws IOException {
        ClassLoader cl = TimmModelLoader.class.getClassLoader();
        byte[] bytes;
        try (InputStream is = cl.getResourceAsStream(resource)) {
            if (is == null) {
                throw new IOException("shipped weights not found on the class path: " + resource);
            }
            bytes = is.readAllBytes();
        }
        try (SafetensorsFile f = SafetensorsFile.fromBytes(bytes, "classpath:" + resource)) {
            loadSafetensors(block, f);
        }
    }

    private void loadFile(Model model, Block block, Path file)
            throws IOException, MalformedModelException {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                loadSafetensors(block, f);
            }
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
        for (Map.Entry<String, Parameter> e : BlockTree.parameters(block).entrySet()) {
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
        for (Map.Entry<String, Parameter> e : BlockTree.parameters(block).entrySet()) {
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

    private static String argument(Map<String, Object> args, String key) {
        Object v = args.get(key);
        return v == null ? null : v.toString();
    }

    /**
     * Reads an integer argument.
     *
     * @param args the Criteria's options and arguments
     * @param key the key
     * @return its value, or null if absent
     * @throws IllegalArgumentException if it is not an integer
     */
    protected static Integer intArgument(Map<String, Object> args, String key) {
        String v = argument(args, key);
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
