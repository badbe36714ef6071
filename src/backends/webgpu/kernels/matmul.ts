/**
 * `BatchMatMul` and `_FusedMatMul` (bias and/or ReLU) on WebGPU: large products on the 128×128-tile
 * kernel (../programs/gemm.ts), plain products with a small output and a long k on the strided
 * kernel with k split (`longKProduct`), the rest on tfjs's own programs (in mixed16 on the strided
 * kernel instead, `stridedProduct`, with a fused product's bias and ReLU). Kernel tuning (../tune.ts)
 * times each call's routes: this one, tfjs's, the product kernel's plan variants and the strided
 * kernel ('strided').
 */
import {tf} from '../../../engine/tf.js'
import type {StridedMatMulAttrs} from '../../../ops/strided-matmul.js'
import {biasFits, epilogueOf, gemm, gemmVariantRoutes, productShape, type Backend, type ProductShape} from '../programs/gemm.js'
import type {GemmVariant} from '../programs/gemm-plan.js'
import {insteadOfRoundedTfjs} from '../precision.js'
import {webgpuSwitch} from '../switches.js'
import type {TunedKernel} from '../tune.js'
import {stridedMatMul, tileFor, type StridedEpilogue} from './strided-matmul.js'

/** Shortest k for `longKProduct`: below it tfjs's own programs do not split k either. */
const LONG_K = 2048
/** Most output tiles (of the strided kernel) for `longKProduct`: more already fill the GPU unsplit. */
const LONG_K_MAX_TILES = 64

/** The strides of a plain (batched, broadcast) product A·B — elements (i, k) of A and (k, j) of B in the layouts the transposes say — for `MixtureStridedMatMul`. */
function productAttrs({M, N, K, batch, batchA, batchB, outShape}: ProductShape, transposeA: boolean, transposeB: boolean): StridedMatMulAttrs {
  return {
    I: M,
    J: N,
    K,
    batch,
    heads: 1,
    alpha: 1,
    outShape,
    aView: [0, batchA === 1 ? 0 : M * K, 0, transposeA ? 1 : K, transposeA ? M : 1],
    bView: [0, batchB === 1 ? 0 : K * N, 0, transposeB ? 1 : N, transposeB ? K : 1],
    cView: [M * N, 0, N, 1],
  }
}

/**
 * A plain product with a small output and a long k — a Dense layer's weight gradient over every
 * token of a batch, Xᵀ·dY with K = batch·tokens — that `gemm` does not take (a side under 64, or
 * not a multiple of 4: the Perceiver's 29 Fourier input features over 147,456 tokens), on
 * `MixtureStridedMatMul` with k split over workgroups and the slices added by a second pass. For
 * these tfjs picks `MatMulSplitKProgram` (atomic adds into the output: 4 such products took 8.65 ms
 * of a Perceiver step's 22 GPU ms on the H200) or, past 8 output tiles of 32 × 32, one workgroup per
 * tile walking all of k. Undefined when it does not apply (or MIXTURE_WEBGPU_LONG_K=0).
 */
export function longKProduct(backend: Backend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | undefined {
  if (!webgpuSwitch('longK')) return undefined
  const shape = productShape(a, b, transposeA, transposeB)
  if (!shape || shape.K < LONG_K) return undefined
  const tile = tileFor(shape.M, shape.N)
  if (Math.ceil(shape.M / tile) * Math.ceil(shape.N / tile) * shape.batch > LONG_K_MAX_TILES) return undefined
  return stridedMatMul(backend, a, b, productAttrs(shape, transposeA, transposeB))
}

/**
 * Any float32 product on `MixtureStridedMatMul` (with a fused product's `epilogue`): in mixed16 the
 * products the rules would hand to tfjs (it rounds as it loads and stores, where tfjs's program needs
 * a rounding pass over each operand and the result, ../precision.ts `insteadOfRoundedTfjs`: four
 * dispatches for each small product of the Perceiver's latents, of a classifier head, of attention at small batches),
 * and kernel tuning's 'strided' route for every product in either precision. Undefined where a bias
 * is not one float32 value per output column.
 */
function stridedProduct(backend: Backend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, epilogue?: StridedEpilogue): tf.TensorInfo | undefined {
  const shape = productShape(a, b, transposeA, transposeB)
  if (!shape || !biasFits(epilogue?.bias, shape.N)) return undefined
  return stridedMatMul(backend, a, b, productAttrs(shape, transposeA, transposeB), epilogue)
}

/** `BatchMatMul` on the strided kernel (`stridedProduct`). */
const stridedMatMulRoute = (args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined => {
  const {a, b} = args.inputs as Record<string, tf.TensorInfo>
  const {transposeA, transposeB} = args.attrs as unknown as MatMulAttrs
  return stridedProduct(args.backend as unknown as Backend, a, b, transposeA, transposeB)
}

/** `_FusedMatMul` on the strided kernel (`stridedProduct`): a bias of one value per output column and ReLU or none. */
const stridedFusedMatMul = (args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | undefined => {
  const {a, b, bias, preluActivationWeights} = args.inputs as Record<string, tf.TensorInfo | undefined>
  const {transposeA, transposeB, activation} = args.attrs as unknown as MatMulAttrs
  const epilogue = epilogueOf(bias, activation)
  if (!a || !b || preluActivationWeights || !epilogue) return undefined
  return stridedProduct(args.backend as unknown as Backend, a, b, transposeA, transposeB, {bias, relu: epilogue === 'relu' || epilogue === 'bias-relu'})
}

type MatMulAttrs = {transposeA: boolean; transposeB: boolean; activation?: string}

const matMul = (args: Parameters<tf.KernelFunc>[0], variant: GemmVariant): tf.TensorInfo | undefined => {
  const {a, b} = args.inputs as Record<string, tf.TensorInfo>
  const {transposeA, transposeB} = args.attrs as unknown as MatMulAttrs
  return gemm(args.backend as unknown as Backend, {a, b, transposeA, transposeB, epilogue: 'none', variant})
}

const fusedMatMul = (args: Parameters<tf.KernelFunc>[0], variant: GemmVariant): tf.TensorInfo | undefined => {
  const {a, b, bias, preluActivationWeights} = args.inputs as Record<string, tf.TensorInfo | undefined>
  const {transposeA, transposeB, activation} = args.attrs as unknown as MatMulAttrs
  const epilogue = epilogueOf(bias, activation)
  if (!a || !b || preluActivationWeights || !epilogue) return undefined
  return gemm(args.backend as unknown as Backend, {a, b, bias, transposeA, transposeB, epilogue, variant})
}

export const matMulKernels: TunedKernel[] = [
  {
    kernelName: 'BatchMatMul',
    wrap: (run) => (args) => {
      const {a, b} = args.inputs as Record<string, tf.TensorInfo>
      const {transposeA, transposeB} = args.attrs as unknown as MatMulAttrs
      return (
        matMul(args, 'default') ??
        longKProduct(args.backend as unknown as Backend, a, b, transposeA, transposeB) ??
        insteadOfRoundedTfjs(() => stridedMatMulRoute(args)) ??
        run(args)
      )
    },
    alternatives: () => ({...gemmVariantRoutes(matMul), strided: stridedMatMulRoute}),
  },
  {
    kernelName: '_FusedMatMul',
    wrap: (run) => (args) => fusedMatMul(args, 'default') ?? insteadOfRoundedTfjs(() => stridedFusedMatMul(args)) ?? run(args),
    alternatives: () => ({...gemmVariantRoutes(fusedMatMul), strided: stridedFusedMatMul}),
  },
]
