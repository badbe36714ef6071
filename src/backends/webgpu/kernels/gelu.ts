/**
 * Exact GELU on WebGPU (ops/gelu.ts), one dispatch each way instead of 4–10:
 *   MixtureGelu {x} → 0.5·x·(1 + erf(x/√2));  MixtureGeluGrad {dy, x} → dy·(Φ(x) + x·φ(x))
 */
import {GELU_GRAD_KERNEL, GELU_KERNEL} from '../../../ops/gelu.js'
import {elementwiseKernel, sameShape} from '../programs/elementwise.js'

export const geluConfigs = [
  elementwiseKernel(GELU_KERNEL, 'gelu', ['x'], 'out0[index] = gelu(x[index]);', ([x]) => ({out: x.shape, threads: x.shape, half: 0})),
  elementwiseKernel(GELU_GRAD_KERNEL, 'gelu-grad', ['dy', 'x'], 'out0[index] = dy[index] * geluGrad(x[index]);', ([dy, x]) => {
    sameShape(GELU_GRAD_KERNEL, dy, x)
    return {out: x.shape, threads: x.shape, half: 0}
  }),
]
