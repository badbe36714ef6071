/**
 * What a run trains with, made before its folder is written to, so that a bad spec, backend or
 * dataset stops the run before anything is written: the engine settings in effect, the backend,
 * the model (with the weights `train.freeze` keeps out of training), the dataset (with the
 * validation split `data.val_split` holds out of its training images), the trainer (with a loss
 * scaler in mixed precision) and the learning-rate schedule.
 */
import {resolve} from 'node:path'
import {tf} from '../engine/tf.js'
import {describeBackend, requestedBackend, selectBackend, type BackendChoice} from '../engine/backend.js'
import {deviceRequest} from '../engine/device.js'
import {describePrecision} from '../engine/precision.js'
import {kernelTuner, type KernelTuner} from '../engine/kernel-tuning.js'
import {effectiveEngine, pinnedRoutesFile} from './engine-settings.js'
import {Trainer} from '../engine/trainer.js'
import {chooseOptimizer} from '../recipe/optimizer.js'
import {chooseLoss} from '../recipe/loss.js'
import {createSchedule, type Schedule} from '../recipe/schedule.js'
import {buildModel, type BuiltModel} from '../model/build.js'
import {augmentFromConfig, holdOutValidation, loadDataset, numBatches, type Dataset, type Pipeline} from '../data/index.js'
import {dataInPlace} from '../data/load.js'
import type {BatchWorkers} from '../data/batch-workers.js'
import {mixesAnything, type ResolvedSpec} from '../schema/spec.js'
import {UsageError} from '../errors.js'
import {pinRoutes} from './kernel-routes.js'
import {planDataWorkers, startDataWorkers} from './data-workers.js'
import {freezeWeights} from './fine-tune.js'

export interface Session {
  /** The spec with the engine settings in effect (environment overrides applied): what config.yaml records. */
  spec: ResolvedSpec
  backend: BackendChoice
  /** The backend's kernel tuner (webgpu), if it has one. */
  tuner: KernelTuner | undefined
  /** Whether MIXTURE_WEBGPU_ROUTES pinned the routes (a resumed folder's own routes then give way). */
  routesPinned: boolean
  built: BuiltModel
  dataset: Dataset
  trainer: Trainer
  /** The learning rate of every optimizer step (train.schedule over the run's steps). */
  schedule: Schedule
  /** Training batches per epoch: the training split's, at most train.steps_per_epoch (train.accumulate_grad_batches of them make one optimizer step). */
  batchesPerEpoch: number
  /** The training batches' augmentation (data.augment), made once for the run. */
  augment: false | Pipeline
  /** The threads that make the training batches (engine.data_workers); none: the training thread makes them. */
  batchWorkers?: BatchWorkers
}

export interface SessionOptions {
  /** `--backend`, or a resumed run's recorded one; else `engine.backend`, then MIXTURE_BACKEND. */
  backend?: string
  /** `--data-dir`, searched first (before `data.data_dir`). */
  dataDir?: string
  bars?: boolean
  /** The WebGPU adapter a launcher gives the run (`--device`), over `engine.device`. */
  device?: string
}

/** Select the backend with the run's engine settings, build the model, load the data, make the trainer. */
export async function prepareSession(resolved: ResolvedSpec, opts: SessionOptions, log: (m: string) => void): Promise<Session> {
  const {engine, overrides} = effectiveEngine(resolved.engine)
  const spec: ResolvedSpec = {...resolved, engine}
  const requested = opts.backend ?? (engine.backend !== 'auto' ? engine.backend : undefined)
  const device = deviceRequest(opts.device, engine.device)
  const backend = await selectBackend(requestedBackend(requested), {threads: engine.threads, webgpu: engine.webgpu, precision: engine.precision, ...device})
  log(describeBackend(backend))
  const precision = describePrecision(engine.precision, engine.loss_scale.init)
  if (precision) log(precision)
  if (device.device !== undefined && backend.name !== 'webgpu') log(`${device.source} ${device.device} chooses a WebGPU adapter; the ${backend.name} backend has none to choose, so it is not used`)
  for (const line of overrides) log(`engine: ${line}`)
  // Kernel routes (webgpu): pinned from MIXTURE_WEBGPU_ROUTES here, or from a resumed run's folder.
  const tuner = kernelTuner(tf.getBackend())
  const routesFile = pinnedRoutesFile()
  if (routesFile) {
    if (tuner) log(`kernel routes: ${pinRoutes(tuner, resolve(routesFile), 'MIXTURE_WEBGPU_ROUTES')}`)
    else log(`MIXTURE_WEBGPU_ROUTES is ignored: the ${tf.getBackend()} backend has no kernel routes to pin`)
  }
  // The model's outputs are the classes of the spec's data; where --data-dir replaces a place of the spec's that is gone (a root moved), those of --data-dir.
  const inPlace = dataInPlace(spec.data, opts.dataDir)
  const built = buildModel(inPlace === spec.data ? spec : {...spec, data: {...spec.data, data_dir: inPlace.data_dir}})
  let dataset: Dataset
  let schedule: Schedule
  let batchesPerEpoch: number
  const t = spec.train
  try {
    dataset = holdOutValidation(await loadDataset(spec.data, {dataDir: opts.dataDir ?? spec.data.data_dir, log, bars: opts.bars}), spec.data.val_split, spec.seed)
    if (dataset.valHoldOut && dataset.val) log(`validation split: ${dataset.val.count} of the ${dataset.train.count + dataset.val.count} training images held out (val_split ${spec.data.val_split} of every class, drawn by seed ${spec.seed}); the best epoch is chosen on it`)
    if (dataset.numClasses > built.numClasses) throw new UsageError(`the dataset has ${dataset.numClasses} classes but the model outputs ${built.numClasses}; remove model.num_classes or set it to ${dataset.numClasses}`)
    batchesPerEpoch = Math.min(numBatches(dataset.train.count, t.batch_size), t.steps_per_epoch ?? Infinity)
    schedule = createSchedule(t.schedule, t.optimizer.lr, t.epochs, Math.ceil(batchesPerEpoch / (t.accumulate_grad_batches ?? 1)))
  } catch (error) {
    built.model.dispose()
    throw error
  }
  // train.freeze: the weights it names leave the trainable ones before the trainer takes them.
  if (t.freeze) {
    try {
      log(freezeWeights(built.model, t.freeze))
    } catch (error) {
      built.model.dispose()
      throw error
    }
  }
  // The recipe: the optimizer (engine/optimizer.ts), the loss (label smoothing in it), gradient clipping, the weights' average; loss scaling in mixed16.
  const trainer = new Trainer(built.model, chooseOptimizer(t.optimizer), {
    loss: chooseLoss(t.loss, built.numClasses, t.label_smoothing, mixesAnything(t.mixup)),
    maxGradNorm: t.grad_clip?.max_norm,
    emaDecay: t.ema?.decay,
    emaWarmup: t.ema?.warmup,
    accumulate: t.accumulate_grad_batches,
    ...(engine.precision === 'mixed16' ? {lossScale: engine.loss_scale} : {}),
  })
  const augment = augmentFromConfig(spec.data)
  const workers = planDataWorkers(engine, backend, augment)
  if (workers.line) log(workers.line)
  return {spec, backend, tuner, routesPinned: Boolean(routesFile), built, dataset, trainer, schedule, batchesPerEpoch, augment, batchWorkers: startDataWorkers(workers)}
}

export function disposeSession(session: Session): void {
  session.trainer.dispose()
  session.built.model.dispose()
  void session.batchWorkers?.close()
}
