/**
 * Which implementation runs each product and convolution, chosen by timing them on this GPU (the
 * idea of cuDNN's benchmark mode). The project's kernels (programs/gemm.ts,
 * kernels/conv-backprop-input.ts, kernels/conv-backprop-filter.ts) were written against one card's
 * profile and their rules for taking a call (output sides ≥ 64, ≥ 2²⁴ multiply-adds, ≥ 128
 * workgroups) are guesses; on another card, or for a shape nobody looked at, tfjs's own program —
 * or the project's kernel where its rules said no — can be the faster one.
 *
 * A kernel wrapped with `wrapTunedKernel` has routes: the project's ('project', the default: what
 * the rules pick, which may be tfjs's kernel), tfjs's own ('tfjs'), and named alternatives that apply
 * to some calls only (gemm.ts's 'wide': its kernel on a call the rules leave to tfjs;
 * conv-backprop-filter.ts's '64x64'; matmul.ts's 'strided', any plain product on the
 * strided kernel). During a captured training step every call is noted (kernel, input shapes, attributes);
 * `tuneKernels` then runs each on fresh random inputs through every route that applies (tfjs's only
 * where the project's route ran a kernel of its own), warmed up (pipelines compiled), three calls per
 * timing, best of two rounds, GPU time from timestamp queries where the adapter has them (wall time
 * to completion otherwise), and keeps another route only when it is at least 5% faster than the
 * project's. Before any timing, each route's outputs on those inputs are compared with the project
 * route's: a route whose values are further from them than summing in another order explains
 * (`DISAGREEMENT`: a kernel, compiler or driver fault on this card) is left out, and the tuning line
 * says so. Choices are per call shape and last for the process; a call never timed takes the
 * project's route, as before. A call that fails to run on some route keeps the project's.
 *
 * The Trainer captures its first training step and the caller awaits `Trainer.tuneKernels()` after
 * it (the run command, the benchmarks); the second step then records the chosen routes and step
 * replay (graph.ts) takes them from there. A nested call (the convolution a stride-1 input gradient
 * runs) is noted before its caller, so it is tuned first and its caller is timed with its choice.
 *
 * MIXTURE_WEBGPU_TUNE=0 turns it off; MIXTURE_WEBGPU_TUNE_BUDGET=s caps the seconds spent timing
 * (default 60; calls left over keep the project's route).
 */
import {tf} from '../../engine/tf.js'
import type {KernelTuner} from '../../engine/kernel-tuning.js'
import {adapterName, webgpuAdapterInfo} from './adapter.js'
import {dispatchListeners, wrapWebgpuKernel, type KernelWrapper} from './runner.js'
import {webgpuSwitch} from './switches.js'

/**
 * A call's route: 'project' (the project's route, the default), 'tfjs' (tfjs's own kernel), or the
 * name of an alternative the kernel offers (`wrapTunedKernel`).
 */
export type Route = string

/** Another way the project can run a call, or undefined for a call it does not apply to. */
export type Alternative = (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[] | undefined

/** What one call is made of: enough to make it again on fresh inputs. */
export interface Call {
  key: string
  kernelName: string
  inputs: [string, number[], tf.DataType][]
  attrs: Record<string, unknown>
}

export interface TunedCall {
  key: string
  kernelName: string
  route: Route
  /** Milliseconds per call by route (the routes that apply to it). */
  times: Record<Route, number>
  /** Routes left out because their values were not the project route's, each with how far off they were. */
  rejected?: Record<Route, string>
  /** Why the call could not be timed (it keeps the project's route). */
  error?: string
}

/** Decided calls, by key. */
const chosen = new Map<string, TunedCall>()
/** The route a call must take while it is being timed; `declined` when that alternative did not apply. */
let forced: {key: string; route: Route; declined?: boolean} | undefined
/** Calls noted during captured steps and not timed yet (insertion order: nested calls first). */
const noted = new Map<string, Call>()
let capturing = false
/** Every call of the last captured step, with how often it came. */
let captured = new Map<string, {call: Call; count: number}>()

/** Whether any call needs its key: something decided, being timed or being noted. */
const active = (): boolean => chosen.size > 0 || forced !== undefined || capturing

function callKey(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: unknown): string {
  const shapes = Object.entries(inputs)
    .filter(([, t]) => t != null)
    .map(([name, t]) => `${name}:${t!.dtype}[${t!.shape.join(',')}]`)
  return `${kernelName}(${shapes.join(' ')}) ${JSON.stringify(attrs ?? {})}`
}

/** A kernel wrapper (../runner.ts) whose calls kernel tuning times through its routes: the project's (`wrap`), tfjs's and `alternatives`. */
export interface TunedKernel extends KernelWrapper {
  alternatives?: (original: tf.KernelFunc) => Record<string, Alternative>
}

/** The routes other than the project's that a kernel's calls are timed through. */
const routesOf = new Map<string, Route[]>()

/**
 * Install `wrap(original)` (the project's route) for `kernelName` on webgpu, with tfjs's `original`,
 * or one of `alternatives(original)` (named ways of the project's that apply to some calls only), taken
 * instead for the calls tuning found faster that way.
 */
export function wrapTunedKernel(
  kernelName: string,
  wrap: (original: tf.KernelFunc) => tf.KernelFunc,
  alternatives?: (original: tf.KernelFunc) => Record<string, Alternative>,
): void {
  wrapWebgpuKernel(kernelName, (original) => {
    const project = wrap(original)
    const others = alternatives?.(original) ?? {}
    routesOf.set(kernelName, ['tfjs', ...Object.keys(others)])
    const run = (key: string, args: Parameters<tf.KernelFunc>[0]): ReturnType<tf.KernelFunc> => {
      const isForced = forced?.key === key
      const route = isForced ? forced!.route : (chosen.get(key)?.route ?? 'project')
      if (route === 'tfjs') return original(args)
      if (route !== 'project') {
        const out = others[route]?.(args)
        if (out) return out
        if (isForced) forced!.declined = true
      }
      return project(args)
    }
    return (args) => {
      if (!active()) return project(args)
      const key = callKey(kernelName, args.inputs, args.attrs)
      const out = run(key, args)
      // Noted after it ran, so that a call it made itself is noted (and timed) first.
      if (capturing && !forced) note(key, kernelName, args)
      return out
    }
  })
}

function note(key: string, kernelName: string, args: Parameters<tf.KernelFunc>[0]): void {
  const seen = captured.get(key)
  if (seen) {
    seen.count++
    return
  }
  const inputs = Object.entries(args.inputs)
    .filter(([, t]) => t != null)
    .map(([name, t]) => [name, [...t!.shape], t!.dtype] as [string, number[], tf.DataType])
  const call = {key, kernelName, inputs, attrs: {...(args.attrs as Record<string, unknown>)}}
  captured.set(key, {call, count: 1})
  if (!chosen.has(key) && !noted.has(key)) noted.set(key, call)
}

const REPEAT = 3
const ROUNDS = 2
/**
 * Largest difference from the project route's outputs, relative to their largest magnitude, that a
 * route may show (float32 sums of up to ~10⁵ terms in another order, or k split, differ by ~10⁻⁶ of
 * it; in mixed precision a float16 rounding may flip, 2⁻¹¹): a wrong kernel is off by the values' size.
 */
const DISAGREEMENT = 1e-3
/** Another route is kept only when this much faster than the project's (timing noise must not flip a choice). */
const MARGIN = 0.95

interface TimingBackend {
  supportTimestampQuery?: boolean
}

/** One run of `call` on `inputs` (whichever route is forced): its outputs as a list. */
function runOnce(call: Call, inputs: tf.NamedTensorMap): tf.Tensor[] {
  const out = tf.engine().runKernel(call.kernelName, inputs, call.attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[]
  return Array.isArray(out) ? out : [out]
}

/**
 * `run()` with `call` forced through `route`, and the dispatches of the project's programs counted
 * into `own`; undefined (`run`'s result disposed) when the route does not apply to the call.
 */
async function throughRoute<T extends tf.TensorContainer>(call: Call, route: Route, run: () => Promise<T>, own?: {dispatches: number}): Promise<T | undefined> {
  const force = {key: call.key, route, declined: false}
  forced = force
  const count = (): void => void (own && own.dispatches++)
  if (own) dispatchListeners.add(count)
  try {
    const result = await run()
    if (!force.declined) return result
    tf.dispose(result)
    return undefined
  } finally {
    forced = undefined
    dispatchListeners.delete(count)
  }
}

/**
 * Milliseconds per call of `call` on `inputs` through `route` (GPU time where the adapter can time,
 * else wall time to completion), or undefined when that route does not apply to the call.
 */
async function timeCall(call: Call, inputs: tf.NamedTensorMap, route: Route, repeat: number): Promise<number | undefined> {
  return throughRoute(call, route, async () => {
    if ((tf.backend() as unknown as TimingBackend).supportTimestampQuery) {
      const info = await tf.time(() => {
        for (let i = 0; i < repeat; i++) tf.dispose(runOnce(call, inputs))
      })
      return (info.kernelMs as number) / repeat
    }
    const t0 = performance.now()
    let last: tf.Tensor[] = []
    for (let i = 0; i < repeat; i++) {
      tf.dispose(last)
      last = runOnce(call, inputs)
    }
    // One value of the last output read back: the queue has finished everything before it.
    await tf.tidy(() => tf.slice(tf.reshape(last[0], [-1]), 0, 1)).data()
    tf.dispose(last)
    return (performance.now() - t0) / repeat
  })
}

/** How `outputs` differ from `reference` beyond `DISAGREEMENT`, or undefined when they agree. */
async function disagreement(reference: tf.Tensor[], outputs: tf.Tensor[]): Promise<string | undefined> {
  if (outputs.length !== reference.length) return `${outputs.length} outputs instead of ${reference.length}`
  for (const [i, expected] of reference.entries()) {
    const got = outputs[i]
    if (!tf.util.arraysEqual(got.shape, expected.shape)) return `output ${i} of shape [${got.shape.join(', ')}] instead of [${expected.shape.join(', ')}]`
    const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.sub(got, expected))), tf.max(tf.abs(expected))]))
    const [difference, scale] = await stats.data()
    stats.dispose()
    // NaN compares false: a route that gives NaN is off too.
    if (!(difference <= DISAGREEMENT * scale)) return `output ${i} differs by up to ${difference.toPrecision(3)} where the values reach ${scale.toPrecision(3)}`
  }
  return undefined
}

/**
 * The call timed through every route that applies to it (a call with one route only — the project's
 * hands it to tfjs and no alternative applies — is timed too, for the record).
 */
async function tuneCall(call: Call): Promise<TunedCall> {
  const inputs: tf.NamedTensorMap = {}
  for (const [name, shape, dtype] of call.inputs) inputs[name] = dtype === 'float32' ? tf.randomUniform(shape, -1, 1, 'float32') : tf.zeros(shape, dtype)
  try {
    // Compile every route's pipelines before any timing; drop the alternatives that do not apply,
    // tfjs's kernel where the project's route is that kernel (it ran none of the project's), and
    // the routes whose values are not the project route's.
    const own = {dispatches: 0}
    const reference = (await throughRoute(call, 'project', async () => runOnce(call, inputs), own))!
    const routes: Route[] = ['project']
    const rejected: Record<Route, string> = {}
    try {
      for (const route of routesOf.get(call.kernelName) ?? ['tfjs']) {
        if (route === 'tfjs' && own.dispatches === 0) continue
        const outputs = await throughRoute(call, route, async () => runOnce(call, inputs))
        if (!outputs) continue
        const why = await disagreement(reference, outputs)
        tf.dispose(outputs)
        if (why) rejected[route] = why
        else routes.push(route)
      }
    } finally {
      tf.dispose(reference)
    }
    const times: Record<Route, number> = Object.fromEntries(routes.map((r) => [r, Infinity]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const route of round % 2 ? [...routes].reverse() : routes) times[route] = Math.min(times[route], (await timeCall(call, inputs, route, REPEAT)) ?? Infinity)
    }
    const fastest = routes.reduce((a, b) => (times[b] < times[a] ? b : a), 'project')
    const route: Route = times[fastest] < MARGIN * times.project ? fastest : 'project'
    return {key: call.key, kernelName: call.kernelName, route, times, ...(Object.keys(rejected).length > 0 ? {rejected} : {})}
  } catch (error) {
    return {key: call.key, kernelName: call.kernelName, route: 'project', times: {}, error: (error as Error).message}
  } finally {
    tf.dispose(Object.values(inputs))
  }
}

export interface TuneOutcome {
  /** Calls with more than one route decided by this run, in the order they were timed. */
  decided: TunedCall[]
  /** Calls with one route only, timed for the record. */
  single: number
  /** Calls left on the project's route because the time budget ran out. */
  skipped: number
  seconds: number
}

/** Time every noted, undecided call (see the module comment). */
export async function tuneKernels(budgetSeconds = webgpuSwitch('tuneBudget')): Promise<TuneOutcome> {
  const t0 = performance.now()
  const calls = [...noted.values()]
  noted.clear()
  const decided: TunedCall[] = []
  let skipped = 0
  let single = 0
  for (const call of calls) {
    if (chosen.has(call.key)) continue
    if ((performance.now() - t0) / 1000 > budgetSeconds) {
      skipped++
      continue
    }
    const result = await tuneCall(call)
    chosen.set(call.key, result)
    if (Object.keys(result.times).length > 1 || result.error || result.rejected) decided.push(result)
    else single++
  }
  return {decided, single, skipped, seconds: (performance.now() - t0) / 1000}
}

/** Note every call `fn` makes of a kernel installed with `wrapTunedKernel` (the last capture's calls and counts, and the calls still to time). */
export function captureCalls(fn: () => void): void {
  captured = new Map()
  capturing = true
  try {
    fn()
  } finally {
    capturing = false
  }
}

/** Every call of the last captured step: how often it came, and the decision on it (none: not timed yet). */
export function lastCapture(): {call: Call; count: number; decision?: TunedCall}[] {
  return [...captured.values()].map(({call, count}) => ({call, count, decision: chosen.get(call.key)}))
}

/** Every decision so far (calls with one route only included). */
export function tunedCalls(): TunedCall[] {
  return [...chosen.values()]
}

/** Decide a call's route without timing it (tests: to run both routes of a call found by tuning). */
export function pinRoute(call: Pick<TunedCall, 'key' | 'kernelName'>, route: Route): void {
  chosen.set(call.key, {key: call.key, kernelName: call.kernelName, route, times: {}})
}

/** Forget every decision and noted call (tests). */
export function resetTuning(): void {
  chosen.clear()
  noted.clear()
  captured = new Map()
  forced = undefined
}

/** The chosen routes as a file (a run folder's kernel-routes.json), to pin them in another process. */
export interface RoutesFile {
  format: 'mixture-kernel-routes'
  version: 1
  /** The adapter they were timed on. */
  adapter: string
  routes: {kernel: string; key: string; route: Route; ms: Record<Route, number>}[]
}

const FORMAT = 'mixture-kernel-routes'

function currentAdapter(): string {
  const info = webgpuAdapterInfo()
  return info ? adapterName(info) : 'unknown adapter'
}

/** Every decision so far, as a routes file. */
export function exportRoutes(): RoutesFile {
  const round = (t: number): number => Math.round(t * 1e4) / 1e4
  return {
    format: FORMAT,
    version: 1,
    adapter: currentAdapter(),
    routes: [...chosen.values()].map((d) => ({kernel: d.kernelName, key: d.key, route: d.route, ms: Object.fromEntries(Object.entries(d.times).map(([r, t]) => [r, round(t)]))})),
  }
}

/**
 * Pin the routes of a routes file (`source` names it in errors, `fix` says what to do about one): those calls are not timed again and
 * take the file's route. Throws, saying what is wrong, on a file that is not one or names a route this
 * version does not have. Returns one line for the user.
 */
export function importRoutes(doc: unknown, source: string, fix = 'delete it to time the routes again'): string {
  const bad = (what: string): Error => new Error(`${source} is not a kernel-routes file written by mixture (${what}); ${fix}`)
  const file = doc as Partial<RoutesFile> | null
  if (!file || typeof file !== 'object' || file.format !== FORMAT) throw bad(`"format" is not "${FORMAT}"`)
  if (file.version !== 1) throw bad(`version ${JSON.stringify(file.version)}, this version reads 1`)
  if (!Array.isArray(file.routes)) throw bad('"routes" is not a list')
  const routes = file.routes.map((r, i) => {
    if (!r || typeof r.key !== 'string' || typeof r.kernel !== 'string' || typeof r.route !== 'string') throw bad(`routes[${i}] needs the strings "kernel", "key" and "route"`)
    const known = routesOf.get(r.kernel)
    if (!known) throw bad(`routes[${i}]: ${r.kernel} is not a kernel with routes (${[...routesOf.keys()].join(', ')})`)
    if (r.route !== 'project' && !known.includes(r.route)) throw bad(`routes[${i}]: ${r.kernel} has no route "${r.route}" (it has project, ${known.join(', ')})`)
    return r
  })
  for (const r of routes) chosen.set(r.key, {key: r.key, kernelName: r.kernel, route: r.route, times: {...(r.ms ?? {})}})
  const here = currentAdapter()
  const moved = routes.filter((r) => r.route !== 'project').length
  const other = file.adapter && file.adapter !== here ? `; timed on ${file.adapter}, not on this adapter (${here}): they are correct here, not necessarily fastest` : ''
  return `${routes.length} call${routes.length === 1 ? '' : 's'} pinned from ${source} (${moved} off the project's default routes)${other}`
}

const ms = (x: number): string => (x >= 10 ? x.toFixed(1) : x.toPrecision(2))

/** The calls that gained most by leaving the project's default route: kernel, route, ms vs the default's. */
function biggest(moved: TunedCall[], shown = 5): string {
  const gain = (d: TunedCall): number => d.times.project - d.times[d.route]
  const top = [...moved].sort((a, b) => gain(b) - gain(a)).slice(0, shown)
  const more = moved.length - top.length
  return `${top.map((d) => `${d.kernelName} ${d.route} ${ms(d.times[d.route])} vs ${ms(d.times.project)} ms`).join(', ')}${more > 0 ? `, ${more} more` : ''}`
}

/** One line for the user: how many calls were timed and which left the project's default route. */
export function describeTuning({decided, single, skipped, seconds}: TuneOutcome): string {
  const moved = decided.filter((d) => d.route !== 'project')
  const failed = decided.filter((d) => d.error)
  const parts = [`${decided.length} product/convolution call${decided.length === 1 ? '' : 's'} with a choice timed in ${seconds.toFixed(1)} s (and ${single} with one route)`]
  const byRoute = new Map<Route, number>()
  for (const d of moved) byRoute.set(d.route, (byRoute.get(d.route) ?? 0) + 1)
  parts.push(
    moved.length === 0
      ? "all on the project's default routes"
      : `${decided.length - moved.length} on the project's default routes, ${[...byRoute].map(([r, n]) => `${n} ${r === 'tfjs' ? "on tfjs's" : `on '${r}'`}`).join(', ')} (${biggest(moved)})`,
  )
  if (failed.length > 0) parts.push(`${failed.length} could not be timed (${failed[0].error})`)
  const rejected = decided.flatMap((d) => Object.entries(d.rejected ?? {}).map(([route, why]) => `${d.kernelName} '${route}': ${why}`))
  if (rejected.length > 0) parts.push(`${rejected.length} route${rejected.length === 1 ? '' : 's'} left out for values unlike the project route's — a fault of the kernel, compiler or driver on this card (${rejected[0]}${rejected.length > 1 ? `, ${rejected.length - 1} more` : ''})`)
  if (skipped > 0) parts.push(`${skipped} left untimed (MIXTURE_WEBGPU_TUNE_BUDGET)`)
  return parts.join('; ')
}

/** The webgpu backend's kernel tuner (../../engine/kernel-tuning.ts), or undefined when MIXTURE_WEBGPU_TUNE=0. */
export function createKernelTuner(): KernelTuner | undefined {
  if (!webgpuSwitch('tune')) return undefined
  return {
    routes: exportRoutes,
    pin: importRoutes,
    capture: captureCalls,
    async tune() {
      const outcome = await tuneKernels()
      return outcome.decided.length + outcome.single + outcome.skipped > 0 ? describeTuning(outcome) : undefined
    },
  }
}
