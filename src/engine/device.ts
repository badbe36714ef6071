/** Choosing one adapter among several (webgpu): what a run asks for, and the error of a request that names none here. */
import {UsageError} from '../errors.js'

/** Which adapter a backend with several should open: `engine.device`, or a launcher's. */
export interface DeviceOptions {
  /** An adapter index or a PCI bus id. */
  device?: number | string
  /** Who asked (for the record): `engine.device`, `--device`. */
  source?: string
}

/** The adapter a run asks for: a launcher's `--device` (an index in digits, or a bus id) over the spec's `engine.device`; none when neither is given. */
export function deviceRequest(launcher: string | undefined, spec: number | string | undefined): DeviceOptions {
  if (launcher !== undefined) return {device: /^\d+$/.test(launcher) ? Number(launcher) : launcher, source: 'sweep --devices'}
  return spec !== undefined ? {device: spec, source: 'engine.device'} : {}
}

/** The adapter asked for is not here, or cannot be told apart from another: the request is wrong, not the backend (exit code 2). */
export class DeviceError extends UsageError {}
