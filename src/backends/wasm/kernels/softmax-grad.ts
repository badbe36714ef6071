/** `MixtureSoftmaxGrad` (ops/softmax.ts) as one pass over the WASM heap: y·(dy − Σ dy·y) over the last axis. */
import {tf} from '../../../engine/tf.js'
import {SOFTMAX_GRAD_KERNEL} from '../../../ops/softmax.js'
import {heapF32, offsetOf, requireFloat32, wasmKernel, type Info, type KernelArgs} from '../heap.js'

function softmaxGrad({inputs, backend}: KernelArgs): Info {
  const b = backend
  const {dy, y} = inputs as {dy: Info; y: Info}
  requireFloat32(SOFTMAX_GRAD_KERNEL, dy, y)
  if (!tf.util.arraysEqual(dy.shape, y.shape) || y.shape.length === 0) throw new Error(`${SOFTMAX_GRAD_KERNEL} needs dy and y of one shape, got ${dy.shape} and ${y.shape}`)
  const cols = y.shape[y.shape.length - 1]
  const n = tf.util.sizeFromShape(y.shape)
  const dx = b.makeOutput(y.shape, 'float32')
  if (cols === 0) return dx
  const heap = heapF32(b)
  const ys = offsetOf(b, y) >>> 2
  const gs = offsetOf(b, dy) >>> 2
  const ds = offsetOf(b, dx) >>> 2
  for (let r = 0; r < n; r += cols) {
    let dot = 0
    for (let j = 0; j < cols; j++) dot += heap[gs + r + j] * heap[ys + r + j]
    for (let j = 0; j < cols; j++) heap[ds + r + j] = heap[ys + r + j] * (heap[gs + r + j] - dot)
  }
  return dx
}

export const softmaxGradConfig = wasmKernel(SOFTMAX_GRAD_KERNEL, softmaxGrad)
