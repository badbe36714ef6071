/**
 * Every switch of the webgpu backend: its variable, its default, what it changes, and how its value
 * is read. Code asks `webgpuSwitch(name)` where the switch applies (several apply per call, and the
 * tests change them between calls), never `process.env`.
 *
 * Those that change which kernels run, or the order they sum in, are `engine.webgpu.<key>` keys of
 * a spec (`engineSwitchSchema()` gives the spec's schema for them, from this table: same defaults,
 * same descriptions); their variable `MIXTURE_WEBGPU_<KEY>` overrides the spec. The others change
 * no number (each says why, for numerics.json) and are environment variables only: two are for any
 * machine (ALLOW_SOFTWARE, ROUTES), the rest tune how work reaches the GPU.
 * The boolean ones take `0` (off) or `1` (on; ALLOW_SOFTWARE is off unless `1`); the numeric ones a
 * number in their bounds; any other text is refused (switchVariableProblems) rather than read as a default.
 */
import {Type, type Static, type TBoolean, type TInteger, type TObject} from '@sinclair/typebox'

interface Switch<T> {
  /** The environment variable. */
  variable: string
  /** Its effect when unset, as one would write it. */
  default: string
  /** What it changes, in one line. */
  changes: string
  /** The value from the variable's text (undefined: unset). */
  read(raw: string | undefined): T
  /** What is wrong with a text the variable was set to (the form it takes), or undefined when `read` takes it as meant. */
  invalid?(raw: string): string | undefined
}

/** A switch that changes kernels or their order: the spec key `engine.webgpu.<key>`, overridden by `MIXTURE_WEBGPU_<KEY>`. */
interface EngineSwitch<T, K extends string, S extends TBoolean | TInteger> extends Switch<T> {
  key: K
  /** The spec key's schema: its type and bounds, the default (the value when nothing sets it), the description. */
  schema: S
}

/** A switch of the environment only, with why it does not change the numbers (numerics.json leaves it out). */
interface EnvironmentSwitch<T> extends Switch<T> {
  notNumeric: string
}

function engineVariable(key: string): string {
  return `MIXTURE_WEBGPU_${key.toUpperCase()}`
}

function describe(key: string, changes: string): string {
  return `${changes} (MIXTURE_WEBGPU_${key.toUpperCase()} overrides)`
}

/** The form of a 0-or-1 variable. */
const zeroOrOne = (raw: string) => (raw === '0' || raw === '1' ? undefined : 'is not 0 or 1')

/** A whole number from `minimum` to `maximum`, or what the text is not. */
const wholeNumber = (minimum: number, maximum: number) => (raw: string) =>
  /^-?\d+$/.test(raw.trim()) && Number(raw) >= minimum && Number(raw) <= maximum ? undefined : `is not a whole number from ${minimum} to ${maximum}`

/** A switch on unless its variable is `0` (`1`: on). */
function onUnless0<const K extends string>(key: K, changes: string): EngineSwitch<boolean, K, TBoolean> {
  return {key, variable: engineVariable(key), default: 'on', changes, read: (raw) => raw !== '0', invalid: zeroOrOne, schema: Type.Boolean({default: true, description: describe(key, changes)})}
}

/** A positive integer from the variable; anything else (unset, not an integer, under 1) is the default. */
function positiveOr(fallback: number): (raw: string | undefined) => number {
  return (raw) => {
    const value = Number(raw ?? fallback)
    return Number.isInteger(value) && value >= 1 ? value : fallback
  }
}

/** An integer switch: the spec key takes `minimum` to `maximum`; the variable is read by `read`. */
function integer<const K extends string>(key: K, fallback: number, bounds: {minimum: number; maximum: number}, changes: string, read: (raw: string | undefined) => number): EngineSwitch<number, K, TInteger> {
  return {key, variable: engineVariable(key), default: String(fallback), changes, read, invalid: wholeNumber(bounds.minimum, bounds.maximum), schema: Type.Integer({...bounds, default: fallback, description: describe(key, changes)})}
}

/** A positive integer of the environment only. */
function positiveInteger(variable: string, fallback: number, changes: string, notNumeric: string): EnvironmentSwitch<number> {
  return {variable, default: String(fallback), changes, notNumeric, read: positiveOr(fallback), invalid: wholeNumber(1, 2 ** 31 - 1)}
}

/** A list of Dawn toggles, comma-separated; empty or `none` for none. */
function toggles(variable: string, defaults: string[], changes: string, notNumeric: string): EnvironmentSwitch<string[]> {
  return {
    variable,
    default: defaults.join(','),
    changes,
    notNumeric,
    read: (raw) => {
      if (raw === undefined) return defaults
      if (raw.trim() === '' || raw.trim() === 'none') return []
      return raw.split(',').map((s) => s.trim()).filter(Boolean)
    },
  }
}

const ROUTES_RECORDED = 'the routes taken are in kernel-routes.json'

export const WEBGPU_SWITCHES = {
  allowSoftware: {
    variable: 'MIXTURE_WEBGPU_ALLOW_SOFTWARE',
    default: 'off',
    changes: 'accept a software or fallback adapter (lavapipe, SwiftShader: tests, CPU-only machines)',
    notNumeric: 'whether a software adapter may be used; the adapter is part of the backend detail',
    read: (raw: string | undefined) => raw === '1',
    invalid: zeroOrOne,
  } satisfies EnvironmentSwitch<boolean>,
  submitBatch: positiveInteger('MIXTURE_WEBGPU_SUBMIT_BATCH', 64, 'dispatches recorded before a queue submit', 'how many dispatches go to the GPU queue at once'),
  dawnToggles: toggles('MIXTURE_WEBGPU_DAWN_TOGGLES', ['skip_validation'], 'Dawn toggles to enable (`none` for none)', `Dawn's validation and timing; timing decides kernel routes only, and ${ROUTES_RECORDED}`),
  dawnDisable: toggles(
    'MIXTURE_WEBGPU_DAWN_DISABLE',
    ['timestamp_quantization'],
    'Dawn toggles to disable (by default the rounding of timestamp queries to 65.536 µs, too coarse to time one kernel; `none` for none)',
    `Dawn's validation and timing; timing decides kernel routes only, and ${ROUTES_RECORDED}`,
  ),
  cache: onUnless0('cache', "record.ts's bind-group and uniform caches (0: every dispatch recorded the way tfjs does)"),
  graph: onUnless0('graph', 'replaying a recorded training step (graph.ts; 0: every step recorded through tfjs)'),
  graphPrune: onUnless0('graph_prune', 'replayed steps leave out the dispatches whose results nothing reads (graph-plan.ts pruneUnread)'),
  fused: onUnless0('fused', 'the kernels that only save time (Adam, AdamW, SGD, BatchNorm, LayerNorm, activations, cross-entropy, products, convolutions, column sums); 0: tfjs composites'),
  adamInPlace: onUnless0('adam_inplace', 'the grouped in-place optimizer update, Adam, AdamW or SGD (programs/weight-update.ts; 0: one MixtureAdam, MixtureAdamW or MixtureSgd call per weight)'),
  adamGroup: integer('adam_group', 8, {minimum: 1, maximum: 1024}, 'most weights per in-place optimizer dispatch (the binding limit may allow fewer)', positiveOr(8)),
  attention: onUnless0('attention', 'attention as strided products (kernels/strided-matmul.ts)'),
  convInputForward: onUnless0('conv_input_forward', "stride-1 conv input gradients as forward convolutions of the flipped filter (kernels/conv-backprop-input.ts; 0: tfjs's programs)"),
  convInputMatMul: integer('conv_input_mm', 0, {minimum: -1, maximum: 2 ** 31 - 1}, "fewest pixels for which other conv input gradients take tfjs's tiled program rather than its naive one (-1: never)", (raw) => Number(raw ?? 0)),
  convFilter: onUnless0('conv_filter', "conv filter gradients on the project's tiled kernels (kernels/conv-backprop-filter.ts)"),
  columnSum: onUnless0('column_sum', "bias-gradient sums in place (kernels/sum.ts; 0: tfjs's transpose + reduce)"),
  bnTwoPass: onUnless0('bn_two_pass', 'training-mode BatchNorm in 2 dispatches each way (0: 3)'),
  matmul: onUnless0('matmul', "large products and convolutions on the 128×128-tile kernel (programs/gemm.ts; 0: tfjs's programs)"),
  matmulMinWorkgroups: integer('matmul_min_workgroups', 128, {minimum: 1, maximum: 2 ** 31 - 1}, 'fewest workgroups for which a product takes the 128×128-tile kernel', positiveOr(128)),
  gemmPipeline: {
    variable: 'MIXTURE_WEBGPU_GEMM_PIPELINE',
    default: 'tuned',
    changes: "the 128×128-tile kernel's double-buffered form (programs/gemm.ts): `1` on every call it takes, `0` never, unset where kernel tuning times it faster",
    notNumeric: 'both forms of the kernel compute each output as the same sum in the same order (bit for bit)',
    read: (raw: string | undefined): 'always' | 'never' | 'tuned' => (raw === '1' ? 'always' : raw === '0' ? 'never' : 'tuned'),
    invalid: zeroOrOne,
  } satisfies EnvironmentSwitch<'always' | 'never' | 'tuned'>,
  longK: onUnless0('long_k', "small-output products over a long k on the strided kernel, k split (0: tfjs's split-K program)"),
  tune: onUnless0('tune', "timing the product and convolution routes before the first step (tune.ts; 0: the project's default routes)"),
  tuneBudget: {
    variable: 'MIXTURE_WEBGPU_TUNE_BUDGET',
    default: '60',
    changes: 'seconds spent timing routes at most (calls left over keep the default route)',
    notNumeric: `time spent timing kernel routes; ${ROUTES_RECORDED}`,
    read: (raw: string | undefined) => Number(raw ?? 60),
    invalid: (raw: string) => (raw.trim() !== '' && Number(raw) >= 0 ? undefined : 'is not a number of seconds (0 or more)'),
  } satisfies EnvironmentSwitch<number>,
  routes: {
    variable: 'MIXTURE_WEBGPU_ROUTES',
    default: 'unset',
    changes: "a run folder's kernel-routes.json whose routes are pinned instead of timed",
    notNumeric: `pinned kernel routes; ${ROUTES_RECORDED}`,
    read: (raw: string | undefined) => raw,
  } satisfies EnvironmentSwitch<string | undefined>,
}

export type WebgpuSwitch = keyof typeof WEBGPU_SWITCHES

type Switches = typeof WEBGPU_SWITCHES
type EngineSwitchName = {[N in WebgpuSwitch]: Switches[N] extends {key: string} ? N : never}[WebgpuSwitch]
type EngineSwitchOf<N extends EngineSwitchName> = Extract<Switches[N], {key: string}>

const ENGINE_SWITCHES = (Object.keys(WEBGPU_SWITCHES) as WebgpuSwitch[]).filter((n): n is EngineSwitchName => 'key' in WEBGPU_SWITCHES[n])

/** The spec's `engine.webgpu` object: one key per switch that changes kernels or their order. */
export type WebgpuEngineSchema = TObject<{[N in EngineSwitchName as EngineSwitchOf<N>['key']]: EngineSwitchOf<N>['schema']}>

/** The schema of `engine.webgpu` in a spec, from the table above. */
export function engineSwitchSchema(): WebgpuEngineSchema {
  return Type.Object(Object.fromEntries(ENGINE_SWITCHES.map((n) => [WEBGPU_SWITCHES[n].key, WEBGPU_SWITCHES[n].schema])), {additionalProperties: false}) as WebgpuEngineSchema
}

/** `engine.webgpu` values, by spec key (a spec gives every one once validated). */
export type WebgpuEngine = Partial<Static<WebgpuEngineSchema>>

/** The `engine.webgpu` values of the run now (a spec's, with the environment's overrides applied). */
let configured: Record<string, unknown> = {}

/** Take a run's `engine.webgpu` values; a switch's variable, when set, still overrides its value. */
export function configureWebgpuSwitches(engine: WebgpuEngine): void {
  configured = {...engine}
}

/** The value of one switch now: its variable when set, else the run's `engine.webgpu` value, else the default. */
export function webgpuSwitch<K extends WebgpuSwitch>(key: K): ReturnType<(typeof WEBGPU_SWITCHES)[K]['read']> {
  const s: Switch<unknown> & {key?: string} = WEBGPU_SWITCHES[key]
  const raw = process.env[s.variable]
  if (raw === undefined && s.key !== undefined && configured[s.key] !== undefined) return configured[s.key] as ReturnType<(typeof WEBGPU_SWITCHES)[K]['read']>
  return s.read(raw) as ReturnType<(typeof WEBGPU_SWITCHES)[K]['read']>
}

/**
 * `engine.webgpu` with the environment's overrides applied, and one line per variable that
 * overrides a value (`MIXTURE_WEBGPU_FUSED=0 overrides engine.webgpu.fused (true)`).
 */
export function overrideEngineSwitches(engine: WebgpuEngine, env: NodeJS.ProcessEnv = process.env): {engine: WebgpuEngine; overrides: string[]} {
  const out: Record<string, unknown> = {...engine}
  const overrides: string[] = []
  for (const n of ENGINE_SWITCHES) {
    const s: Switch<unknown> & {key: string} = WEBGPU_SWITCHES[n]
    const raw = env[s.variable]
    if (raw === undefined) continue
    const value = s.read(raw)
    overrides.push(`${s.variable}=${raw} overrides engine.webgpu.${s.key} (${JSON.stringify(out[s.key] ?? s.read(undefined))})`)
    out[s.key] = value
  }
  return {engine: out as WebgpuEngine, overrides}
}

/**
 * Every switch variable set in `env` to a text its switch does not take, as `VAR=text is not 0 or 1`:
 * read as it is, it would do something else than it says (`GRAPH=false` left the replay on).
 */
export function switchVariableProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.values(WEBGPU_SWITCHES).flatMap((s: Switch<unknown>) => {
    const raw = env[s.variable]
    const why = raw === undefined ? undefined : s.invalid?.(raw)
    return why ? [`${s.variable}=${raw} ${why}`] : []
  })
}

/** The variables that change no number, each with why (numerics.json leaves them out). */
export function nonNumericSwitches(): Record<string, string> {
  return Object.fromEntries(Object.values(WEBGPU_SWITCHES).flatMap((s) => ('notNumeric' in s ? [[s.variable, s.notNumeric]] : [])))
}
