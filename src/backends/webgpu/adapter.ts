/** The WebGPU adapter: what the project reads of it, whether it is a software one, and the one the backend runs on. */
import type {DeviceChoice} from './devices.js'

export interface WebgpuAdapterInfo {
  vendor: string
  architecture: string
  device: string
  description: string
  software: boolean
  /** Whether the device was created with `shader-f16` (float16 in shaders: engine.precision mixed16). */
  shaderF16?: boolean
}

export interface GpuAdapterLike {
  info?: {vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean}
  isFallbackAdapter?: boolean
  features: {has(name: string): boolean}
  limits: Record<string, number>
  requestDevice(desc?: object): Promise<GpuDeviceLike>
}

export interface GpuDeviceLike {
  lost?: Promise<{reason?: string; message?: string}>
  addEventListener?: (type: string, listener: (event: {error?: {message?: string}}) => void) => void
  destroy?: () => void
}

/** A software rasteriser or Dawn's fallback adapter: fine for correctness, useless for speed. */
export function isSoftwareAdapter(adapter: GpuAdapterLike): boolean {
  const info = adapter.info ?? {}
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true
  if (/^(software|cpu)$/i.test(info.architecture ?? '')) return true
  return /llvmpipe|lavapipe|swiftshader|softpipe|warp/i.test(`${info.description ?? ''} ${info.device ?? ''}`)
}

export function adapterName(info: WebgpuAdapterInfo): string {
  return [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ') || 'unknown adapter'
}

let current: WebgpuAdapterInfo | undefined

/** Set by the loader once the backend runs on `info`. */
export function setWebgpuAdapter(info: WebgpuAdapterInfo): void {
  current = info
}

/** Adapter details of the loaded backend (undefined before `loadWebgpu` succeeded). */
export function webgpuAdapterInfo(): WebgpuAdapterInfo | undefined {
  return current
}

let choice: DeviceChoice | undefined

/** Set by the loader: which adapter was asked for, and how it was chosen (env.json records it). */
export function setWebgpuDeviceChoice(value: DeviceChoice): void {
  choice = value
}

/** How the loaded backend's adapter was chosen (undefined before `loadWebgpu` succeeded). */
export function webgpuDeviceChoice(): DeviceChoice | undefined {
  return choice
}
