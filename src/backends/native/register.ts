/**
 * Kernel functions of the `native` backend. Each one runs on the `cpu` backend's storage: it hands
 * the input Float32Arrays to the addon as they are, lets it write into a fresh Float32Array and gives
 * that to `backend.makeTensorInfo`. Anything a native kernel does not cover (other dtypes, NCHW,
 * unusual broadcasts) goes to the `cpu` kernel of the same name.
 */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu'
import {tf} from '../tf.js'
import {ADAM_KERNEL} from '../../ops/adam.js'
import {DROPOUT_KERNEL} from '../../ops/dropout.js'
import {ACT, B, R, U, type NativeAddon} from './addon.js'
import {NativeBackend} from './storage.js'

type TensorInfo = tf.TensorInfo
type KernelFunc = tf.KernelFunc
type Args = Parameters<KernelFunc>[0]
type Attrs = Record<string, unknown>

const {backend_util, util, slice_util} = tf

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined
  const v = backend.data.get(t.dataId).values
  return v instanceof Float32Array ? v : undefined
}

/** An output buffer: from the backend's pool when it has one. */
function alloc(backend: MathBackendCPU, n: number): Float32Array {
  return backend instanceof NativeBackend ? backend.alloc(n) : new Float32Array(n)
}

function out(backend: MathBackendCPU, shape: number[], data: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', data)
}

function size(shape: number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** A kernel that tries `run` and falls back to the cpu kernel when `run` returns undefined. */
function withFallback(name: string, run: (args: Args, native: NativeAddon) => TensorInfo | TensorInfo[] | undefined, addon: NativeAddon): tf.KernelConfig {
  const cpu = tf.getKernel(name, 'cpu')?.kernelFunc
  return {
    kernelName: name,
    backendName: 'native',
    kernelFunc: (args: Args) => {
      const result = run(args, addon)
      if (result !== undefined) return result
      if (!cpu) throw new Error(`native backend: no kernel ${name} for these inputs and no cpu kernel to fall back to`)
      return cpu(args)
    },
  }
}

function unaryKernel(name: string, op: number, alpha?: (attrs: Attrs) => number) {
  return (a: Args, n: NativeAddon) => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    const xv = values(backend, x)
    if (!xv) return undefined
    const y = alloc(backend, xv.length)
    n.unary(op, xv, y, alpha ? alpha(a.attrs as Attrs) : 0)
    return out(backend, x.shape, y)
  }
}

function binaryKernel(op: number, names: [string, string] = ['a', 'b']) {
  return (a: Args, n: NativeAddon) => {
    const backend = a.backend as MathBackendCPU
    const inputs = a.inputs as Record<string, TensorInfo>
    const x = inputs[names[0]], w = inputs[names[1]]
    const xv = values(backend, x), wv = values(backend, w)
    if (!xv || !wv) return undefined
    const shape = backend_util.assertAndGetBroadcastShape(x.shape, w.shape)
    const y = alloc(backend, size(shape))
    n.binary(op, xv, x.shape, wv, w.shape, y, shape)
    return out(backend, shape, y)
  }
}

function reduceKernel(op: number, axisAttr: string) {
  return (a: Args, n: NativeAddon) => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    const xv = values(backend, x)
    if (!xv) return undefined
    const attrs = a.attrs as Attrs
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape)
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes)
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape
    const y = alloc(backend, size(outShape))
    n.reduce(op, xv, x.shape, [...new Set(axes)].sort((p, q) => p - q), y)
    return out(backend, shape, y)
  }
}

/** oneDNN needs `(in - kEff + padBefore + padAfter) / stride + 1 == out` (floor); fix padAfter or give up. */
function consistentPadAfter(inSize: number, outSize: number, kEff: number, stride: number, before: number, after: number): number | undefined {
  if (Math.floor((inSize - kEff + before + after) / stride) + 1 === outSize) return after
  const fixed = (outSize - 1) * stride + kEff - inSize - before
  return fixed >= 0 ? fixed : undefined
}

function convParams(info: tf.backend_util.Conv2DInfo): number[] | undefined {
  if (info.dataFormat !== 'channelsLast') return undefined
  const pad = info.padInfo
  const pb = consistentPadAfter(info.inHeight, info.outHeight, info.effectiveFilterHeight, info.strideHeight, pad.top, pad.bottom)
  const pr = consistentPadAfter(info.inWidth, info.outWidth, info.effectiveFilterWidth, info.strideWidth, pad.left, pad.right)
  if (pb === undefined || pr === undefined || pad.top < 0 || pad.left < 0) return undefined
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    pad.top, pad.left, pb, pr]
}

function poolParams(info: tf.backend_util.Conv2DInfo): number[] {
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight,
    info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left]
}

/** A bias the fused kernels can take as a per-output-channel vector: numel = channels and only the last axis non-1. */
function channelBias(backend: MathBackendCPU, bias: TensorInfo | undefined, channels: number): Float32Array | null | undefined {
  if (bias == null) return null
  const v = values(backend, bias)
  if (!v || v.length !== channels || bias.shape[bias.shape.length - 1] !== channels) return undefined
  return v
}

function conv2D(a: Args, n: NativeAddon, fused: boolean): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as {x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo}
  const attrs = a.attrs as unknown as tf.FusedConv2DAttrs
  const xv = values(backend, inputs.x), wv = values(backend, inputs.filter)
  if (!xv || !wv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(inputs.x.shape as [number, number, number, number], inputs.filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  const params = convParams(info)
  if (!params) return undefined
  const activation = fused ? (attrs.activation ?? 'linear') : 'linear'
  const bias = fused ? channelBias(backend, inputs.bias, info.outChannels) : null
  if (bias === undefined) return undefined
  let act = ACT[activation]
  if (act === undefined && activation !== 'prelu') return undefined
  if (activation === 'prelu') act = 0
  const y = alloc(backend, size(info.outShape))
  n.conv2d(xv, wv, bias, y, params, act, attrs.leakyreluAlpha ?? 0.2)
  if (activation === 'prelu') return prelu(backend, n, info.outShape, y, inputs.preluActivationWeights)
  return out(backend, info.outShape, y)
}

function prelu(backend: MathBackendCPU, n: NativeAddon, shape: number[], y: Float32Array, alpha: TensorInfo | undefined): TensorInfo | undefined {
  const av = alpha && values(backend, alpha)
  if (!alpha || !av) return undefined
  const outShape = backend_util.assertAndGetBroadcastShape(shape, alpha.shape)
  const z = alloc(backend, size(outShape))
  n.binary(B.prelu, y, shape, av, alpha.shape, z, outShape)
  return out(backend, outShape, z)
}

function matMul(a: Args, n: NativeAddon, fused: boolean): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as {a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo}
  const attrs = a.attrs as {transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number}
  const av = values(backend, inputs.a), bv = values(backend, inputs.b)
  if (!av || !bv) return undefined
  const as = inputs.a.shape, bs = inputs.b.shape
  if (as.length < 2 || bs.length < 2) return undefined
  const ta = attrs.transposeA, tb = attrs.transposeB
  const m = ta ? as[as.length - 1] : as[as.length - 2]
  const k = ta ? as[as.length - 2] : as[as.length - 1]
  const k2 = tb ? bs[bs.length - 1] : bs[bs.length - 2]
  const nn = tb ? bs[bs.length - 2] : bs[bs.length - 1]
  if (k !== k2) return undefined
  const outerA = as.slice(0, -2), outerB = bs.slice(0, -2)
  const batchA = size(outerA), batchB = size(outerB)
  let outer: number[]
  if (util.arraysEqual(outerA, outerB)) outer = outerA
  else if (batchA === 1) outer = outerB.length >= outerA.length ? outerB : backend_util.assertAndGetBroadcastShape(outerA, outerB)
  else if (batchB === 1) outer = outerA.length >= outerB.length ? outerA : backend_util.assertAndGetBroadcastShape(outerA, outerB)
  else return undefined
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined
  const activation = fused ? (attrs.activation ?? 'linear') : 'linear'
  const bias = fused ? channelBias(backend, inputs.bias, nn) : null
  if (bias === undefined) return undefined
  let act = ACT[activation]
  if (act === undefined && activation !== 'prelu') return undefined
  if (activation === 'prelu') act = 0
  const shape = [...outer, m, nn]
  const c = alloc(backend, size(shape))
  if (c.length > 0 && k > 0) n.matmul(av, bv, bias, c, batchA, batchB, m, k, nn, ta, tb, act, attrs.leakyreluAlpha ?? 0.2)
  else if (c.length > 0) return undefined
  if (activation === 'prelu') return prelu(backend, n, shape, c, inputs.preluActivationWeights)
  return out(backend, shape, c)
}

function fusedBatchNorm(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as {x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo}
  const eps = (a.attrs as {varianceEpsilon?: number}).varianceEpsilon ?? 0.001
  const x = inputs.x
  const xv = values(backend, x)
  const mv = values(backend, inputs.mean), vv = values(backend, inputs.variance)
  const ov = inputs.offset ? values(backend, inputs.offset) : null
  const sv = inputs.scale ? values(backend, inputs.scale) : null
  if (!xv || !mv || !vv || ov === undefined || sv === undefined) return undefined
  const c = x.shape[x.shape.length - 1] ?? 1
  const perChannel = (t: TensorInfo | undefined) => t == null || size(t.shape) === 1 || (size(t.shape) === c && t.shape[t.shape.length - 1] === c && t.shape.length <= x.shape.length)
  const y = alloc(backend, xv.length)
  if (x.shape.length >= 1 && [inputs.mean, inputs.variance, inputs.offset, inputs.scale].every(perChannel)) {
    // fold into y = x·a[c] + b[c]
    const at = (v: Float32Array | null, j: number, d: number) => (v == null ? d : v.length === 1 ? v[0] : v[j])
    const sa = new Float32Array(c), sb = new Float32Array(c)
    for (let j = 0; j < c; j++) {
      const s = at(sv, j, 1) / Math.sqrt(at(vv, j, 0) + eps)
      sa[j] = s
      sb[j] = at(ov, j, 0) - at(mv, j, 0) * s
    }
    n.scaleShift(xv, sa, sb, y, xv.length / Math.max(c, 1), c)
    return out(backend, x.shape, y)
  }
  // general broadcasting: y = (x − mean) · rsqrt(var + ε) · scale + offset
  for (const t of [inputs.mean, inputs.variance, inputs.offset, inputs.scale]) {
    if (t && !util.arraysEqual(backend_util.assertAndGetBroadcastShape(x.shape, t.shape), x.shape)) return undefined
  }
  const inv = new Float32Array(vv.length)
  const epsT = new Float32Array([eps])
  n.binary(B.add, vv, inputs.variance.shape, epsT, [], inv, inputs.variance.shape)
  n.unary(U.rsqrt, inv, inv, 0)
  n.binary(B.sub, xv, x.shape, mv, inputs.mean.shape, y, x.shape)
  n.binary(B.mul, y, x.shape, inv, inputs.variance.shape, y, x.shape)
  if (sv && inputs.scale) n.binary(B.mul, y, x.shape, sv, inputs.scale.shape, y, x.shape)
  if (ov && inputs.offset) n.binary(B.add, y, x.shape, ov, inputs.offset.shape, y, x.shape)
  return out(backend, x.shape, y)
}

function softmax(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const logits = (a.inputs as {logits: TensorInfo}).logits
  const dim = (a.attrs as {dim: number}).dim
  const xv = values(backend, logits)
  const rank = logits.shape.length
  if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined
  const cols = logits.shape[rank - 1]
  const y = alloc(backend, xv.length)
  if (cols > 0) n.softmax(xv, y, xv.length / cols, cols)
  return out(backend, logits.shape, y)
}

function transpose(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const perm = (a.attrs as {perm: number[]}).perm
  const xv = values(backend, x)
  if (!xv) return undefined
  const shape = perm.map((p) => x.shape[p])
  const y = alloc(backend, xv.length)
  n.transpose(xv, x.shape, perm, y)
  return out(backend, shape, y)
}

function tile(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const reps = (a.attrs as {reps: number[]}).reps
  const xv = values(backend, x)
  if (!xv || reps.length !== x.shape.length) return undefined
  const shape = x.shape.map((d, i) => d * reps[i])
  const y = alloc(backend, size(shape))
  if (y.length > 0) n.tile(xv, x.shape, reps, y)
  return out(backend, shape, y)
}

function padV2(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {paddings, constantValue} = a.attrs as {paddings: [number, number][]; constantValue: number}
  const xv = values(backend, x)
  if (!xv || x.shape.length === 0) return undefined
  const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1])
  const y = alloc(backend, size(shape))
  n.pad(xv, x.shape, paddings.map((p) => p[0]), paddings.map((p) => p[1]), constantValue ?? 0, y)
  return out(backend, shape, y)
}

function slice(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {begin, size: sz} = a.attrs as {begin: number | number[]; size: number | number[]}
  const xv = values(backend, x)
  if (!xv) return undefined
  const [b, s] = slice_util.parseSliceParams(x as tf.Tensor, begin, sz)
  // a contiguous slice is a zero-copy view in the cpu kernel: keep that
  if (slice_util.isSliceContinous(x.shape, b, s)) return undefined
  slice_util.assertParamsValid(x as tf.Tensor, b, s)
  return sliceOf(backend, n, x, xv, b, s)
}

/** The output of a slice: undefined when it is contiguous (the cpu kernel returns a zero-copy view). */
function sliceOf(backend: MathBackendCPU, n: NativeAddon, x: TensorInfo, xv: Float32Array, b: number[], s: number[]): TensorInfo | undefined {
  if (slice_util.isSliceContinous(x.shape, b, s)) return undefined
  const y = alloc(backend, size(s))
  if (y.length > 0) n.slice(xv, x.shape, b, s, y)
  return out(backend, s, y)
}

function splitV(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {numOrSizeSplits, axis} = a.attrs as {numOrSizeSplits: number | number[]; axis: number}
  const xv = values(backend, x)
  if (!xv) return undefined
  const ax = util.parseAxisParam(axis, x.shape)[0]
  const sizes = backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax)
  const cpuSlice = tf.getKernel('Slice', 'cpu')!.kernelFunc
  const begin = x.shape.map(() => 0)
  return sizes.map((s) => {
    const sz = x.shape.slice()
    sz[ax] = s
    const b = begin.slice()
    begin[ax] += s
    return sliceOf(backend, n, x, xv, b, sz) ?? (cpuSlice({inputs: {x}, backend, attrs: {begin: b, size: sz}}) as TensorInfo)
  })
}

function dropout(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const {rate, seed} = a.attrs as {rate: number; seed: number}
  const xv = values(backend, x)
  if (!xv || !(rate >= 0 && rate < 1)) return undefined
  const y = alloc(backend, xv.length)
  n.dropout(xv, y, seed >>> 0, Math.floor(rate * 4294967296), 1 / (1 - rate))
  return out(backend, x.shape, y)
}

function concat(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as unknown as TensorInfo[]
  const axis = util.parseAxisParam((a.attrs as {axis: number}).axis, inputs[0].shape)[0]
  const live = inputs.filter((t) => size(t.shape) > 0)
  if (live.length < 2) return undefined
  const vals = live.map((t) => values(backend, t))
  if (vals.some((v) => !v)) return undefined
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis)
  const shape = backend_util.computeOutShape(inputs.map((t) => t.shape), axis)
  const rows = size(shape.slice(0, axis))
  const widths = live.map((t) => size(t.shape) / rows)
  const y = alloc(backend, size(shape))
  n.concat(vals as Float32Array[], widths, rows, y)
  return out(backend, shape, y)
}

function addN(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const inputs = a.inputs as unknown as TensorInfo[]
  const vals = inputs.map((t) => values(backend, t))
  if (inputs.length < 2 || vals.some((v) => !v) || inputs.some((t) => !util.arraysEqual(t.shape, inputs[0].shape))) return undefined
  const shape = inputs[0].shape
  let acc = alloc(backend, vals[0]!.length)
  n.binary(B.add, vals[0]!, shape, vals[1]!, shape, acc, shape)
  for (let i = 2; i < vals.length; i++) {
    const next = alloc(backend, acc.length)
    n.binary(B.add, acc, shape, vals[i]!, shape, next, shape)
    acc = next
  }
  return out(backend, shape, acc)
}

function pool(kind: number) {
  return (a: Args, n: NativeAddon): TensorInfo | undefined => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    const attrs = a.attrs as unknown as tf.MaxPoolAttrs
    const xv = values(backend, x)
    if (!xv || x.shape.length !== 4) return undefined
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
    if (info.filterWidth === 1 && info.filterHeight === 1 && util.arraysEqual(info.inShape, info.outShape)) return undefined
    const y = alloc(backend, size(info.outShape))
    n.pool(kind, xv, y, poolParams(info))
    return out(backend, info.outShape, y)
  }
}

function maxPoolGrad(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {dy, input} = a.inputs as {dy: TensorInfo; input: TensorInfo}
  const attrs = a.attrs as unknown as tf.MaxPoolAttrs
  const dyv = values(backend, dy), xv = values(backend, input)
  if (!dyv || !xv || input.shape.length !== 4) return undefined
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
  const dx = alloc(backend, xv.length)
  n.maxPoolGrad(dyv, xv, dx, poolParams(info))
  return out(backend, input.shape, dx)
}

function conv2DBackpropInput(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {dy, filter} = a.inputs as {dy: TensorInfo; filter: TensorInfo}
  const attrs = a.attrs as unknown as tf.Conv2DBackpropInputAttrs
  const dyv = values(backend, dy), wv = values(backend, filter)
  if (!dyv || !wv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  if (!util.arraysEqual(info.outShape, dy.shape)) return undefined
  const params = convParams(info)
  if (!params) return undefined
  // deferred: the input gradient of a network's first convolution is computed by tfjs and never read
  if (backend instanceof NativeBackend) return backend.defer(attrs.inputShape, [dyv, wv], (dx) => n.conv2dBackpropInput(dyv, wv, dx, params))
  const dx = alloc(backend, size(attrs.inputShape))
  n.conv2dBackpropInput(dyv, wv, dx, params)
  return out(backend, attrs.inputShape, dx)
}

function conv2DBackpropFilter(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {x, dy} = a.inputs as {x: TensorInfo; dy: TensorInfo}
  const attrs = a.attrs as unknown as tf.Conv2DBackpropFilterAttrs
  const xv = values(backend, x), dyv = values(backend, dy)
  if (!xv || !dyv || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return undefined
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  if (!util.arraysEqual(info.outShape, dy.shape)) return undefined
  const params = convParams(info)
  if (!params) return undefined
  const dw = alloc(backend, size(attrs.filterShape))
  n.conv2dBackpropFilter(xv, dyv, dw, params)
  return out(backend, attrs.filterShape, dw)
}

function fill(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const {shape, value, dtype} = a.attrs as {shape: number[]; value: number | string; dtype?: string}
  if (typeof value !== 'number' || (dtype !== undefined && dtype !== 'float32')) return undefined
  const y = alloc(backend, size(shape))
  n.fill(y, value)
  return out(backend, shape, y)
}

function filledLike(value: number) {
  return (a: Args, n: NativeAddon): TensorInfo | undefined => {
    const backend = a.backend as MathBackendCPU
    const x = (a.inputs as {x: TensorInfo}).x
    if (x.dtype !== 'float32') return undefined
    const y = alloc(backend, size(x.shape))
    n.fill(y, value)
    return out(backend, x.shape, y)
  }
}

function argMax(a: Args, n: NativeAddon): TensorInfo | undefined {
  const backend = a.backend as MathBackendCPU
  const x = (a.inputs as {x: TensorInfo}).x
  const xv = values(backend, x)
  if (!xv || x.shape.length === 0) return undefined
  const axes = util.parseAxisParam((a.attrs as {axis: number | number[]}).axis, x.shape)
  if (axes.length !== 1 || axes[0] !== x.shape.length - 1) return undefined
  const cols = x.shape[x.shape.length - 1]
  if (cols === 0) return undefined
  const shape = x.shape.slice(0, -1)
  const y = new Int32Array(size(shape))
  n.argMax(xv, y, y.length, cols)
  return backend.makeTensorInfo(shape, 'int32', y)
}

/** Fused kernels the project's layers use when the backend has them (see FUSED_KERNELS in index.ts). */
export const NORM_KERNEL = 'MixtureNorm'
export const NORM_GRAD_KERNEL = 'MixtureNormGrad'
export const GELU_KERNEL = 'MixtureGelu'
export const GELU_GRAD_KERNEL = 'MixtureGeluGrad'
export const SOFTMAX_GRAD_KERNEL = 'MixtureSoftmaxGrad'

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
  const {axes, epsilon} = a.attrs as {axes: number[]; epsilon: number}
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
  const {axes, epsilon} = a.attrs as {axes: number[]; epsilon: number}
  const dyv = values(backend, dy), xv = values(backend, x), mv = values(backend, mean), vv = values(backend, variance), gv = values(backend, gamma)
  if (!dyv || !xv || !mv || !vv || !gv || dyv.length !== xv.length) throw new Error(`${NORM_GRAD_KERNEL}: dy, x, mean, variance and gamma must be float32, dy shaped like x`)
  const {layout, r, d} = normLayout(x.shape, axes, gv.length)
  if (mv.length !== (layout === 0 ? r : d) || vv.length !== mv.length) throw new Error(`${NORM_GRAD_KERNEL}: mean and variance do not match x and axes`)
  const dx = alloc(backend, xv.length), dg = alloc(backend, gv.length), db = alloc(backend, gv.length)
  n.normGrad(layout, dyv, xv, mv, vv, gv, dx, dg, db, r, d, epsilon)
  return [out(backend, x.shape, dx), out(backend, gamma.shape, dg), out(backend, gamma.shape, db)]
}

function softmaxGrad(a: Args, n: NativeAddon): TensorInfo {
  const backend = a.backend as MathBackendCPU
  const {dy, y} = a.inputs as {dy: TensorInfo; y: TensorInfo}
  const dyv = values(backend, dy), yv = values(backend, y)
  if (!dyv || !yv || dyv.length !== yv.length || y.shape.length === 0) throw new Error(`${SOFTMAX_GRAD_KERNEL}: dy and y must be float32 tensors of one shape`)
  const cols = y.shape[y.shape.length - 1]
  const dx = alloc(backend, yv.length)
  if (cols > 0) n.softmaxGrad(dyv, yv, dx, yv.length / cols, cols)
  return out(backend, y.shape, dx)
}

function adam(a: Args, n: NativeAddon): TensorInfo[] | undefined {
  const backend = a.backend as MathBackendCPU
  const {param, grad, m, v} = a.inputs as {param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo}
  const at = a.attrs as {lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number}
  const pv = values(backend, param), gv = values(backend, grad), mv = values(backend, m), vv = values(backend, v)
  if (!pv || !gv || !mv || !vv || gv.length !== pv.length || mv.length !== pv.length || vv.length !== pv.length) {
    throw new Error(`${ADAM_KERNEL}: param, grad, m and v must be float32 tensors of one shape`)
  }
  const po = alloc(backend, pv.length), mo = alloc(backend, pv.length), vo = alloc(backend, pv.length)
  n.adam(pv, gv, mv, vv, po, mo, vo, at.lr, at.beta1, at.beta2, at.eps, at.weightDecay, at.step)
  return [out(backend, param.shape, po), out(backend, param.shape, mo), out(backend, param.shape, vo)]
}

/** Every kernel the addon provides, as configs for the `native` backend. */
export function nativeKernelConfigs(addon: NativeAddon): tf.KernelConfig[] {
  const k = (name: string, run: (args: Args, n: NativeAddon) => TensorInfo | TensorInfo[] | undefined) => withFallback(name, run, addon)
  const alphaAttr = (attrs: Attrs) => (attrs.alpha as number | undefined) ?? 0
  const configs: tf.KernelConfig[] = [
    k('Relu', unaryKernel('Relu', U.relu)),
    k('Relu6', unaryKernel('Relu6', U.relu6)),
    k('Elu', unaryKernel('Elu', U.elu)),
    k('LeakyRelu', unaryKernel('LeakyRelu', U.leaky, alphaAttr)),
    k('Sigmoid', unaryKernel('Sigmoid', U.sigmoid)),
    k('Tanh', unaryKernel('Tanh', U.tanh)),
    k('Exp', unaryKernel('Exp', U.exp)),
    k('Log', unaryKernel('Log', U.log)),
    k('Sqrt', unaryKernel('Sqrt', U.sqrt)),
    k('Rsqrt', unaryKernel('Rsqrt', U.rsqrt)),
    k('Square', unaryKernel('Square', U.square)),
    k('Neg', unaryKernel('Neg', U.neg)),
    k('Abs', unaryKernel('Abs', U.abs)),
    k('Reciprocal', unaryKernel('Reciprocal', U.recip)),
    k('Erf', unaryKernel('Erf', U.erf)),
    k('Step', unaryKernel('Step', U.step, alphaAttr)),
    k('Add', binaryKernel(B.add)),
    k('Sub', binaryKernel(B.sub)),
    k('Multiply', binaryKernel(B.mul)),
    k('RealDiv', binaryKernel(B.div)),
    k('SquaredDifference', binaryKernel(B.sqdiff)),
    k('Maximum', binaryKernel(B.max)),
    k('Minimum', binaryKernel(B.min)),
    k('Prelu', binaryKernel(B.prelu, ['x', 'alpha'])),
    k('Sum', reduceKernel(R.sum, 'axis')),
    k('Mean', reduceKernel(R.mean, 'axis')),
    k('Max', reduceKernel(R.max, 'reductionIndices')),
    k('Min', reduceKernel(R.min, 'axis')),
    k('Softmax', softmax),
    k('ArgMax', argMax),
    k('Fill', fill),
    k('ZerosLike', filledLike(0)),
    k('OnesLike', filledLike(1)),
    k('Transpose', transpose),
    k('Tile', tile),
    k('PadV2', padV2),
    k('Slice', slice),
    k('SplitV', splitV),
    k(DROPOUT_KERNEL, dropout),
    k('Concat', concat),
    k('AddN', addN),
    k('FusedBatchNorm', fusedBatchNorm),
    k('MaxPool', pool(0)),
    k('AvgPool', pool(1)),
    k('MaxPoolGrad', maxPoolGrad),
    k('Conv2D', (a, n) => conv2D(a, n, false)),
    k('FusedConv2D', (a, n) => conv2D(a, n, true)),
    k('Conv2DBackpropInput', conv2DBackpropInput),
    k('Conv2DBackpropFilter', conv2DBackpropFilter),
    k('BatchMatMul', (a, n) => matMul(a, n, false)),
    k('_FusedMatMul', (a, n) => matMul(a, n, true)),
  ]
  const own = (name: string, f: (args: Args) => TensorInfo | TensorInfo[]) => configs.push({kernelName: name, backendName: 'native', kernelFunc: f})
  own(ADAM_KERNEL, (args) => adam(args, addon)!)
  own(NORM_KERNEL, (args) => norm(args, addon))
  own(NORM_GRAD_KERNEL, (args) => normGrad(args, addon))
  own(SOFTMAX_GRAD_KERNEL, (args) => softmaxGrad(args, addon))
  own(GELU_KERNEL, (args) => {
    const r = unaryKernel(GELU_KERNEL, U.gelu)(args, addon)
    if (!r) throw new Error(`${GELU_KERNEL}: x must be float32`)
    return r
  })
  own(GELU_GRAD_KERNEL, (args) => {
    const r = binaryKernel(B.geluGrad, ['dy', 'x'])(args, addon)
    if (!r) throw new Error(`${GELU_GRAD_KERNEL}: dy and x must be float32`)
    return r
  })
  return configs
}
