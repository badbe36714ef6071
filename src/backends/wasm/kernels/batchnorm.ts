/**
 * The project's fused normalisation kernels (contracts in ../../kernels/fused-norm.ts) and its
 * seeded dropout (../../kernels/dropout.ts) as single passes over the WASM heap, in float64
 * accumulators. Without them the layers run their composites: about 30 kernels per BatchNorm and
 * 20 per LayerNorm per training step, each a full pass with its own allocation.
 *
 *   MixtureBatchNormStats {x, movingMean, movingVariance} {momentum, unbiased}
 *     → [mean, biased variance, updated running mean, updated running variance] (all [C]);
 *     sums are taken about each channel's first value so that E[x²] − E[x]² does not cancel.
 *   MixtureBatchNormGrad {dy, x, mean, variance, gamma} {epsilon} → [dx, dγ, dβ]:
 *     dβ = Σdy, dγ = Σdy·x̂, dx = γ/σ · (dy − (dβ + x̂·dγ)/R).
 *   MixtureLayerNorm {x, gamma, beta} {epsilon} → [y, mean [rows], 1/σ [rows]] (two passes per row).
 *   MixtureLayerNormGrad {dy, x, mean, rstd, gamma} → [dx, dγ, dβ]:
 *     dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over rows.
 *   MixtureDropout {x} {rate, seed} → x·keep(i)/(1 − rate), keep from the shared counter hash.
 */
import {tf} from '../../tf.js'
import {BN_GRAD_KERNEL, BN_STATS_KERNEL} from '../../../ops/batchnorm.js'
import {LN_GRAD_KERNEL, LN_KERNEL} from '../../../ops/layernorm.js'
import {DROPOUT_KERNEL, dropoutHash} from '../../../ops/dropout.js'
import {type Backend, type Info, heapF32, offsetOf} from '../util.js'

type Args = {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}

function rowsAndChannels(shape: number[]): [number, number] {
  const c = shape[shape.length - 1] ?? 1
  return [c === 0 ? 0 : tf.util.sizeFromShape(shape) / c, c]
}

function float32(...infos: Info[]): void {
  for (const t of infos) if (t.dtype !== 'float32') throw new Error(`the fused normalisation kernels need float32 tensors, got ${t.dtype}`)
}

function bnStats({inputs, backend, attrs}: Args): Info[] {
  const b = backend as Backend
  const {x, movingMean, movingVariance} = inputs as {x: Info; movingMean: Info; movingVariance: Info}
  const {momentum, unbiased} = attrs as unknown as {momentum: number; unbiased: boolean}
  float32(x, movingMean, movingVariance)
  const [rows, c] = rowsAndChannels(x.shape)
  const outs = [0, 1, 2, 3].map(() => b.makeOutput([c], 'float32'))
  const heap = heapF32(b)
  const xs = offsetOf(b, x) >>> 2
  const [mo, vo, nmo, nvo] = outs.map((t) => offsetOf(b, t) >>> 2)
  const mm = offsetOf(b, movingMean) >>> 2
  const mv = offsetOf(b, movingVariance) >>> 2
  const sum = new Float64Array(c)
  const sq = new Float64Array(c)
  for (let r = 0; r < rows; r++) {
    const row = xs + r * c
    for (let j = 0; j < c; j++) {
      const d = heap[row + j] - heap[xs + j]
      sum[j] += d
      sq[j] += d * d
    }
  }
  const scale = unbiased && rows > 1 ? rows / (rows - 1) : 1
  for (let j = 0; j < c; j++) {
    const d = rows > 0 ? sum[j] / rows : 0
    const mean = (rows > 0 ? heap[xs + j] : 0) + d
    const variance = rows > 0 ? Math.max(sq[j] / rows - d * d, 0) : 0
    heap[mo + j] = mean
    heap[vo + j] = variance
    heap[nmo + j] = heap[mm + j] * (1 - momentum) + mean * momentum
    heap[nvo + j] = heap[mv + j] * (1 - momentum) + variance * scale * momentum
  }
  return outs
}

function bnGrad({inputs, backend, attrs}: Args): Info[] {
  const b = backend as Backend
  const {dy, x, mean, variance, gamma} = inputs as {dy: Info; x: Info; mean: Info; variance: Info; gamma: Info}
  const {epsilon} = attrs as unknown as {epsilon: number}
  float32(dy, x, mean, variance, gamma)
  const [rows, c] = rowsAndChannels(x.shape)
  const dx = b.makeOutput(x.shape, 'float32')
  const dGamma = b.makeOutput([c], 'float32')
  const dBeta = b.makeOutput([c], 'float32')
  const heap = heapF32(b)
  const [xs, gs, ms, vs, ws, dxs, dgs, dbs] = [x, dy, mean, variance, gamma, dx, dGamma, dBeta].map((t) => offsetOf(b, t) >>> 2)
  const mu = new Float64Array(c)
  const inv = new Float64Array(c)
  for (let j = 0; j < c; j++) {
    mu[j] = heap[ms + j]
    inv[j] = 1 / Math.sqrt(heap[vs + j] + epsilon)
  }
  const sumDy = new Float64Array(c)
  const sumDyXhat = new Float64Array(c)
  for (let r = 0; r < rows; r++) {
    const i0 = r * c
    for (let j = 0; j < c; j++) {
      const g = heap[gs + i0 + j]
      sumDy[j] += g
      sumDyXhat[j] += g * (heap[xs + i0 + j] - mu[j]) * inv[j]
    }
  }
  const k = new Float64Array(c)
  for (let j = 0; j < c; j++) {
    heap[dbs + j] = sumDy[j]
    heap[dgs + j] = sumDyXhat[j]
    k[j] = heap[ws + j] * inv[j]
  }
  const invR = rows > 0 ? 1 / rows : 0
  for (let r = 0; r < rows; r++) {
    const i0 = r * c
    for (let j = 0; j < c; j++) {
      const xHat = (heap[xs + i0 + j] - mu[j]) * inv[j]
      heap[dxs + i0 + j] = k[j] * (heap[gs + i0 + j] - invR * (sumDy[j] + xHat * sumDyXhat[j]))
    }
  }
  return [dx, dGamma, dBeta]
}

function lnForward({inputs, backend, attrs}: Args): Info[] {
  const b = backend as Backend
  const {x, gamma, beta} = inputs as {x: Info; gamma: Info; beta: Info}
  const {epsilon} = attrs as unknown as {epsilon: number}
  float32(x, gamma, beta)
  const [rows, d] = rowsAndChannels(x.shape)
  const y = b.makeOutput(x.shape, 'float32')
  const mean = b.makeOutput([rows], 'float32')
  const rstd = b.makeOutput([rows], 'float32')
  const heap = heapF32(b)
  const [xs, gs, bs, ys, ms, rs] = [x, gamma, beta, y, mean, rstd].map((t) => offsetOf(b, t) >>> 2)
  for (let r = 0; r < rows; r++) {
    const row = xs + r * d
    let s = 0
    for (let j = 0; j < d; j++) s += heap[row + j]
    const mu = s / d
    let q = 0
    for (let j = 0; j < d; j++) {
      const t = heap[row + j] - mu
      q += t * t
    }
    const inv = 1 / Math.sqrt(q / d + epsilon)
    const out = ys + r * d
    for (let j = 0; j < d; j++) heap[out + j] = (heap[row + j] - mu) * inv * heap[gs + j] + heap[bs + j]
    heap[ms + r] = mu
    heap[rs + r] = inv
  }
  return [y, mean, rstd]
}

function lnGrad({inputs, backend}: Args): Info[] {
  const b = backend as Backend
  const {dy, x, mean, rstd, gamma} = inputs as {dy: Info; x: Info; mean: Info; rstd: Info; gamma: Info}
  float32(dy, x, mean, rstd, gamma)
  const [rows, d] = rowsAndChannels(x.shape)
  const dx = b.makeOutput(x.shape, 'float32')
  const dGamma = b.makeOutput([d], 'float32')
  const dBeta = b.makeOutput([d], 'float32')
  const heap = heapF32(b)
  const [gys, xs, ms, rs, ws, dxs, dgs, dbs] = [dy, x, mean, rstd, gamma, dx, dGamma, dBeta].map((t) => offsetOf(b, t) >>> 2)
  const sumDy = new Float64Array(d)
  const sumDyXhat = new Float64Array(d)
  const xHat = new Float64Array(d)
  for (let r = 0; r < rows; r++) {
    const row = r * d
    const mu = heap[ms + r]
    const inv = heap[rs + r]
    let meanG = 0
    let meanGX = 0
    for (let j = 0; j < d; j++) {
      const h = (heap[xs + row + j] - mu) * inv
      xHat[j] = h
      const g0 = heap[gys + row + j]
      sumDy[j] += g0
      sumDyXhat[j] += g0 * h
      const g = g0 * heap[ws + j]
      meanG += g
      meanGX += g * h
    }
    meanG /= d
    meanGX /= d
    for (let j = 0; j < d; j++) heap[dxs + row + j] = inv * (heap[gys + row + j] * heap[ws + j] - meanG - xHat[j] * meanGX)
  }
  for (let j = 0; j < d; j++) {
    heap[dgs + j] = sumDyXhat[j]
    heap[dbs + j] = sumDy[j]
  }
  return [dx, dGamma, dBeta]
}

function dropout({inputs, backend, attrs}: Args): Info {
  const b = backend as Backend
  const {x} = inputs as {x: Info}
  const {rate, seed} = attrs as unknown as {rate: number; seed: number}
  float32(x)
  const n = tf.util.sizeFromShape(x.shape)
  const y = b.makeOutput(x.shape, 'float32')
  const heap = heapF32(b)
  const xs = offsetOf(b, x) >>> 2
  const ys = offsetOf(b, y) >>> 2
  const threshold = Math.floor(rate * 4294967296)
  const scale = 1 / (1 - rate)
  for (let i = 0; i < n; i++) heap[ys + i] = dropoutHash(seed, i) >= threshold ? heap[xs + i] * scale : 0
  return y
}

const config = (kernelName: string, kernelFunc: (args: Args) => Info | Info[]): tf.KernelConfig => ({
  kernelName,
  backendName: 'wasm',
  kernelFunc: kernelFunc as unknown as tf.KernelFunc,
})

export const normKernelConfigs: tf.KernelConfig[] = [
  config(BN_STATS_KERNEL, bnStats),
  config(BN_GRAD_KERNEL, bnGrad),
  config(LN_KERNEL, lnForward),
  config(LN_GRAD_KERNEL, lnGrad),
  config(DROPOUT_KERNEL, dropout),
]
