/** A small validating safetensors reader and an atomic writer, with F32, F16 and BF16 support. */
package io.github.lbpdjl.zoo.safetensors;
