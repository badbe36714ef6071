/** `MixtureReluGrad` on WebGPU (ops/relu-grad.ts): dy·step(x) in one dispatch (step(NaN) = NaN, as tfjs-core's Relu gradient). */
import {RELU_GRAD_KERNEL} from '../../../ops/relu-grad.js'
import {elementwiseKernel, sameShape} from '../programs/elementwise.js'

export const reluGradConfig = elementwiseKernel(
  RELU_GRAD_KERNEL,
  'relu-grad',
  ['dy', 'x'],
  `let xv = x[index];
  var s = select(0.0, 1.0, xv > 0.0);
  // NaN by its bits: a compiler may fold xv != xv to false.
  if ((bitcast<u32>(xv) & 0x7fffffffu) > 0x7f800000u) { s = xv; }
  out0[index] = dy[index] * s;`,
  ([dy, x]) => {
    sameShape(RELU_GRAD_KERNEL, dy, x)
    return {out: x.shape, threads: x.shape, half: 0}
  },
)
