/**
 * `Sum` and `Mean` over axes that are not the innermost ones (BatchNorm statistics and their
 * gradients reduce over batch and space, global average pooling over space): one strided pass
 * accumulating in float64, instead of the package's full transpose followed by a reduction.
 * Reductions over the innermost axes go to the package's kernel.
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, heapF32, offsetOf} from '../heap.js'

/** [outer, reduced, inner] sizes when the reduced axes form one contiguous block, else null. */
function blockShape(shape: number[], axes: number[]): [number, number, number] | null {
  const kept = shape.map((s, i) => ({s, i})).filter(({s}) => s !== 1)
  const red = new Set(axes)
  const marks = kept.map(({i}) => red.has(i))
  const first = marks.indexOf(true)
  if (first < 0) return null
  const last = marks.lastIndexOf(true)
  for (let k = first; k <= last; k++) if (!marks[k]) return null
  const prod = (from: number, to: number) => kept.slice(from, to).reduce((p, {s}) => p * s, 1)
  return [prod(0, first), prod(first, last + 1), prod(last + 1, kept.length)]
}

function reduce(backend: Backend, x: Info, axis: number | number[], keepDims: boolean, mean: boolean, original: tf.KernelFunc, attrs: tf.NamedAttrMap): Info {
  const axes = tf.util.parseAxisParam(axis, x.shape)
  const block = x.dtype === 'float32' ? blockShape(x.shape, axes) : null
  if (!block || block[2] === 1) return original({inputs: {x}, backend, attrs}) as Info
  const [outer, reduced, inner] = block
  const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes)
  const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape
  const out = backend.makeOutput(shape, 'float32')
  const heap = heapF32(backend)
  const src = offsetOf(backend, x) >>> 2
  const dst = offsetOf(backend, out) >>> 2
  const acc = new Float64Array(inner)
  const scale = mean ? 1 / reduced : 1
  for (let o = 0; o < outer; o++) {
    acc.fill(0)
    let s = src + o * reduced * inner
    for (let r = 0; r < reduced; r++, s += inner) for (let i = 0; i < inner; i++) acc[i] += heap[s + i]
    const d = dst + o * inner
    for (let i = 0; i < inner; i++) heap[d + i] = acc[i] * scale
  }
  return out
}

export function reductionConfig(kernelName: 'Sum' | 'Mean', original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: ({inputs, backend, attrs}) => {
      const {x} = inputs as {x: Info}
      const {axis, keepDims} = attrs as unknown as {axis: number | number[]; keepDims: boolean}
      return reduce(backend as unknown as Backend, x, axis, keepDims, kernelName === 'Mean', original.kernelFunc, attrs!)
    },
  }
}
