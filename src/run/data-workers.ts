/**
 * How many threads make a run's training batches (`engine.data_workers`, `engine.prefetch`, with
 * their environment overrides applied: engine-settings.ts), and the line a run says it with.
 *
 * `auto`: none where the backend computes the steps on the CPU (cpu, native, wasm, TensorFlow
 * without CUDA, WebGPU on a software adapter) — every core is busy with the step already, and a
 * worker only takes cores from it; min(cores − 1, 4) where a GPU computes them, so that the host
 * makes the next batches while the card trains. docs/gpu.md ("Data workers") has the measurements.
 */
import {availableParallelism} from 'node:os'
import type {BackendChoice} from '../engine/backend.js'
import {BatchWorkers, stayOnTrainingThread} from '../data/batch-workers.js'
import type {Pipeline} from '../data/index.js'
import type {EngineSettings} from './engine-settings.js'

/** Most workers `auto` starts: past four, a paper row's batches come faster than a GPU step takes them. */
const AUTO_MAX = 4

export interface DataWorkerPlan {
  /** Worker threads to start (0: batches on the training thread). */
  workers: number
  /** Batches asked for ahead of the step being trained. */
  prefetch: number
  /** What the run says about it; undefined when it has nothing to say (no workers, none asked for). */
  line?: string
}

/** Whether `backend` computes its steps on the CPU (so a data worker would take cores from them). */
export function computesOnCpu(backend: Pick<BackendChoice, 'name' | 'detail'>): boolean {
  if (backend.name === 'webgpu') return /\[software adapter\]/.test(backend.detail)
  if (backend.name === 'tensorflow') return !/CUDA/.test(backend.detail)
  return true
}

/** The data workers a run starts for `engine` on `backend`, training with `pipe`. */
export function planDataWorkers(engine: Pick<EngineSettings, 'data_workers' | 'prefetch'>, backend: Pick<BackendChoice, 'name' | 'detail'>, pipe: Pipeline | false, cores = availableParallelism()): DataWorkerPlan {
  const asked = engine.data_workers
  let workers: number
  let why: string
  if (asked === 'auto') {
    const onCpu = computesOnCpu(backend)
    workers = onCpu ? 0 : Math.max(0, Math.min(cores - 1, AUTO_MAX))
    why = onCpu ? `engine.data_workers auto: the ${backend.name} backend computes on the CPU` : `engine.data_workers auto: min(${cores} cores − 1, ${AUTO_MAX}) beside a GPU`
  } else {
    workers = asked
    why = `engine.data_workers ${asked}`
  }
  const held = workers > 0 ? stayOnTrainingThread(pipe || undefined) : undefined
  if (held) {
    return {workers: 0, prefetch: 0, line: `data: training batches are made on the training thread although ${why}: ${held}`}
  }
  if (workers === 0) return {workers: 0, prefetch: 0}
  const prefetch = engine.prefetch ?? 2 * workers
  return {workers, prefetch, line: `data: ${workers} worker thread${workers === 1 ? '' : 's'} make${workers === 1 ? 's' : ''} the training batches, ${prefetch} ahead of the step (${why}${engine.prefetch === null ? '; engine.prefetch null: twice the workers' : ''})`}
}

/** The workers of `plan`, or undefined when it has none. */
export function startDataWorkers(plan: DataWorkerPlan): BatchWorkers | undefined {
  return plan.workers > 0 ? new BatchWorkers(plan.workers, plan.prefetch) : undefined
}
