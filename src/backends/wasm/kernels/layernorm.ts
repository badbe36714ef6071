/**
 * LayerNorm over the last axis (ops/layernorm.ts) as single passes over the WASM heap, in float64
 * accumulators; without them a layer runs the composite, about 20 kernels per training step.
 *
 *   MixtureLayerNorm {x, gamma, beta} {epsilon} → [y, mean [rows], 1/σ [rows]] (two passes per row).
 *   MixtureLayerNormGrad {dy, x, mean, rstd, gamma} → [dx, dγ, dβ]:
 *     dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over rows.
 */
import {LN_GRAD_KERNEL, LN_KERNEL} from '../../../ops/layernorm.js'
import {heapF32, offsetOf, requireFloat32, rowsAndChannels, wasmKernel, type Info, type KernelArgs} from '../heap.js'

function lnForward({inputs, backend, attrs}: KernelArgs): Info[] {
  const b = backend
  const {x, gamma, beta} = inputs as {x: Info; gamma: Info; beta: Info}
  const {epsilon} = attrs as unknown as {epsilon: number}
  requireFloat32(LN_KERNEL, x, gamma, beta)
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

function lnGrad({inputs, backend}: KernelArgs): Info[] {
  const b = backend
  const {dy, x, mean, rstd, gamma} = inputs as {dy: Info; x: Info; mean: Info; rstd: Info; gamma: Info}
  requireFloat32(LN_GRAD_KERNEL, dy, x, mean, rstd, gamma)
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

export const layerNormConfigs = [wasmKernel(LN_KERNEL, lnForward), wasmKernel(LN_GRAD_KERNEL, lnGrad)]
