/**
 * Per-kernel wall-clock profile of any registered backend: wraps each kernelFunc with a timer until
 * `stop()` puts the originals back. The difference between a step's wall time and the sum of kernel
 * times is the framework's own overhead (tape, bookkeeping, garbage collection).
 */
import {performance} from 'node:perf_hooks'
import {tf} from './tf.js'

export interface KernelTime {
  name: string
  calls: number
  ms: number
}

export interface KernelProfiler {
  /** Restore the original kernels and return the totals, slowest first. */
  stop(): KernelTime[]
  /** Zero the totals (e.g. after warm-up steps). */
  reset(): void
}

/**
 * `byShape`: one entry per kernel and input shapes (name `Kernel [shapes]`) instead of per kernel.
 * `clock: 'cpu'`: count the process's CPU time (user + system) instead of wall time; on a shared
 * machine this is the steadier measure for single-threaded runs.
 */
export function profileKernels(backendName: string, options: {byShape?: boolean; clock?: 'wall' | 'cpu'} = {}): KernelProfiler {
  const now = options.clock === 'cpu' ? () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  } : () => performance.now()
  const originals = tf.getKernelsForBackend(backendName)
  const totals = new Map<string, KernelTime>()
  for (const config of originals) {
    const inner = config.kernelFunc
    const entryFor = (args: Parameters<tf.KernelFunc>[0]): KernelTime => {
      let key = config.kernelName
      if (options.byShape) {
        const inputs = Object.values(args.inputs as Record<string, tf.TensorInfo | undefined>)
        key += ' ' + JSON.stringify(inputs.map((t) => t?.shape ?? null))
      }
      let entry = totals.get(key)
      if (!entry) totals.set(key, (entry = {name: key, calls: 0, ms: 0}))
      return entry
    }
    tf.unregisterKernel(config.kernelName, backendName)
    tf.registerKernel({
      ...config,
      kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
        const entry = entryFor(args)
        const t0 = now()
        const result = inner(args)
        entry.ms += now() - t0
        entry.calls++
        return result
      },
    })
  }
  return {
    reset() {
      for (const entry of totals.values()) {
        entry.calls = 0
        entry.ms = 0
      }
    },
    stop() {
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName)
        tf.registerKernel(config)
      }
      return [...totals.values()].filter((t) => t.calls > 0).sort((a, b) => b.ms - a.ms)
    },
  }
}
