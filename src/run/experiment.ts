/**
 * One experiment, end to end: resolve the spec, choose the backend, build the model, load the data,
 * train with the paper's recipe and evaluate every epoch, writing a run folder that can be trusted:
 *
 *   results/<name>/<stamp>-<hash>/
 *     config.yaml     the resolved spec (rerun it with `mixture run <dir>/config.yaml`)
 *     overrides.yaml  the --set overrides that produced it
 *     env.json        versions, backend, git commit, machine
 *     numerics.json   backend, threads and engine switches that decide the numbers (resume keeps them)
 *     metrics.csv     one row per epoch
 *     summary.json    the paper's table columns, status, owner (pid, host) and heartbeat
 *     last.ckpt       weights + BatchNorm statistics + Adam state after the last checkpointed epoch (resume point)
 *     best.ckpt       weights + BatchNorm statistics at the best test accuracy (for evaluation)
 *     run.lock        while a process trains in the folder
 *     kernel-routes.json  (webgpu) the product/convolution routes kernel tuning chose on the first
 *                     batch before training; a resumed run pins them instead of timing again
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {stringify as yamlStringify} from 'yaml'
import {tf} from '../engine/tf.js'
import {describeBackend, requestedBackend, selectBackend, type BackendChoice} from '../engine/backend.js'
import {DeviceError, type DeviceOptions} from '../engine/device.js'
import {Trainer} from '../engine/trainer.js'
import {kernelTuner, type KernelTuner} from '../engine/kernel-tuning.js'
import {resolveSpec} from '../config/resolve.js'
import type {ResolvedSpec} from '../config/validate.js'
import {buildModel, type BuiltModel} from '../model/build.js'
import {paramTable} from '../model/table.js'
import {augmentFromConfig, batches, loadDataset, numBatches, type Dataset, type Split} from '../data/index.js'
import {InterruptedError, UsageError, type StopRequest} from '../base-command.js'
import {restoreCheckpoint, saveCheckpoint, type CheckpointMeta} from './checkpoint.js'
import {environment, recordResume} from './env.js'
import {writeFileAtomic} from './files.js'
import {createUniqueDir, removeStaleTemps} from './folders.js'
import {acquireLock, type Lock} from './lock.js'
import {appendMetricsRow, METRICS_HEADER, setAsideRows, writeMetricsFile, type MetricsRow} from './metrics-file.js'
import {adoptRecorded, checkResumeNumerics, currentNumerics, recordResumedNumerics, resumeBackend, writeNumerics} from './numerics.js'
import {currentOwner, HEARTBEAT_MS} from './owner.js'
import {createProgress, type EpochLine, type Progress} from './progress.js'
import {BEST_CKPT, LAST_CKPT, planResume, runFolderConfig, startAnew} from './resume.js'

export interface RunSummary {
  name: string
  label: string | null
  dataset: string
  /** As written; readers show a `running` run whose process is gone as `crashed` (status.ts). */
  status: 'running' | 'completed' | 'failed' | 'interrupted'
  epochs: number
  epochs_completed: number
  best_test_accuracy: number | null
  best_test_epoch: number | null
  best_train_accuracy: number | null
  final_test_accuracy: number | null
  train_minutes: number
  eval_minutes: number
  data_minutes: number
  params: number
  backend: string | null
  seed: number
  run_dir: string
  started: string
  finished: string | null
  /** The process that writes this run folder, and when it last wrote this file (its heartbeat). */
  pid: number
  host: string
  updated: string
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
  /** With `resume`: restart from best.ckpt (weights only; Adam starts afresh). */
  fromBest?: boolean
  /** With `resume`: continue although the numerics (backend, threads, engine switches) differ, or another host's lock is held. */
  force?: boolean
  overrides?: string[]
  seed?: number
  backend?: string
  dataDir?: string
  /** Root of run folders (overrides the spec's output.dir). */
  outDir?: string
  /** Exact folder for the run (sweeps use this); it must not exist yet, or hold only files `runDirMayHold` names. */
  runDir?: string
  /** With `runDir`: files a launcher may have put in the folder before the run (its log). */
  runDirMayHold?: string[]
  dryRun?: boolean
  /** Draw cli-progress bars (else one line per epoch). */
  bars?: boolean
  /** Diagnostics (stderr). */
  log?: (message: string) => void
  /** Checked between steps; set by the SIGINT/SIGTERM handlers. */
  stop?: StopRequest
  /** The WebGPU adapter (index or PCI bus id) a launcher gives this run; over the spec's engine.device, and not part of the configuration. */
  device?: string
}

export class NonFiniteLossError extends Error {}

export const RUN_LOCK = 'run.lock'

function stamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`
}

export function configHash(spec: ResolvedSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8)
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
  return m
}

/** What a run trains with, made before its folder is written to: a bad spec, backend or dataset stops here. */
interface Session {
  spec: ResolvedSpec
  backend: BackendChoice
  tuner: KernelTuner | undefined
  routesEnv: string | undefined
  built: BuiltModel
  dataset: Dataset
  trainer: Trainer
}

async function prepare(spec: ResolvedSpec, opts: RunOptions, log: (m: string) => void, requested: string | undefined): Promise<Session> {
  if (spec.engine.threads) process.env.MIXTURE_THREADS = String(spec.engine.threads)
  const device: DeviceOptions =
    opts.device !== undefined ? {device: /^\d+$/.test(opts.device) ? Number(opts.device) : opts.device, source: '--device'} : spec.engine.device !== undefined ? {device: spec.engine.device, source: 'engine.device'} : {}
  let backend: BackendChoice
  try {
    backend = await selectBackend(requestedBackend(requested), device)
  } catch (error) {
    if (error instanceof DeviceError) throw new UsageError(error.message)
    throw error
  }
  log(describeBackend(backend))
  if (device.device !== undefined && backend.name !== 'webgpu') log(`${device.source} ${device.device} chooses a WebGPU adapter; the ${backend.name} backend has none to choose, so it is not used`)
  // Kernel routes (webgpu): pinned from MIXTURE_WEBGPU_ROUTES, or from a resumed run's folder.
  const tuner = kernelTuner(tf.getBackend())
  const routesEnv = process.env.MIXTURE_WEBGPU_ROUTES
  if (routesEnv) {
    if (tuner) log(`kernel routes: ${pinRoutes(tuner, resolve(routesEnv), 'MIXTURE_WEBGPU_ROUTES')}`)
    else log(`MIXTURE_WEBGPU_ROUTES is ignored: the ${tf.getBackend()} backend has no kernel routes to pin`)
  }
  const built = buildModel(spec)
  let dataset: Dataset
  try {
    dataset = await loadDataset(spec.data as never, {dataDir: opts.dataDir ?? (spec.data.data_dir as string | undefined), log, bars: opts.bars})
    if (dataset.numClasses > built.numClasses) throw new UsageError(`the dataset has ${dataset.numClasses} classes but the model outputs ${built.numClasses}; remove model.num_classes or set it to ${dataset.numClasses}`)
  } catch (error) {
    built.model.dispose()
    throw error
  }
  const o = spec.train.optimizer
  const trainer = new Trainer(built.model, {lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weight_decay})
  return {spec, backend, tuner, routesEnv, built, dataset, trainer}
}

function dispose(session: Session): void {
  session.trainer.dispose()
  session.built.model.dispose()
}

export async function runExperiment(opts: RunOptions): Promise<RunSummary | DryRunResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const sets = [...(opts.overrides ?? [])]
  if (opts.seed !== undefined) sets.push(`seed=${opts.seed}`)
  if (opts.resume) {
    if (sets.length > 0) throw new UsageError('--resume continues a run exactly as it was configured; --set and --seed cannot change it (start a new run from its config.yaml instead)')
    return resumeExperiment(resolve(opts.resume), opts, log)
  }
  if (opts.fromBest) throw new UsageError('--from-best goes with --resume <run folder>: it restarts that run from its best.ckpt')
  if (!opts.spec) throw new UsageError('give a spec file, or --resume <run folder>')
  const {spec, loaded} = await resolveSpec(opts.spec, sets)

  if (opts.dryRun) {
    const built = buildModel(spec)
    built.model.dispose()
    log(`${spec.name}: ${spec.model.type} on ${spec.data.dataset} ${spec.data.image_size}×${spec.data.image_size}, ${built.numClasses} classes`)
    return {dry_run: true, name: spec.name, config: spec, params: built.params, components: built.components}
  }

  const session = await prepare(spec, opts, log, opts.backend ?? (spec.engine.backend !== 'auto' ? spec.engine.backend : undefined))
  let runDir: string
  let lock: Lock
  try {
    runDir = opts.runDir ? createExactDir(resolve(opts.runDir), opts.runDirMayHold ?? []) : createUniqueDir(join(resolve(opts.outDir ?? spec.output.dir), spec.name, `${stamp()}-${configHash(spec)}`))
    lock = acquireLock(join(runDir, RUN_LOCK), `run ${runDir}`)
  } catch (error) {
    dispose(session)
    throw error
  }
  writeFileAtomic(join(runDir, 'config.yaml'), configYaml(spec))
  writeFileAtomic(join(runDir, 'overrides.yaml'), yamlStringify(loaded.overrides))
  writeMetricsFile(runDir, [])
  writeFileAtomic(join(runDir, 'env.json'), `${JSON.stringify({...environment(session.backend), data_source: session.dataset.source}, null, 2)}\n`)
  writeNumerics(runDir, currentNumerics(session.backend))
  return train(session, {runDir, lock, history: [], startEpoch: 1, checkpointEpoch: 0, opts, log})
}

/**
 * A sweep point's folder: exactly this name, which must not exist (the sweep set any earlier one
 * aside), or hold only the files `mayHold` names (a launcher's log, written before the run starts).
 */
function createExactDir(dir: string, mayHold: string[]): string {
  mkdirSync(dirname(dir), {recursive: true})
  try {
    mkdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    if (mayHold.length === 0 || !readdirSync(dir).every((f) => mayHold.includes(f))) throw new UsageError(`run folder ${dir} already exists; give a new folder, or --resume it`)
  }
  return dir
}

/**
 * `--resume`: lock the folder, check everything (planResume: checkpoint, metrics.csv, numerics;
 * then the spec, backend and data), and only then write: stale temp files removed, rows past the
 * checkpoint set aside, the numerics record updated.
 */
async function resumeExperiment(runDir: string, opts: RunOptions, log: (m: string) => void): Promise<RunSummary> {
  runFolderConfig(runDir) // before the lock, which would otherwise be made in a folder that is not a run's
  const lock = acquireLock(join(runDir, RUN_LOCK), `run ${runDir}`, {force: opts.force, log})
  const adopted: string[] = []
  let session: Session | undefined
  let handedOver = false
  try {
    const plan = planResume(runDir, {fromBest: opts.fromBest})
    const {spec} = await resolveSpec(plan.configFile)
    const requested = resumeBackend(runDir, plan.numerics?.backend ?? plan.envBackend, opts.backend, Boolean(opts.force))
    if (plan.numerics) {
      adopted.push(...adoptRecorded(plan.numerics))
      if (adopted.length > 0) log(`numerics: as recorded in the run folder, ${adopted.join(' ')}`)
    }
    try {
      session = await prepare(spec, opts, log, requested ?? (spec.engine.backend !== 'auto' ? spec.engine.backend : undefined))
    } catch (error) {
      if (requested && /is not available here/.test((error as Error).message)) {
        throw new UsageError(`${runDir} ran on the ${requested} backend, which is not available here: ${(error as Error).message.replace(/ Use --backend auto.*$/, '')}. Resume it where ${requested} runs, or add --force --backend <name> to continue on another backend (the change is recorded)`)
      }
      throw error
    }
    const now = currentNumerics(session.backend)
    const changes = plan.numerics ? checkResumeNumerics(runDir, plan.numerics, now, Boolean(opts.force)) : []
    restoreCheckpoint(plan.checkpoint, session.built.model, plan.fromBest ? undefined : session.trainer)
    // Everything is checked; from here on the folder is written to.
    const epoch = plan.checkpoint.meta.epoch
    const removed = removeStaleTemps(runDir)
    if (removed.length > 0) log(`removed ${removed.length} temp file(s) a killed process left: ${removed.join(', ')}`)
    const when = stamp()
    if (plan.setAside.length > 0) {
      const name = setAsideRows(runDir, plan.setAside, when)
      writeMetricsFile(runDir, plan.keptLines)
      log(`${plan.setAside.length} metrics row(s) after epoch ${plan.checkpoint.meta.epoch} set aside in ${name}`)
    }
    const changed = recordResumedNumerics(runDir, plan.numerics, now, changes, epoch)
    if (changed) log(`numerics changed with --force after epoch ${epoch}: ${changed.join(', ')} (recorded in numerics.json)`)
    recordResume(runDir, session.backend, {after_epoch: epoch, from: plan.fromBest ? BEST_CKPT : LAST_CKPT})
    if (plan.fromBest) {
      if (plan.lastCkpt) {
        const aside = `${LAST_CKPT}.${plan.lastCkpt === 'damaged' ? 'corrupt' : 'set-aside'}-${when}`
        renameSync(join(runDir, LAST_CKPT), join(runDir, aside))
        log(`${LAST_CKPT} kept as ${aside}`)
      }
      log(`restarting from ${BEST_CKPT} after epoch ${epoch}: weights and BatchNorm statistics restored; Adam starts afresh (best.ckpt holds no optimizer state), so the epochs from ${epoch + 1} on will not match an uninterrupted run`)
      await saveCheckpoint(join(runDir, LAST_CKPT), 'last', session.built.model, session.trainer, {...checkpointMeta(plan.checkpoint.meta), step: session.trainer.step})
    } else {
      log(`resuming ${runDir} after epoch ${epoch} (step ${plan.checkpoint.meta.step})`)
    }
    const routesFile = join(runDir, ROUTES_FILE)
    if (session.tuner && !session.routesEnv && existsSync(routesFile)) log(`kernel routes: ${pinRoutes(session.tuner, routesFile)}`)
    handedOver = true
    return await train(session, {runDir, lock, history: plan.history.map((r) => ({...r, epochs: spec.train.epochs})), startEpoch: epoch + 1, checkpointEpoch: epoch, opts, log})
  } catch (error) {
    if (!handedOver) {
      if (session) dispose(session)
      lock.release()
    }
    throw error
  } finally {
    for (const a of adopted) delete process.env[a.slice(0, a.indexOf('='))]
  }
}

function checkpointMeta(meta: CheckpointMeta): Omit<CheckpointMeta, 'saved'> {
  const {saved: _saved, ...rest} = meta
  return rest
}

interface TrainState {
  runDir: string
  lock: Lock
  /** Epochs already done (a resumed run's rows up to its checkpoint). */
  history: EpochLine[]
  startEpoch: number
  /** The epoch last.ckpt is after (0: none yet). */
  checkpointEpoch: number
  opts: RunOptions
  log: (m: string) => void
}

/** Train from `state.startEpoch` to the end; disposes the session and releases the lock however it ends. */
async function train(session: Session, state: TrainState): Promise<RunSummary> {
  const {spec, backend, tuner, built, dataset, trainer} = session
  const {runDir, lock, history, opts, log} = state
  let checkpointEpoch = state.checkpointEpoch
  log(`run folder: ${runDir}`)
  if (state.startEpoch > spec.train.epochs) log(`all ${spec.train.epochs} epochs are done already; nothing to train`)
  log(`${spec.name}: ${built.params.toLocaleString('en-US')} trainable parameters, ${dataset.train.count} train / ${dataset.test.count} test images, ${spec.train.epochs} epochs of batch ${spec.train.batch_size}`)
  const started = new Date().toISOString()
  const owner = currentOwner()

  const best = (key: 'test_accuracy' | 'train_accuracy') => (history.length ? Math.max(...history.map((l) => l[key])) : null)
  const summary = (status: RunSummary['status'], error?: string): RunSummary => {
    const bestTest = best('test_accuracy')
    const last = history[history.length - 1]
    const now = new Date().toISOString()
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
      train_minutes: history.reduce((s, l) => s + l.train_seconds, 0) / 60,
      eval_minutes: history.reduce((s, l) => s + l.eval_seconds, 0) / 60,
      data_minutes: history.reduce((s, l) => s + l.data_seconds, 0) / 60,
      params: built.params,
      backend: backend.name,
      seed: spec.seed,
      run_dir: runDir,
      started,
      finished: status === 'running' ? null : now,
      pid: owner.pid,
      host: owner.host,
      updated: now,
      ...(error ? {error} : {}),
    }
  }
  const writeSummary = (s: RunSummary) => writeFileAtomic(join(runDir, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`)
  // The heartbeat: readers on other hosts tell a live run from a dead one by it (owner.ts).
  let heartbeat: NodeJS.Timeout | undefined

  const progress: Progress = createProgress({bars: Boolean(opts.bars), write: log})
  const size = spec.data.image_size
  const bs = spec.train.batch_size
  const perEpoch = Math.min(numBatches(dataset.train.count, bs), spec.train.steps_per_epoch ?? Infinity)
  const augment = augmentFromConfig(spec.data as never)
  const interrupted = (when: string) => new InterruptedError(`interrupted ${when}`, opts.stop?.signal)
  /** What kernel tuning chose before the first step (null: nothing to choose; undefined: not yet). */
  let tuning: string | null | undefined
  try {
    writeSummary(summary('running'))
    heartbeat = setInterval(() => writeSummary(summary('running')), HEARTBEAT_MS)
    heartbeat.unref()
    for (let epoch = state.startEpoch; epoch <= spec.train.epochs; epoch++) {
      if (opts.stop?.requested) throw interrupted(`before epoch ${epoch}`)
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
        if (opts.stop?.requested) throw interrupted(`during epoch ${epoch}`)
        if (done % spec.train.metrics_every === 0 || done === perEpoch) {
          const m = await trainer.readMetrics()
          if (!Number.isFinite(m.loss)) throw new NonFiniteLossError(`training loss became ${m.loss} in epoch ${epoch} (by step ${done} of ${perEpoch}); the run stopped and kept its last checkpoint. Lower train.optimizer.lr (now ${spec.train.optimizer.lr}) or check the data`)
          progress.batch(done, {loss: m.loss, accuracy: m.accuracy, imagesPerSecond: (images * 1000) / (performance.now() - t0)})
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
        train_accuracy: trainMetrics.accuracy,
        test_loss: test.loss,
        test_accuracy: test.accuracy,
        train_seconds: trainSeconds,
        eval_seconds: evalSeconds,
        data_seconds: dataMs / 1000,
        images_per_second: images / trainSeconds,
      }
      const improved = history.every((l) => test.accuracy > l.test_accuracy)
      history.push(line)
      appendMetricsRow(runDir, line as MetricsRow)
      progress.endEpoch(line)
      if (epoch === state.startEpoch) {
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
      if (epoch % spec.train.checkpoint_every === 0 || epoch === spec.train.epochs) {
        await saveCheckpoint(join(runDir, LAST_CKPT), 'last', built.model, trainer, meta)
        checkpointEpoch = epoch
      }
      if (improved) await saveCheckpoint(join(runDir, BEST_CKPT), 'best', built.model, trainer, meta)
      writeSummary(summary('running'))
      if (opts.stop?.requested) throw interrupted(`after epoch ${epoch}`)
    }
  } catch (error) {
    progress.stop()
    clearInterval(heartbeat)
    const stopped = error instanceof InterruptedError
    writeSummary(summary(stopped ? 'interrupted' : 'failed', (error as Error).message))
    dispose(session)
    lock.release()
    if (stopped) {
      const done = `${history.length} epoch(s) are done`
      if (checkpointEpoch === 0) {
        throw new InterruptedError(`${(error as Error).message}; ${done} and nothing is resumable yet: the first checkpoint is written after epoch ${Math.min(spec.train.checkpoint_every, spec.train.epochs)}. Start again with: ${startAnew(runDir)}`, error.signal)
      }
      const redo = history.length > checkpointEpoch ? ` (resuming repeats epoch(s) ${checkpointEpoch + 1}–${history.length}, which finished after it)` : ''
      throw new InterruptedError(`${(error as Error).message}; ${done}, and the checkpoint after epoch ${checkpointEpoch} is kept in ${runDir}${redo}. Continue with: mixture run --resume ${runDir}`, error.signal)
    }
    throw error
  }
  progress.stop()
  clearInterval(heartbeat)
  const final = summary('completed')
  writeSummary(final)
  dispose(session)
  lock.release()
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
