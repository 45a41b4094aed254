package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Downloads only what the user names by URL: a weights file, or the four IDX files of a data set
 * under a base URL. Files land in a cache folder under names derived from their URLs and are
 * written atomically, so an interrupted download is never mistaken for a complete one. A local path
 * is returned as it is; nothing is downloaded by default.
 */
final class Fetch {

    /** The IDX files a data set URL must serve (gzipped). */
    static final List<String> IDX_FILES =
            List.of(
                    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    private Fetch() {}

    static boolean isUrl(String spec) {
        String s = spec.toLowerCase(Locale.ROOT);
        return s.startsWith("http://") || s.startsWith("https://") || s.startsWith("file:");
    }

    /**
     * Returns the local file for a path or URL, downloading a URL once into {@code cache}.
     *
     * @param spec a local path or an http(s)/file URL
     * @param cache the cache folder
     * @return the local file
     * @throws IOException naming the URL if the download fails
     */
    static Path file(String spec, Path cache) throws IOException {
        if (!isUrl(spec)) {
            return Path.of(spec);
        }
        URI uri = uri(spec);
        String name =
                Path.of(uri.getPath().isEmpty() ? "download" : uri.getPath())
                        .getFileName()
                        .toString();
        Path target = cache.resolve(hash(spec)).resolve(name);
        download(uri, target);
        return target;
    }

    /**
     * Returns the local folder for a data set path or base URL; for a URL, downloads the four
     * gzipped IDX files under it into {@code cache}.
     *
     * @param spec a local folder or a base URL
     * @param cache the cache folder
     * @return the local folder
     * @throws IOException naming the URL if a download fails
     */
    static Path idxFolder(String spec, Path cache) throws IOException {
        if (!isUrl(spec)) {
            return Path.of(spec);
        }
        String base = spec.endsWith("/") ? spec : spec + "/";
        Path dir = cache.resolve(hash(base));
        for (String f : IDX_FILES) {
            download(uri(base + f), dir.resolve(f));
        }
        return dir;
    }

    private static void download(URI uri, Path target) throws IOException {
        if (Files.isRegularFile(target)) {
            return; // complete: files appear only by atomic rename
        }
        Files.createDirectories(target.getParent());
        System.out.println("downloading " + uri + " -> " + target);
        try {
            URLConnection c = uri.toURL().openConnection();
            c.setConnectTimeout(30_000);
            c.setReadTimeout(60_000);
            try (InputStream in = c.getInputStream()) {
                AtomicFiles.write(target, out -> in.transferTo(out));
            }
        } catch (IOException e) {
            throw new IOException(
                    "could not download " + uri + " (" + e + "); pass a local path instead", e);
        }
    }

    private static URI uri(String spec) throws IOException {
        try {
            return new URI(spec);
        } catch (URISyntaxException e) {
            throw new IOException("not a valid URL: " + spec, e);
        }
    }

    private static String hash(String s) {
        try {
            byte[] d =
                    MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
