package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.sun.net.httpserver.HttpServer;
import io.github.lbpdjl.examples.common.ChildJvm;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.ParameterException;

class AdaptTest {

    @Test
    void runsMethodsSideBySideAndWritesResults(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        TinyIdx.write(data, "train", 256, 1);
        TinyIdx.write(data, "t10k", 128, 2);
        Path out = tmp.resolve("out");
        Adapt a = new Adapt();
        a.data = data.toString();
        a.pretrained = "none";
        a.methods = List.of("full", "lbp-l1-2", "lora-4", "lora-4+lbp-l1-2");
        a.epochs = 2;
        a.batch = 32;
        a.lr = 2e-3f;
        a.out = out;
        assertEquals(0, a.call());
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(5, csv.size(), String.join("\n", csv));
        String[] header = csv.get(0).split(",");
        String[] full = csv.get(1).split(",");
        String[] lbp = csv.get(2).split(",");
        String[] lora = csv.get(3).split(",");
        String[] loraLbp = csv.get(4).split(",");
        assertEquals("full", full[0]);
        assertEquals("lbp-l1-2", lbp[0]);
        int flops = List.of(header).indexOf("backward_mflops_per_image");
        int acc = List.of(header).indexOf("test_accuracy");
        assertTrue(
                Double.parseDouble(lbp[flops]) < 0.5 * Double.parseDouble(full[flops]),
                "LBP saves backward FLOPs");
        assertTrue(
                Double.parseDouble(lora[flops]) < 0.6 * Double.parseDouble(full[flops]),
                "LoRA skips grad_W");
        assertTrue(
                Double.parseDouble(loraLbp[flops]) < 0.5 * Double.parseDouble(lora[flops]),
                "LBP shrinks LoRA's backward");
        int params = List.of(header).indexOf("trainable_params");
        assertTrue(
                Long.parseLong(lora[params]) < Long.parseLong(full[params]) / 5,
                "LoRA trains few parameters: " + lora[params]);
        for (String[] row : List.of(full, lbp, lora, loraLbp)) {
            double a1 = Double.parseDouble(row[acc]);
            assertTrue(a1 > 0.3 && a1 <= 1, row[0] + " learns the easy task: " + a1);
        }
        for (String png : List.of("accuracy_vs_flops.png", "loss_curves.png")) {
            assertTrue(ImageIO.read(out.resolve(png).toFile()).getWidth() > 0, png);
        }
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| lbp-l1-2 |"), md);
        assertTrue(
                md.startsWith(
                        "vit_micro_patch4_32 (none) on data, train blocks all, 2 epochs, batch 32,"
                                + " lr 0.002, PyTorch\n"),
                "a caption says what was run: " + md);
        int rss = List.of(header).indexOf("peak_rss_mb");
        for (String row : csv.subList(1, 5)) {
            assertEquals("", row.split(",", -1)[rss], "no peak RSS without --isolate: " + row);
        }
        assertTrue(md.contains("peak RSS: blank unless measured with --isolate"), md);
        assertTrue(
                md.contains(
                                "What this run shows: on vit_micro_patch4_32, lbp-l1-2 cuts the"
                                        + " backward FLOPs")
                        && md.contains("What it does not show:")
                        && md.contains("docs/BENCHMARKS.md"),
                md);
        JsonElement json = strictJson(out.resolve("results.json"));
        assertEquals(4, json.getAsJsonObject().getAsJsonArray("rows").size(), json.toString());
    }

    /**
     * Parses a file as strict JSON (RFC 8259: no NaN or Infinity, which Gson writes only when
     * asked), and checks it has no such words anywhere.
     */
    static JsonElement strictJson(Path file) throws IOException {
        String text = Files.readString(file);
        assertFalse(text.matches("(?s).*\\b(NaN|Infinity)\\b.*"), text);
        JsonReader reader = new JsonReader(new StringReader(text));
        reader.setStrictness(Strictness.STRICT);
        return new Gson().getAdapter(JsonElement.class).read(reader);
    }

    @Test
    void isolatedMethodsRunInChildJvmsAndMerge(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        TinyIdx.write(data, "train", 64, 1);
        TinyIdx.write(data, "t10k", 32, 2);
        Adapt a = new Adapt();
        a.data = data.toString();
        a.pretrained = "none";
        a.methods = List.of("head", "lbp-l1-2");
        a.epochs = 1;
        a.batch = 32;
        a.isolate = true;
        a.out = tmp.resolve("out");
        assertEquals(0, a.call());
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        assertEquals(3, csv.size(), String.join("\n", csv));
        assertTrue(
                csv.get(1).startsWith("head,") && csv.get(2).startsWith("lbp-l1-2,"),
                String.join("\n", csv));
        int rss = List.of(csv.get(0).split(",")).indexOf("peak_rss_mb");
        for (String row : csv.subList(1, 3)) {
            assertTrue(
                    Double.parseDouble(row.split(",")[rss]) > 0,
                    "each child measured its own peak: " + row);
        }
        int k = List.of(csv.get(0).split(",")).indexOf("k");
        assertEquals("", csv.get(1).split(",", -1)[k], "the head alone has no k: " + csv.get(1));
        assertEquals("3", csv.get(2).split(",", -1)[k], csv.get(2));
        assertTrue(Files.exists(a.out.resolve("methods/head/results.json")));
        strictJson(a.out.resolve("results.json"));
        assertTrue(ImageIO.read(a.out.resolve("loss_curves.png").toFile()).getWidth() > 0);
    }

    @Test
    void dataFromABaseUrlIsDownloadedOnceIntoTheCache(@TempDir Path tmp) throws Exception {
        Path served = Files.createDirectories(tmp.resolve("served"));
        TinyIdx.write(served, "train", 64, 1);
        TinyIdx.write(served, "t10k", 32, 2);
        for (String f :
                List.of(
                        "train-labels-idx1-ubyte",
                        "t10k-labels-idx1-ubyte")) { // the URL form wants .gz
            try (OutputStream o =
                    new GZIPOutputStream(Files.newOutputStream(served.resolve(f + ".gz")))) {
                o.write(Files.readAllBytes(served.resolve(f)));
            }
        }
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int[] requests = {0};
        server.createContext(
                "/",
                ex -> {
                    requests[0]++;
                    Path f = served.resolve(ex.getRequestURI().getPath().substring(1));
                    if (!Files.isRegularFile(f)) {
                        ex.sendResponseHeaders(404, -1);
                    } else {
                        byte[] b = Files.readAllBytes(f);
                        ex.sendResponseHeaders(200, b.length);
                        ex.getResponseBody().write(b);
                    }
                    ex.close();
                });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/";
            Path cache = tmp.resolve("cache");
            Path dir = Fetch.idxFolder(url, cache);
            assertTrue(dir.startsWith(cache));
            assertEquals(4, requests[0]);
            assertEquals(64, ImageData.idx(dir, true, cache).count);
            Fetch.idxFolder(url, cache);
            assertEquals(4, requests[0], "downloaded once");
            IOException e =
                    assertThrows(
                            IOException.class,
                            () -> Fetch.file(url + "missing.safetensors", cache));
            assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());
            assertEquals(Path.of("local/file"), Fetch.file("local/file", cache));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void missingDataSaysHowToGetIt(@TempDir Path tmp) {
        Adapt a = new Adapt();
        a.data = tmp.resolve("nowhere").toString();
        a.pretrained = "none";
        a.out = tmp.resolve("out");
        Exception e = assertThrows(ParameterException.class, a::call);
        assertTrue(
                e.getMessage().contains("dataset-fashion-mnist")
                        && e.getMessage().contains("nowhere"),
                e.getMessage());
    }

    @Test
    void idxFilesOfAnyNamesAndClassCount(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("idx"));
        TinyIdx.write(dir, "a", 192, 1, 3);
        TinyIdx.write(dir, "b", 96, 2, 3);
        String data =
                String.join(
                        ",",
                        List.of(
                                dir.resolve("a-images-idx3-ubyte.gz").toString(),
                                dir.resolve("a-labels-idx1-ubyte").toString(),
                                dir.resolve("b-images-idx3-ubyte.gz").toString(),
                                dir.resolve("b-labels-idx1-ubyte").toString()));
        Adapt a = new Adapt();
        a.data = data;
        a.pretrained = "none";
        a.methods = List.of("full");
        a.epochs = 2;
        a.batch = 32;
        a.lr = 2e-3f;
        a.save = true;
        a.out = tmp.resolve("out");
        assertEquals(0, a.call());
        Path synset = a.out.resolve("models").resolve("full").resolve("synset.txt");
        assertEquals(List.of("0", "1", "2"), Files.readAllLines(synset), "three classes");
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        int acc = List.of(csv.get(0).split(",")).indexOf("test_accuracy");
        double accuracy = Double.parseDouble(csv.get(1).split(",", -1)[acc]);
        assertTrue(accuracy > 0.5, "learns the three bands: " + accuracy);
    }

    /** A PyTorch run's log: no MXNet started beside it, no CUDA warnings on a CPU machine. */
    @Test
    void thePyTorchLogIsQuiet(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 64, 32);
        List<String> lines = new java.util.ArrayList<>();
        ChildJvm.Finished f =
                ChildJvm.of(Adapt.class)
                        .args(
                                List.of(
                                        "--data", data.toString(),
                                        "--pretrained", "none",
                                        "--methods", "full",
                                        "--epochs", "1",
                                        "--out", tmp.resolve("out").toString()))
                        .run(lines::add);
        assertEquals(0, f.exitCode(), String.join("\n", lines));
        String log = String.join("\n", lines);
        assertTrue(log.contains("pytorch-native"), "PyTorch's natives load: " + log);
        assertFalse(log.toLowerCase(java.util.Locale.ROOT).contains("mxnet"), log);
        assertFalse(log.contains("CudaUtils"), log);
    }
}
