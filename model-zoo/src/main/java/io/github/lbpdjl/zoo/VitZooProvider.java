package io.github.lbpdjl.zoo;

import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooProvider;

/** Registers {@link VitModelZoo} with DJL (META-INF/services/ai.djl.repository.zoo.ZooProvider). */
public class VitZooProvider implements ZooProvider {

    /** {@inheritDoc} */
    @Override
    public ModelZoo getModelZoo() {
        return new VitModelZoo();
    }
}
