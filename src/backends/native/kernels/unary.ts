/** Element-wise unary kernels (tfjs's names) as one addon call each: `unary(op, x, y, alpha)`. */
import type {NativeAddon} from '../addon.js'
import {U} from '../addon.js'
import {alloc, out, type Args, type Attrs, type MathBackendCPU, type NativeKernel, type TensorInfo, values} from '../kernel.js'

/** A kernel computing `op` on a float32 x (undefined for other dtypes). */
export function unaryKernel(op: number, alpha?: (attrs: Attrs) => number) {
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

const alphaAttr = (attrs: Attrs) => (attrs.alpha as number | undefined) ?? 0

export const unaryKernels: NativeKernel[] = (
  [
    ['Relu', U.relu],
    ['Relu6', U.relu6],
    ['Elu', U.elu],
    ['LeakyRelu', U.leaky, alphaAttr],
    ['Sigmoid', U.sigmoid],
    ['Tanh', U.tanh],
    ['Exp', U.exp],
    ['Log', U.log],
    ['Sqrt', U.sqrt],
    ['Rsqrt', U.rsqrt],
    ['Square', U.square],
    ['Neg', U.neg],
    ['Abs', U.abs],
    ['Reciprocal', U.recip],
    ['Erf', U.erf],
    ['Step', U.step, alphaAttr],
  ] as [string, number, ((attrs: Attrs) => number)?][]
).map(([kernelName, op, alpha]) => ({kernelName, run: unaryKernel(op, alpha)}))
