/**
 * LoRA as Hugging Face PEFT has it, composed with LBP-WHT: {@link io.github.lbpdjl.peft.LoraLinear}
 * (an adapted layer whose token-wise map is {@code x W^T + s x A^T B^T}), {@link
 * io.github.lbpdjl.peft.LoraConfig} (PEFT's adapter_config.json) and {@link
 * io.github.lbpdjl.peft.LoraModel} (inject, freeze, merge, adapter-only save and load). Built on
 * {@code rewrite}'s injection; depends on {@code nn}, {@code rewrite}, {@code safetensors}.
 */
package io.github.lbpdjl.peft;
