/** `MixtureNorm` and `MixtureNormGrad` (ops/norm.ts) in one addon pass each, for the two layouts the layers use. */
import {NORM_GRAD_KERNEL, NORM_KERNEL, type NormAttrs} from '../../../ops/norm.js'
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

/** rows (0): normalised axes are the trailing ones; channels (1): every axis but the last. */
function normLayout(shape: number[], axes: number[], params: number): {layout: number; r: number; d: number} {
  const rank = shape.length
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q)
  const trailing = sorted.length > 0 && sorted.every((a, i) => a === rank - sorted.length + i)
  const leading = rank >= 2 && sorted.length === rank - 1 && sorted.every((a, i) => a === i)
  if (trailing) {
    const d = size(shape.slice(rank - sorted.length))
    if (params === d) return {layout: 0, r: size(shape) / Math.max(d, 1), d}
  }
  if (leading) {
    const c = shape[rank - 1]
    if (params === c) return {layout: 1, r: size(shape) / Math.max(c, 1), d: c}
  }
  throw new Error(`${NORM_KERNEL}: normalised axes ${JSON.stringify(axes)} of shape ${JSON.stringify(shape)} with ${params} scale/offset values are not supported: use the trailing axes (gamma over those axes) or every axis but the last (gamma over the last)`)
}

function statsShape(shape: number[], layout: number): number[] {
  const rank = shape.length
  return layout === 1 ? shape.map((d, i) => (i === rank - 1 ? d : 1)) : shape
}

function norm(a: Args, n: NativeAddon): TensorInfo[] {
  const backend = a.backend as MathBackendCPU
  const {x, gamma, beta} = a.inputs as {x: TensorInfo; gamma: TensorInfo; beta: TensorInfo}
  const {axes, epsilon} = a.attrs as unknown as NormAttrs
  const xv = values(backend, x), gv = values(backend, gamma), bv = values(backend, beta)
  if (!xv || !gv || !bv || gv.length !== bv.length) throw new Error(`${NORM_KERNEL}: x, gamma and beta must be float32, gamma and beta of one size`)
  const {layout, r, d} = normLayout(x.shape, axes, gv.length)
  const y = alloc(backend, xv.length)
  const stats = layout === 0 ? r : d
  const mean = alloc(backend, stats), variance = alloc(backend, stats)
  n.norm(layout, xv, gv, bv, y, mean, variance, r, d, epsilon)
  const rank = x.shape.length
  const sorted = axes.map((q) => (q < 0 ? q + rank : q))
  const keep = layout === 1 ? statsShape(x.shape, 1) : x.shape.map((s, i) => (sorted.includes(i) ? 1 : s))
  return [out(backend, x.shape, y), out(backend, keep, mean), out(backend, keep, variance)]
}

function normGrad(a: Args, n: NativeAddon): TensorInfo[] {
  const backend = a.backend as MathBackendCPU
  const {dy, x, mean, variance, gamma} = a.inputs as {dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma: TensorInfo}
  const {axes, epsilon} = a.attrs as unknown as NormAttrs
  const dyv = values(backend, dy), xv = values(backend, x), mv = values(backend, mean), vv = values(backend, variance), gv = values(backend, gamma)
  if (!dyv || !xv || !mv || !vv || !gv || dyv.length !== xv.length) throw new Error(`${NORM_GRAD_KERNEL}: dy, x, mean, variance and gamma must be float32, dy shaped like x`)
  const {layout, r, d} = normLayout(x.shape, axes, gv.length)
  if (mv.length !== (layout === 0 ? r : d) || vv.length !== mv.length) throw new Error(`${NORM_GRAD_KERNEL}: mean and variance do not match x and axes`)
  const dx = alloc(backend, xv.length), dg = alloc(backend, gv.length), db = alloc(backend, gv.length)
  n.normGrad(layout, dyv, xv, mv, vv, gv, dx, dg, db, r, d, epsilon)
  return [out(backend, x.shape, dx), out(backend, gamma.shape, dg), out(backend, gamma.shape, db)]
}

export const normKernels: NativeKernel[] = [
  {kernelName: NORM_KERNEL, run: norm},
  {kernelName: NORM_GRAD_KERNEL, run: normGrad},
]
