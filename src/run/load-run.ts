/**
 * A trained run, opened for use: its folder checked, its resolved spec (`config.yaml`) read, the
 * model built and one of its checkpoints (`best.ckpt` or `last.ckpt`) checked completely and
 * restored. What `mixture eval`, `predict` and `export` start from. Nothing in the folder is written.
 *
 * The backend: the one the run recorded in `numerics.json` (with its thread count and engine
 * switches), so that an evaluation gives the numbers training printed; `backend` names another
 * (numbers may then differ in the last digits).
 */
import {existsSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {UsageError} from '../errors.js'
import {resolveSpec} from '../config/resolve.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {datasetEntry, datasetOptions} from '../data/load.js'
import {BackendUnavailableError, requestedBackend, selectBackend, type BackendChoice} from '../engine/backend.js'
import {kernelTuner} from '../engine/kernel-tuning.js'
import {tf} from '../engine/tf.js'
import {buildModel, type BuiltModel} from '../model/build.js'
import {CheckpointError, readCheckpoint, restoreCheckpoint, verifyCheckpoint, type CheckpointMeta, type LoadedCheckpoint} from './checkpoint.js'
import {adoptRecorded, readNumerics} from './numerics.js'
import {CHECKPOINT_FILES, runFolder} from './folders.js'
import {readRunSummary, type RunSummary} from './summary.js'

export const CHECKPOINT_CHOICES = ['best', 'last'] as const
export type CheckpointChoice = (typeof CHECKPOINT_CHOICES)[number]

/**
 * Which weights of a run with `train.ema`: `average` (the moving average, what the run evaluated
 * and best.ckpt holds) or `trained` (the weights the optimizer trained, which only last.ckpt keeps
 * beside the average). A run without `train.ema` has trained weights only.
 */
export const WEIGHT_CHOICES = ['average', 'trained'] as const
export type WeightChoice = (typeof WEIGHT_CHOICES)[number]

/** Where a webgpu run keeps the kernel routes it took (the name experiment.ts writes). */
const ROUTES_FILE = 'kernel-routes.json'

export interface OpenRunOptions {
  /** Which checkpoint to restore (default best; last where `weights` is trained). */
  ckpt?: CheckpointChoice
  /** Which weights (default: the average where the run kept one, as it evaluated). */
  weights?: WeightChoice
  /** A backend other than the recorded one (`auto`, `cpu`, ...). */
  backend?: string
  /** Diagnostics (stderr). */
  log?: (message: string) => void
}

export interface OpenedRun {
  runDir: string
  spec: ResolvedSpec
  checkpoint: {name: CheckpointChoice; file: string; meta: CheckpointMeta}
  /** The weights restored: the moving average (a run with train.ema, unless trained ones were asked for) or the trained ones. */
  weights: WeightChoice
  built: BuiltModel
  backend: BackendChoice
  /** One name per model output: the dataset's class names, then `output <i>` for outputs past them. */
  outputNames: string[]
  /** The dataset's classes (fewer than the outputs where a head is wider, as the paper's ResNet-18). */
  classNames: string[]
  /** summary.json as training last wrote it (its fields as read: any may be missing); undefined where there is none or it cannot be read. */
  summary: Partial<RunSummary> | undefined
  dispose(): void
}

/**
 * The checkpoint and weights an opened run gives, as a folder name's part: `best`, `last`, and
 * `last-trained` for the trained weights of a run with train.ema (its plain names are the average's).
 */
export function weightsLabel(run: Pick<OpenedRun, 'checkpoint' | 'weights' | 'spec'>): string {
  return run.spec.train.ema && run.weights === 'trained' ? `${run.checkpoint.name}-trained` : run.checkpoint.name
}

/** Which weights an opened run gives, for a line that names its checkpoint: `, the weights' moving average` or `, the trained weights` for a run with train.ema, nothing otherwise. */
export function weightsPhrase(run: Pick<OpenedRun, 'weights' | 'spec'>): string {
  if (!run.spec.train.ema) return ''
  return run.weights === 'average' ? ", the weights' moving average" : ', the trained weights'
}

/**
 * The checkpoint file of `ckpt` in a run folder, or a UsageError saying what there is instead;
 * `trainedWeights`: the trained weights of a run with train.ema are asked for, which only last.ckpt has.
 */
export function checkpointFile(runDir: string, ckpt: CheckpointChoice, trainedWeights = false): string {
  const file = join(runDir, CHECKPOINT_FILES[ckpt])
  if (existsSync(file)) return file
  const other = ckpt === 'best' ? 'last' : 'best'
  const otherExists = existsSync(join(runDir, CHECKPOINT_FILES[other]))
  if (trainedWeights && ckpt === 'last') {
    throw new UsageError(`${runDir} has no last.ckpt, the one checkpoint that keeps a train.ema run's trained weights (best.ckpt holds the average only): ${otherExists ? 'use --weights average for the average, or ' : ''}train the run further with mixture run --resume ${runDir}`)
  }
  throw new UsageError(
    otherExists
      ? `${runDir} has no ${ckpt}.ckpt: use --ckpt ${other}, or train it further with mixture run --resume ${runDir}`
      : `${runDir} has no checkpoint: the run stopped before its first epoch finished, so there is nothing to use; train it anew with mixture run ${join(runDir, 'config.yaml')}`,
  )
}

/** The checkpoint, read and checked; damage is reported with what can be used instead (`trainedWeights`: only last.ckpt has what is asked). */
function readChecked(runDir: string, file: string, name: CheckpointChoice, trainedWeights: boolean): LoadedCheckpoint {
  try {
    return readCheckpoint(file)
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error
    const other: CheckpointChoice = name === 'best' ? 'last' : 'best'
    let sound: boolean
    try {
      verifyCheckpoint(join(runDir, `${other}.ckpt`))
      sound = true
    } catch {
      sound = false
    }
    const anew = `mixture run ${join(runDir, 'config.yaml')}`
    // The trained weights of a train.ema run are in last.ckpt only: best.ckpt offers the average.
    const use = trainedWeights ? `Use --weights average --ckpt ${other} for the weights' average (${other}.ckpt is sound; the trained weights were only in last.ckpt)` : `Use --ckpt ${other} (${other}.ckpt is sound)`
    const advice = sound ? `${use}, or train the run anew with: ${anew}` : `Train the run anew with: ${anew}`
    throw new CheckpointError(error.file, error.problem, 'is corrupt', `Nothing was changed. ${advice}`)
  }
}

/** Class names of the run's dataset: as the run recorded them, else from its registry entry (no images loaded); one per model output. */
function namesOf(spec: ResolvedSpec, outputs: number, recorded: string[] | undefined, log: (m: string) => void): {classNames: string[]; outputNames: string[]} {
  let classNames = recorded
  if (!classNames) {
    try {
      const entry = datasetEntry(spec.data.dataset)
      classNames = entry.classNames(datasetOptions(entry, spec.data))
    } catch (error) {
      log(`note: the class names of ${spec.data.dataset} are not available here (${(error as Error).message.replace(/\.$/, '')}); classes are named by index`)
      classNames = Array.from({length: Math.min(outputs, spec.model.num_classes ?? outputs)}, (_, i) => String(i))
    }
  }
  const outputNames = Array.from({length: outputs}, (_, i) => classNames[i] ?? `output ${i}`)
  return {classNames, outputNames}
}

/**
 * The weights `asked` for from `checkpoint`, or a UsageError. A run without train.ema has its trained
 * weights only (`average` is said to give them, not refused: they are what the run evaluated). With
 * train.ema a best checkpoint holds the average only; a last one holds both.
 */
function weightsOf(spec: ResolvedSpec, checkpoint: LoadedCheckpoint, asked: WeightChoice | undefined, log: (m: string) => void): WeightChoice {
  if (!spec.train.ema) {
    if (asked === 'average') log(`note: the run has no train.ema, so ${checkpoint.file} holds no weights' average: its trained weights are used`)
    return 'trained'
  }
  if (checkpoint.kind === 'best' || !checkpoint.average) {
    if (asked !== 'trained') return 'average'
    const where = basename(checkpoint.file) === CHECKPOINT_FILES.last ? ', and this file is not one (a best checkpoint put in its place?)' : ': leave out --ckpt, or give --ckpt last'
    throw new UsageError(`${checkpoint.file} holds the weights' moving average only (the weights the run evaluated), not the trained weights: those are in the run's last.ckpt${where}`)
  }
  return asked === 'trained' ? 'trained' : 'average'
}

/** Open a run folder: spec, model, checkpoint restored, on the recorded backend (see the module comment). */
export async function openRun(dir: string, opts: OpenRunOptions = {}): Promise<OpenedRun> {
  const log = opts.log ?? (() => undefined)
  const {runDir, configFile} = runFolder(dir)
  // A run that recorded its classes opens where its data are not (another machine, the images moved):
  // its spec is read without the dataset's look at the data, and its class count comes from the record.
  const summary = readRunSummary(runDir)
  const classes = summary?.classes
  const recorded = Array.isArray(classes) && classes.length > 0 ? classes : undefined
  const {spec} = await resolveSpec(configFile, [], {readData: recorded === undefined})
  if (recorded && spec.model.num_classes == null) spec.model.num_classes = recorded.length
  // The trained weights of a run with train.ema are in last.ckpt only (a run without it has them in both).
  const trainedOfAverage = opts.weights === 'trained' && Boolean(spec.train.ema)
  const name = opts.ckpt ?? (trainedOfAverage ? 'last' : 'best')
  const file = checkpointFile(runDir, name, trainedOfAverage)
  const checkpoint = readChecked(runDir, file, name, trainedOfAverage)
  const backend = await recordedBackend(runDir, opts.backend, log)
  await evaluationPrecision(spec, backend, log)
  pinRecordedRoutes(runDir, log)
  const weights = weightsOf(spec, checkpoint, opts.weights, log)
  const built = buildModel(spec)
  try {
    // A checkpoint restored without a trainer gives the average where it holds one; without it, the trained weights.
    restoreCheckpoint(weights === 'trained' ? {...checkpoint, average: undefined} : checkpoint, built.model)
  } catch (error) {
    built.model.dispose()
    throw error
  }
  const outputs = built.model.outputs[0].shape[1] as number
  const names = namesOf(spec, outputs, recorded, log)
  return {
    runDir,
    spec,
    checkpoint: {name, file, meta: checkpoint.meta},
    weights,
    built,
    backend,
    ...names,
    summary,
    dispose: () => built.model.dispose(),
  }
}

/**
 * Where the backend chooses kernels by timing them (webgpu), take the routes the run took
 * (kernel-routes.json), as a resumed run does, so that products and convolutions sum as in training.
 */
function pinRecordedRoutes(runDir: string, log: (m: string) => void): void {
  const tuner = kernelTuner(tf.getBackend())
  const file = join(runDir, ROUTES_FILE)
  if (!tuner || !existsSync(file)) return
  try {
    log(`kernel routes: ${tuner.pin(JSON.parse(readFileSync(file, 'utf8')), file, `restore ${ROUTES_FILE}, or delete it to use the backend's default kernels`)}`)
  } catch (error) {
    throw new UsageError(`cannot use the kernel routes in ${file}: ${(error as Error).message}`)
  }
}

/**
 * The products compute in the precision the run trained in (engine.precision), so that evaluation
 * gives training's numbers; where the backend cannot (a mixed16 run opened on a CPU backend), in
 * float32, and it says so.
 */
async function evaluationPrecision(spec: ResolvedSpec, backend: BackendChoice, log: (m: string) => void): Promise<void> {
  const precision = spec.engine.precision
  try {
    await selectBackend(requestedBackend(backend.name), {precision})
  } catch (error) {
    if (!(error instanceof UsageError) || precision === 'fp32') throw error
    await selectBackend(requestedBackend(backend.name), {precision: 'fp32'})
    log(`note: the run trained in ${precision}, which the ${backend.name} backend cannot compute in; its products run in float32 here, so the numbers differ from training's`)
  }
}

/**
 * Activate the backend the run recorded (numerics.json, else env.json's for older folders), with its
 * threads and engine switches where this process sets none; `asked` overrides it.
 */
async function recordedBackend(runDir: string, asked: string | undefined, log: (m: string) => void): Promise<BackendChoice> {
  const numerics = readNumerics(runDir)
  if (asked && asked !== 'auto') return selectBackend(requestedBackend(asked))
  if (asked === 'auto' || !numerics) return selectBackend(requestedBackend(asked))
  const set = adoptRecorded(numerics)
  if (set.length > 0) log(`numerics: as recorded in the run folder, ${set.join(' ')}`)
  try {
    return await selectBackend(requestedBackend(numerics.backend))
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error
    throw new UsageError(
      `${runDir} ran on the ${numerics.backend} backend, which is not available here (${error.reasons}). ` +
        'Add --backend auto (or a backend name) to use another one: the numbers may then differ from those training printed in the last digits',
    )
  }
}
