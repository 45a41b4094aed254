package io.github.lbpdjl.examples.adapt;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.util.Progress;
import java.io.IOException;

/** A DJL dataset over an {@link ImageData} split: each record's image is read when it is used. */
final class StreamedImages extends RandomAccessDataset {

    private final ImageData data;

    private StreamedImages(Builder builder) {
        super(builder);
        this.data = builder.data;
    }

    static Builder builder(ImageData data) {
        return new Builder(data);
    }

    @Override
    public Record get(NDManager manager, long index) throws IOException {
        int i = Math.toIntExact(index);
        NDList x =
                new NDList(
                        manager.create(
                                data.image(i), new Shape(data.channels, data.size, data.size)));
        return new Record(x, new NDList(manager.create(data.labels[i])));
    }

    @Override
    protected long availableSize() {
        return data.count;
    }

    @Override
    public void prepare(Progress progress) {}

    /** Builds the dataset; sampling and the batchifier as for any DJL dataset. */
    static final class Builder extends BaseBuilder<Builder> {

        private final ImageData data;

        Builder(ImageData data) {
            this.data = data;
        }

        @Override
        protected Builder self() {
            return this;
        }

        StreamedImages build() {
            return new StreamedImages(this);
        }
    }
}
