/**
 * Fine-tuning: a new run that starts from another run's weights (`train.init_from`) and trains only
 * some of them (`train.freeze`).
 *
 * `train.init_from`, as PyTorch's `model.load_state_dict(torch.load(...)["state_dict"], strict=...)`
 * after building the model: the checkpoint (a file, or a run folder's best.ckpt) is read and checked
 * whole; its weights — trainable ones and BatchNorm statistics — are matched to the model's by name
 * and shape. Weights `skip` names keep the initialisation the seed gave them (a new head for another
 * number of classes). Strict (the default): every other weight of the model must be in the
 * checkpoint with its shape, and the checkpoint may hold no other; otherwise what matches is loaded
 * and the rest is named. The weights loaded are those the checkpoint's run evaluated (with
 * `train.ema`, the moving average), or with `weights: trained` the weights its optimizer trained
 * (timm's --initial-checkpoint loads those: `state_dict`, not `state_dict_ema`), which only a last
 * checkpoint keeps beside the average. Everything is checked before the first weight is written. The optimizer,
 * schedule and step start afresh: this is a new run, not a resumed one (`--resume`).
 *
 * `train.freeze`, as `requires_grad_(False)`: the weights it names get no gradient and no update
 * (the optimizer holds no state for them); BatchNorm statistics still follow the batches in
 * training, as PyTorch's do in `train()` mode. Applied to every session of the run, resumed ones too,
 * so that the optimizer state in last.ckpt covers the same weights.
 *
 * Both name weights alike: a layer (`head_fc`), one weight (`head_fc/bias`), or a pattern with `*`.
 */
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {tf, type LayersModel} from '../engine/tf.js'
import type {InitFromSpec} from '../schema/spec.js'
import {UsageError} from '../errors.js'
import {displayPath} from '../fs/display-path.js'
import {nameList} from '../name-list.js'
import {evaluatedWeights, readCheckpoint, type LoadedCheckpoint} from './checkpoint.js'
import {CHECKPOINT_FILES, readRunConfig} from './folders.js'
import {buildModelIn} from '../config/check-model.js'
import {trainableCount} from '../model/build.js'
import type {Resolved} from '../config/resolve.js'

/** What env.json records of the weights a run started from. */
export interface InitRecord {
  /** The checkpoint file read. */
  file: string
  /** SHA-256 of the whole file. */
  sha256: string
  kind: 'best' | 'last'
  /** Epochs the checkpoint's run had completed. */
  epoch: number
  /** Of a last checkpoint that keeps a weights' average (train.ema): which weights were loaded. */
  weights?: 'average' | 'trained'
  /** How many of the model's weights (tensors) were loaded. */
  loaded: number
  /** The model's weights left at their initialisation because `skip` names them. */
  skipped: string[]
  /** strict: false: the model's weights the checkpoint lacks (or holds in another shape), left at their initialisation. */
  not_in_checkpoint?: string[]
  /** strict: false: the checkpoint's weights the model has no place for. */
  unused?: string[]
}

/**
 * The checkpoint file `init` names: the file itself, or a run folder's best.ckpt — its last.ckpt
 * where the trained weights of a run with train.ema are asked for (best.ckpt holds its average only).
 */
function initCheckpointFile(init: InitFromSpec): string {
  const {path} = init
  if (!existsSync(path)) throw new UsageError(`train.init_from: ${displayPath(path)} does not exist; give a checkpoint file (best.ckpt, last.ckpt) or a run folder`)
  if (!statSync(path).isDirectory()) return path
  if (init.weights === 'trained' && keptAverage(path)) {
    const last = join(path, CHECKPOINT_FILES.last)
    if (!existsSync(last)) throw new UsageError(`train.init_from: the folder ${displayPath(path)} has no last.ckpt, the one checkpoint that keeps a train.ema run's trained weights (best.ckpt holds their average only); leave out weights: trained to start from the average, or train the run further with mixture run --resume ${displayPath(path)}`)
    return last
  }
  const best = join(path, CHECKPOINT_FILES.best)
  if (!existsSync(best)) throw new UsageError(`train.init_from: the folder ${displayPath(path)} has no best.ckpt; give a run folder that finished an epoch, or a checkpoint file`)
  return best
}

/** Whether the run in folder `runDir` kept a moving average of its weights (train.ema in its config.yaml); false where that cannot be read. */
function keptAverage(runDir: string): boolean {
  const train = readRunConfig(runDir)?.train as {ema?: unknown} | undefined
  return Boolean(train?.ema)
}

/**
 * The weights of `ckpt` (read from `file`) that `init` asks for: those its run evaluated (the
 * average, where it kept one), or the trained ones — which a best checkpoint of a train.ema run
 * does not hold.
 */
function chosenWeights(ckpt: LoadedCheckpoint, file: string, init: InitFromSpec): {values: Map<string, Float32Array>; which?: string} {
  if (init.weights !== 'trained') return {values: evaluatedWeights(ckpt), ...(ckpt.average ? {which: "the weights' moving average"} : {})}
  if (ckpt.average) return {values: ckpt.weights, which: 'the trained weights'}
  if (ckpt.kind === 'best' && keptAverage(dirname(file))) {
    throw new UsageError(`train.init_from: ${displayPath(file)} is the best checkpoint of a run with train.ema, which holds the weights' moving average only: its trained weights are in ${displayPath(join(dirname(file), CHECKPOINT_FILES.last))} (or give the run folder), or leave out weights: trained to start from the average`)
  }
  return {values: ckpt.weights}
}

/** A `skip` or `freeze` entry as a test of a weight's name (`layer/name`): the layer, the weight, or a pattern with `*` of either. */
function weightPattern(pattern: string): (weight: string) => boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return (weight) => re.test(weight) || re.test(weight.slice(0, weight.lastIndexOf('/')))
}

/** Patterns that name no weight of the model are a UsageError listing its layers. */
function refuseUnmatched(key: string, patterns: string[], tests: ((weight: string) => boolean)[], model: LayersModel): void {
  const unmatched = patterns.filter((_, i) => !model.weights.some((w) => tests[i](w.originalName)))
  if (unmatched.length === 0) return
  throw new UsageError(`${key}: ${nameList(unmatched.map((s) => JSON.stringify(s)))} names no weight of this model; its layers are ${nameList(layersOf(model.weights.map((w) => w.originalName)), 12)} (mixture params <spec> --weights lists every weight)`)
}

/** The layer of each weight name, once each, in order. */
function layersOf(names: string[]): string[] {
  return [...new Set(names.map((n) => n.slice(0, n.lastIndexOf('/'))))]
}

/** What loading `init` into a model will do: checked whole, nothing written yet. */
export interface InitPlan {
  /** What env.json will record, less the file's hash (taken only when the run loads it). */
  record: Omit<InitRecord, 'sha256'>
  /** The model's weights to load, with their values. */
  load: {weight: LayersModel['weights'][number]; values: Float32Array}[]
  /** The line run.log gets. */
  line: string
}

/**
 * Reads `init`'s checkpoint and matches it to `model`'s weights. A checkpoint that does not fit is
 * a UsageError (exit 2) naming the weights and the `skip` or `strict` that would make it fit.
 * `mixture validate` stops here; a run goes on to `initFromCheckpoint`.
 */
export function planInit(model: LayersModel, init: InitFromSpec): InitPlan {
  const file = initCheckpointFile(init)
  const ckpt = readCheckpoint(file)
  const {values, which} = chosenWeights(ckpt, file, init)
  const shapes = new Map(ckpt.tensors.filter((t) => t.group === 'weight').map((t) => [t.name, t.shape]))
  const tests = init.skip.map(weightPattern)
  refuseUnmatched('train.init_from.skip', init.skip, tests, model)
  const skipped: string[] = []
  const load: InitPlan['load'] = []
  const missing: string[] = []
  const misshapen: {name: string; shape: number[]; model: number[]}[] = []
  for (const weight of model.weights) {
    const name = weight.originalName
    const shape = shapes.get(name)
    if (tests.some((t) => t(name))) skipped.push(name)
    else if (!shape) missing.push(name)
    else if (shape.join(',') !== (weight.shape as number[]).join(',')) misshapen.push({name, shape, model: weight.shape as number[]})
    else load.push({weight, values: values.get(name)!})
  }
  const modelNames = new Set(model.weights.map((w) => w.originalName))
  const unused = [...shapes.keys()].filter((n) => !modelNames.has(n) && !tests.some((t) => t(n)))
  const where = displayPath(file)
  if (init.strict && (missing.length > 0 || misshapen.length > 0 || unused.length > 0)) {
    const lines = [`train.init_from: ${where} does not fit this model:`]
    if (misshapen.length > 0) {
      const shown = misshapen.map((m) => `${m.name} [${m.shape.join(', ')}] (the model's: [${m.model.join(', ')}])`)
      lines.push(`  weights of another shape: ${nameList(shown, 4)}; to start them afresh (a new head for another number of classes), add skip: [${layersOf(misshapen.map((m) => m.name)).join(', ')}]`)
    }
    if (missing.length > 0) lines.push(`  weights of the model it does not hold: ${nameList(missing)}`)
    if (unused.length > 0) lines.push(`  weights it holds that the model does not: ${nameList(unused)}`)
    lines.push('  (strict: false loads the weights that match by name and shape, and keeps the others at their initialisation)')
    throw new UsageError(lines.join('\n'))
  }
  if (load.length === 0) throw new UsageError(`train.init_from: no weight of ${where} fits this model (by name and shape): it was written by another model; its weights are named ${nameList([...shapes.keys()], 4)}`)
  const notIn = [...missing, ...misshapen.map((m) => m.name)]
  const record: InitPlan['record'] = {
    file,
    kind: ckpt.kind,
    epoch: ckpt.meta.epoch,
    ...(ckpt.average ? {weights: init.weights ?? 'average'} : {}),
    loaded: load.length,
    skipped,
    ...(init.strict ? {} : {not_in_checkpoint: notIn, unused}),
  }
  const kept = [...skipped, ...notIn]
  const line =
    `init_from: ${load.length} of the model's ${model.weights.length} weights from ${where} (${ckpt.kind}, epoch ${ckpt.meta.epoch}${which ? `, ${which}` : ''})` +
    (kept.length > 0 ? `; at their initialisation: ${nameList(kept)}` : '') +
    (unused.length > 0 ? `; not used from the checkpoint: ${nameList(unused)}` : '')
  return {record, load, line}
}

/**
 * Loads `init`'s checkpoint into `model` (freshly built and initialised by the seed); says what it
 * did through `log` and returns it for env.json. Nothing is written when the checkpoint does not fit.
 */
export function initFromCheckpoint(model: LayersModel, init: InitFromSpec, log: (m: string) => void): InitRecord {
  const plan = planInit(model, init)
  for (const {weight, values} of plan.load) {
    tf.tidy(() => {
      weight.write(tf.tensor(values, weight.shape as number[]))
    })
  }
  log(plan.line)
  return {...plan.record, sha256: createHash('sha256').update(readFileSync(plan.record.file)).digest('hex')}
}

/**
 * Freezes the weights `patterns` name (`train.freeze`): they leave the model's trainable weights, so
 * the trainer takes no gradient of them and the optimizer keeps no state for them. Call before the
 * Trainer is made. Returns the line run.log gets.
 */
export function freezeWeights(model: LayersModel, patterns: string[]): string {
  const tests = patterns.map(weightPattern)
  refuseUnmatched('train.freeze', patterns, tests, model)
  const frozen = model.trainableWeights.filter((w) => tests.some((t) => t(w.originalName)))
  if (frozen.length === 0) throw new UsageError(`train.freeze: ${nameList(patterns.map((p) => JSON.stringify(p)))} names only BatchNorm statistics, which are not trained; name layers with trainable weights (mixture params <spec> --weights marks them)`)
  const count = (ws: typeof frozen) => trainableCount(ws.map((w) => ({shape: w.shape as number[]})))
  const all = count(model.trainableWeights)
  const held = count(frozen)
  if (held === all) throw new UsageError('train.freeze names every trainable weight of the model: nothing would train; leave the head (or some layer) out of it')
  for (const w of frozen) w.trainable = false
  return `freeze: ${held.toLocaleString('en-US')} of the ${all.toLocaleString('en-US')} trainable parameters are frozen (${frozen.length} weights: ${nameList(frozen.map((w) => w.originalName))}); ${(all - held).toLocaleString('en-US')} train`
}

/**
 * The model built once and let go, with what `train.init_from` and `train.freeze` say of its
 * weights checked (the checkpoint read and matched), so that parameters that do not fit together, a
 * checkpoint that does not fit the model, or a freeze that names nothing are said before anything
 * runs (validate, --seeds, a sweep's points); the model's trainable parameter count.
 */
export function checkModel(resolved: Resolved): number {
  const built = buildModelIn(resolved)
  const {init_from: init, freeze} = resolved.spec.train
  try {
    if (init) planInit(built.model, init)
    if (freeze) freezeWeights(built.model, freeze)
    return built.params
  } finally {
    built.model.dispose()
  }
}
