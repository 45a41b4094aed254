/**
 * The safetensors format: a validating reader ({@link
 * io.github.lbpdjl.safetensors.SafetensorsFile}) that bounds every allocation by the file's real
 * size, and an atomic writer ({@link io.github.lbpdjl.safetensors.SafetensorsWriter}); F64, F32,
 * F16, BF16 and integer types.
 */
package io.github.lbpdjl.safetensors;
