/**
 * Which WebGPU adapter a run trains on, when a machine has several: `engine.device` (an adapter
 * index, or a PCI bus id), a launcher's choice, or the GPU Slurm allocated. What was found here and
 * what could not be checked is in docs/slurm.md ("GPUs"); in short:
 *
 * - dawn.node lists its adapters (in Dawn's order: the Vulkan loader's, which on Linux sorts devices
 *   of one kind by PCI bus) and opens one by name (`adapter=<name>`, a prefix of the Vulkan device
 *   name), so an adapter whose name is its own is chosen by name.
 * - Identical GPUs share a name. They are told apart by PCI bus id through Mesa's Vulkan
 *   device-select layer (an implicit layer any Vulkan driver goes through, NVIDIA's included, when
 *   installed: Debian's mesa-vulkan-drivers): `DRI_PRIME=pci-<domain>_<bus>_<device>_<function>`
 *   with `MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1` leaves Dawn that one device, and
 *   `MESA_VK_DEVICE_SELECT=list` lists the devices with their bus ids.
 * - CUDA_VISIBLE_DEVICES does not reach Vulkan; Slurm's SLURM_JOB_GPUS are the node's GPU indices
 *   (/dev/nvidia<N>), which /proc/driver/nvidia/gpus/<bus id>/information ties to a PCI bus id.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {DeviceError} from '../../engine/device.js'

/** `engine.device`: an adapter index (as `listAdapters` numbers them) or a PCI bus id. */
export type DeviceRequest = number | string

/** A PCI bus id as nvidia-smi (`00000000:3B:00.0`), lspci (`3b:00.0`) or sysfs (`0000:3b:00.0`) write it. */
export const PCI_BUS_ID = /^(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/

/** `0000:3b:00.0` (sysfs's form), or undefined when `text` is not a PCI bus id. */
export function normalizeBusId(text: string): string | undefined {
  const m = PCI_BUS_ID.exec(text.trim())
  if (!m) return undefined
  const domain = (m[1] ?? '0').slice(-4).padStart(4, '0')
  return `${domain}:${m[2]}:${m[3]}.${m[4]}`.toLowerCase()
}

export interface ListedAdapter {
  index: number
  backend: string
  name: string
  /** Where Mesa's device-select layer lists it. */
  pci_bus_id?: string
}

/** A device as Mesa's device-select layer lists it. */
export interface LayerDevice {
  name: string
  type: string
  pci_bus_id?: string
}

/** What `engine.device` chose and how, for env.json. */
export interface DeviceChoice {
  /** What was asked for, and by whom (engine.device, a launcher's --device, Slurm's allocation). */
  requested: DeviceRequest | null
  source: string
  /** The adapter it names in the list below (null: Dawn's own choice). */
  index: number | null
  name: string | null
  pci_bus_id: string | null
  how: string
  /** Every adapter Dawn lists here. */
  adapters: ListedAdapter[]
  /** Slurm's GPU variables, where set. */
  slurm?: Record<string, string>
}

export interface Selection {
  /** dawn.node flags (`adapter=<name>`). */
  flags: string[]
  /** Variables for the Vulkan loader's layers, set before Dawn starts. */
  env: Record<string, string>
  chosen: ListedAdapter | LayerDevice
  how: string
}

/** Run `script` (an ES module) with Node in a child, with `env`; stdout and stderr. */
function child(script: string, env: NodeJS.ProcessEnv): {stdout: string; stderr: string; status: number | null} {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000, env})
  return {stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status}
}

/** dawn.node's list of adapters ("Available adapters: * backend: 'vulkan', name: '…'"), from asking for one that no adapter is named. */
export function parseAdapterList(text: string): ListedAdapter[] {
  const out: ListedAdapter[] = []
  for (const m of text.matchAll(/^\s*\* backend: '([^']*)', name: '(.*)'\s*$/gm)) out.push({index: out.length, backend: m[1], name: m[2]})
  return out
}

/** Mesa's device-select listing ("  GPU 0: 10de:2330 "NVIDIA H100" discrete GPU 0000:1b:00.0"). */
export function parseLayerList(text: string): LayerDevice[] {
  const out: LayerDevice[] = []
  for (const m of text.matchAll(/^\s*GPU \d+: [0-9a-f]+:[0-9a-f]+ "(.*)" (.+?)(?: ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]))?\s*$/gim)) {
    out.push({name: m[1], type: m[2].trim(), ...(m[3] ? {pci_bus_id: m[3].toLowerCase()} : {})})
  }
  return out
}

/**
 * Dawn's adapters in Dawn's order, with Mesa's device-select layer kept out of the way
 * (NODEVICE_SELECT=1) so that the order is the Vulkan loader's; `entry` is the webgpu package.
 */
export function listAdapters(entry: string, flags: string[], env: NodeJS.ProcessEnv = process.env): ListedAdapter[] {
  const script = `
    const {create} = await import(${JSON.stringify(entry)})
    try { await create(${JSON.stringify([...flags, 'adapter=\u0001'])}).requestAdapter() } catch (e) { process.stdout.write(String(e?.message ?? e)) }
    process.exit(0)`
  return parseAdapterList(child(script, {...env, NODEVICE_SELECT: '1'}).stdout)
}

/** The devices Mesa's device-select layer lists (with PCI bus ids where the driver gives them); undefined without the layer. */
export function layerDevices(entry: string, env: NodeJS.ProcessEnv = process.env): LayerDevice[] | undefined {
  const script = `
    const {create} = await import(${JSON.stringify(entry)})
    await create([]).requestAdapter()
    process.exit(0)`
  const {NODEVICE_SELECT: _off, ...rest} = env
  const r = child(script, {...rest, MESA_VK_DEVICE_SELECT: 'list'})
  if (!/selectable devices:/.test(r.stderr)) return undefined
  return parseLayerList(r.stderr)
}

function listing(adapters: ListedAdapter[]): string {
  return adapters.map((a) => `${a.index}: ${a.name}${a.pci_bus_id ? ` (${a.pci_bus_id})` : ''}`).join('; ') || 'none'
}

const NEEDS_LAYER =
  "Mesa's Vulkan device-select layer, which lists and selects devices by PCI bus id (Debian: apt-get install mesa-vulkan-drivers; it serves every Vulkan driver, NVIDIA's included)"

/** The environment that leaves Dawn exactly the device on `bus` (Mesa's device-select layer). */
function byBus(bus: string): Record<string, string> {
  const [domain, b, rest] = bus.split(':')
  const [device, fn] = rest.split('.')
  return {DRI_PRIME: `pci-${domain}_${b}_${device}_${fn}`, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1'}
}

/**
 * How to open the adapter `request` names. An index: by name when the name is its own (dawn.node's
 * `adapter=`), else by the PCI bus id the device-select layer gives the same-named device of that
 * rank. A bus id: through the device-select layer. Throws an Error saying what is there when the
 * request names nothing, or cannot be met here.
 */
export function selectAdapter(request: DeviceRequest, adapters: ListedAdapter[], layer: LayerDevice[] | undefined, source = 'engine.device'): Selection {
  const what = `${source} ${typeof request === 'number' ? request : JSON.stringify(request)}`
  if (typeof request === 'number') {
    const chosen = adapters[request]
    if (!chosen) throw new DeviceError(`${what}: there ${adapters.length === 1 ? 'is one adapter' : `are ${adapters.length} adapters`} here (${listing(adapters)}); give an index below ${adapters.length}, or a PCI bus id`)
    const first = adapters.find((a) => a.name.startsWith(chosen.name))
    if (first === chosen) return {flags: [`adapter=${chosen.name}`], env: {NODEVICE_SELECT: '1'}, chosen, how: 'by name (dawn.node adapter=)'}
    const same = adapters.filter((a) => a.name === chosen.name)
    const rank = same.indexOf(chosen)
    const twins = (layer ?? []).filter((d) => d.name === chosen.name)
    const bus = twins.length === same.length ? twins[rank]?.pci_bus_id : undefined
    if (!bus) {
      throw new DeviceError(
        `${what}: adapters ${same.map((a) => a.index).join(', ')} are all named "${chosen.name}", and dawn.node chooses by name only; telling them apart needs their PCI bus ids, from ${NEEDS_LAYER}${layer ? ', which lists none for them (their driver does not give its bus id)' : ', which is not installed here'}`,
      )
    }
    return {flags: [], env: byBus(bus), chosen: {...chosen, pci_bus_id: bus}, how: `by PCI bus id ${bus}, the ${rank + 1}. of the adapters named "${chosen.name}" (Mesa device-select layer)`}
  }
  const bus = normalizeBusId(request)
  if (!bus) throw new DeviceError(`${what} is neither an adapter index nor a PCI bus id like 0000:3b:00.0`)
  if (!layer) throw new DeviceError(`${what}: choosing an adapter by PCI bus id needs ${NEEDS_LAYER}; it is not installed here. Give an adapter index instead (${listing(adapters)})`)
  const device = layer.find((d) => d.pci_bus_id === bus)
  if (!device) {
    const known = layer.filter((d) => d.pci_bus_id).map((d) => `${d.pci_bus_id} (${d.name})`)
    throw new DeviceError(`${what}: no Vulkan device is on PCI bus ${bus}; ${known.length > 0 ? `the devices here are on ${known.join(', ')}` : 'no device here gives its bus id'}`)
  }
  return {flags: [], env: byBus(bus), chosen: device, how: `by PCI bus id ${bus} (Mesa device-select layer)`}
}

/** Slurm's variables that say which GPUs a job has (for the record). */
export function slurmGpuVariables(env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const names = ['SLURM_JOB_GPUS', 'SLURM_STEP_GPUS', 'GPU_DEVICE_ORDINAL', 'CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'SLURM_JOB_ID', 'SLURMD_NODENAME']
  const found = Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n] as string]))
  return env.SLURM_JOB_GPUS !== undefined || env.SLURM_STEP_GPUS !== undefined ? found : undefined
}

/**
 * The GPU Slurm gave this job, as a PCI bus id: the first of SLURM_STEP_GPUS (or SLURM_JOB_GPUS),
 * which are the node's GPU indices, looked up among the NVIDIA driver's devices by their minor
 * number (/dev/nvidia<N>). `note` says what was found, for the log and env.json.
 */
export function slurmDevice(env: NodeJS.ProcessEnv = process.env, proc = '/proc'): {request?: string; allocated: number; note: string} | undefined {
  const list = env.SLURM_STEP_GPUS ?? env.SLURM_JOB_GPUS
  const ids = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (ids.length === 0) return undefined
  const gpu = ids[0]
  const root = join(proc, 'driver', 'nvidia', 'gpus')
  let folders: string[] = []
  try {
    folders = readdirSync(root)
  } catch {
    return {allocated: ids.length, note: `Slurm gave GPU ${list}; ${root} does not exist (not NVIDIA's driver), so nothing says which adapter that is: Dawn's choice is used`}
  }
  for (const folder of folders) {
    let info = ''
    try {
      info = readFileSync(join(root, folder, 'information'), 'utf8')
    } catch {
      continue
    }
    const minor = /^Device Minor:\s*(\d+)/m.exec(info)?.[1]
    const bus = normalizeBusId(folder)
    if (minor === gpu && bus) return {request: bus, allocated: ids.length, note: `Slurm gave GPU ${list}; /dev/nvidia${gpu} is on PCI bus ${bus} (${join(root, folder, 'information')})`}
  }
  return {allocated: ids.length, note: `Slurm gave GPU ${list}; no NVIDIA device under ${root} has minor number ${gpu}: Dawn's choice is used`}
}

/**
 * The adapter of the GPU Slurm gave the job (on PCI bus `bus`, one of `allocated`): through the
 * device-select layer; without it, Dawn's own choice (undefined) when the job sees no more adapters
 * than Slurm gave it (its devices are constrained to them), else an error: on a node whose GPUs
 * the job all sees, guessing could train on another job's GPU.
 */
export function selectSlurmAdapter(bus: string, allocated: number, adapters: ListedAdapter[], layer: LayerDevice[] | undefined): Selection | undefined {
  if (layer) return selectAdapter(bus, adapters, layer, 'the GPU Slurm gave the job')
  if (adapters.length <= allocated) return undefined
  throw new DeviceError(
    `Slurm gave this job the GPU on PCI bus ${bus}, but Dawn lists ${adapters.length} adapters here (${listing(adapters)}) and cannot tell which one is on that bus without ${NEEDS_LAYER}, which is not installed here. Install it on the compute nodes, or constrain each job to its GPUs (ConstrainDevices=yes in cgroup.conf), or set engine.device`,
  )
}
