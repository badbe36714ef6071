/**
 * One experiment, end to end: resolve the spec, choose the backend, build the model, load the data,
 * train with the paper's recipe and evaluate every epoch, writing a run folder that can be trusted:
 *
 *   results/<name>/<stamp>-<hash>/
 *     config.yaml     the resolved spec (rerun it with `mixture run <dir>/config.yaml`)
 *     overrides.yaml  the --set overrides that produced it
 *     env.json        versions, backend, git commit, machine
 *     metrics.csv     one row per epoch
 *     summary.json    the paper's table columns, updated every epoch
 *     last.ckpt       weights + Adam state after the last finished epoch (resume point)
 *     best.ckpt       weights at the best test accuracy
 *     kernel-routes.json  (webgpu) the product/convolution routes kernel tuning chose on the first
 *                     batch before training; a resumed run pins them instead of timing again
 */
import {createHash} from 'node:crypto'
import {appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {stringify as yamlStringify} from 'yaml'
import {tf} from '../engine/tf.js'
import {describeBackend, requestedBackend, selectBackend, type BackendChoice} from '../engine/backend.js'
import {Trainer} from '../engine/trainer.js'
import {epochAccuracy} from '../engine/metrics.js'
import {kernelTuner, type KernelTuner} from '../engine/kernel-tuning.js'
import {resolveSpec} from '../config/resolve.js'
import type {ResolvedSpec} from '../config/validate.js'
import {buildModel, type BuiltModel} from '../model/build.js'
import {paramTable} from '../model/table.js'
import {augmentFromConfig, batches, loadDataset, numBatches, type Dataset, type Split} from '../data/index.js'
import {InterruptedError, UsageError} from '../base-command.js'
import {readCheckpoint, restoreCheckpoint, saveCheckpoint} from './checkpoint.js'
import {environment} from './env.js'
import {writeFileAtomic} from './files.js'
import {createProgress, type EpochLine, type Progress} from './progress.js'

export const METRICS_HEADER = 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second'

export interface RunSummary {
  name: string
  label: string | null
  dataset: string
  status: 'running' | 'completed' | 'failed' | 'interrupted'
  epochs: number
  epochs_completed: number
  best_test_accuracy: number | null
  best_test_epoch: number | null
  best_train_accuracy: number | null
  final_test_accuracy: number | null
  /** How the accuracies average: per example, or the mean of per-batch accuracies (the paper's). */
  accuracy: ResolvedSpec['train']['accuracy']
  train_minutes: number
  eval_minutes: number
  data_minutes: number
  params: number
  backend: string | null
  seed: number
  run_dir: string
  started: string
  finished: string | null
  error?: string
}

export interface DryRunResult {
  dry_run: true
  name: string
  config: ResolvedSpec
  params: number
  components: BuiltModel['components']
}

export interface RunOptions {
  /** Spec file (ignored with `resume`). */
  spec?: string
  /** Run folder to continue from its last checkpoint. */
  resume?: string
  overrides?: string[]
  seed?: number
  backend?: string
  dataDir?: string
  /** Root of run folders (overrides the spec's output.dir). */
  outDir?: string
  /** Exact folder for the run (sweeps use this); created if missing. */
  runDir?: string
  dryRun?: boolean
  /** Draw cli-progress bars (else one line per epoch). */
  bars?: boolean
  /** Diagnostics (stderr). */
  log?: (message: string) => void
  /** Checked between steps; set by the SIGINT handler. */
  stop?: {requested: boolean}
}

export class NonFiniteLossError extends Error {}

function stamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`
}

export function configHash(spec: ResolvedSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8)
}

function newRunDir(root: string, spec: ResolvedSpec): string {
  const base = join(root, spec.name, `${stamp()}-${configHash(spec)}`)
  let dir = base
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`
  return dir
}

function configYaml(spec: ResolvedSpec): string {
  return `# Resolved spec of this run (extends and overrides applied, defaults filled).\n# Reproduce: mixture run <this folder>/config.yaml\n${yamlStringify(spec)}`
}

/** Upload one batch; the typed arrays may be reused by the iterator afterwards. */
function toTensors(batch: {x: Float32Array; y: Int32Array; size: number}, size: number): [tf.Tensor4D, tf.Tensor1D] {
  return [tf.tensor4d(batch.x, [batch.size, size, size, 3]), tf.tensor1d(batch.y, 'int32')]
}

async function evaluate(trainer: Trainer, split: Split, spec: ResolvedSpec): Promise<{loss: number; accuracy: number}> {
  trainer.resetMetrics()
  const size = spec.data.image_size
  for (const batch of batches(split, {batchSize: spec.train.eval_batch_size ?? spec.train.batch_size, imageSize: size, shuffle: false, seed: spec.seed, epoch: 0, augment: false})) {
    const [x, y] = toTensors(batch, size)
    trainer.evalStep(x, y)
    x.dispose()
    y.dispose()
  }
  const m = await trainer.readMetrics()
  trainer.resetMetrics()
  return {loss: m.loss, accuracy: epochAccuracy(m, spec.train.accuracy)}
}

function readMetricsCsv(file: string): EpochLine[] {
  if (!existsSync(file)) return []
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n')
  const keys = header.split(',')
  return lines.filter(Boolean).map((line) => Object.fromEntries(line.split(',').map((v, i) => [keys[i], Number(v)])) as unknown as EpochLine)
}

function metricsRow(l: EpochLine): string {
  return [l.epoch, l.train_loss, l.train_accuracy, l.test_loss, l.test_accuracy, l.train_seconds.toFixed(3), l.eval_seconds.toFixed(3), l.data_seconds.toFixed(3), l.images_per_second.toFixed(1)].join(',')
}

export async function runExperiment(opts: RunOptions): Promise<RunSummary | DryRunResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const sets = [...(opts.overrides ?? [])]
  if (opts.seed !== undefined) sets.push(`seed=${opts.seed}`)
  let runDir: string | undefined
  let specFile = opts.spec
  if (opts.resume) {
    runDir = resolve(opts.resume)
    specFile = join(runDir, 'config.yaml')
    if (!existsSync(specFile)) throw new UsageError(`cannot resume ${opts.resume}: it has no config.yaml, so it is not a run folder (give the folder that holds config.yaml, metrics.csv and last.ckpt)`)
    if (sets.length > 0) throw new UsageError('--resume continues a run exactly as it was configured; --set and --seed cannot change it (start a new run from its config.yaml instead)')
  }
  if (!specFile) throw new UsageError('give a spec file, or --resume <run folder>')
  const {spec, loaded} = await resolveSpec(specFile, sets)

  if (opts.dryRun) {
    const built = buildModel(spec)
    built.model.dispose()
    log(`${spec.name}: ${spec.model.type} on ${spec.data.dataset} ${spec.data.image_size}×${spec.data.image_size}, ${built.numClasses} classes`)
    return {dry_run: true, name: spec.name, config: spec, params: built.params, components: built.components}
  }

  if (opts.backend !== undefined || spec.engine.threads) {
    if (spec.engine.threads) process.env.MIXTURE_THREADS = String(spec.engine.threads)
  }
  const backend: BackendChoice = await selectBackend(requestedBackend(opts.backend ?? (spec.engine.backend !== 'auto' ? spec.engine.backend : undefined)))
  log(describeBackend(backend))
  // Kernel routes (webgpu): pinned from MIXTURE_WEBGPU_ROUTES, or from a resumed run's folder below.
  const tuner = kernelTuner(tf.getBackend())
  const routesEnv = process.env.MIXTURE_WEBGPU_ROUTES
  if (routesEnv) {
    if (tuner) log(`kernel routes: ${pinRoutes(tuner, resolve(routesEnv), 'MIXTURE_WEBGPU_ROUTES')}`)
    else log(`MIXTURE_WEBGPU_ROUTES is ignored: the ${tf.getBackend()} backend has no kernel routes to pin`)
  }

  const built = buildModel(spec)
  const dataset: Dataset = await loadDataset(spec.data as never, {dataDir: opts.dataDir ?? (spec.data.data_dir as string | undefined), log})
  if (dataset.numClasses > built.numClasses) throw new UsageError(`the dataset has ${dataset.numClasses} classes but the model outputs ${built.numClasses}; remove model.num_classes or set it to ${dataset.numClasses}`)

  const trainer = new Trainer(built.model, {lr: spec.train.optimizer.lr, beta1: spec.train.optimizer.betas[0], beta2: spec.train.optimizer.betas[1], eps: spec.train.optimizer.eps, weightDecay: spec.train.optimizer.weight_decay})
  let startEpoch = 1
  let history: EpochLine[] = []
  const started = new Date().toISOString()

  if (opts.resume && runDir) {
    const ckptFile = join(runDir, 'last.ckpt')
    if (!existsSync(ckptFile)) throw new UsageError(`cannot resume ${opts.resume}: no last.ckpt yet (the run stopped before its first epoch finished); start it again with mixture run ${join(opts.resume, 'config.yaml')}`)
    const ckpt = readCheckpoint(ckptFile)
    restoreCheckpoint(ckpt, built.model, trainer)
    history = readMetricsCsv(join(runDir, 'metrics.csv')).filter((l) => l.epoch <= ckpt.meta.epoch)
    writeFileAtomic(join(runDir, 'metrics.csv'), `${METRICS_HEADER}\n${history.map((l) => `${metricsRow(l)}\n`).join('')}`)
    startEpoch = ckpt.meta.epoch + 1
    log(`resuming ${runDir} after epoch ${ckpt.meta.epoch} (step ${ckpt.meta.step})`)
    const routesFile = join(runDir, ROUTES_FILE)
    if (tuner && !routesEnv && existsSync(routesFile)) log(`kernel routes: ${pinRoutes(tuner, routesFile)}`)
  } else {
    runDir = opts.runDir ? resolve(opts.runDir) : newRunDir(resolve(opts.outDir ?? spec.output.dir), spec)
    mkdirSync(runDir, {recursive: true})
    writeFileAtomic(join(runDir, 'config.yaml'), configYaml(spec))
    writeFileAtomic(join(runDir, 'overrides.yaml'), yamlStringify(loaded.overrides))
    writeFileAtomic(join(runDir, 'metrics.csv'), `${METRICS_HEADER}\n`)
  }
  writeFileAtomic(join(runDir, 'env.json'), `${JSON.stringify({...environment(backend), data_source: dataset.source}, null, 2)}\n`)
  log(`run folder: ${runDir}`)
  log(`${spec.name}: ${built.params.toLocaleString('en-US')} trainable parameters, ${dataset.train.count} train / ${dataset.test.count} test images, ${spec.train.epochs} epochs of batch ${spec.train.batch_size}`)

  const best = (key: 'test_accuracy' | 'train_accuracy') => (history.length ? Math.max(...history.map((l) => l[key])) : null)
  const summary = (status: RunSummary['status'], error?: string): RunSummary => {
    const bestTest = best('test_accuracy')
    const last = history[history.length - 1]
    return {
      name: spec.name,
      label: spec.label ?? null,
      dataset: spec.data.dataset,
      status,
      epochs: spec.train.epochs,
      epochs_completed: history.length,
      best_test_accuracy: bestTest,
      best_test_epoch: bestTest === null ? null : history.find((l) => l.test_accuracy === bestTest)!.epoch,
      best_train_accuracy: best('train_accuracy'),
      final_test_accuracy: last?.test_accuracy ?? null,
      accuracy: spec.train.accuracy,
      train_minutes: history.reduce((s, l) => s + l.train_seconds, 0) / 60,
      eval_minutes: history.reduce((s, l) => s + l.eval_seconds, 0) / 60,
      data_minutes: history.reduce((s, l) => s + l.data_seconds, 0) / 60,
      params: built.params,
      backend: backend.name,
      seed: spec.seed,
      run_dir: runDir!,
      started,
      finished: status === 'running' ? null : new Date().toISOString(),
      ...(error ? {error} : {}),
    }
  }
  const writeSummary = (s: RunSummary) => writeFileAtomic(join(runDir!, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`)
  writeSummary(summary('running'))

  const progress: Progress = createProgress({bars: Boolean(opts.bars), write: log})
  const size = spec.data.image_size
  const bs = spec.train.batch_size
  const perEpoch = Math.min(numBatches(dataset.train.count, bs), spec.train.steps_per_epoch ?? Infinity)
  const augment = augmentFromConfig(spec.data as never)
  /** What kernel tuning chose before the first step (null: nothing to choose; undefined: not yet). */
  let tuning: string | null | undefined
  try {
    for (let epoch = startEpoch; epoch <= spec.train.epochs; epoch++) {
      progress.startEpoch(epoch, spec.train.epochs, perEpoch)
      trainer.resetMetrics()
      let t0 = performance.now()
      let dataMs = 0
      let images = 0
      let done = 0
      const iterator = batches(dataset.train, {batchSize: bs, imageSize: size, shuffle: true, seed: spec.seed, epoch, augment})[Symbol.iterator]()
      while (done < perEpoch) {
        const d0 = performance.now()
        const next = iterator.next()
        if (next.done) break
        const [x, y] = toTensors(next.value, size)
        dataMs += performance.now() - d0
        // Before the run's first step: time the backend's kernel routes on its shapes (webgpu).
        if (tuning === undefined) {
          const tuneStart = performance.now()
          tuning = (await trainer.tuneKernels(x, y)) ?? null
          // The routes this run takes (timed now or pinned), for a resumed run and for the record.
          if (tuner) writeFileAtomic(join(runDir, ROUTES_FILE), `${JSON.stringify(tuner.routes(), null, 2)}\n`)
          // Not training time: the epoch's seconds and images per second leave it out.
          t0 += performance.now() - tuneStart
        }
        trainer.trainStep(x, y)
        x.dispose()
        y.dispose()
        images += next.value.size
        done++
        // Let signal handlers run: on synchronous backends nothing else yields to the event loop.
        await new Promise((r) => setImmediate(r))
        if (opts.stop?.requested) throw new InterruptedError(`interrupted during epoch ${epoch}`)
        if (done % spec.train.metrics_every === 0 || done === perEpoch) {
          const m = await trainer.readMetrics()
          if (!Number.isFinite(m.loss)) throw new NonFiniteLossError(`training loss became ${m.loss} in epoch ${epoch} (by step ${done} of ${perEpoch}); the run stopped and kept its last checkpoint. Lower train.optimizer.lr (now ${spec.train.optimizer.lr}) or check the data`)
          progress.batch(done, {loss: m.loss, accuracy: epochAccuracy(m, spec.train.accuracy), imagesPerSecond: (images * 1000) / (performance.now() - t0)})
        } else if (opts.bars) {
          progress.batch(done)
        }
      }
      const trainMetrics = await trainer.readMetrics()
      const trainSeconds = (performance.now() - t0) / 1000
      const e0 = performance.now()
      const test = await evaluate(trainer, dataset.test, spec)
      const evalSeconds = (performance.now() - e0) / 1000
      if (!Number.isFinite(test.loss)) throw new NonFiniteLossError(`test loss became ${test.loss} after epoch ${epoch}; the weights diverged. Lower train.optimizer.lr (now ${spec.train.optimizer.lr})`)
      const line: EpochLine = {
        epoch,
        epochs: spec.train.epochs,
        train_loss: trainMetrics.loss,
        train_accuracy: epochAccuracy(trainMetrics, spec.train.accuracy),
        test_loss: test.loss,
        test_accuracy: test.accuracy,
        train_seconds: trainSeconds,
        eval_seconds: evalSeconds,
        data_seconds: dataMs / 1000,
        images_per_second: images / trainSeconds,
      }
      const improved = history.every((l) => test.accuracy > l.test_accuracy)
      history.push(line)
      appendFileSync(join(runDir, 'metrics.csv'), `${metricsRow(line)}\n`)
      progress.endEpoch(line)
      if (epoch === startEpoch) {
        // Where the backend replays recorded steps (webgpu), say once whether it did and why not.
        if (tuning) log(`kernel tuning: ${tuning}`)
        const replay = trainer.describeStepGraphs()
        if (replay.length > 0) log(`step replay: ${replay.join('; ')}`)
      }
      const meta = {
        epoch,
        step: trainer.step,
        best_test_accuracy: best('test_accuracy')!,
        best_train_accuracy: best('train_accuracy')!,
        train_seconds: history.reduce((s, l) => s + l.train_seconds, 0),
        eval_seconds: history.reduce((s, l) => s + l.eval_seconds, 0),
      }
      if (epoch % spec.train.checkpoint_every === 0 || epoch === spec.train.epochs) await saveCheckpoint(join(runDir, 'last.ckpt'), built.model, trainer, meta)
      if (improved) await saveCheckpoint(join(runDir, 'best.ckpt'), built.model, trainer, meta)
      writeSummary(summary('running'))
      if (opts.stop?.requested) throw new InterruptedError(`interrupted after epoch ${epoch}`)
    }
  } catch (error) {
    progress.stop()
    const interrupted = error instanceof InterruptedError
    writeSummary(summary(interrupted ? 'interrupted' : 'failed', (error as Error).message))
    trainer.dispose()
    built.model.dispose()
    if (interrupted) {
      throw new InterruptedError(`${(error as Error).message}; ${history.length} epoch(s) are saved in ${runDir}. Continue with: mixture run --resume ${runDir}`)
    }
    throw error
  }
  progress.stop()
  const final = summary('completed')
  writeSummary(final)
  trainer.dispose()
  built.model.dispose()
  return final
}

export {paramTable}

const ROUTES_FILE = 'kernel-routes.json'

/** Pin the kernel routes kept in `file`; a missing or malformed file is a usage error saying which. */
function pinRoutes(tuner: KernelTuner, file: string, setting?: string): string {
  const what = setting ? `${setting}=${file}` : file
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new UsageError(`cannot read the kernel routes in ${what}: ${reason}${setting ? ` (point ${setting} at a run folder's ${ROUTES_FILE}, or unset it)` : ` (delete ${file} to time the routes again)`}`)
  }
  try {
    return tuner.pin(doc, file, setting ? `point ${setting} at a run folder's ${ROUTES_FILE}, or unset it` : undefined)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}
