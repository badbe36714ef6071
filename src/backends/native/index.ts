/**
 * The `native` backend: the `cpu` backend's tensor storage and cheap kernels, with the expensive
 * kernels (convolutions and their gradients, matrix products, pooling, batch norm, softmax,
 * element-wise chains, reductions, transposes, the fused Adam update) replaced by multi-threaded
 * C++ in an N-API addon built on oneDNN (native/, built by `npm run build:native`).
 *
 * Threads: `MIXTURE_THREADS` if set, else the run's `engine.threads`, else every core.
 */
import {availableParallelism} from 'node:os'
import {tf} from '../../engine/tf.js'
// the cpu backend's kernels (the project's own among them) are copied to this one
import '../cpu/index.js'
import {loadAddon, type NativeAddon} from './addon.js'
import {NATIVE_BACKEND, registerNativeKernels} from './register.js'
import {NativeBackend} from './storage.js'

export {NativeBackend, NATIVE_BACKEND}

let registered: {addon: NativeAddon; detail: string} | undefined

/** Threads from `MIXTURE_THREADS`, else `setting` (a spec's `engine.threads`), else the number of cores. */
export function nativeThreads(setting: number | null = null): number {
  const raw = process.env.MIXTURE_THREADS
  if (raw === undefined || raw.trim() === '') return setting ?? availableParallelism()
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`MIXTURE_THREADS must be a positive integer, got "${raw}"; unset it to use every core (${availableParallelism()})`)
  }
  return n
}

/** The loaded addon (after `loadNative`), for tests and diagnostics. */
export function nativeAddon(): NativeAddon | undefined {
  return registered?.addon
}

/**
 * Load the addon and register the `native` backend (once, with `nativeThreads(threads)` threads).
 * Resolves to a one-line description; throws an Error saying why when the addon cannot run here.
 */
export async function loadNative(threads: number | null = null): Promise<string> {
  if (registered) return registered.detail
  let addon: NativeAddon
  try {
    addon = loadAddon()
  } catch (error) {
    throw new Error(`native addon not built: ${(error as Error).message}, install libdnnl-dev and run npm run build:native`)
  }
  const used = addon.setThreads(nativeThreads(threads))
  const info = addon.info()
  if (!tf.findBackend(NATIVE_BACKEND)) {
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend())
  }
  registerNativeKernels(addon)
  const detail = `oneDNN ${info.dnnl} JIT ${info.isa}, ${info.simd} element-wise, ${used} thread${used === 1 ? '' : 's'}`
  registered = {addon, detail}
  return detail
}
