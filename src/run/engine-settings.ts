/**
 * The engine a run asks for: the spec's `engine:` keys (thread count, webgpu kernel switches, data workers) with
 * the environment variables that override them applied. The result goes to the backends as values
 * (`selectBackend`), into the run folder (config.yaml, numerics.json), and each override is said in
 * the run's first lines. The backend itself is chosen by `--backend`, `engine.backend` and
 * `MIXTURE_BACKEND` (engine/backend.ts).
 */
import {overrideEngineSwitches, switchVariableProblems, webgpuSwitch} from '../backends/webgpu/switches.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {UsageError} from '../errors.js'

export type EngineSettings = ResolvedSpec['engine']

/** The settings `engine` asks for once the environment's overrides are applied, and one line per override. */
export function effectiveEngine(engine: EngineSettings, env: NodeJS.ProcessEnv = process.env): {engine: EngineSettings; overrides: string[]} {
  const wrong = switchVariableProblems(env)
  if (wrong.length > 0) throw new UsageError(`${wrong.join('; ')}: give each the form it takes (docs/gpu.md lists the switches), or unset it`)
  const {engine: webgpu, overrides} = overrideEngineSwitches(engine.webgpu, env)
  let threads = engine.threads
  const raw = env.MIXTURE_THREADS
  // A value that is not a positive integer is refused by the backend that reads it, saying so.
  if (raw !== undefined && /^\s*[1-9]\d*\s*$/.test(raw)) {
    overrides.unshift(`MIXTURE_THREADS=${raw} overrides engine.threads (${JSON.stringify(engine.threads)})`)
    threads = Number(raw)
  }
  if (env.MIXTURE_WASM_THREADS !== undefined) overrides.unshift(`MIXTURE_WASM_THREADS=${env.MIXTURE_WASM_THREADS} overrides engine.threads on the wasm backend`)
  let {data_workers: dataWorkers, prefetch} = engine
  const workersRaw = env.MIXTURE_DATA_WORKERS
  if (workersRaw !== undefined) {
    const value = workersRaw.trim()
    if (value !== 'auto' && !(/^\d+$/.test(value) && Number(value) <= 64)) {
      throw new UsageError(`MIXTURE_DATA_WORKERS=${workersRaw} is not a number of data worker threads: give 0 (batches made on the training thread) to 64, or auto`)
    }
    dataWorkers = value === 'auto' ? 'auto' : Number(value)
    overrides.push(`MIXTURE_DATA_WORKERS=${workersRaw} overrides engine.data_workers (${JSON.stringify(engine.data_workers)})`)
  }
  const prefetchRaw = env.MIXTURE_PREFETCH
  if (prefetchRaw !== undefined) {
    if (!(/^\s*[1-9]\d*\s*$/.test(prefetchRaw) && Number(prefetchRaw) <= 1024)) {
      throw new UsageError(`MIXTURE_PREFETCH=${prefetchRaw} is not a number of batches: give 1 to 1024 (the batches asked of the data workers ahead of the step being trained)`)
    }
    prefetch = Number(prefetchRaw)
    overrides.push(`MIXTURE_PREFETCH=${prefetchRaw} overrides engine.prefetch (${JSON.stringify(engine.prefetch)})`)
  }
  return {engine: {...engine, threads, webgpu: {...engine.webgpu, ...webgpu}, data_workers: dataWorkers, prefetch}, overrides}
}

/** A run folder's kernel-routes.json to pin instead of timing the routes (`MIXTURE_WEBGPU_ROUTES`), if set. */
export function pinnedRoutesFile(): string | undefined {
  return webgpuSwitch('routes')
}
