/**
 * Training a prepared run from its next epoch to its last: each epoch trained and evaluated
 * (epoch.ts: the validation split where `data.val_split` holds one out, and the test split), its
 * metrics.csv row appended, checkpoints written (last.ckpt every `train.checkpoint_every` epochs
 * and after the last; best.ckpt when the validation accuracy improves, or without a validation
 * split the test accuracy), summary.json rewritten with a heartbeat, until the last epoch or early
 * stopping; then `finish`, however the run ends: the final summary, the session disposed, the
 * folder's lock released and the run's last line kept in run.log.
 */
import {join} from 'node:path'
import {InterruptedError, NonFiniteLossError, type StopRequest} from '../errors.js'
import {FileWriteError} from '../fs/write-error.js'
import {epochMixer} from '../data/batch-mix.js'
import {scheduleState} from '../recipe/schedule.js'
import {saveCheckpoint} from './checkpoint.js'
import {evaluate, prepareEpoch, trainOneEpoch} from './epoch.js'
import {writeRoutes} from './kernel-routes.js'
import type {Lock} from './lock.js'
import {earlyStop} from './early-stopping.js'
import {bestRestarts} from './env.js'
import {runFingerprints} from './fingerprints.js'
import {appendMetricsRow} from './metrics-file.js'
import {currentOwner, HEARTBEAT_MS} from './owner.js'
import {createProgress, type EpochLine, type Progress} from './progress.js'
import {averageSpanWarning} from '../config/idle-settings.js'
import {startAnew} from './resume.js'
import {BEST_CKPT, LAST_CKPT, runConfigHash} from './folders.js'
import {disposeSession, type Session} from './session.js'
import type {RunLog} from './run-log.js'
import {bestOf, finalLine, SELECTION_METRIC, summarize, writeSummary, type RunSummary, type Selection, type SummaryBase} from './summary.js'

export interface FitState {
  runDir: string
  lock: Lock
  /** Epochs already done (a resumed run's rows up to its checkpoint). */
  history: EpochLine[]
  startEpoch: number
  /** The epoch last.ckpt is after (0: none yet). */
  checkpointEpoch: number
  /** When the run first started (a resumed run's, from its summary.json); else now. */
  started?: string
  /** Draw cli-progress bars (else one line per epoch). */
  bars?: boolean
  stop?: StopRequest
  /** Says a line on the console and keeps it in run.log. */
  log: (m: string) => void
  /** The run's run.log: it also keeps the bars' epoch lines and the line the run ends with. */
  runLog?: RunLog
}

/** Train from `state.startEpoch` to the last epoch; the session is disposed and the lock released however it ends. */
export async function fit(session: Session, state: FitState): Promise<RunSummary> {
  const {spec, backend, built, dataset} = session
  const {runDir, history, log} = state
  log(`run folder: ${runDir}`)
  if (state.startEpoch > spec.train.epochs) log(`all ${spec.train.epochs} epochs are done already; nothing to train`)
  const images = `${dataset.train.count} train${dataset.val ? ` / ${dataset.val.count} validation` : ''} / ${dataset.test.count} test images`
  log(`${spec.name}: ${built.params.toLocaleString('en-US')} trainable parameters, ${images}, ${spec.train.epochs} epoch${spec.train.epochs === 1 ? '' : 's'} of batch ${spec.train.batch_size}`)
  const span = state.startEpoch === 1 ? averageSpanWarning(spec, session.schedule.stepsPerEpoch * spec.train.epochs) : undefined
  if (span) log(`warning: ${span}`)
  // The best epoch (best.ckpt, the table's accuracy) is chosen on the validation split where there is one.
  const selection: Selection = dataset.val ? 'best_val' : 'best_test'
  const selectOn = SELECTION_METRIC[selection]
  const owner = currentOwner()
  // Early stopping (train.early_stopping) decides from the rows alone: a resumed run sees its decision again.
  let stoppedEarly = earlyStop(spec.train.early_stopping, history)
  if (stoppedEarly) log(`stopped early after epoch ${history.length}: ${stoppedEarly}; nothing to train`)
  const restarts = bestRestarts(runDir)
  const base: SummaryBase = {name: spec.name, label: spec.label ?? null, dataset: spec.data.dataset, epochs: spec.train.epochs, accuracy: spec.train.accuracy, selection, params: built.params, backend: backend.name, seed: spec.seed, run_dir: runDir, started: state.started ?? new Date().toISOString(), images: {train: dataset.train.count, ...(dataset.val ? {val: dataset.val.count} : {}), test: dataset.test.count}, ...(restarts.length > 0 ? {restarted_from_best: restarts} : {}), classes: dataset.classNames, fingerprints: runFingerprints(dataset, spec.plugins ?? []), pid: owner.pid, host: owner.host, ...(spec.engine.precision !== 'fp32' ? {precision: spec.engine.precision} : {}), config_sha256: runConfigHash(runDir)}
  const running = () => writeSummary(runDir, summarize(base, history, 'running', {stoppedEarly}))
  // While training, a summary.json that cannot be written (a disk full for a moment) is said once and
  // skipped: metrics.csv and the checkpoints carry the run, and the final summary is written at the end.
  let summaryFailed = false
  const stillRunning = () => {
    try {
      running()
      summaryFailed = false
    } catch (error) {
      if (!(error instanceof FileWriteError)) throw error
      if (!summaryFailed) log(`${error.message}; training goes on, and summary.json is written again at the next epoch`)
      summaryFailed = true
    }
  }
  const progress = createProgress({bars: Boolean(state.bars), write: log, keep: (line) => state.runLog?.keep(line)})
  // The heartbeat: readers on other hosts tell a live run from a dead one by it (owner.ts).
  let heartbeat: NodeJS.Timeout | undefined
  let checkpointEpoch = state.checkpointEpoch
  // A second signal exits at once, between steps: the status says interrupted, not running (a crash).
  if (state.stop) state.stop.beforeQuit = () => writeSummary(runDir, summarize(base, history, 'interrupted', {error: 'quit at once by a second signal; resuming repeats the epochs after the last checkpoint', stoppedEarly}))
  try {
    running()
    heartbeat = setInterval(stillRunning, HEARTBEAT_MS)
    heartbeat.unref()
    for (let epoch = state.startEpoch; epoch <= spec.train.epochs && !stoppedEarly; epoch++) {
      if (state.stop?.requested) throw new InterruptedError(`interrupted before epoch ${epoch}`, state.stop.signal)
      const {line, tuning} = await trainAndEvaluate(session, state, epoch, progress)
      const improved = history.every((l) => line[selectOn] > l[selectOn])
      history.push(line)
      stoppedEarly = earlyStop(spec.train.early_stopping, history)
      appendMetricsRow(runDir, line)
      progress.endEpoch(line)
      const scaler = session.trainer.optimizerState().lossScaler
      if (scaler) log(`loss scale after epoch ${epoch}: ${scaler.scale}; ${scaler.skipped_steps} step(s) skipped so far for gradients that overflowed float16`)
      if (epoch === state.startEpoch) {
        // What kernel tuning chose, and where the backend replays recorded steps (webgpu), whether it did and why not.
        if (tuning) log(`kernel tuning: ${tuning}`)
        const replay = session.trainer.describeStepGraphs()
        if (replay.length > 0) log(`step replay: ${replay.join('; ')}`)
      }
      const meta = {
        epoch,
        step: session.trainer.step,
        best_test_accuracy: bestOf(history, 'test_accuracy')!,
        best_train_accuracy: bestOf(history, 'train_accuracy')!,
        ...(dataset.val ? {best_val_accuracy: bestOf(history, 'val_accuracy')!} : {}),
        train_seconds: history.reduce((s, l) => s + l.train_seconds, 0),
        eval_seconds: history.reduce((s, l) => s + l.eval_seconds, 0),
        schedule: scheduleState(session.schedule, epoch * session.schedule.stepsPerEpoch),
      }
      // best.ckpt before last.ckpt: a process killed between the two resumes from the previous last.ckpt
      // and trains this epoch again, rewriting best.ckpt as it improves again. (The other way round,
      // last.ckpt would be past this epoch while best.ckpt stayed an earlier one for good.)
      if (improved) await saveCheckpoint(join(runDir, BEST_CKPT), 'best', built.model, session.trainer, meta)
      if (epoch % spec.train.checkpoint_every === 0 || epoch === spec.train.epochs || stoppedEarly) {
        await saveCheckpoint(join(runDir, LAST_CKPT), 'last', built.model, session.trainer, meta)
        checkpointEpoch = epoch
      }
      stillRunning()
      if (state.stop?.requested) throw new InterruptedError(`interrupted after epoch ${epoch}`, state.stop.signal)
      if (stoppedEarly) log(`stopping early after epoch ${epoch} of ${spec.train.epochs}: ${stoppedEarly}`)
    }
  } catch (error) {
    throw finish(session, state, {progress, heartbeat, base, checkpointEpoch, stoppedEarly}, error as Error)
  }
  const ending = finish(session, state, {progress, heartbeat, base, checkpointEpoch, stoppedEarly})
  if (ending instanceof Error) throw ending
  return ending
}

/** Epoch `epoch`: its training steps (kernel tuning before the run's first), then the evaluation; its metrics.csv row, and what tuning chose. */
async function trainAndEvaluate(session: Session, state: FitState, epoch: number, progress: Progress): Promise<{line: EpochLine; tuning?: string}> {
  const {spec, trainer, dataset, tuner} = session
  // The epoch's batches, at most train.steps_per_epoch; with train.accumulate_grad_batches k, every k (and the last few) make one optimizer step, which the schedule counts.
  const batches = session.batchesPerEpoch
  const stepsPerEpoch = session.schedule.stepsPerEpoch
  let tuning: string | undefined
  // Before the run's first step: time the backend's kernel routes on its shapes (webgpu), and record the routes taken.
  const beforeFirstStep =
    epoch === state.startEpoch
      ? async (x: Parameters<typeof trainer.tuneKernels>[0], y: Parameters<typeof trainer.tuneKernels>[1]) => {
          tuning = await trainer.tuneKernels(x, y)
          if (tuner) writeRoutes(state.runDir, tuner)
        }
      : undefined
  progress.startEpoch(epoch, spec.train.epochs, batches)
  // Optimizer steps count from 0 across the run; the schedule gives each its learning rate (and momentum, where it cycles it), and each batch its step's.
  const {schedule} = session
  const runStep = (batch: number) => (epoch - 1) * stepsPerEpoch + Math.floor(batch / trainer.accumulate)
  const lrAt = (batch: number) => schedule.lrAt(runStep(batch))
  const momentumAt = schedule.momentumAt && ((batch: number) => schedule.momentumAt!(runStep(batch)))
  // train.mixup: the epoch's batches mixed in the training thread, in order, from the seed and the epoch.
  const mixer = epochMixer(spec.train.mixup, {seed: spec.seed, epoch, numClasses: session.built.numClasses, smoothing: spec.train.label_smoothing})
  const train = await trainOneEpoch(spec, trainer, dataset.train, {epoch, lrAt, momentumAt, steps: batches, augment: session.augment, mixer, progress, bars: Boolean(state.bars), stop: state.stop, beforeFirstStep, workers: session.batchWorkers})
  // The next epoch's first batches are made while this one is evaluated (by the data workers, if any).
  if (epoch < spec.train.epochs) prepareEpoch(spec, dataset.train, {epoch: epoch + 1, steps: batches, augment: session.augment}, session.batchWorkers)
  const e0 = performance.now()
  // train.ema: the splits are scored on the weights' moving average, swapped in for the evaluation.
  trainer.average?.swap()
  let val: {loss: number; accuracy: number}
  let test: {loss: number; accuracy: number}
  try {
    val = dataset.val ? await evaluate(spec, trainer, dataset.val, 'validation', session.batchWorkers) : {loss: NaN, accuracy: NaN}
    test = await evaluate(spec, trainer, dataset.test, 'test', session.batchWorkers)
  } finally {
    trainer.average?.swap()
  }
  // ...and the test split on the trained weights too, as timm evaluates both: whether the average helps, epoch by epoch.
  const raw = trainer.average ? await evaluate(spec, trainer, dataset.test, 'test', session.batchWorkers) : {loss: NaN, accuracy: NaN}
  const evalSeconds = (performance.now() - e0) / 1000
  if (!Number.isFinite(test.loss)) throw new NonFiniteLossError(`test loss became ${test.loss} after epoch ${epoch}; the weights diverged. Lower train.optimizer.lr (now ${spec.train.optimizer.lr})`)
  const line: EpochLine = {
    epoch,
    epochs: spec.train.epochs,
    train_loss: train.loss,
    train_accuracy: train.accuracy,
    test_loss: test.loss,
    test_accuracy: test.accuracy,
    train_seconds: train.seconds,
    eval_seconds: evalSeconds,
    data_seconds: train.dataSeconds,
    images_per_second: train.images / train.seconds,
    lr: lrAt(0),
    val_loss: val.loss,
    val_accuracy: val.accuracy,
    raw_test_loss: raw.loss,
    raw_test_accuracy: raw.accuracy,
  }
  return {line, tuning}
}

interface Ending {
  progress: Progress
  heartbeat: NodeJS.Timeout | undefined
  base: SummaryBase
  checkpointEpoch: number
  /** Why early stopping ended the run, if it did. */
  stoppedEarly: string | undefined
}

/**
 * The end of a run, however it came: bars and heartbeat stopped, summary.json final (completed,
 * interrupted or failed), the session disposed, the lock released, the last line kept in run.log.
 * Returns the summary; for an error, the error to throw, an interruption's message saying what is
 * resumable and how (also for a run that completed but whose summary.json could not be written).
 */
function finish(session: Session, state: FitState, end: Ending): RunSummary | Error
function finish(session: Session, state: FitState, end: Ending, error: Error): Error
function finish(session: Session, state: FitState, end: Ending, error?: Error): RunSummary | Error {
  const {spec} = session
  const {runDir, history} = state
  end.progress.stop()
  clearInterval(end.heartbeat)
  if (state.stop) state.stop.beforeQuit = undefined
  const stopped = error instanceof InterruptedError
  const summary = summarize(end.base, history, !error ? 'completed' : stopped ? 'interrupted' : 'failed', {error: error?.message, stoppedEarly: end.stoppedEarly})
  // The final summary may fail to be written too (the disk that failed the run is full): the run's own error is kept, and said with it.
  let unwritten: Error | undefined
  try {
    writeSummary(runDir, summary)
  } catch (writeError) {
    unwritten = writeError as Error
  }
  disposeSession(session)
  state.lock.release()
  let ending = !error ? summary : stopped ? interruption(spec, state, end.checkpointEpoch, error) : error instanceof NonFiniteLossError ? divergence(state, end.checkpointEpoch, error) : error instanceof FileWriteError ? unwritable(state, end.checkpointEpoch, error) : error
  if (unwritten) ending = unwrittenSummary(state, end.checkpointEpoch, ending, unwritten)
  // The line the run ends with: the command prints it (stdout, or stderr for an error); run.log keeps it.
  state.runLog?.keep(ending instanceof Error ? `${summary.status}: ${ending.message}` : finalLine(summary))
  return ending
}

/** A diverged run's error, saying which checkpoint (if any) it kept. */
function divergence(state: FitState, checkpointEpoch: number, error: NonFiniteLossError): NonFiniteLossError {
  const kept = checkpointEpoch === 0 ? 'No checkpoint was written before it.' : `The checkpoint after epoch ${checkpointEpoch} is kept in ${state.runDir}.`
  return new NonFiniteLossError(`${error.message}. ${kept}`)
}

/** A run stopped by a file it could not write (a full disk): what is kept, and how to go on once it can be written. */
function unwritable(state: FitState, checkpointEpoch: number, error: FileWriteError): FileWriteError {
  const kept = checkpointEpoch === 0 ? `no checkpoint was written yet; start again with: ${startAnew(state.runDir)}` : `the checkpoint after epoch ${checkpointEpoch} is kept: once the file can be written, continue with: mixture run --resume ${state.runDir}`
  return error.explained(`${error.message}. The run stopped at epoch ${state.history.length}; ${kept}`)
}

/**
 * The ending when summary.json itself could not be written: the run's own error (or, for a run that
 * completed, that it did) with this added; readers then take the folder for a crashed run.
 */
function unwrittenSummary(state: FitState, checkpointEpoch: number, ending: RunSummary | Error, unwritten: Error): Error {
  if (ending instanceof Error) {
    ending.message += ` (${unwritten.message}, so the folder still says "running")`
    return ending
  }
  return new FileWriteError(join(state.runDir, 'summary.json'), unwritten.cause ?? unwritten, `all ${state.history.length} epoch(s) trained and the checkpoint after epoch ${checkpointEpoch} is kept, but ${unwritten.message}; once it can be written, mixture run --resume ${state.runDir} writes it (nothing is trained again)`)
}

/** An interruption's error, saying what is resumable and how. */
function interruption(spec: Session['spec'], state: FitState, checkpointEpoch: number, error: InterruptedError): InterruptedError {
  const {runDir, history} = state
  const done = `${history.length} epoch(s) are done`
  if (checkpointEpoch === 0) {
    return new InterruptedError(`${error.message}; ${done} and nothing is resumable yet: the first checkpoint is written after epoch ${Math.min(spec.train.checkpoint_every, spec.train.epochs)}. Start again with: ${startAnew(runDir)}`, error.signal)
  }
  const redo = history.length > checkpointEpoch ? ` (resuming repeats epoch(s) ${checkpointEpoch + 1}–${history.length}, which finished after it)` : ''
  return new InterruptedError(`${error.message}; ${done}, and the checkpoint after epoch ${checkpointEpoch} is kept in ${runDir}${redo}. Continue with: mixture run --resume ${runDir}`, error.signal)
}
