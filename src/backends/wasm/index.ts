/**
 * The WASM backend (XNNPACK kernels) made able to train: `loadWasm()` instantiates the fastest
 * build that runs here (threaded SIMD on several cores), registers it as the `wasm` backend, and
 * registers the kernels it lacks or runs slowly:
 *   - Conv2DBackpropFilter (missing: conv nets could not train) as im2colᵀ + XNNPACK products,
 *   - Conv2DBackpropInput (a scalar loop in the package) as an XNNPACK convolution or product,
 *   - BatchMatMul / _FusedMatMul that reach XNNPACK's GEMM with transposed operands and batches,
 *   - Conv2D / FusedConv2D given only the filter taps that can touch the input,
 *   - MaxPoolGrad, Tile, and Sum/Mean over outer axes as single passes over the heap,
 *   - Identity and same-dtype Cast sharing data, Transpose of rows by block copies,
 *   - the project's fused kernels: MixtureAdam, MixtureBatchNormStats/Grad,
 *     MixtureLayerNorm/Grad, MixtureDropout, MixtureGelu/Grad, MixtureSoftmaxGrad,
 *   - every other kernel the cpu backend has, through a copy-to-cpu fallback.
 *
 * Threads: `MIXTURE_WASM_THREADS`, else `MIXTURE_THREADS`, else the run's `engine.threads`, else one
 * per core (at most 8); 1 selects
 * the single-threaded build, which is faster when other processes keep the cores busy.
 */
import os from 'node:os'
import {tf} from '../../engine/tf.js'
// the wasm backend falls back to the cpu backend's kernels (the project's own among them)
import '../cpu/index.js'
import {type CreatedBackend, createWasmBackend, HEAP_HEADROOM_BYTES, HEAP_MAX_BYTES, type WasmModule} from './module.js'
import {registerWasmKernels, WASM_KERNELS} from './register.js'

export {WASM_KERNELS}

const WASM_PRIORITY = 2
const MAX_THREADS = 8 // the Emscripten build pre-spawns 8 workers; XNNPACK cannot use more

let loading: Promise<string> | undefined
let created: CreatedBackend | undefined

export interface WasmMemoryInfo {
  /** Tensor bytes live on the WASM heap. */
  liveBytes: number
  /** Size of the WASM memory now (it only grows). */
  heapBytes: number
  /** Live tensor bytes beyond which allocations are refused (WebAssembly's 4 GiB less headroom). */
  limitBytes: number
}

/** Memory of the loaded WASM backend, or undefined before `loadWasm()`. */
export function wasmMemoryInfo(): WasmMemoryInfo | undefined {
  if (!created) return undefined
  const wasm = created.backend.wasm as unknown as WasmModule
  return {liveBytes: created.liveBytes(), heapBytes: (wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer).byteLength, limitBytes: HEAP_MAX_BYTES - HEAP_HEADROOM_BYTES}
}

/**
 * Threads for XNNPACK: `MIXTURE_WASM_THREADS`, else the project-wide `MIXTURE_THREADS`, else
 * `setting` (a spec's `engine.threads`), else one per core; at most 8.
 */
export function wasmThreads(setting: number | null = null): number {
  for (const name of ['MIXTURE_WASM_THREADS', 'MIXTURE_THREADS']) {
    const raw = process.env[name]
    if (raw === undefined || raw === '') continue
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"; unset it to use every core`)
    return Math.min(n, MAX_THREADS)
  }
  if (setting !== null) return Math.min(setting, MAX_THREADS)
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  return Math.max(1, Math.min(cores, MAX_THREADS))
}

async function load(setting: number | null): Promise<string> {
  let tfw: typeof import('@tensorflow/tfjs-backend-wasm')
  try {
    // Registers the package's kernels (and its own `wasm` backend factory, replaced below).
    tfw = await import('@tensorflow/tfjs-backend-wasm')
  } catch (error) {
    throw new Error(`@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message.split('\n')[0]}`)
  }
  const packageFactory = tf.findBackendFactory('wasm')
  if (!packageFactory) throw new Error('@tensorflow/tfjs-backend-wasm did not register its backend')
  const made = await createWasmBackend(tfw, wasmThreads(setting), packageFactory)
  created = made
  tf.removeBackend('wasm')
  tf.registerBackend('wasm', () => made.backend, WASM_PRIORITY)
  const fallbacks = registerWasmKernels()
  const threads = made.build === 'threaded-simd' ? `${made.threads} thread${made.threads === 1 ? '' : 's'}` : `single-threaded${made.threadsNote ? ` (${made.threadsNote})` : ''}`
  return `XNNPACK ${made.build} build, ${threads}, training kernels added (${WASM_KERNELS.length} native, ${fallbacks} via cpu)`
}

/** Load and register the WASM backend (once, with `wasmThreads(threads)` threads) with its training kernels; resolve to a one-line detail. */
export function loadWasm(threads: number | null = null): Promise<string> {
  loading ??= load(threads).catch((error: unknown) => {
    loading = undefined
    throw error instanceof Error ? error : new Error(String(error))
  })
  return loading
}
