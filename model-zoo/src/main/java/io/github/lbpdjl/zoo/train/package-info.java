/** The reproducible training program of the weights the zoo ships. */
package io.github.lbpdjl.zoo.train;
