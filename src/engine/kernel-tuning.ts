/**
 * Choosing between a backend's kernel routes by timing them on the device (backends/webgpu/tune.ts: the
 * project's WGSL kernels or tfjs's own programs, per product and convolution shape). The Trainer
 * captures its first training step with `capture`; the caller then awaits `Trainer.tuneKernels()`,
 * which runs `tune` once. The routes chosen can be kept in a file and pinned in a later process (a
 * resumed run keeps its kernels). Backends without alternatives register nothing.
 */

export interface KernelTuner {
  /** Runs `step` (a training step), noting the calls that have more than one route. */
  capture(step: () => void): void
  /** Times the routes of every call noted and not decided yet; one line for the user, or undefined when there was nothing to time. */
  tune(): Promise<string | undefined>
  /** Every route chosen so far, as JSON to keep in a file (a run folder's kernel-routes.json). */
  routes(): unknown
  /** Pins the routes of such a file (`source` names it in errors, `fix` says what to do; throws saying what is wrong); one line for the user. */
  pin(doc: unknown, source: string, fix?: string): string
}

const factories = new Map<string, () => KernelTuner | undefined>()

export function registerKernelTuner(backendName: string, create: () => KernelTuner | undefined): void {
  factories.set(backendName, create)
}

/** The active backend's tuner, or undefined where it has none (or tuning is off). */
export function kernelTuner(backendName: string): KernelTuner | undefined {
  return factories.get(backendName)?.()
}
