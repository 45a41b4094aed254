/** File utilities: atomic saves ({@link io.github.lbpdjl.io.AtomicFiles}). */
package io.github.lbpdjl.io;
