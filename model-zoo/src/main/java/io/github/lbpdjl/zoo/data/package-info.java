/** Readers for local data sets: IDX files and MNIST prepared for the zoo's micro ViT. */
package io.github.lbpdjl.zoo.data;
