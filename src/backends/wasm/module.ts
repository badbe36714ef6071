/**
 * Creates the WASM backend instance ourselves instead of through the package's own factory.
 *
 * The package never uses its multi-threaded build under Node: its thread-support flag answers
 * false for Node, and forcing it fails because the pthread worker script is handed to
 * `worker_threads` as a `blob:` URL (ERR_WORKER_PATH). The build itself works in Node 20 when
 * the Emscripten factory is given (1) a real file for the pthread worker script (the package
 * ships it only as a JS string, so it is written once to the OS temp folder), (2) the path of
 * the factory script as `mainScriptUrlOrBlob` (each worker evaluates it), and (3) a core count:
 * the C++ side caps its thread pool at `emscripten_num_logical_cores() / 2` (it assumes two
 * hyper-threads per core), which is 1 on a 2-core machine, so the import reports twice the
 * number of threads we want.
 */
import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type * as WasmPackage from '@tensorflow/tfjs-backend-wasm'
import type {tf} from '../../engine/tf.js'

const require = createRequire(import.meta.url)

/** The Emscripten module as the backend sees it (only the members we touch are typed). */
export interface WasmModule {
  HEAPU8: Uint8Array
  HEAPF32: Float32Array
  wasmMemory?: WebAssembly.Memory
  PThread?: unknown
  _malloc(bytes: number): number
  _free(ptr: number): void
  cwrap(name: string, ret: string | null, args: string[]): (...args: unknown[]) => unknown
  tfjs: {
    init(): void
    initWithThreadsCount(n: number): void
    getThreadsCount(): number
    registerTensor(id: number, size: number, offset: number): void
    disposeData(id: number): void
    dispose(): void
  }
}

interface FactoryConfig {
  locateFile?(file: string, prefix: string): string
  mainScriptUrlOrBlob?: string
  instantiateWasm?(info: Record<string, Record<string, unknown>>, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object
}
type Factory = (config: FactoryConfig) => Promise<WasmModule>

export interface CreatedBackend {
  backend: WasmPackage.BackendWasm
  /** Bytes of tensor memory live on the heap now. */
  liveBytes: () => number
  /** Threads in XNNPACK's pool (1 for the single-threaded build). */
  threads: number
  /** Which binary runs: `threaded-simd`, `simd` or `plain`. */
  build: 'threaded-simd' | 'simd' | 'plain'
  /** Why the threaded build is not used, when it is not. */
  threadsNote?: string
}

function packageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))
}

function simdSupported(): boolean {
  // The smallest module that uses a v128 instruction (the package's own feature test).
  return WebAssembly.validate(
    new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
  )
}

function withTfjsApi(module: WasmModule): WasmModule {
  module.tfjs = {
    init: module.cwrap('init', null, []) as () => void,
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']) as (n: number) => void,
    getThreadsCount: module.cwrap('get_threads_count', 'number', []) as () => number,
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']) as (id: number, size: number, offset: number) => void,
    disposeData: module.cwrap('dispose_data', null, ['number']) as (id: number) => void,
    dispose: module.cwrap('dispose', null, []) as () => void,
  }
  return module
}

/** Writes the pthread worker script once (content-addressed, so concurrent processes agree). */
function pthreadWorkerFile(dir: string): string {
  const {wasmWorkerContents} = require(path.join(dir, 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js')) as {wasmWorkerContents: string}
  // The string was made to be embedded in a template literal: its "\n" escapes became real newlines.
  const source = wasmWorkerContents.replace(/\n/g, '\\n')
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16)
  const file = path.join(os.tmpdir(), `mixture-tfjs-wasm-pthread-${hash}.cjs`)
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== source) {
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, source)
    fs.renameSync(tmp, file)
  }
  return file
}

async function createThreaded(dir: string, threads: number): Promise<WasmModule> {
  const mainScript = path.join(dir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js')
  const wasmFile = path.join(dir, 'dist/tfjs-backend-wasm-threaded-simd.wasm')
  const workerFile = pthreadWorkerFile(dir)
  const factory = require(mainScript) as Factory
  const compiled = await WebAssembly.compile(fs.readFileSync(wasmFile))
  let failed: (error: Error) => void = () => {}
  const failure = new Promise<never>((_, reject) => (failed = reject))
  const module = await Promise.race([
    failure,
    factory({
      locateFile: (file, prefix) => (file.endsWith('.worker.js') ? workerFile : file.endsWith('.wasm') ? wasmFile : prefix + file),
      mainScriptUrlOrBlob: mainScript,
      instantiateWasm(info, receive) {
        const env = {...info.env, emscripten_num_logical_cores: () => 2 * threads}
        WebAssembly.instantiate(compiled, {...info, env, wasi_snapshot_preview1: env} as WebAssembly.Imports).then(
          (instance) => receive(instance, compiled),
          (error: Error) => failed(error),
        )
        return {}
      },
    }),
  ])
  return withTfjsApi(module)
}

/** WebAssembly (wasm32) memory cannot exceed 4 GiB; the builds cap their heap just below. */
export const HEAP_MAX_BYTES = 4294901760
/** Room left for XNNPACK's packed operands, C++ bookkeeping and fragmentation. */
export const HEAP_HEADROOM_BYTES = 320 << 20

export class WasmHeapFullError extends Error {}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(2)
}

/**
 * Make running out of WASM memory a clear error. A failed allocation otherwise surfaces later as
 * "memory access out of bounds", "divide by zero" or "Aborted()" from inside a kernel (the C++
 * side's own allocations fail first), or as an XNNPACK operator that silently was not created.
 * Tensor memory is allocated from JS, so its live total is counted here, and an allocation that
 * would take it past the cap less HEAP_HEADROOM_BYTES is refused before anything fails.
 * Returns the live tensor bytes, for reporting.
 */
export function guardHeap(module: WasmModule, limit = HEAP_MAX_BYTES - HEAP_HEADROOM_BYTES): () => number {
  // Emscripten's exports start as stubs that replace themselves on their first call: make that
  // call now, so that the functions captured here stay the ones called.
  module._free(module._malloc(16))
  const malloc = module._malloc
  const free = module._free
  const sizes = new Map<number, number>()
  let live = 0
  module._malloc = (bytes: number) => {
    if (live + bytes > limit) throw new WasmHeapFullError(heapFullMessage(bytes, live))
    let ptr: number
    try {
      ptr = malloc(bytes)
    } catch (error) {
      throw new WasmHeapFullError(heapFullMessage(bytes, live, (error as Error).message))
    }
    if (ptr === 0 && bytes > 0) throw new WasmHeapFullError(heapFullMessage(bytes, live))
    // Addresses past 2 GiB come back negative (a signed i32); callers keep them as `>>> 0`.
    const key = ptr >>> 0
    sizes.set(key, bytes)
    live += bytes
    return ptr
  }
  module._free = (ptr: number) => {
    const key = ptr >>> 0
    live -= sizes.get(key) ?? 0
    sizes.delete(key)
    free(ptr)
  }
  return () => live
}

function heapFullMessage(bytes: number, live: number, cause?: string): string {
  return (
    `The WASM backend ran out of memory: WebAssembly memory is limited to 4 GiB, and this step needs more ` +
    `(${gib(live)} GiB of tensors are live, allocating ${(bytes / 2 ** 20).toFixed(1)} MiB more${cause ? `; ${cause}` : ''}). ` +
    `Train with a smaller batch (train.batch_size), or choose a backend without this limit (--backend native or cpu).`
  )
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${ms / 1000} s`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Instantiate the fastest WASM build that runs here: threaded SIMD with `threads` > 1, else
 * the package's own choice (single-threaded SIMD, else plain WASM) through `packageFactory`.
 * Throws when WebAssembly cannot run at all.
 */
export async function createWasmBackend(
  tfw: Pick<typeof WasmPackage, 'BackendWasm' | 'setThreadsCount'>,
  threads: number,
  packageFactory: () => Promise<tf.KernelBackend> | tf.KernelBackend,
): Promise<CreatedBackend> {
  if (typeof WebAssembly !== 'object') throw new Error('this Node.js has no WebAssembly support')
  const dir = packageDir()
  const simd = simdSupported()
  let threadsNote: string | undefined
  if (threads > 1 && simd && typeof SharedArrayBuffer === 'function') {
    try {
      const module = await withTimeout(createThreaded(dir, threads), 30_000, 'the threaded WASM build')
      const liveBytes = guardHeap(module)
      tfw.setThreadsCount(threads)
      const backend = new tfw.BackendWasm(module as never)
      // XNNPACK's pool threads run for the life of the backend, and Emscripten keeps a reference
      // on the worker of every running pthread: without this the process would never exit.
      const pthread = module.PThread as {runningWorkers?: {unref?: () => void}[]} | undefined
      for (const worker of pthread?.runningWorkers ?? []) worker.unref?.()
      return {backend, liveBytes, threads: module.tfjs.getThreadsCount(), build: 'threaded-simd'}
    } catch (error) {
      threadsNote = `threaded build failed: ${(error as Error).message.split('\n')[0]}`
    }
  } else if (threads > 1) {
    threadsNote = simd ? 'no SharedArrayBuffer' : 'no WASM SIMD'
  }
  // The package's own initialisation: SIMD when supported, never threads under Node.
  const backend = (await packageFactory()) as WasmPackage.BackendWasm
  const liveBytes = guardHeap(backend.wasm as unknown as WasmModule)
  return {backend, liveBytes, threads: 1, build: simd ? 'simd' : 'plain', threadsNote}
}
