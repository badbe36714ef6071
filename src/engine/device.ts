/** Choosing one adapter among several (webgpu): what a run asks for, and the error of a request that names none here. */

/** Which adapter a backend with several should open: `engine.device`, or a launcher's. */
export interface DeviceOptions {
  /** An adapter index or a PCI bus id. */
  device?: number | string
  /** Who asked (for the record): `engine.device`, `--device`. */
  source?: string
}

/** The adapter asked for is not here, or cannot be told apart from another: the request is wrong, not the backend (exit code 2). */
export class DeviceError extends Error {}
