/**
 * Exact GELU (ops/gelu.ts) as single passes over the WASM heap:
 *   MixtureGelu {x} → 0.5·x·(1 + erf(x/√2));  MixtureGeluGrad {dy, x} → dy·(Φ(x) + x·φ(x)).
 * Besides the passes they save, they keep a training step's memory down: the composite GELU holds
 * four full-size tensors per call for its gradient, this one holds x.
 * erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the formula of tfjs's cpu `Erf`.
 */
import {tf} from '../../../engine/tf.js'
import {GELU_GRAD_KERNEL, GELU_KERNEL} from '../../../ops/gelu.js'
import {heapF32, offsetOf, requireFloat32, wasmKernel, type Info, type KernelArgs} from '../heap.js'

const P = 0.3275911
const A1 = 0.254829592
const A2 = -0.284496736
const A3 = 1.421413741
const A4 = -1.453152027
const A5 = 1.061405429
const INV_SQRT2 = Math.SQRT1_2
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI)

export function erf(x: number): number {
  const s = x < 0 ? -1 : 1
  const a = Math.abs(x)
  const t = 1 / (1 + P * a)
  return s * (1 - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * Math.exp(-a * a))
}

function gelu({inputs, backend}: KernelArgs): Info {
  const b = backend
  const {x} = inputs as {x: Info}
  requireFloat32(GELU_KERNEL, x)
  const n = tf.util.sizeFromShape(x.shape)
  const y = b.makeOutput(x.shape, 'float32')
  const heap = heapF32(b)
  const xs = offsetOf(b, x) >>> 2
  const ys = offsetOf(b, y) >>> 2
  for (let i = 0; i < n; i++) {
    const v = heap[xs + i]
    heap[ys + i] = 0.5 * v * (1 + erf(v * INV_SQRT2))
  }
  return y
}

function geluGrad({inputs, backend}: KernelArgs): Info {
  const b = backend
  const {dy, x} = inputs as {dy: Info; x: Info}
  requireFloat32(GELU_GRAD_KERNEL, dy, x)
  const n = tf.util.sizeFromShape(x.shape)
  const dx = b.makeOutput(x.shape, 'float32')
  const heap = heapF32(b)
  const xs = offsetOf(b, x) >>> 2
  const gs = offsetOf(b, dy) >>> 2
  const ds = offsetOf(b, dx) >>> 2
  for (let i = 0; i < n; i++) {
    const v = heap[xs + i]
    heap[ds + i] = heap[gs + i] * (0.5 * (1 + erf(v * INV_SQRT2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v))
  }
  return dx
}

export const geluConfigs = [wasmKernel(GELU_KERNEL, gelu), wasmKernel(GELU_GRAD_KERNEL, geluGrad)]
