/**
 * Helpers shared by the packages of lbp-djl that are not part of its API: they may change or go
 * without notice. Depends on nothing else of lbp-djl.
 */
package io.github.lbpdjl.internal;
