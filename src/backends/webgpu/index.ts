/**
 * WebGPU through Dawn (`webgpu` npm package, dawn.node) and @tensorflow/tfjs-backend-webgpu.
 *
 * `loadWebgpu` asks Dawn for a high-performance adapter, refuses software adapters (lavapipe,
 * SwiftShader, any fallback adapter) unless MIXTURE_WEBGPU_ALLOW_SOFTWARE=1, creates the device,
 * registers the `webgpu` tfjs backend on it together with the project's WGSL kernels, and sets the
 * backend flags that cut per-dispatch overhead. It resolves to a one-line description of the device
 * and throws with the reason (and the fix) when WebGPU cannot run here.
 *
 * Its environment switches (MIXTURE_WEBGPU_*) are listed, with their defaults, in switches.ts.
 * Which adapter, on a machine with several: `engine.device`, a launcher's, or the GPU Slurm gave
 * the job (devices.ts); what was chosen and how is recorded (adapter.ts's webgpuDeviceChoice).
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {delimiter, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {tf} from '../../engine/tf.js'
import {DeviceError, deviceRequest} from '../../engine/device.js'
// the cpu backend's kernels and the op gradients come first, as for every backend
import '../cpu/index.js'
import {adapterName, isSoftwareAdapter, setWebgpuAdapter, setWebgpuDeviceChoice, type GpuAdapterLike, type WebgpuAdapterInfo} from './adapter.js'
import {layerDevices, listAdapters, selectAdapter, selectSlurmAdapter, slurmDevice, slurmGpuVariables, type DeviceChoice, type DeviceRequest, type ListedAdapter, type Selection} from './devices.js'
import type {WebgpuBackendInternals} from './internals.js'
import {installFastRecording} from './record.js'
import {registerWebgpuKernels} from './register.js'
import {webgpuSwitch} from './switches.js'

export {isSoftwareAdapter}

interface GpuLike {
  requestAdapter(options?: object): Promise<GpuAdapterLike | null>
}

let loaded: string | undefined
/** The device request the loaded backend was made for (one adapter per process). */
let loadedFor: string | undefined

export interface WebgpuOptions {
  /** An adapter index or PCI bus id (engine.device, or a launcher's); unset: Slurm's GPU, else Dawn's choice. */
  device?: DeviceRequest
  /** Who asked for `device`, for the record (`engine.device`, `--device`). */
  source?: string
}

async function importOptional(name: string, hint: string): Promise<Record<string, unknown>> {
  try {
    return (await import(name)) as Record<string, unknown>
  } catch (error) {
    const code = (error as {code?: string}).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`the ${name} package is not installed (${hint})`)
    }
    throw new Error(`the ${name} package failed to load: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** Whether the Vulkan loader that dawn.node opens at run time can be found (Linux only). */
export function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib64',
    '/usr/local/lib',
  ]
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))
}

function softwareRefusal(info: WebgpuAdapterInfo): string {
  return `the only WebGPU adapter is a software one (${adapterName(info)}), slower than the CPU backends; set MIXTURE_WEBGPU_ALLOW_SOFTWARE=1 to use it anyway`
}

/** The Dawn toggles to enable and to disable, and the flags `create` takes for them. */
function dawnToggles(): {enable: string[]; disable: string[]; flags: string[]} {
  const enable = webgpuSwitch('dawnToggles')
  const disable = webgpuSwitch('dawnDisable')
  const flags = [...(enable.length > 0 ? [`enable-dawn-features=${enable.join(',')}`] : []), ...(disable.length > 0 ? [`disable-dawn-features=${disable.join(',')}`] : [])]
  return {enable, disable, flags}
}

function setNavigatorGpu(gpu: unknown): void {
  const g = globalThis as {navigator?: {gpu?: unknown}}
  if (g.navigator && typeof g.navigator === 'object') {
    try {
      Object.defineProperty(g.navigator, 'gpu', {value: gpu, configurable: true, writable: true})
      if (g.navigator.gpu === gpu) return
    } catch {
      // fall through: replace the whole object
    }
  }
  Object.defineProperty(globalThis, 'navigator', {value: {...(g.navigator ?? {}), gpu}, configurable: true, writable: true})
}

/**
 * Ask Dawn for an adapter in a child process first: on a machine without a usable GPU, Dawn prints
 * Vulkan warnings to stderr (and a broken driver can crash the process), which `--backend auto`
 * must not inflict on every CPU-only run. Resolves to the adapter's info, or a reason.
 */
function probeInChild(flags: string[]): {info?: WebgpuAdapterInfo; reason?: string; dawnSays?: string} {
  const entry = webgpuEntry()
  if (!entry) return {reason: 'the webgpu package is not installed (it is an optional dependency: run `npm install webgpu` on linux-x64, linux-arm64, darwin or win32)'}
  const script = `
    const {create} = await import(${JSON.stringify(entry)})
    const gpu = create(${JSON.stringify(flags)})
    const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'})
    const i = adapter?.info ?? {}
    process.stdout.write(JSON.stringify(adapter ? {vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '', fallback: i.isFallbackAdapter === true || adapter.isFallbackAdapter === true} : null))
    process.exit(0)`
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000, env: process.env})
  if (child.error) return {reason: `probing WebGPU failed: ${child.error.message}`}
  if (child.status !== 0) {
    const last = (child.stderr ?? '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? ''
    return {reason: `probing WebGPU ${child.signal ? `crashed (${child.signal})` : `failed (exit ${child.status})`}${last ? `: ${last}` : ''}`}
  }
  const found = JSON.parse(child.stdout || 'null') as (Omit<WebgpuAdapterInfo, 'software'> & {fallback: boolean}) | null
  if (!found) {
    const warnings = (child.stderr ?? '').split('\n').filter((l) => /^Warning: /.test(l)).map((l) => l.slice(9).trim())
    return {dawnSays: warnings.slice(0, 2).join('; ')}
  }
  const info: WebgpuAdapterInfo = {...found, software: false}
  info.software = isSoftwareAdapter({info: {...found, isFallbackAdapter: found.fallback}} as unknown as GpuAdapterLike)
  return {info}
}

/** The webgpu package's entry module as a URL, or undefined when it is not installed. */
function webgpuEntry(): string | undefined {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href
  } catch {
    return undefined
  }
}

/** Dawn's adapters here, each with the PCI bus id Mesa's device-select layer gives the device of its name and rank, and the layer's list. */
function adaptersHere(entry: string, flags: string[]): {adapters: ListedAdapter[]; layer: ReturnType<typeof layerDevices>} {
  const adapters = listAdapters(entry, flags)
  const layer = layerDevices(entry)
  for (const a of adapters) {
    const twins = (layer ?? []).filter((d) => d.name === a.name)
    const rank = adapters.filter((b) => b.name === a.name).indexOf(a)
    if (twins[rank]?.pci_bus_id) a.pci_bus_id = twins[rank].pci_bus_id
  }
  return {adapters, layer}
}

/** The adapter to open: what was asked for (or Slurm's GPU), how to open it, and the record of it. */
function chooseDevice(flags: string[], options: WebgpuOptions): {selection?: Selection; choice: DeviceChoice} {
  const slurm = slurmGpuVariables()
  const fromSlurm = options.device === undefined ? slurmDevice() : undefined
  const request = options.device ?? fromSlurm?.request
  const source = options.device !== undefined ? (options.source ?? 'engine.device') : fromSlurm?.request !== undefined ? 'slurm' : 'default'
  const base: DeviceChoice = {requested: request ?? null, source, index: null, name: null, pci_bus_id: null, how: fromSlurm && request === undefined ? fromSlurm.note : "Dawn's choice (the first high-performance adapter)", adapters: [], ...(slurm ? {slurm} : {})}
  if (request === undefined) return {choice: base}
  const entry = webgpuEntry()
  if (!entry) return {choice: base}
  const {adapters, layer} = adaptersHere(entry, flags)
  const selection = source === 'slurm' ? selectSlurmAdapter(String(request), fromSlurm!.allocated, adapters, layer) : selectAdapter(request, adapters, layer, source)
  if (!selection) return {choice: {...base, how: `${fromSlurm!.note}; the job sees ${adapters.length} adapter(s), no more than Slurm gave it: Dawn's choice`, adapters}}
  const index = 'index' in selection.chosen ? selection.chosen.index : (adapters.find((a) => a.pci_bus_id === selection.chosen.pci_bus_id)?.index ?? null)
  const how = `${selection.how}${fromSlurm ? `; ${fromSlurm.note}` : ''}`
  return {selection, choice: {...base, index, name: selection.chosen.name, pci_bus_id: selection.chosen.pci_bus_id ?? null, how, adapters}}
}

/**
 * Check, before any point starts, that every adapter `requests` name (`sweep --devices 0,1`) is
 * here and can be opened on its own: a DeviceError naming the first that is not (else a missing
 * adapter is found only when its job slot first starts a point). Without the webgpu package there
 * is nothing to check against: each point then says so itself.
 */
export function checkDeviceRequests(requests: string[]): void {
  const entry = webgpuEntry()
  if (!entry || requests.length === 0) return
  const {adapters, layer} = adaptersHere(entry, dawnToggles().flags)
  for (const request of requests) selectAdapter(deviceRequest(request, undefined).device!, adapters, layer, 'sweep --devices')
}

/** Load Dawn, pick a hardware adapter, register the `webgpu` backend and the project's kernels. */
export async function loadWebgpu(options: WebgpuOptions = {}): Promise<string> {
  const key = JSON.stringify(options.device ?? null)
  if (loaded) {
    if (key !== loadedFor) throw new DeviceError(`this process runs WebGPU on adapter ${loadedFor} already and cannot open another (${key}); train points on other adapters in processes of their own (mixture sweep --jobs N --devices …)`)
    return loaded
  }
  const webgpu = await importOptional('webgpu', 'it is an optional dependency: run `npm install webgpu` on linux-x64, linux-arm64, darwin or win32')
  const create = webgpu.create as (flags: string[]) => GpuLike
  const globals = webgpu.globals as Record<string, unknown>
  if (typeof create !== 'function' || !globals) throw new Error('the webgpu package does not export create/globals (version 0.6 or later is needed)')
  // GPUBufferUsage, GPUMapMode, GPUBuffer, ... are globals in a browser; tfjs-backend-webgpu expects them.
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, {value, configurable: true, writable: true})
  }
  const toggles = dawnToggles()
  const allowSoftware = webgpuSwitch('allowSoftware')
  const {selection, choice} = chooseDevice(toggles.flags, options)
  // The device-select layer reads its variables when Dawn starts Vulkan, in the probe and here.
  for (const [k, v] of Object.entries(selection?.env ?? {})) process.env[k] = v
  const flags = [...toggles.flags, ...(selection?.flags ?? [])]
  const probe = probeInChild(flags)
  if (probe.reason) throw new Error(probe.reason)
  if (probe.info?.software && !allowSoftware) throw new Error(softwareRefusal(probe.info))
  const gpu = create(flags)
  const adapter = probe.info ? await gpu.requestAdapter({powerPreference: 'high-performance'}) : null
  if (!adapter) {
    const why = vulkanLoaderPresent()
      ? `Dawn found no Vulkan device it can use${probe.dawnSays ? ` (Dawn: ${probe.dawnSays})` : ''}: either no driver exposes a Vulkan ICD here (on NVIDIA the driver ships nvidia_icd.json; point VK_DRIVER_FILES at it if the loader does not find it), or the one present lacks features Dawn requires (Mesa's lavapipe needs Mesa 23 or later)`
      : 'the Vulkan loader libvulkan.so.1 is missing: install it (`apt-get install libvulkan1`) or add its folder to LD_LIBRARY_PATH'
    throw new Error(`no WebGPU adapter: ${why}`)
  }
  const info: WebgpuAdapterInfo = {
    vendor: adapter.info?.vendor ?? '',
    architecture: adapter.info?.architecture ?? '',
    device: adapter.info?.device ?? '',
    description: adapter.info?.description ?? '',
    software: isSoftwareAdapter(adapter),
  }
  const name = adapterName(info)
  if (info.software && !allowSoftware) throw new Error(softwareRefusal(info))

  const backendModule = await importOptional('@tensorflow/tfjs-backend-webgpu', 'it is an optional dependency: run `npm install @tensorflow/tfjs-backend-webgpu@4.22.0`')
  const WebGPUBackend = backendModule.WebGPUBackend as new (device: unknown, adapterInfo: unknown) => tf.KernelBackend
  setNavigatorGpu(gpu)

  // shader-f16 where the adapter has it: engine.precision mixed16 needs it (precision.ts).
  const requiredFeatures = ['timestamp-query', 'shader-f16'].filter((f) => adapter.features.has(f))
  const limits = adapter.limits
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  })
  device.addEventListener?.('uncapturederror', (event) => {
    process.stderr.write(`webgpu: ${event.error?.message ?? 'uncaptured device error'}\n`)
  })
  void device.lost?.then((lost) => {
    if (lost.reason !== 'destroyed') process.stderr.write(`webgpu: device lost (${lost.reason ?? 'unknown'}): ${lost.message ?? ''}\n`)
  })

  // The package registers its own factory at import when navigator.gpu already existed; ours wins.
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu')
  tf.registerBackend(
    'webgpu',
    () => {
      const backend = new WebGPUBackend(device, adapter.info ?? {})
      installFastRecording(backend as unknown as WebgpuBackendInternals)
      return backend
    },
    0,
  )
  // Small tensors stay on the GPU instead of bouncing through the cpu backend.
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', webgpuSwitch('submitBatch'))
  registerWebgpuKernels()

  const listed = [...toggles.enable, ...toggles.disable.map((t) => `no ${t}`)]
  const which = choice.index !== null ? `, adapter ${choice.index}${choice.pci_bus_id ? ` on ${choice.pci_bus_id}` : ''} (${choice.source})` : choice.pci_bus_id ? `, on ${choice.pci_bus_id} (${choice.source})` : ''
  const detail = `${name} via Dawn${listed.length > 0 ? ` (${listed.join(', ')})` : ''}${which}${info.software ? ' [software adapter]' : ''}`
  setWebgpuAdapter({...info, shaderF16: requiredFeatures.includes('shader-f16')})
  setWebgpuDeviceChoice({...choice, name: choice.name ?? name})
  loaded = detail
  loadedFor = key
  return detail
}
