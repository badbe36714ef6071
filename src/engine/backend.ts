/**
 * Backend selection: the one module that loads and probes the TensorFlow.js backends (others only
 * read the chosen backend's name: run/numerics.ts, run/data-workers.ts).
 *
 * `auto` tries, in order: tfjs-node-gpu (CUDA, only when TensorFlow actually sees a GPU), WebGPU
 * (a hardware adapter through Dawn), tfjs-node (CPU libtensorflow), the native oneDNN addon,
 * WASM, and finally the pure-JS `cpu` backend. Each probe returns why it was skipped, and the
 * first stderr line of a run names the backend and those reasons.
 */
import {tf} from './tf.js'
import {DeviceError, type DeviceOptions} from './device.js'
import '../backends/cpu/index.js'
import {configureWebgpuSwitches, type WebgpuEngine} from '../backends/webgpu/switches.js'
import {UsageError} from '../errors.js'
import {mixed16Refusal, type Precision} from './precision.js'

export type {DeviceOptions} from './device.js'

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const
export type BackendName = (typeof BACKENDS)[number]

export interface BackendChoice {
  /** The tfjs backend name now active (`tensorflow`, `webgpu`, `native`, `wasm`, `cpu`). */
  name: string
  /** What was asked for (`auto` or a name). */
  requested: BackendName
  /** Human-readable detail: device, threads, library versions. */
  detail: string
  /** For every faster backend that was not used, why. */
  skipped: {name: string; reason: string}[]
  /** webgpu: which adapter was asked for and which one runs, with every adapter listed (devices.ts's DeviceChoice). */
  device?: object
}

/** What a run delivers to the backend it selects: `engine.threads` and `engine.webgpu`, overrides applied (settings.ts), and the adapter to open (`engine.device`, or a launcher's). */
export interface BackendOptions extends DeviceOptions {
  /** CPU threads of the native and wasm backends (null: all cores); their variables still override. */
  threads?: number | null
  /** The webgpu kernel switches (`engine.webgpu`). */
  webgpu?: WebgpuEngine
  /** `engine.precision` (fp32 when absent): a backend that cannot compute in it is not chosen. */
  precision?: Precision
}

export interface Probe {
  name: Exclude<BackendName, 'auto'>
  /** Load and register the backend; resolve to a detail string or throw with the reason it cannot run. */
  load(options: BackendOptions): Promise<string>
  /** The adapter it chose, for the record (backends with several). */
  device?(): Promise<object | undefined>
  /**
   * Computes in `precision` from now on, or throws a UsageError saying why it cannot (the adapter
   * lacks float16). Absent: float32 only.
   */
  setPrecision?(precision: Precision): Promise<void>
}

async function importOptional(name: string): Promise<unknown> {
  try {
    return await import(name)
  } catch (error) {
    const code = (error as {code?: string}).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(`${name} is not installed`)
    throw new Error(`${name} failed to load: ${(error as Error).message.split('\n')[0]}`)
  }
}

const PROBES: Probe[] = [
  {
    name: 'tensorflow',
    async load() {
      // tfjs-node-gpu registers the `tensorflow` backend; only count it when TensorFlow sees a GPU.
      let gpuError: string | undefined
      try {
        await importOptional('@tensorflow/tfjs-node-gpu')
        const devices = await listTensorflowGpus()
        if (devices > 0) return `@tensorflow/tfjs-node-gpu, ${devices} CUDA device(s)`
        gpuError = '@tensorflow/tfjs-node-gpu loaded but TensorFlow sees no CUDA GPU (it needs CUDA 11.2 + cuDNN 8.1); it would silently run on the CPU'
      } catch (error) {
        gpuError = (error as Error).message
      }
      throw new Error(gpuError)
    },
  },
  {
    name: 'webgpu',
    async load(options) {
      const {loadWebgpu} = await import('../backends/webgpu/index.js')
      return loadWebgpu(options)
    },
    async device() {
      const {webgpuDeviceChoice} = await import('../backends/webgpu/adapter.js')
      return webgpuDeviceChoice()
    },
    async setPrecision(precision) {
      const {setProductPrecision} = await import('../backends/webgpu/precision.js')
      setProductPrecision(precision)
    },
  },
  {
    name: 'tensorflow',
    async load() {
      await importOptional('@tensorflow/tfjs-node')
      return '@tensorflow/tfjs-node (CPU libtensorflow)'
    },
  },
  {
    name: 'native',
    async load(options) {
      const {loadNative} = await import('../backends/native/index.js')
      return loadNative(options.threads)
    },
  },
  {
    name: 'wasm',
    async load(options) {
      const {loadWasm} = await import('../backends/wasm/index.js')
      return loadWasm(options.threads)
    },
  },
  {
    name: 'cpu',
    async load() {
      return 'pure-JS kernels, single-threaded'
    },
  },
]

async function listTensorflowGpus(): Promise<number> {
  // tfjs-node-gpu exposes no device list; a tiny op placed by TensorFlow tells through its logs only,
  // so ask the binding for the CUDA devices TensorFlow registered.
  // The `tensorflow` backend itself (initialised here if it is not yet), not whichever is active now.
  const backend = tf.findBackend('tensorflow') ?? tf.backend()
  const binding = (backend as unknown as {binding?: {isUsingGpuDevice?: () => boolean}}).binding
  if (binding?.isUsingGpuDevice) return binding.isUsingGpuDevice() ? 1 : 0
  return 0
}

/** Resolve `requested` from `--backend`, then `MIXTURE_BACKEND`, then `auto`. */
export function requestedBackend(flag?: string): BackendName {
  const value = (flag ?? process.env.MIXTURE_BACKEND ?? 'auto').toLowerCase()
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new UsageError(`unknown backend "${value}": choose one of ${BACKENDS.join(', ')} (from --backend or MIXTURE_BACKEND)`)
  }
  return value as BackendName
}

let active: BackendChoice | undefined

/**
 * The backend asked for by name cannot run here (not installed, no adapter): the request's fault,
 * exit code 2, nothing written. `reasons` says why, per backend tried, for callers that word it their way.
 */
export class BackendUnavailableError extends UsageError {
  constructor(
    readonly requested: string,
    readonly reasons: string,
  ) {
    super(`backend "${requested}" is not available here (${reasons}). Use --backend auto to pick the fastest working one.`)
  }
}

/**
 * Load and activate a backend. With `auto`, the fastest that works; otherwise exactly the one named,
 * or an error. The webgpu switches apply from now on; the thread count when a backend first loads;
 * `options.device` chooses the adapter of a backend that has several (webgpu).
 */
export async function selectBackend(requested: BackendName = 'auto', options: BackendOptions = {}): Promise<BackendChoice> {
  configureWebgpuSwitches(options.webgpu ?? {})
  const precision = options.precision ?? 'fp32'
  if (active && (requested === 'auto' || requested === active.name)) {
    // The backend runs already; webgpu refuses another adapter than the one it opened.
    const probe = PROBES.find((p) => p.name === active!.name)
    if (active.name === 'webgpu' && options.device !== undefined) await probe!.load(options)
    await setPrecision(probe, active.name, precision)
    return active
  }
  const skipped: {name: string; reason: string}[] = []
  let candidates = requested === 'auto' ? PROBES : PROBES.filter((p) => p.name === requested)
  const fp32Only = [...new Set(candidates.filter((c) => !c.setPrecision).map((c) => c.name))]
  if (precision !== 'fp32') {
    // Backends that compute in float32 only are not tried: a run never falls back to fp32.
    candidates = candidates.filter((c) => c.setPrecision)
    if (candidates.length === 0) throw new UsageError(mixed16Refusal(requested))
  }
  for (const probe of candidates) {
    try {
      const detail = await probe.load(options)
      const ok = await tf.setBackend(probe.name)
      if (!ok) throw new Error(`tf.setBackend('${probe.name}') failed to initialise`)
      await tf.ready()
      await setPrecision(probe, probe.name, precision)
      const device = await probe.device?.()
      // The faster backends passed over for the precision (auto's order), as those that failed.
      const faster = new Set(PROBES.slice(0, PROBES.indexOf(probe)).map((p) => p.name))
      if (precision !== 'fp32' && requested === 'auto') skipped.push(...fp32Only.filter((name) => faster.has(name)).map((name) => ({name, reason: `it computes in float32 only, not ${precision}`})))
      active = {name: tf.getBackend(), requested, detail, skipped, ...(device ? {device} : {})}
      return active
    } catch (error) {
      // An adapter request that names none here is the request's fault: no other backend answers it;
      // nor does any other compute in the precision a backend refused.
      if (error instanceof DeviceError || error instanceof UsageError) throw error
      skipped.push({name: probe.name, reason: (error as Error).message})
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')
  if (precision !== 'fp32') {
    throw new UsageError(`engine.precision: ${precision} cannot run here: ${why}; ${fp32Only.length > 0 ? `${fp32Only.join(', ')} compute in float32 only` : 'no other backend was asked for'}. Use engine.precision: fp32 on this machine`)
  }
  throw new BackendUnavailableError(requested, why)
}

/** Puts the backend `name` (probed by `probe`) in `precision`, or throws a UsageError saying why it cannot. */
async function setPrecision(probe: Probe | undefined, name: string, precision: Precision): Promise<void> {
  if (probe?.setPrecision) return probe.setPrecision(precision)
  if (precision !== 'fp32') throw new UsageError(mixed16Refusal(name))
}

/** One line for the top of stderr: which backend runs, and why faster ones were skipped. */
export function describeBackend(choice: BackendChoice): string {
  const skipped = choice.skipped.length > 0 ? `; skipped ${choice.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : ''
  return `backend: ${choice.name} — ${choice.detail}${choice.requested === 'auto' ? ' [auto]' : ''}${skipped}`
}

