/** tfjs's `FusedBatchNorm` (inference-mode batch norm): per-channel statistics fold into one scale-and-shift pass. */
import {tf} from '../../../engine/tf.js'
import {B, U, type NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

const {backend_util, util} = tf

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

export const fusedBatchNormKernel: NativeKernel = {kernelName: 'FusedBatchNorm', run: fusedBatchNorm}
