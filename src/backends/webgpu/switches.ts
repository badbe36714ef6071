/**
 * Every environment switch of the webgpu backend: its variable, its default, what it changes, and
 * how its value is read. Code asks `webgpuSwitch(key)` where the switch applies (several apply per
 * call, and the tests change them between calls), never `process.env`; `webgpuSwitches()` gives
 * them all, for a run's record.
 *
 * Two are for any machine (ALLOW_SOFTWARE, ROUTES); the others exist to compare the project's
 * kernels with tfjs's own (bench/gpu/run.sh times each variant) and keep the defaults otherwise.
 * The boolean ones are on unless set to exactly `0` (ALLOW_SOFTWARE: off unless exactly `1`).
 */

interface Switch<T> {
  /** The environment variable. */
  variable: string
  /** Its effect when unset, as one would write it. */
  default: string
  /** What it changes, in one line. */
  changes: string
  /** The value from the variable's text (undefined: unset). */
  read(raw: string | undefined): T
}

/** A switch on unless its variable is `0`. */
function onUnless0(variable: string, changes: string): Switch<boolean> {
  return {variable, default: 'on', changes, read: (raw) => raw !== '0'}
}

/** A positive integer; anything else (unset, not an integer, under 1) is the default. */
function positiveInteger(variable: string, fallback: number, changes: string): Switch<number> {
  return {
    variable,
    default: String(fallback),
    changes,
    read: (raw) => {
      const value = Number(raw ?? fallback)
      return Number.isInteger(value) && value >= 1 ? value : fallback
    },
  }
}

/** A list of Dawn toggles, comma-separated; empty or `none` for none. */
function toggles(variable: string, defaults: string[], changes: string): Switch<string[]> {
  return {
    variable,
    default: defaults.join(','),
    changes,
    read: (raw) => {
      if (raw === undefined) return defaults
      if (raw.trim() === '' || raw.trim() === 'none') return []
      return raw.split(',').map((s) => s.trim()).filter(Boolean)
    },
  }
}

export const WEBGPU_SWITCHES = {
  allowSoftware: {
    variable: 'MIXTURE_WEBGPU_ALLOW_SOFTWARE',
    default: 'off',
    changes: 'accept a software or fallback adapter (lavapipe, SwiftShader: tests, CPU-only machines)',
    read: (raw: string | undefined) => raw === '1',
  } satisfies Switch<boolean>,
  submitBatch: positiveInteger('MIXTURE_WEBGPU_SUBMIT_BATCH', 64, 'dispatches recorded before a queue submit'),
  dawnToggles: toggles('MIXTURE_WEBGPU_DAWN_TOGGLES', ['skip_validation'], 'Dawn toggles to enable (`none` for none)'),
  dawnDisable: toggles(
    'MIXTURE_WEBGPU_DAWN_DISABLE',
    ['timestamp_quantization'],
    'Dawn toggles to disable (by default the rounding of timestamp queries to 65.536 µs, too coarse to time one kernel; `none` for none)',
  ),
  cache: onUnless0('MIXTURE_WEBGPU_CACHE', "record.ts's bind-group and uniform caches (0: every dispatch recorded the way tfjs does)"),
  graph: onUnless0('MIXTURE_WEBGPU_GRAPH', 'replaying a recorded training step (graph.ts; 0: every step recorded through tfjs)'),
  graphPrune: onUnless0('MIXTURE_WEBGPU_GRAPH_PRUNE', 'replayed steps leave out the dispatches whose results nothing reads (graph-plan.ts pruneUnread)'),
  fused: onUnless0('MIXTURE_WEBGPU_FUSED', 'the kernels that only save time (Adam, AdamW, SGD, BatchNorm, LayerNorm, activations, cross-entropy, products, convolutions, column sums); 0: tfjs composites'),
  adamInPlace: onUnless0('MIXTURE_WEBGPU_ADAM_INPLACE', 'the grouped in-place optimizer update, Adam, AdamW or SGD (programs/weight-update.ts; 0: one MixtureAdam, MixtureAdamW or MixtureSgd call per weight)'),
  adamGroup: positiveInteger('MIXTURE_WEBGPU_ADAM_GROUP', 8, 'most weights per in-place optimizer dispatch (the binding limit may allow fewer)'),
  attention: onUnless0('MIXTURE_WEBGPU_ATTENTION', 'attention as strided products (kernels/strided-matmul.ts)'),
  convInputForward: onUnless0('MIXTURE_WEBGPU_CONV_INPUT_FORWARD', "stride-1 conv input gradients as forward convolutions of the flipped filter (kernels/conv-backprop-input.ts; 0: tfjs's programs)"),
  convInputMatMul: {
    variable: 'MIXTURE_WEBGPU_CONV_INPUT_MM',
    default: '0',
    changes: "fewest pixels for which other conv input gradients take tfjs's tiled program rather than its naive one (-1: never)",
    read: (raw: string | undefined) => Number(raw ?? 0),
  } satisfies Switch<number>,
  convFilter: onUnless0('MIXTURE_WEBGPU_CONV_FILTER', "conv filter gradients on the project's tiled kernels (kernels/conv-backprop-filter.ts)"),
  columnSum: onUnless0('MIXTURE_WEBGPU_COLUMN_SUM', "bias-gradient sums in place (kernels/sum.ts; 0: tfjs's transpose + reduce)"),
  bnTwoPass: onUnless0('MIXTURE_WEBGPU_BN_TWO_PASS', 'training-mode BatchNorm in 2 dispatches each way (0: 3)'),
  matmul: onUnless0('MIXTURE_WEBGPU_MATMUL', "large products and convolutions on the 128×128-tile kernel (programs/gemm.ts; 0: tfjs's programs)"),
  matmulMinWorkgroups: positiveInteger('MIXTURE_WEBGPU_MATMUL_MIN_WORKGROUPS', 128, 'fewest workgroups for which a product takes the 128×128-tile kernel'),
  longK: onUnless0('MIXTURE_WEBGPU_LONG_K', "small-output products over a long k on the strided kernel, k split (0: tfjs's split-K program)"),
  tune: onUnless0('MIXTURE_WEBGPU_TUNE', 'timing the product and convolution routes before the first step (tune.ts; 0: the project\'s default routes)'),
  tuneBudget: {
    variable: 'MIXTURE_WEBGPU_TUNE_BUDGET',
    default: '60',
    changes: 'seconds spent timing routes at most (calls left over keep the default route)',
    read: (raw: string | undefined) => Number(raw ?? 60),
  } satisfies Switch<number>,
  routes: {
    variable: 'MIXTURE_WEBGPU_ROUTES',
    default: 'unset',
    changes: "a run folder's kernel-routes.json whose routes are pinned instead of timed",
    read: (raw: string | undefined) => raw,
  } satisfies Switch<string | undefined>,
}

export type WebgpuSwitch = keyof typeof WEBGPU_SWITCHES

/** The value of one switch now. */
export function webgpuSwitch<K extends WebgpuSwitch>(key: K): ReturnType<(typeof WEBGPU_SWITCHES)[K]['read']> {
  const s = WEBGPU_SWITCHES[key]
  return s.read(process.env[s.variable]) as ReturnType<(typeof WEBGPU_SWITCHES)[K]['read']>
}

/** Every switch's variable and value now. */
export function webgpuSwitches(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(WEBGPU_SWITCHES).map(([key, s]) => [s.variable, webgpuSwitch(key as WebgpuSwitch)]))
}
