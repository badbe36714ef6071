/**
 * Choosing between a backend's kernel routes by timing them on the device (webgpu/tune.ts: the
 * project's WGSL kernels or tfjs's own programs, per product and convolution shape). The Trainer
 * captures its first training step with `capture`; the caller then awaits `Trainer.tuneKernels()`,
 * which runs `tune` once. Backends without alternatives register nothing.
 */

export interface KernelTuner {
  /** Runs `step` (a training step), noting the calls that have more than one route. */
  capture(step: () => void): void
  /** Times the routes of every call noted and not decided yet; one line for the user, or undefined when there was nothing to time. */
  tune(): Promise<string | undefined>
}

const factories = new Map<string, () => KernelTuner | undefined>()

export function registerKernelTuner(backendName: string, create: () => KernelTuner | undefined): void {
  factories.set(backendName, create)
}

/** The active backend's tuner, or undefined where it has none (or tuning is off). */
export function kernelTuner(backendName: string): KernelTuner | undefined {
  return factories.get(backendName)?.()
}
