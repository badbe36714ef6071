/**
 * Which products and convolutions the 128 × 128-tile kernel (gemm.ts) takes, and how: the tile width,
 * whether and how far k is split over workgroups, the workgroup grid — pure functions of the shapes
 * (tested without a GPU: test/backends/webgpu/gemm-plan.test.ts), and the alternative routes kernel
 * tuning may time (`GemmVariant`).
 *
 * Taken when the contiguous extents are multiples of 4 (vec4 rows; `gemmApplies`), both output sides
 * are at least 64, the product has at least 2²⁴ multiply-adds, it runs on at least 128 workgroups
 * (k split where allowed; `gemmPlan`) and the batch dimensions match or one operand has none;
 * outputs at most 64 wide use 128 × 64 tiles.
 */
import type {tf} from '../../../engine/tf.js'
import {webgpuSwitch} from '../switches.js'

/** Output tile height (and the default width), and the depth of a k-step's tiles. */
export const TILE = 128
export const TK = 16
/** Smaller products stay with tfjs (see `gemmApplies`). */
const MIN_MACS = 2 ** 24

/**
 * The output tile's width: 128, 64 for outputs at most 64 wide (half the work per thread), or 256 —
 * 8 × 16 outputs a thread, six workgroup-memory reads per 128 multiply-adds instead of four per 64 —
 * where kernel tuning finds it faster (`GemmVariant` 'n256').
 */
export type TileN = 64 | 128 | 256

export interface GemmShape {
  M: number
  N: number
  K: number
  batch: number
}

/**
 * Whether a product of these extents is for this kernel: both output sides at least 64, and the
 * contiguous extent of A, of B and of the output (N) a multiple of 4, so that their rows can be read
 * and written as vec4. The row count of a token batch (an operand's non-contiguous extent) may be
 * anything. Products under 2²⁴ multiply-adds (the Perceiver's latent products) are over in a few
 * microseconds on either kernel and stay where tfjs puts them.
 */
function gemmApplies({M, N, K, batch}: GemmShape, transposeA: boolean, transposeB: boolean, wide = false): boolean {
  const aligned = (transposeA ? M : K) % 4 === 0 && (transposeB ? K : N) % 4 === 0 && N % 4 === 0
  if (wide) return aligned
  return batch * M * N * K >= MIN_MACS && M >= 64 && N >= 64 && aligned
}

export interface GemmPlan {
  /** Output tile width (the height is always 128). */
  tileN: TileN
  /** Slices of k (1: no split, the output written directly). */
  splits: number
  kPerSplit: number
  workgroups: [number, number, number]
}

/**
 * Fewest workgroups worth this kernel's 128×128 tiles: a product that would run on fewer (a small
 * output with a short k, or one that may not be split) goes to tfjs's 32×32 tiles, which spread it
 * over up to 16 times as many. MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS overrides it (the tests set 1 to
 * run small shapes through the kernel).
 */
export function minWorkgroups(): number {
  return webgpuSwitch('matmulMinWorkgroups')
}

/**
 * How the kernel runs a call: by its rules ('default'), or one of the alternative routes that kernel
 * tuning (tune.ts) times against the default and tfjs's, never taken untimed — 'wide': a product the
 * rules leave to tfjs but whose extents the kernel can read (an output side under 64, few
 * multiply-adds or workgroups); 'nosplit': a product the rules split along k, unsplit; 'split': one
 * they do not split (but may), split into ~1,024 workgroups; 'pipelined': the default plan on the
 * double-buffered form of the kernel (gemm.ts `gemmWgsl`, `pipelinedFor`); 'n256' and 'n256-pipelined': an
 * output at least 256 wide in 128 × 256 tiles, single- or double-buffered. `gemmPlan` gives
 * undefined where a plan variant does not apply (it would be the default plan, or none).
 */
export type GemmVariant = 'default' | 'wide' | 'nosplit' | 'split' | 'pipelined' | 'n256' | 'n256-pipelined'

/**
 * How this kernel runs a product, or undefined when tfjs should: `gemmApplies`, then — where the
 * caller allows it (no bias or activation to apply, one batch) — k split when the output has fewer
 * than 256 tiles and k is at least 512 (enough slices for ~512 workgroups, each at least 128 long,
 * at most `mostSplits`), and at least `minWorkgroups()` workgroups in all. `variant`: see `GemmVariant`.
 */
export function gemmPlan(shape: GemmShape, transposeA: boolean, transposeB: boolean, canSplit: boolean, mostSplits = 32, variant: GemmVariant = 'default'): GemmPlan | undefined {
  const plan = gemmApplies(shape, transposeA, transposeB) ? planTiles(shape, canSplit ? 'auto' : 'none', mostSplits, minWorkgroups()) : undefined
  switch (variant) {
    case 'default':
    case 'pipelined':
      return plan
    case 'wide':
      return plan || !gemmApplies(shape, transposeA, transposeB, true) ? undefined : planTiles(shape, canSplit ? 'auto' : 'none', mostSplits, 1)
    case 'nosplit':
      return plan && plan.splits > 1 ? planTiles(shape, 'none', mostSplits, 1) : undefined
    case 'split':
      return plan && plan.splits === 1 && canSplit && shape.K >= 512 ? planTiles(shape, 'always', mostSplits, 1) : undefined
    case 'n256':
    case 'n256-pipelined':
      return plan && shape.N >= 256 ? planTiles(shape, canSplit ? 'auto' : 'none', mostSplits, 1, 256) : undefined
  }
}

function planTiles(shape: GemmShape, split: 'auto' | 'none' | 'always', mostSplits: number, fewestWorkgroups: number, width?: TileN): GemmPlan | undefined {
  const {M, N, K, batch} = shape
  const tileN: TileN = width ?? (N <= 64 ? 64 : TILE)
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / tileN) * batch
  const wanted =
    split === 'always'
      ? Math.max(2, Math.min(mostSplits, Math.floor(K / 128), Math.ceil(1024 / tiles)))
      : split === 'auto' && tiles < 256 && K >= 512
        ? Math.max(1, Math.min(mostSplits, Math.floor(K / 128), Math.ceil(512 / tiles)))
        : 1
  const kPerSplit = wanted > 1 ? Math.ceil(K / wanted / TK) * TK : K
  const splits = Math.ceil(K / kPerSplit)
  if (tiles * splits < fewestWorkgroups) return undefined
  return {tileN, splits, kPerSplit, workgroups: [Math.ceil(N / tileN), Math.ceil(M / TILE), batch * splits]}
}

/**
 * How `convGemm` runs an NHWC convolution (M = B·OH·OW output pixels, N = Cout, K = KH·KW·Cin;
 * `gemmPlan`, `variant` likewise), or undefined when it does not: dilated, or Cin not a multiple of 4.
 * `canSplit`: no bias or activation to apply after the sum.
 */
export function convGemmPlan(info: tf.backend_util.Conv2DInfo, canSplit: boolean, variant: GemmVariant = 'default'): GemmPlan | undefined {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.inChannels % 4 !== 0) return undefined
  const M = info.batchSize * info.outHeight * info.outWidth
  const K = info.filterHeight * info.filterWidth * info.inChannels
  return gemmPlan({M, N: info.outChannels, K, batch: 1}, false, false, canSplit, 32, variant)
}

/** How `filterGemm` runs a layer's filter gradient (`gemmPlan`, `variant` likewise), or undefined when it does not. */
export function filterGemmPlan(info: tf.backend_util.Conv2DInfo, variant: GemmVariant = 'default'): GemmPlan | undefined {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.inChannels % 4 !== 0) return undefined
  const M = info.filterHeight * info.filterWidth * info.inChannels
  const K = info.batchSize * info.outHeight * info.outWidth
  return gemmPlan({M, N: info.outChannels, K, batch: 1}, true, false, true, 64, variant)
}

