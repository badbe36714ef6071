/**
 * Training-mode BatchNorm (ops/batchnorm.ts) as single passes over the WASM heap, in float64
 * accumulators; without them a layer runs the composite, about 30 kernels per training step, each a
 * full pass with its own allocation.
 *
 *   MixtureBatchNormStats {x, movingMean, movingVariance} {momentum, unbiased}
 *     → [mean, biased variance, updated running mean, updated running variance] (all [C]);
 *     sums are taken about each channel's first value so that E[x²] − E[x]² does not cancel.
 *   MixtureBatchNormGrad {dy, x, mean, variance, gamma} {epsilon} → [dx, dγ, dβ]:
 *     dβ = Σdy, dγ = Σdy·x̂, dx = γ/σ · (dy − (dβ + x̂·dγ)/R).
 */
import {BN_GRAD_KERNEL, BN_STATS_KERNEL} from '../../../ops/batchnorm.js'
import {heapF32, offsetOf, requireFloat32, rowsAndChannels, wasmKernel, type Info, type KernelArgs} from '../heap.js'

function bnStats({inputs, backend, attrs}: KernelArgs): Info[] {
  const b = backend
  const {x, movingMean, movingVariance} = inputs as {x: Info; movingMean: Info; movingVariance: Info}
  const {momentum, unbiased} = attrs as unknown as {momentum: number; unbiased: boolean}
  requireFloat32(BN_STATS_KERNEL, x, movingMean, movingVariance)
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

function bnGrad({inputs, backend, attrs}: KernelArgs): Info[] {
  const b = backend
  const {dy, x, mean, variance, gamma} = inputs as {dy: Info; x: Info; mean: Info; variance: Info; gamma: Info}
  const {epsilon} = attrs as unknown as {epsilon: number}
  requireFloat32(BN_GRAD_KERNEL, dy, x, mean, variance, gamma)
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

export const batchNormConfigs = [wasmKernel(BN_STATS_KERNEL, bnStats), wasmKernel(BN_GRAD_KERNEL, bnGrad)]
