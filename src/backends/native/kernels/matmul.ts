/** `BatchMatMul` and `_FusedMatMul` (bias, activation; batches broadcast against one matrix) on oneDNN. */
import {tf} from '../../../engine/tf.js'
import {ACT, type NativeAddon} from '../addon.js'
import {channelBias, prelu} from '../epilogue.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

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

export const matMulKernels: NativeKernel[] = [
  {kernelName: 'BatchMatMul', run: (a, n) => matMul(a, n, false)},
  {kernelName: '_FusedMatMul', run: (a, n) => matMul(a, n, true)},
]
