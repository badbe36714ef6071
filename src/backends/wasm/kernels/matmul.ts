/**
 * `BatchMatMul` and `_FusedMatMul` that always reach XNNPACK.
 *
 * The package's kernels use XNNPACK's GEMM only for a single, untransposed product; any
 * transpose (every gradient of a matmul has one) or a batch dimension > 1 (attention) falls to a
 * scalar triple loop, 10-20x slower. Here:
 *   - a batch that the right operand does not vary over is folded into the rows;
 *   - large products are cut into cache-sized blocks (see gemmLimits), transposing operands block
 *     by block, with the bias and an element-wise activation applied by XNNPACK per block;
 *   - small products transpose an operand explicitly (one memory pass) and make one call;
 *   - a true batch (attention) runs one XNNPACK product per batch element on zero-copy views of
 *     the heap, transposing each element into a small scratch matrix when needed.
 */
import {tf} from '../../../engine/tf.js'
import {type Backend, type Info, dispose, f32, heapF32, idOf, int32Bytes, makeView, offsetOf, releaseView, reshaped, run, wasmOf} from '../heap.js'

const FUSABLE = ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu'] as const

type FusedCall = (
  aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number,
  transposeA: boolean, transposeB: boolean, activation: number, biasId: number, preluId: number, alpha: number, outId: number,
) => void

const calls = new WeakMap<Backend, FusedCall>()

function fusedCall(backend: Backend): FusedCall {
  let call = calls.get(backend)
  if (!call) {
    const types = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number', 'number', 'number', 'number', 'number']
    call = wasmOf(backend).cwrap('_FusedMatMul', null, types) as unknown as FusedCall
    calls.set(backend, call)
  }
  return call
}

/**
 * out[rows, n] = a[rows, k] · b[k, n] for C++ tensor ids (real tensors or views), through XNNPACK.
 * XNNPACK packs `b` into an operator cached under b's id until that id is disposed.
 */
export function gemm(backend: Backend, aId: number, rows: number, k: number, bId: number, n: number, outId: number): void {
  fusedCall(backend)(aId, int32Bytes([1, rows, k]), 3, bId, int32Bytes([1, k, n]), 3, false, false, 0, 0, 0, 0, outId)
}

/**
 * Cache blocking for XNNPACK's GEMM. XNNPACK streams the whole packed right operand once per few
 * rows of the left one, so its speed halves once that operand outgrows the caches (measured here:
 * ~20 GFLOP/s with a 2 MB right operand, ~10 with 16 MB). Large products are therefore cut into
 * column blocks (copies of B's columns, results scattered into C) or inner-dimension blocks
 * (zero-copy row views of B, partial products accumulated into C), whichever moves less memory;
 * transposed operands are transposed block by block on the way.
 */
export const gemmLimits = {blockFloats: 1 << 19, minRows: 256, minInner: 64, minColumns: 32, innerWhenBoth: 512}

interface BlockPlan {
  kb: number
  nb: number
}

export function blockPlan(M: number, K: number, N: number, transposeA: boolean, transposeB: boolean): BlockPlan | undefined {
  const limit = gemmLimits.blockFloats
  if (K * N <= limit || M < gemmLimits.minRows) return undefined
  const plans: (BlockPlan & {cost: number})[] = []
  const aCopy = (kb: number) => (transposeA || kb < K ? M * K : 0)
  const bCopy = (kb: number, nb: number) => (transposeB || nb < N ? K * N : 0)
  // Column blocks only.
  const nbN = Math.floor(limit / K / 8) * 8
  if (nbN >= gemmLimits.minColumns) plans.push({kb: K, nb: nbN, cost: aCopy(K) + bCopy(K, nbN) + M * N})
  // Inner-dimension blocks only.
  const kbK = Math.floor(limit / N)
  if (kbK >= gemmLimits.minInner) plans.push({kb: kbK, nb: N, cost: aCopy(kbK) + bCopy(kbK, N) + Math.ceil(K / kbK) * M * N})
  // Both.
  const kbB = Math.min(K, gemmLimits.innerWhenBoth)
  const nbB = Math.max(gemmLimits.minColumns, Math.floor(limit / kbB / 8) * 8)
  plans.push({kb: kbB, nb: nbB, cost: aCopy(kbB) + bCopy(kbB, nbB) + (Math.ceil(K / kbB) + 1) * M * N})
  plans.sort((p, q) => p.cost - q.cost)
  const {kb, nb} = plans[0]
  // Balance the blocks.
  const nk = Math.ceil(K / kb)
  const nn = Math.ceil(N / nb)
  return {kb: Math.ceil(K / nk), nb: nn === 1 ? N : Math.min(N, Math.ceil(N / nn / 8) * 8)}
}

/**
 * Copy rows [r0, r1) × columns [c0, c1) of a row-major matrix with `ld` columns (at float index
 * `src`) to `dst`, contiguous; transposed (as [c1 − c0, r1 − r0]) when `transpose`.
 */
function copyBlock(heap: Float32Array, src: number, ld: number, r0: number, r1: number, c0: number, c1: number, transpose: boolean, dst: number): void {
  const rows = r1 - r0
  const cols = c1 - c0
  if (!transpose) {
    for (let r = 0; r < rows; r++) heap.copyWithin(dst + r * cols, src + (r0 + r) * ld + c0, src + (r0 + r) * ld + c1)
    return
  }
  const T = 32
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T)
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T)
      for (let i = i0; i < i1; i++) {
        const s = src + (r0 + i) * ld + c0
        for (let j = j0; j < j1; j++) heap[dst + j * rows + i] = heap[s + j]
      }
    }
  }
}

/**
 * out[M, N] = A · B in cache-sized blocks. `a` holds A ([M, K], or [K, M] when `transposeA`) and
 * `b` holds B ([K, N], or [N, K] when `transposeB`), both contiguous.
 */
interface BlockEpilogue {
  /** FUSABLE index applied by XNNPACK to each block (only when K is not split; never prelu). */
  activation: number
  alpha: number
  bias?: Info
}

function gemmBlocked(backend: Backend, a: Info, b: Info, out: Info, M: number, K: number, N: number, transposeA: boolean, transposeB: boolean, plan: BlockPlan, epi: BlockEpilogue): void {
  const {kb, nb} = plan
  const call = fusedCall(backend)
  const splitK = kb < K
  const splitN = nb < N
  const aBlock = transposeA || splitK ? backend.makeOutput([M, kb], 'float32') : undefined
  const bBlock = transposeB || splitN ? backend.makeOutput([kb, nb], 'float32') : undefined
  const cBlock = splitK || splitN ? backend.makeOutput([M, nb], 'float32') : undefined
  try {
    for (let k0 = 0; k0 < K; k0 += kb) {
      const k1 = Math.min(K, k0 + kb)
      const kc = k1 - k0
      let aId: number
      if (aBlock) {
        const heap = heapF32(backend)
        if (transposeA) copyBlock(heap, offsetOf(backend, a) >>> 2, M, k0, k1, 0, M, true, offsetOf(backend, aBlock) >>> 2)
        else copyBlock(heap, offsetOf(backend, a) >>> 2, K, 0, M, k0, k1, false, offsetOf(backend, aBlock) >>> 2)
        aId = idOf(backend, aBlock)
      } else {
        aId = idOf(backend, a)
      }
      for (let n0 = 0; n0 < N; n0 += nb) {
        const n1 = Math.min(N, n0 + nb)
        const ncols = n1 - n0
        let bView: number
        if (bBlock) {
          const heap = heapF32(backend)
          if (transposeB) copyBlock(heap, offsetOf(backend, b) >>> 2, K, n0, n1, k0, k1, true, offsetOf(backend, bBlock) >>> 2)
          else copyBlock(heap, offsetOf(backend, b) >>> 2, N, k0, k1, n0, n1, false, offsetOf(backend, bBlock) >>> 2)
          // A fresh id per block: XNNPACK caches the packed operand under the id.
          bView = makeView(backend, offsetOf(backend, bBlock), kc * ncols)
        } else {
          bView = makeView(backend, offsetOf(backend, b) + k0 * N * 4, kc * N)
        }
        const direct = k0 === 0 && !splitN
        const target = direct ? idOf(backend, out) : idOf(backend, cBlock!)
        // The bias goes with the first inner block; the activation only when nothing is added later.
        let biasView = 0
        if (epi.bias && k0 === 0) biasView = splitN ? makeView(backend, offsetOf(backend, epi.bias) + n0 * 4, ncols) : idOf(backend, epi.bias)
        try {
          call(aId, int32Bytes([1, M, kc]), 3, bView, int32Bytes([1, kc, ncols]), 3, false, false, splitK ? 0 : epi.activation, biasView, 0, epi.alpha, target)
        } finally {
          releaseView(backend, bView)
          if (biasView && splitN) releaseView(backend, biasView)
        }
        if (!direct) {
          const heap = heapF32(backend)
          const c = offsetOf(backend, out) >>> 2
          const t = offsetOf(backend, cBlock!) >>> 2
          if (!splitN) {
            for (let i = 0, n = M * N; i < n; i++) heap[c + i] += heap[t + i]
          } else if (k0 === 0) {
            for (let r = 0; r < M; r++) heap.copyWithin(c + r * N + n0, t + r * ncols, t + (r + 1) * ncols)
          } else {
            for (let r = 0; r < M; r++) {
              const cr = c + r * N + n0
              const tr = t + r * ncols
              for (let j = 0; j < ncols; j++) heap[cr + j] += heap[tr + j]
            }
          }
        }
      }
    }
  } finally {
    dispose(backend, aBlock, bBlock, cBlock)
  }
}

interface Epilogue {
  activation: string
  bias?: Info
  prelu?: Info
  leakyreluAlpha?: number
}

/** Transpose the last two axes of a rank-3 tensor into a new tensor. */
function transposeLast(backend: Backend, x: Info): Info {
  return run('Transpose', backend, {x}, {perm: [0, 2, 1]})
}

/** Index of the operand's batch element for flat output batch index `i` under broadcasting. */
function batchIndexer(outBatch: number[], operandBatch: number[]): (i: number) => number {
  const rank = outBatch.length
  const padded = [...new Array(rank - operandBatch.length).fill(1), ...operandBatch]
  const strides = new Array<number>(rank)
  let s = 1
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : s
    s *= padded[d]
  }
  return (i: number) => {
    let index = 0
    for (let d = rank - 1; d >= 0; d--) {
      const coord = i % outBatch[d]
      i = Math.floor(i / outBatch[d])
      index += coord * strides[d]
    }
    return index
  }
}

export function matmul(backend: Backend, a: Info, b: Info, transposeA: boolean, transposeB: boolean, epi: Epilogue = {activation: 'linear'}): Info {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`matMul on the wasm backend needs float32 tensors, got ${a.dtype} and ${b.dtype}`)
  const ar = a.shape.length
  const br = b.shape.length
  const M = transposeA ? a.shape[ar - 1] : a.shape[ar - 2]
  const Ka = transposeA ? a.shape[ar - 2] : a.shape[ar - 1]
  const Kb = transposeB ? b.shape[br - 1] : b.shape[br - 2]
  const N = transposeB ? b.shape[br - 2] : b.shape[br - 1]
  if (Ka !== Kb) {
    throw new Error(`Error in matMul: inner shapes (${Ka}) and (${Kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`)
  }
  const K = Ka
  const aBatchShape = a.shape.slice(0, -2)
  const bBatchShape = b.shape.slice(0, -2)
  const outBatchShape = tf.backend_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape)
  const aBatch = tf.util.sizeFromShape(aBatchShape)
  const bBatch = tf.util.sizeFromShape(bBatchShape)
  const outBatch = tf.util.sizeFromShape(outBatchShape)
  const outShape = [...outBatchShape, M, N]
  const activation = FUSABLE.indexOf(epi.activation as (typeof FUSABLE)[number])
  if (activation < 0) throw new Error(`activation "${epi.activation}" is not supported by matMul on the wasm backend`)

  if (M * N * outBatch === 0 || K === 0) {
    // Empty product: zeros of the right shape (an empty sum is 0).
    const out = backend.makeOutput(outShape, 'float32')
    f32(backend, out).fill(0)
    return out
  }
  if (epi.bias && tf.util.sizeFromShape(epi.bias.shape) !== N) {
    // XNNPACK takes a bias per output column only; add any other broadcast bias afterwards.
    const linear = matmul(backend, a, b, transposeA, transposeB)
    const biased = run('Add', backend, {a: linear, b: epi.bias})
    dispose(backend, linear)
    if (epi.activation === 'linear') return biased
    const activated = applyActivation(backend, biased, epi)
    dispose(backend, biased)
    return activated
  }

  const a3in = reshaped(a, transposeA ? [aBatch, K, M] : [aBatch, M, K])
  const b3in = reshaped(b, transposeB ? [bBatch, N, K] : [bBatch, K, N])
  if (bBatch === 1) {
    const rows = outBatch * M
    // With A transposed, its batch cannot be folded into rows; then only a single batch is blocked.
    const plan = transposeA && aBatch > 1 ? undefined : blockPlan(rows, K, N, transposeA, transposeB)
    if (plan) {
      const out = backend.makeOutput(outShape, 'float32')
      const inBlocks = plan.kb === K && epi.activation !== 'prelu'
      gemmBlocked(backend, a3in, b3in, out, rows, K, N, transposeA, transposeB, plan, {
        activation: inBlocks ? activation : 0,
        alpha: epi.leakyreluAlpha ?? 0,
        bias: epi.bias,
      })
      if (inBlocks || epi.activation === 'linear') return out
      const activated = applyActivation(backend, out, epi)
      dispose(backend, out)
      return activated
    }
  }

  const call = fusedCall(backend)
  const biasId = epi.bias ? idOf(backend, epi.bias) : 0
  const preluId = epi.prelu ? idOf(backend, epi.prelu) : 0
  const alpha = epi.leakyreluAlpha ?? 0
  if (bBatch === 1) {
    // The right operand is shared: every batch element of A is just more rows (aBatch = outBatch).
    const a3 = transposeA ? transposeLast(backend, a3in) : a3in
    const b3 = transposeB ? transposeLast(backend, b3in) : b3in
    const out = backend.makeOutput(outShape, 'float32')
    try {
      call(idOf(backend, a3), int32Bytes([1, outBatch * M, K]), 3, idOf(backend, b3), int32Bytes([1, K, N]), 3, false, false, activation, biasId, preluId, alpha, idOf(backend, out))
    } finally {
      if (transposeA) dispose(backend, a3)
      if (transposeB) dispose(backend, b3)
    }
    return out
  }

  // A true batch (attention): one XNNPACK product per element on views of the heap; a transposed
  // operand is transposed one element at a time into a small scratch matrix.
  const out = backend.makeOutput(outShape, 'float32')
  const aScratch = transposeA ? backend.makeOutput([M, K], 'float32') : undefined
  const bScratch = transposeB ? backend.makeOutput([K, N], 'float32') : undefined
  const aOff = offsetOf(backend, a3in)
  const bOff = offsetOf(backend, b3in)
  const oOff = offsetOf(backend, out)
  const aIndex = batchIndexer(outBatchShape, aBatchShape)
  const bIndex = batchIndexer(outBatchShape, bBatchShape)
  const aShape = int32Bytes([1, M, K])
  const bShape = int32Bytes([1, K, N])
  try {
    let aLast = -1
    for (let i = 0; i < outBatch; i++) {
      const ai = aIndex(i)
      const bi = bIndex(i)
      let aView: number
      if (aScratch) {
        if (ai !== aLast) copyBlock(heapF32(backend), (aOff >>> 2) + ai * M * K, M, 0, K, 0, M, true, offsetOf(backend, aScratch) >>> 2)
        aLast = ai
        aView = makeView(backend, offsetOf(backend, aScratch), M * K)
      } else {
        aView = makeView(backend, aOff + ai * M * K * 4, M * K)
      }
      let bView: number
      if (bScratch) {
        copyBlock(heapF32(backend), (bOff >>> 2) + bi * K * N, K, 0, N, 0, K, true, offsetOf(backend, bScratch) >>> 2)
        bView = makeView(backend, offsetOf(backend, bScratch), K * N)
      } else {
        bView = makeView(backend, bOff + bi * K * N * 4, K * N)
      }
      const oView = makeView(backend, oOff + i * M * N * 4, M * N)
      try {
        call(aView, aShape, 3, bView, bShape, 3, false, false, activation, biasId, preluId, alpha, oView)
      } finally {
        releaseView(backend, aView)
        releaseView(backend, bView)
        releaseView(backend, oView)
      }
    }
  } finally {
    dispose(backend, aScratch, bScratch)
  }
  return out
}

function applyActivation(backend: Backend, x: Info, epi: Epilogue): Info {
  switch (epi.activation) {
    case 'relu':
      return run('Relu', backend, {x})
    case 'relu6':
      return run('Relu6', backend, {x})
    case 'sigmoid':
      return run('Sigmoid', backend, {x})
    case 'elu':
      return run('Elu', backend, {x})
    case 'leakyrelu':
      return run('LeakyRelu', backend, {x}, {alpha: epi.leakyreluAlpha ?? 0.2})
    case 'prelu':
      return run('Prelu', backend, {x, alpha: epi.prelu!})
    default:
      throw new Error(`activation "${epi.activation}" is not supported by matMul on the wasm backend`)
  }
}

function batchMatMulKernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info {
  const {a, b} = inputs as {a: Info; b: Info}
  const {transposeA, transposeB} = (attrs ?? {}) as {transposeA?: boolean; transposeB?: boolean}
  return matmul(backend as Backend, a, b, !!transposeA, !!transposeB)
}

function fusedMatMulKernel({inputs, backend, attrs}: {inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap}): Info {
  const {a, b, bias, preluActivationWeights} = inputs as {a: Info; b: Info; bias?: Info; preluActivationWeights?: Info}
  const {transposeA, transposeB, activation, leakyreluAlpha} = (attrs ?? {}) as {
    transposeA?: boolean
    transposeB?: boolean
    activation?: string
    leakyreluAlpha?: number
  }
  if (bias && bias.shape.length !== 1) throw new Error(`_FusedMatMul on the wasm backend needs a rank-1 bias, got rank ${bias.shape.length}`)
  return matmul(backend as Backend, a, b, !!transposeA, !!transposeB, {
    activation: activation ?? 'linear',
    bias: bias ?? undefined,
    prelu: preluActivationWeights ?? undefined,
    leakyreluAlpha,
  })
}

export const batchMatMulConfig: tf.KernelConfig = {kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMulKernel as tf.KernelFunc}
export const fusedMatMulConfig: tf.KernelConfig = {kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: fusedMatMulKernel as tf.KernelFunc}
