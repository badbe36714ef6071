/**
 * The compiled addon (native/build/Release/mixture_native.node): its JavaScript surface and how it is
 * found. Every function reads Float32Array buffers in place and writes into a Float32Array the caller
 * allocated; shapes travel as plain number arrays.
 */
import {createRequire} from 'node:module'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {PACKAGE_ROOT} from '../../fs/package-folder.js'

type F32 = Float32Array
type Dims = number[]

export interface NativeAddon {
  info(): {dnnl: string; isa: string; simd: string; threads: number; maxThreads: number}
  setThreads(n: number): number
  stats(): {cacheEntries: number; cacheBytes: number}
  clearCache(): void
  unary(op: number, x: F32, y: F32, alpha: number): void
  fill(y: F32, value: number): void
  binary(op: number, a: F32, aShape: Dims, b: F32, bShape: Dims, y: F32, outShape: Dims): void
  reduce(op: number, x: F32, shape: Dims, axes: Dims, y: F32): void
  transpose(x: F32, shape: Dims, perm: Dims, y: F32): void
  pad(x: F32, shape: Dims, before: Dims, after: Dims, value: number, y: F32): void
  slice(x: F32, shape: Dims, begin: Dims, size: Dims, y: F32): void
  tile(x: F32, shape: Dims, reps: Dims, y: F32): void
  concat(xs: F32[], widths: Dims, rows: number, y: F32): void
  softmax(x: F32, y: F32, rows: number, cols: number): void
  softmaxGrad(dy: F32, y: F32, dx: F32, rows: number, cols: number): void
  scaleShift(x: F32, a: F32, b: F32, y: F32, rows: number, channels: number): void
  /** kind 0 = max, 1 = average; params [N,H,W,C,OH,OW,KH,KW,SH,SW,DH,DW,padTop,padLeft]. */
  pool(kind: number, x: F32, y: F32, params: Dims): void
  maxPoolGrad(dy: F32, x: F32, dx: F32, params: Dims): void
  avgPoolGrad(dy: F32, dx: F32, params: Dims): void
  /** Index of the first maximum of each row of `n` floats. */
  argMax(x: F32, y: Int32Array, rows: number, n: number): void
  /** MixtureDropout: y = x·scale where fmix32(i·0x9e3779b1 ⊕ seed) ≥ threshold, else 0. */
  dropout(x: F32, y: F32, seed: number, threshold: number, scale: number): void
  /** MixtureNorm forward; layout 0: x [r, d] normalised per row, 1: x [r, d] normalised per column. */
  norm(layout: number, x: F32, gamma: F32, beta: F32, y: F32, mean: F32, variance: F32, r: number, d: number, eps: number): void
  normGrad(layout: number, dy: F32, x: F32, mean: F32, variance: F32, gamma: F32, dx: F32, dGamma: F32, dBeta: F32, r: number, d: number, eps: number): void
  adam(p: F32, g: F32, m: F32, v: F32, pOut: F32, mOut: F32, vOut: F32, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void
  /** AdamW: `decay` = 1 − lr·wd multiplies the weight before the Adam step. */
  adamw(p: F32, g: F32, m: F32, v: F32, pOut: F32, mOut: F32, vOut: F32, lr: number, beta1: number, beta2: number, eps: number, decay: number, step: number): void
  /** SGD: b' = keep·b + take·(g + wd·p); p' = p − lr·(nesterov ? g + wd·p + momentum·b' : b'). */
  sgd(p: F32, g: F32, b: F32, pOut: F32, bOut: F32, lr: number, weightDecay: number, keep: number, take: number, momentum: number, nesterov: boolean): void
  /** params [N,H,W,C,OH,OW,O,KH,KW,SH,SW,DH,DW,padTop,padLeft,padBottom,padRight]. */
  conv2d(x: F32, filter: F32, bias: F32 | null, y: F32, params: Dims, act: number, alpha: number): void
  conv2dBackpropInput(dy: F32, filter: F32, dx: F32, params: Dims): void
  conv2dBackpropFilter(x: F32, dy: F32, dw: F32, params: Dims): void
  matmul(a: F32, b: F32, bias: F32 | null, c: F32, batchA: number, batchB: number, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, act: number, alpha: number): void
}

/** Unary op codes (native/src/common.h). */
export const U = {
  relu: 0, relu6: 1, elu: 2, leaky: 3, sigmoid: 4, tanh: 5, exp: 6, log: 7, sqrt: 8, rsqrt: 9, square: 10, neg: 11,
  abs: 12, recip: 13, erf: 14, step: 15, gelu: 16, linear: 17, scale: 18,
} as const

/** Binary op codes (native/src/common.h). */
export const B = {
  add: 0, sub: 1, mul: 2, div: 3, sqdiff: 4, max: 5, min: 6, prelu: 7, reluGrad: 8, geluGrad: 9, erfGrad: 10,
  sigmoidGrad: 11, tanhGrad: 12,
} as const

/** Reduction op codes. */
export const R = {sum: 0, mean: 1, max: 2, min: 3} as const

/** Fused activation codes for conv2d / matmul. */
export const ACT: Record<string, number> = {linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5}

const ADDON_FILE = join('native', 'build', 'Release', 'mixture_native.node')

let cached: NativeAddon | undefined

/** Load the addon or throw an Error whose message says why it cannot be used. */
export function loadAddon(): NativeAddon {
  if (cached) return cached
  const file = join(PACKAGE_ROOT, ADDON_FILE)
  if (!existsSync(file)) throw new Error(`${ADDON_FILE} does not exist`)
  // oneDNN runs on OpenMP threads. By default idle OpenMP threads busy-wait for ~300k polls, which
  // on a machine shared with other work makes every parallel region wait for descheduled
  // spinners; a short spin measured 2-3x faster there and costs little on an idle machine.
  // libgomp reads this once, when the addon loads it; the user's own settings win.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = '10000'
  try {
    cached = createRequire(import.meta.url)(file) as NativeAddon
  } catch (error) {
    throw new Error(`${ADDON_FILE} failed to load (${(error as Error).message.split('\n')[0]})`)
  }
  return cached
}
