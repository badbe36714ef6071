/**
 * The project's fused activation kernels (used by src/layers when the backend has them), as single
 * passes over the WASM heap:
 *   MixtureGelu {x} → 0.5·x·(1 + erf(x/√2));  MixtureGeluGrad {dy, x} → dy·(Φ(x) + x·φ(x)).
 *   MixtureSoftmaxGrad {dy, y} → y·(dy − Σ dy·y) over the last axis.
 * Besides the passes they save, they keep a training step's memory down: the composite GELU holds
 * four full-size tensors per call for its gradient, this one holds x.
 * erf is Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the formula of tfjs's cpu `Erf`.
 */
import {tf} from '../../tf.js'
import {type Backend, type Info, heapF32, offsetOf} from '../util.js'

type Args = {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}

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

function float32(what: string, ...infos: Info[]): void {
  for (const t of infos) if (t.dtype !== 'float32') throw new Error(`${what} needs float32 tensors, got ${t.dtype}`)
}

function gelu({inputs, backend}: Args): Info {
  const b = backend as Backend
  const {x} = inputs as {x: Info}
  float32('MixtureGelu', x)
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

function geluGrad({inputs, backend}: Args): Info {
  const b = backend as Backend
  const {dy, x} = inputs as {dy: Info; x: Info}
  float32('MixtureGeluGrad', dy, x)
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

function softmaxGrad({inputs, backend}: Args): Info {
  const b = backend as Backend
  const {dy, y} = inputs as {dy: Info; y: Info}
  float32('MixtureSoftmaxGrad', dy, y)
  if (!tf.util.arraysEqual(dy.shape, y.shape) || y.shape.length === 0) throw new Error(`MixtureSoftmaxGrad needs dy and y of one shape, got ${dy.shape} and ${y.shape}`)
  const cols = y.shape[y.shape.length - 1]
  const n = tf.util.sizeFromShape(y.shape)
  const dx = b.makeOutput(y.shape, 'float32')
  if (cols === 0) return dx
  const heap = heapF32(b)
  const ys = offsetOf(b, y) >>> 2
  const gs = offsetOf(b, dy) >>> 2
  const ds = offsetOf(b, dx) >>> 2
  for (let r = 0; r < n; r += cols) {
    let dot = 0
    for (let j = 0; j < cols; j++) dot += heap[gs + r + j] * heap[ys + r + j]
    for (let j = 0; j < cols; j++) heap[ds + r + j] = heap[ys + r + j] * (heap[gs + r + j] - dot)
  }
  return dx
}

const config = (kernelName: string, kernelFunc: (args: Args) => Info): tf.KernelConfig => ({
  kernelName,
  backendName: 'wasm',
  kernelFunc: kernelFunc as unknown as tf.KernelFunc,
})

export const activationKernelConfigs: tf.KernelConfig[] = [
  config('MixtureGelu', gelu),
  config('MixtureGeluGrad', geluGrad),
  config('MixtureSoftmaxGrad', softmaxGrad),
]
