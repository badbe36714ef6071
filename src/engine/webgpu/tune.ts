/**
 * Which implementation runs each large product and convolution, chosen by timing both on this GPU
 * (the idea of cuDNN's benchmark mode). The project's kernels (gemm.ts, conv_input.ts,
 * conv_filter.ts) were written against one card's profile; on another card, or for a shape they were
 * not tuned for, tfjs's own program can be the faster one. A kernel installed with `wrapTunedKernel`
 * notes, during a captured training step, every call for which the project's route ran a kernel of
 * its own (a call it hands to tfjs anyway has nothing to choose); `tuneKernels` then runs each such
 * call on fresh random inputs of the same shapes and attributes, once through the project's route and
 * once through tfjs's kernel, times both (GPU timestamp queries where the adapter has them, wall time
 * to completion otherwise; warmed up, best of two rounds), and keeps tfjs's route for that call only
 * when it is at least 5% faster. Choices are per (kernel, input shapes, attributes) and last for the
 * process; a call never tuned takes the project's route, as before.
 *
 * The Trainer captures its first training step and the caller awaits `Trainer.tuneKernels()` after
 * it (the run command, the benchmarks); the second step then records the chosen routes and step
 * replay (graph.ts) takes them from there. A nested call (the convolution a stride-1 input gradient
 * runs) is noted before its caller, so it is tuned first and its caller is timed with its choice.
 *
 * MIXTURE_WEBGPU_TUNE=0 turns it off (every call on the project's route where that applies);
 * MIXTURE_WEBGPU_TUNE_BUDGET=s caps the seconds spent timing (default 60; calls left over keep the
 * project's route).
 */
import {tf} from '../tf.js'
import {registerKernelTuner} from '../kernel-tuning.js'
import {dispatchListeners, wrapWebgpuKernel} from './runner.js'

export type Route = 'project' | 'tfjs'

/** What one call is made of: enough to make it again on fresh inputs. */
interface Call {
  key: string
  kernelName: string
  inputs: [string, number[], tf.DataType][]
  attrs: Record<string, unknown>
}

export interface TunedCall {
  key: string
  kernelName: string
  route: Route
  projectMs: number
  tfjsMs: number
}

/** Decided calls, by key. */
const chosen = new Map<string, TunedCall>()
/** The route a call must take while it is being timed. */
let forced: {key: string; route: Route} | undefined
/** Calls noted during captured steps and not timed yet (insertion order: nested calls first). */
const noted = new Map<string, Call>()
let capturing = false

/** Whether any call needs its key: something decided, being timed or being noted. */
const active = (): boolean => chosen.size > 0 || forced !== undefined || capturing

function callKey(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: unknown): string {
  const shapes = Object.entries(inputs).map(([name, t]) => `${name}:${t?.dtype}[${t?.shape.join(',')}]`)
  return `${kernelName}(${shapes.join(' ')}) ${JSON.stringify(attrs ?? {})}`
}

/**
 * Install `wrap(original)` (the project's route) for `kernelName` on webgpu, with tfjs's `original`
 * taken instead for the calls tuning found faster there.
 */
export function wrapTunedKernel(kernelName: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): void {
  wrapWebgpuKernel(kernelName, (original) => {
    const project = wrap(original)
    return (args) => {
      if (!active()) return project(args)
      const key = callKey(kernelName, args.inputs, args.attrs)
      const route = forced?.key === key ? forced.route : (chosen.get(key)?.route ?? 'project')
      if (route === 'tfjs') return original(args)
      if (!capturing || forced || noted.has(key) || chosen.has(key)) return project(args)
      let own = 0
      const count = (): void => void own++
      dispatchListeners.add(count)
      try {
        const out = project(args)
        if (own > 0) {
          const inputs = Object.entries(args.inputs)
            .filter(([, t]) => t != null)
            .map(([name, t]) => [name, [...t!.shape], t!.dtype] as [string, number[], tf.DataType])
          noted.set(key, {key, kernelName, inputs, attrs: {...(args.attrs as Record<string, unknown>)}})
        }
        return out
      } finally {
        dispatchListeners.delete(count)
      }
    }
  })
}

const REPEAT = 3
const ROUNDS = 2
/** tfjs's route is kept only when this much faster (timing noise must not flip a choice). */
const MARGIN = 0.95

interface TimingBackend {
  supportTimestampQuery?: boolean
}

/** Milliseconds per call of `call` on `inputs` through `route`: GPU time where the adapter can time, else wall time to completion. */
async function timeCall(call: Call, inputs: tf.NamedTensorMap, route: Route, repeat: number): Promise<number> {
  forced = {key: call.key, route}
  const once = (): tf.Tensor | tf.Tensor[] => tf.engine().runKernel(call.kernelName, inputs, call.attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[]
  try {
    if ((tf.backend() as unknown as TimingBackend).supportTimestampQuery) {
      const info = await tf.time(() => {
        for (let i = 0; i < repeat; i++) tf.dispose(once())
      })
      return (info.kernelMs as number) / repeat
    }
    const t0 = performance.now()
    let last: tf.Tensor | tf.Tensor[] = []
    for (let i = 0; i < repeat; i++) {
      tf.dispose(last)
      last = once()
    }
    const first = Array.isArray(last) ? last[0] : last
    // One value of the last output read back: the queue has finished everything before it.
    await tf.tidy(() => tf.slice(tf.reshape(first, [-1]), 0, 1)).data()
    tf.dispose(last)
    return (performance.now() - t0) / repeat
  } finally {
    forced = undefined
  }
}

async function tuneCall(call: Call): Promise<TunedCall> {
  const inputs: tf.NamedTensorMap = {}
  for (const [name, shape, dtype] of call.inputs) inputs[name] = dtype === 'float32' ? tf.randomUniform(shape, -1, 1, 'float32') : tf.zeros(shape, dtype)
  try {
    const routes: Route[] = ['project', 'tfjs']
    // Compile both routes' pipelines before any timing.
    for (const route of routes) await timeCall(call, inputs, route, 1)
    const best: Record<Route, number> = {project: Infinity, tfjs: Infinity}
    for (let round = 0; round < ROUNDS; round++) {
      for (const route of round % 2 ? [...routes].reverse() : routes) best[route] = Math.min(best[route], await timeCall(call, inputs, route, REPEAT))
    }
    const route: Route = best.tfjs < MARGIN * best.project ? 'tfjs' : 'project'
    return {key: call.key, kernelName: call.kernelName, route, projectMs: best.project, tfjsMs: best.tfjs}
  } finally {
    tf.dispose(Object.values(inputs))
  }
}


export interface TuneOutcome {
  /** Calls decided by this run, in the order they were timed. */
  decided: TunedCall[]
  /** Calls left on the project's route because the time budget ran out. */
  skipped: number
  seconds: number
}

/** Time every noted, undecided call (see the module comment). */
export async function tuneKernels(budgetSeconds = Number(process.env.MIXTURE_WEBGPU_TUNE_BUDGET ?? 60)): Promise<TuneOutcome> {
  const t0 = performance.now()
  const calls = [...noted.values()]
  noted.clear()
  const decided: TunedCall[] = []
  let skipped = 0
  for (const call of calls) {
    if (chosen.has(call.key)) continue
    if ((performance.now() - t0) / 1000 > budgetSeconds) {
      skipped++
      continue
    }
    const result = await tuneCall(call)
    chosen.set(call.key, result)
    decided.push(result)
  }
  return {decided, skipped, seconds: (performance.now() - t0) / 1000}
}

/** Note the calls `fn` makes that have two routes (see `wrapTunedKernel`). */
export function captureCalls(fn: () => void): void {
  capturing = true
  try {
    fn()
  } finally {
    capturing = false
  }
}

/** Every decision so far. */
export function tunedCalls(): TunedCall[] {
  return [...chosen.values()]
}

/** Decide a call's route without timing it (tests: to run both routes of a call found by tuning). */
export function pinRoute(call: Pick<TunedCall, 'key' | 'kernelName'>, route: Route): void {
  chosen.set(call.key, {key: call.key, kernelName: call.kernelName, route, projectMs: NaN, tfjsMs: NaN})
}

/** Forget every decision and noted call (tests). */
export function resetTuning(): void {
  chosen.clear()
  noted.clear()
  forced = undefined
}

const ms = (x: number): string => (x >= 10 ? x.toFixed(1) : x.toPrecision(2))

/** One line for the user: how many calls were timed and which went to tfjs. */
export function describeTuning({decided, skipped, seconds}: TuneOutcome): string {
  const toTfjs = decided.filter((d) => d.route === 'tfjs')
  const parts = [`${decided.length} product/convolution call${decided.length === 1 ? '' : 's'} timed in ${seconds.toFixed(1)} s`]
  parts.push(
    toTfjs.length === 0
      ? "all on the project's kernels"
      : `${decided.length - toTfjs.length} on the project's kernels, ${toTfjs.length} on tfjs's (${toTfjs.map((d) => `${d.kernelName} ${ms(d.tfjsMs)} vs ${ms(d.projectMs)} ms`).join(', ')})`,
  )
  if (skipped > 0) parts.push(`${skipped} left untimed (MIXTURE_WEBGPU_TUNE_BUDGET)`)
  return parts.join('; ')
}

registerKernelTuner('webgpu', () => {
  if (process.env.MIXTURE_WEBGPU_TUNE === '0') return undefined
  return {
    capture: captureCalls,
    async tune() {
      const outcome = await tuneKernels()
      return outcome.decided.length + outcome.skipped > 0 ? describeTuning(outcome) : undefined
    },
  }
})
