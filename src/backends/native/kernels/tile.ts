/** `Tile` as one addon call. */
import type {NativeAddon} from '../addon.js'
import {alloc, out, size, values, type Args, type MathBackendCPU, type NativeKernel, type TensorInfo} from '../kernel.js'

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

export const tileKernel: NativeKernel = {kernelName: 'Tile', run: tile}
