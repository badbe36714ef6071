/**
 * GEGLU on WebGPU (ops/geglu.ts), one dispatch each way:
 *   MixtureGeglu {x} (…, 2D) → x[…, :D] · GELU(x[…, D:]);  MixtureGegluGrad {dy, x} → (…, 2D)
 */
import {tf} from '../../../engine/tf.js'
import {GEGLU_GRAD_KERNEL, GEGLU_KERNEL} from '../../../ops/geglu.js'
import {elementwiseKernel} from '../programs/elementwise.js'

function gegluShapes(name: string, x: tf.TensorInfo): {half: number; outShape: number[]} {
  const last = x.shape[x.shape.length - 1] ?? 0
  if (x.shape.length === 0 || last % 2 !== 0) throw new Error(`${name}: the last axis must have an even size, got [${x.shape}]`)
  return {half: last / 2, outShape: [...x.shape.slice(0, -1), last / 2]}
}

const GEGLU_INDEX = 'let row = index / u.half; let col = index % u.half; let base = row * 2u * u.half + col;'

export const gegluConfigs = [
  elementwiseKernel(GEGLU_KERNEL, 'geglu', ['x'], `${GEGLU_INDEX}\n  out0[index] = x[base] * gelu(x[base + u.half]);`, ([x]) => {
    const {half, outShape} = gegluShapes(GEGLU_KERNEL, x)
    return {out: outShape, threads: outShape, half}
  }),
  elementwiseKernel(
    GEGLU_GRAD_KERNEL,
    'geglu-grad',
    ['dy', 'x'],
    `${GEGLU_INDEX}
  let g = x[base + u.half];
  out0[base] = dy[index] * gelu(g);
  out0[base + u.half] = dy[index] * x[base] * geluGrad(g);`,
    ([dy, x]) => {
      const {half, outShape} = gegluShapes(GEGLU_GRAD_KERNEL, x)
      if (!tf.util.arraysEqual(dy.shape, outShape)) throw new Error(`${GEGLU_GRAD_KERNEL}: dy must have shape [${outShape}], got [${dy.shape}]`)
      return {out: x.shape, threads: outShape, half}
    },
  ),
]
