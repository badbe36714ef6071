/**
 * The plugin registry: every architecture piece, block combinator, model, head, dataset, data
 * transform, optimizer, learning-rate schedule and training loss the CLI can name is an entry here. Built-in
 * plugins (plugins/*.ts, the datasets and transforms of src/data/, the optimizers and schedules of
 * src/recipe/) and third-party plugin files listed in a spec register through the same public API
 * (`src/api.ts`).
 */
import type {SymbolicTensor, tf} from '../engine/tf.js'
import type {BuildContext} from './context.js'
import {MODEL_META_KEYS, PART_META_KEYS, type DataOptions} from '../schema/spec.js'
import type {OptimizerRule} from '../engine/optimizer.js'
import {OPTIMIZER_SHARED_KEYS, optimizerSharedSchema, WARMUP_KEYS, warmupSchema} from '../schema/recipe.js'

export type {DataOptions}

export type JsonSchema = Record<string, unknown>

/** What flows between components inside a block. */
export type Flow = 'image' | 'tokens'

interface EntryBase<P> {
  /** Registry name used in specs (`type: vit`). */
  name: string
  /** One line for `mixture list`. */
  summary: string
  /** Where the architecture comes from (arXiv id or URL). */
  paper?: string
  /** JSON Schema for the params: an object schema with defaults and `additionalProperties: false`. */
  schema: JsonSchema
  /** Named parameter sets (`preset: paper_joint`). */
  presets?: Record<string, Partial<P>>
  /** Smallest useful params, used by the contract test that walks the registry. */
  tiny?: Partial<P>
  /** Where the entry came from (filled by the registry: `builtin` or the plugin file). */
  source?: string
}

/** A piece of a block: takes an image (NHWC, 3 channels) and returns an image or tokens. */
export interface ComponentDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'component'
  /** What `create` returns. Tokens are turned into an image by the block's adapter. */
  output: Flow | ((params: P) => Flow)
  create(ctx: BuildContext, input: SymbolicTensor, params: P): SymbolicTensor
}

/** Turns tokens (B, N, D) back into an image (B, H, W, 3). */
export interface AdapterDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'adapter'
  create(ctx: BuildContext, tokens: SymbolicTensor, params: P, image: {height: number; width: number}): SymbolicTensor
}

/** Normalises a branch output before a joint block adds them. `shared` instances are reused. */
export interface NormDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'norm'
  create(ctx: BuildContext, image: SymbolicTensor, params: P): SymbolicTensor
}

/** Maps the last block's image to class logits. */
export interface HeadDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'head'
  create(ctx: BuildContext, image: SymbolicTensor, params: P, numClasses: number): SymbolicTensor
}

/** Combines the components of one block. */
export interface BlockDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'block'
  create(ctx: BuildContext, input: SymbolicTensor, params: P, parts: BlockParts): SymbolicTensor
}

/** What a block gets to build its components, adapter and norm (already validated). */
export interface BlockParts {
  components: ({type: string} & Record<string, unknown>)[]
  /** Build component `i` on `input`, converting tokens to an image with the block's adapter. */
  component(i: number, input: SymbolicTensor): SymbolicTensor
  /** Apply the configured normalisation (identity for `none`). */
  norm(image: SymbolicTensor, branch: number): SymbolicTensor
}

/** A whole classifier (the `mixture` model and the baselines). */
export interface ModelDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'model'
  create(ctx: BuildContext, input: SymbolicTensor, params: P, numClasses: number): SymbolicTensor
}

/** Class indices: bytes for up to 256 classes, 16 bits for up to 65,536. */
export type LabelArray = Uint8Array | Uint16Array

/** One split of a dataset as it is kept in memory: uint8 NHWC RGB images at `image_size`. */
export interface DatasetSplit {
  /** count × S × S × 3 uint8, NHWC. */
  images: Uint8Array
  /** One class index per image: a Uint8Array, or a Uint16Array where there are more than 256 classes. */
  labels: LabelArray
  count: number
}

/** What a dataset's `load` gets besides its options. */
export interface DatasetContext {
  /** A folder to search first (`--data-dir`); the spec's `data_dir` is in the options. */
  dataDir?: string
  /** Examples to keep per split (`train_limit` / `test_limit`; Infinity: all). `train: 0`: no training images are wanted (`mixture eval` of the test split): read none, and an image folder may hold the held-out splits alone. */
  limits: {train: number; test: number}
  /** Draw progress bars on stderr (else report progress with `log`). */
  bars: boolean
  log(message: string): void
}

/** What a dataset's `load` returns: both splits at `image_size`, class names, and where they came from. */
export interface LoadedData {
  train: DatasetSplit
  /** A validation split of the dataset's own (image_folder's val/ beside test/); `data.val_split` is then refused. */
  val?: DatasetSplit
  test: DatasetSplit
  classNames: string[]
  /** A folder, or how the data was generated (recorded in the run's env.json). */
  source: string
}

/**
 * A dataset (`data: {dataset: NAME, ...}`). Its schema covers only its own keys; the keys every
 * dataset shares (`image_size`, `train_limit`, `augment`, ...) are the spec schema's.
 */
export interface DatasetDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'dataset'
  /** Fixed facts shown by `mixture list`, where they are fixed. */
  classes?: number
  nativeSize?: number
  /** Class names for these options without loading any image (model building, dry runs). */
  classNames(data: DataOptions & P): string[]
  /**
   * `image_size` when the spec does not give one: the side all the stored images share. Without
   * this hook the default is 32. Throw a DataError when there is no such side.
   */
  nativeImageSize?(data: DataOptions & P): number
  /** Keys of the options that are file-system paths: resolved against the spec file that wrote them. */
  pathParams?: string[]
  /**
   * Optional: where the data are (a folder, for messages), found without loading them, or a
   * DataError saying what is missing and where to put it. A sweep checks every point with it before
   * the first one trains, and a dry run says it; without it the data are found when they load.
   */
  locate?(data: DataOptions & P, ctx: {dataDir?: string}): string
  /**
   * Optional: whether the data hold a validation split of their own (`val` of what `load` returns),
   * told without loading them, so that validation knows it as it knows `data.val_split` (early
   * stopping then watches it by default).
   */
  hasValidationSplit?(data: DataOptions & P): boolean
  load(data: DataOptions & P, ctx: DatasetContext): Promise<LoadedData>
}

/** The random numbers a transform draws from (the project's seeded generator, `Rng`). */
export interface RandomSource {
  /** Uniform in [0, 1). */
  float(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
}

/** One transform made from its parameters: changes one image in place. */
export interface ImageTransform {
  /**
   * Transforms the S×S×3 image (HWC floats, [0, 1] unless a transform before it changed the
   * range) at img[off .. off + S·S·3), drawing from `rng`; same draws → same result.
   */
  apply(img: Float32Array, off: number, size: number, rng: RandomSource): void
  /**
   * Optional fused first step: reads the stored uint8 image at src[sOff] and writes the
   * transformed [0, 1] floats to dst[dOff]; used instead of scaling + `apply` when the transform
   * comes first in the list.
   */
  fromBytes?(src: Uint8Array, sOff: number, dst: Float32Array, dOff: number, size: number, rng: RandomSource): void
  /**
   * Optional: makes exactly the draws `apply` (and `fromBytes`) make for one image of side `size`,
   * in the same order, without an image. With it, training batches can be made in worker threads
   * (`engine.data_workers`): the epoch's generator stays on the thread that trains, these draws are
   * taken there in order, and the worker's `apply` is handed the same numbers. A transform without
   * it (a draw count that depends on the pixels, say) keeps batches on the training thread.
   */
  draw?(size: number, rng: RandomSource): void
}

/** An image transform for `data.augment` (torchvision's transforms are the model). */
export interface TransformDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'transform'
  /** `train`: training batches only (random augmentation); `always`: evaluation batches too (normalize). */
  applies: 'train' | 'always'
  /**
   * Optional: whether the images it writes may hold values outside the [0, 1] pixel range, so that
   * they are no longer pixels (normalize's (x − mean) / std). Defaults to `applies === 'always'`:
   * a transform that evaluation batches run too is taken to prepare the model's input, not to
   * augment pixels; one that keeps [0, 1] says `false`. A transform with `needsUnitRange` is
   * refused after one that leaves the range (validation names the list item and says to move it).
   */
  leavesUnitRange?: boolean
  /**
   * Optional: whether it works on [0, 1] pixel values only — it rounds them to uint8, say, as the
   * automatic augmentation policies (rand_augment, ...) do — so that values outside [0, 1] would be
   * clamped away. Such a transform must come before any transform that leaves the range
   * (`leavesUnitRange`); validation refuses the list otherwise.
   */
  needsUnitRange?: boolean
  create(params: P): ImageTransform
}

/**
 * What a schedule is made for: the peak learning rate (`train.optimizer.lr`) and the epochs and
 * optimizer steps it spans — training's, less the warmup's where there is one.
 */
export interface ScheduleRun {
  lr: number
  epochs: number
  stepsPerEpoch: number
  /** epochs × stepsPerEpoch. */
  totalSteps: number
}

/**
 * The learning rate of each optimizer step, and the momentum where a schedule sets it. A schedule
 * entry counts its steps from 0 at its own start (after any warmup); a run's `Schedule` over the
 * whole run.
 */
export interface StepRates {
  lrAt(step: number): number
  /** Replaces the optimizer's momentum (SGD's) or beta1 (Adam's, AdamW's) at each step, as PyTorch's OneCycleLR writes it into the param groups. */
  momentumAt?(step: number): number
}

/** Why an optimizer's or a schedule's keys make no sense: the key (under `train.optimizer` or `train.schedule`) and the reason. */
export interface RecipeProblem {
  key: string
  message: string
}

/**
 * A learning-rate schedule (`train.schedule: NAME` or `{type: NAME, ...}`). Its schema covers its own
 * keys; every schedule but one with a ramp of its own (`warmup: false`) also takes the shared
 * `warmup_epochs` and `warmup_start_factor` (the registry adds them): a linear warmup first, after
 * which the schedule runs as if training started there (PyTorch's SequentialLR), so its epochs and
 * steps count from the end of the warmup and `run` is the rest of training.
 */
export interface ScheduleDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'schedule'
  /** false: the schedule ramps up itself (onecycle), and the warmup keys are not offered. Default true. */
  warmup?: boolean
  /**
   * What makes `params` meaningless for the schedule's `run.epochs` epochs (those after
   * `run.warmupEpochs` of warmup) at peak rate `run.lr`, found before any data is read (a decay that
   * never happens, a floor above the peak).
   */
  problems?(params: P, run: {lr: number; epochs: number; warmupEpochs: number}): RecipeProblem[]
  /** The rates of every step. Throw a ScheduleError (exit 2) for what only the step count shows. */
  create(params: P, run: ScheduleRun): StepRates
}

/**
 * An optimizer (`train.optimizer: {type: NAME, ...}`): its rule (engine/optimizer.ts: the op that
 * updates one weight — a fused kernel where a backend registers one, else its composite of tfjs ops —
 * the checkpoint group of each state tensor, each step's attributes) and its schema. The schema
 * covers its own keys (`weight_decay` if it decays weights); the registry adds `lr`, and
 * `weight_decay_exclude` where there is a `weight_decay`.
 */
export interface OptimizerDef<P = Record<string, unknown>> extends EntryBase<P>, OptimizerRule<P> {
  kind: 'optimizer'
  /** What the schema cannot say (Nesterov without momentum), found at validation. */
  problems?(params: P): RecipeProblem[]
}

/** What a training loss is made for besides its parameters. */
export interface LossRun {
  numClasses: number
  /** `train.label_smoothing` (0 unless the loss declares `labelSmoothing: true`; 0 with train.mixup, whose targets carry it). */
  labelSmoothing: number
}

/**
 * A batch's training loss from the logits (B, K) and the integer labels (B) — or, with `train.mixup`
 * and a loss that declares `softTargets`, the target distributions (B, K) float32, smoothing
 * included: a scalar, the mean over the batch, made of tfjs ops (the gradient comes from autodiff).
 * It may also give the number of correct top-1 predictions, kept with `tf.keep` (the built-in
 * cross-entropy's kernel counts them); otherwise the trainer counts them (against each target's
 * largest share).
 */
export type LossFunction = (logits: tf.Tensor2D, labels: tf.Tensor1D | tf.Tensor2D) => tf.Scalar | {loss: tf.Scalar; correct?: tf.Scalar}

/**
 * A training loss (`train.loss: NAME` or `{type: NAME, ...}`). The test and validation loss stay
 * plain cross-entropy, so that runs with different training losses compare in one table.
 */
export interface LossDef<P = Record<string, unknown>> extends EntryBase<P> {
  kind: 'loss'
  /** Whether it applies `train.label_smoothing`; a loss that does not is refused with a smoothing above 0. */
  labelSmoothing?: boolean
  /**
   * Whether its function also takes target distributions (B, K) in place of labels, as `train.mixup`
   * gives (smoothing already in them); a loss that does not is refused with mixing.
   */
  softTargets?: boolean
  create(params: P, run: LossRun): LossFunction
}

export type AnyEntry = ComponentDef<any> | AdapterDef<any> | NormDef<any> | HeadDef<any> | BlockDef<any> | ModelDef<any> | DatasetDef<any> | TransformDef<any> | ScheduleDef<any> | OptimizerDef<any> | LossDef<any>
export type EntryKind = AnyEntry['kind']
/** The kinds that build models (what the contract test walks). */
export const KINDS: EntryKind[] = ['model', 'block', 'component', 'adapter', 'norm', 'head']
/** The kinds that feed models. */
export const DATA_KINDS: EntryKind[] = ['dataset', 'transform']
/** The kinds of the training recipe. */
export const RECIPE_KINDS: EntryKind[] = ['optimizer', 'schedule', 'loss']

/** An entry's name, and an optimizer's state group: lower-case snake_case. */
export const SNAKE_CASE = /^[a-z][a-z0-9_]*$/

const entries = new Map<string, AnyEntry>()
let currentSource = 'builtin'
/** The entries registered during the current withSource call (a plugin file's load): one name twice in it is refused. */
let registeredNow = new Set<string>()

function key(kind: EntryKind, name: string): string {
  return `${kind}:${name}`
}

export class RegistryError extends Error {}

function register(entry: AnyEntry): void {
  if (!SNAKE_CASE.test(entry.name)) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}": names are lower-case snake_case (letters, digits, _)`)
  }
  const schema = entry.schema as {type?: string; additionalProperties?: unknown}
  if (schema?.type !== 'object') throw new RegistryError(`cannot register ${entry.kind} "${entry.name}": its schema must be an object schema`)
  // The keys a spec gives beside an entry's parameters (its name, a preset; a model's class count and init) cannot be parameters too.
  const reserved = (entry.kind === 'model' ? MODEL_META_KEYS : entry.kind === 'dataset' ? [] : PART_META_KEYS).filter((k) => k in ((schema as {properties?: object}).properties ?? {}))
  if (reserved.length > 0) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}": its schema names ${reserved.join(' and ')}, which a spec gives beside the parameters (type: the entry's name, preset: a set of values${entry.kind === 'model' ? ', init and num_classes: the model\'s' : ''}); rename the parameter`)
  }
  const existing = entries.get(key(entry.kind, entry.name))
  if (existing && existing.source !== currentSource) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}" from ${currentSource}: it is already registered by ${existing.source}; choose another name`)
  }
  // A plugin file that registers one name twice: the second would silently replace the first.
  if (currentSource !== 'builtin' && registeredNow.has(key(entry.kind, entry.name))) {
    throw new RegistryError(`cannot register ${entry.kind} "${entry.name}" a second time in ${currentSource}; give each entry its own name`)
  }
  registeredNow.add(key(entry.kind, entry.name))
  entries.set(key(entry.kind, entry.name), {...entry, source: currentSource})
}

export function registerComponent<P>(def: Omit<ComponentDef<P>, 'kind'>): void {
  register({...def, kind: 'component'} as ComponentDef<any>)
}
export function registerAdapter<P>(def: Omit<AdapterDef<P>, 'kind'>): void {
  register({...def, kind: 'adapter'} as AdapterDef<any>)
}
export function registerNorm<P>(def: Omit<NormDef<P>, 'kind'>): void {
  register({...def, kind: 'norm'} as NormDef<any>)
}
export function registerHead<P>(def: Omit<HeadDef<P>, 'kind'>): void {
  register({...def, kind: 'head'} as HeadDef<any>)
}
export function registerBlock<P>(def: Omit<BlockDef<P>, 'kind'>): void {
  register({...def, kind: 'block'} as BlockDef<any>)
}
export function registerModel<P>(def: Omit<ModelDef<P>, 'kind'>): void {
  register({...def, kind: 'model'} as ModelDef<any>)
}
export function registerDataset<P>(def: Omit<DatasetDef<P>, 'kind'>): void {
  register({...def, kind: 'dataset'} as DatasetDef<any>)
}
export function registerTransform<P>(def: Omit<TransformDef<P>, 'kind'>): void {
  if (def.applies !== 'train' && def.applies !== 'always') {
    throw new RegistryError(`cannot register transform "${def.name}": applies must be 'train' (training batches only) or 'always' (evaluation too)`)
  }
  register({...def, kind: 'transform'} as TransformDef<any>)
}
export function registerSchedule<P>(def: Omit<ScheduleDef<P>, 'kind'>): void {
  const own = (def.schema?.properties ?? {}) as Record<string, unknown>
  const taken = [...WARMUP_KEYS, 'type'].filter((k) => k in own)
  if (taken.length) throw new RegistryError(`cannot register schedule "${def.name}": its schema names ${taken.join(' and ')}, which the registry provides (type is the schedule's name; warmup_epochs and warmup_start_factor every schedule takes unless warmup: false)`)
  if (def.warmup !== undefined && typeof def.warmup !== 'boolean') throw new RegistryError(`cannot register schedule "${def.name}": warmup must be true or false`)
  const schema = def.warmup === false || def.schema?.type !== 'object' ? def.schema : {...def.schema, properties: {...own, ...warmupSchema.properties}}
  register({...def, schema, kind: 'schedule'} as ScheduleDef<any>)
}

export function registerLoss<P>(def: Omit<LossDef<P>, 'kind'>): void {
  if (typeof def.create !== 'function') throw new RegistryError(`cannot register loss "${def.name}": create(params, {numClasses, labelSmoothing}) must return (logits, labels) => the batch's mean loss`)
  register({...def, kind: 'loss'} as LossDef<any>)
}

export function registerOptimizer<P>(def: Omit<OptimizerDef<P>, 'kind' | 'title' | 'stateGroups'> & {title?: string; stateGroups?: string[]}): void {
  const refuse = (why: string) => new RegistryError(`cannot register optimizer "${def.name}": ${why}`)
  const own = (def.schema?.properties ?? {}) as Record<string, unknown>
  const taken = [...OPTIMIZER_SHARED_KEYS, 'type'].filter((k) => k in own)
  if (taken.length) throw refuse(`its schema names ${taken.join(' and ')}, which the registry provides (type is the optimizer's name; lr every optimizer takes, weight_decay_exclude every one with a weight_decay)`)
  const op = def.op as Partial<OptimizerDef['op']> | undefined
  if (typeof op?.name !== 'string' || typeof op.kernel !== 'string' || !Array.isArray(op.state) || typeof op.composite !== 'function') {
    throw refuse('op must be {name, kernel, state: [names of the state tensors], composite(param, grad, state, attrs) → [param\', ...state\']}')
  }
  const stateGroups = def.stateGroups ?? op.state.map((s) => `${def.name}_${s}`)
  if (stateGroups.length !== op.state.length) throw refuse(`stateGroups names ${stateGroups.length} groups for the op's ${op.state.length} state tensors`)
  // weight and ema are the checkpoint groups of the weights and of their moving average (run/checkpoint.ts).
  const bad = stateGroups.find((g, i) => !SNAKE_CASE.test(g) || g === 'weight' || g === 'ema' || stateGroups.indexOf(g) !== i)
  if (bad !== undefined) throw refuse(`its state group ${JSON.stringify(bad)} is not a lower-case snake_case name other than "weight", "ema" and the other groups`)
  if (typeof def.attrs !== 'function') throw refuse('attrs(params, {lr, step, momentum}) must give the op\'s attributes of one step')
  const {lr, weight_decay_exclude} = optimizerSharedSchema.properties
  const schema = def.schema?.type !== 'object' ? def.schema : {...def.schema, properties: {lr, ...own, ...('weight_decay' in own ? {weight_decay_exclude} : {})}}
  register({...def, title: def.title ?? def.name, stateGroups, schema, kind: 'optimizer'} as OptimizerDef<any>)
}

export function lookup<K extends EntryKind>(kind: K, name: string): Extract<AnyEntry, {kind: K}> | undefined {
  return entries.get(key(kind, name)) as Extract<AnyEntry, {kind: K}> | undefined
}

export function names(kind: EntryKind): string[] {
  return [...entries.values()].filter((e) => e.kind === kind).map((e) => e.name).sort()
}

/** The names of one kind in the order they were registered (built-ins first, in their own order). */
export function namesInOrder(kind: EntryKind): string[] {
  return [...entries.values()].filter((e) => e.kind === kind).map((e) => e.name)
}

/** The entries of `kinds` (default: the kinds that build models), by kind then name. */
export function allEntries(kinds: EntryKind[] = KINDS): AnyEntry[] {
  return [...entries.values()].filter((e) => kinds.includes(e.kind)).sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || a.name.localeCompare(b.name))
}

/** Run `fn` with registrations attributed to `source` (a plugin file path). */
export async function withSource<T>(source: string, fn: () => Promise<T>): Promise<T> {
  const previous = currentSource
  const previousNow = registeredNow
  currentSource = source
  registeredNow = new Set()
  try {
    return await fn()
  } finally {
    currentSource = previous
    registeredNow = previousNow
  }
}

/** Resolve `preset` + explicit params (explicit wins). Unknown preset names throw with the choices. */
export function resolvePreset<P>(entry: {name: string; presets?: Record<string, Partial<P>>}, preset: string | undefined): Partial<P> {
  if (preset === undefined) return {}
  const found = entry.presets?.[preset]
  if (!found) {
    const choices = Object.keys(entry.presets ?? {})
    throw new RegistryError(`unknown preset "${preset}" for ${entry.name}${choices.length ? `: choose one of ${choices.join(', ')}` : ' (it has no presets)'}`)
  }
  return found
}
