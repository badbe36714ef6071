/** `MixtureDropout` (ops/dropout.ts) as one pass over the WASM heap: x·keep(i)/(1 − rate), keep from the shared counter hash. */
import {tf} from '../../../engine/tf.js'
import {DROPOUT_KERNEL, dropoutHash, type DropoutAttrs} from '../../../ops/dropout.js'
import {heapF32, offsetOf, requireFloat32, wasmKernel, type Info, type KernelArgs} from '../heap.js'

function dropout({inputs, backend, attrs}: KernelArgs): Info {
  const b = backend
  const {x} = inputs as {x: Info}
  const {rate, seed} = attrs as unknown as DropoutAttrs
  requireFloat32(DROPOUT_KERNEL, x)
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

export const dropoutConfig = wasmKernel(DROPOUT_KERNEL, dropout)
