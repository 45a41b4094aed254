/**
 * The maths of LBP-WHT, independent of DJL's autograd: Walsh matrices in sequency order, basis
 * selections (LP_L1, LP_Linf, explicit), padding, token layouts and the dense projection of a token
 * grid onto the selected bases of each patch. Depends on {@code modules} only (for {@link
 * io.github.lbpdjl.modules.TokenGrid}).
 */
package io.github.lbpdjl.wht;
