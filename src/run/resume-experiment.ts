/**
 * `mixture run --resume`: lock the folder, check everything (planResume: checkpoint, metrics.csv,
 * numerics; then the spec, backend and data), and only then write — stale temp files removed, rows
 * past the checkpoint set aside, the numerics and env records updated, run.log continued under a line
 * naming the resume — and fit the epochs left.
 */
import {existsSync, renameSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {resolveSpec} from '../config/resolve.js'
import {UsageError, type StopRequest} from '../errors.js'
import {BackendUnavailableError} from '../engine/backend.js'
import {createSchedule, scheduleMismatch, type Schedule} from '../recipe/schedule.js'
import {MAX_EPOCHS, type ResolvedSpec} from '../schema/spec.js'
import {earlyStop} from './early-stopping.js'
import {restoreCheckpoint, saveCheckpoint} from './checkpoint.js'
import {optimizerTitle} from '../recipe/optimizer.js'
import {recordedDataFolder, recordResume} from './env.js'
import {changedSplits, runFingerprints} from './fingerprints.js'
import {fit} from './fit.js'
import {BEST_CKPT, INDEX_FILE, LAST_CKPT, removeStaleTemps, RUN_LOCK, runConfigHash, runFolder, stamp, writeRunConfig} from './folders.js'
import {pinRoutes, ROUTES_FILE} from './kernel-routes.js'
import {acquireLock} from './lock.js'
import {setAsideRows, writeMetricsFile} from './metrics-file.js'
import {adoptRecorded, checkResumeNumerics, currentNumerics, recordResumedNumerics, resumeBackend} from './numerics.js'
import {planResume, startAnew, type ResumePlan} from './resume.js'
import {resumeHeading, RunLog} from './run-log.js'
import {disposeSession, prepareSession, type Session} from './session.js'
import {firstStarted, readRunSummary, type RunSummary} from './summary.js'
import {classDifference, classList} from '../data/load.js'
import {DataError} from '../data/errors.js'
import {isFolder} from '../fs/is-folder.js'

export interface ResumeOptions {
  /** Restart from best.ckpt (weights only; the optimizer starts afresh). */
  fromBest?: boolean
  /** Continue although the numerics differ, or another host's lock is held. */
  force?: boolean
  backend?: string
  dataDir?: string
  bars?: boolean
  stop?: StopRequest
  /** The WebGPU adapter a launcher gives the resumed run (a requeued task's, a local job slot's). */
  device?: string
  /** Train to this many epochs in all (more than the run has done): config.yaml's train.epochs is raised to it. */
  epochs?: number
}

export async function resumeExperiment(runDir: string, opts: ResumeOptions, say: (m: string) => void): Promise<RunSummary> {
  runFolder(runDir, 'cannot resume') // before the lock, which would otherwise be made in a folder that is not a run's
  // Appended to the run's run.log once every check has passed (a refused resume writes nothing).
  const runLog = new RunLog(say)
  const log = runLog.log
  const lock = acquireLock(join(runDir, RUN_LOCK), `run ${runDir}`, {force: opts.force, log})
  // Recorded switches set for this process; they stay set until the run ends.
  const adopted: string[] = []
  let session: Session | undefined
  let handedOver = false
  try {
    const plan = planResume(runDir, {fromBest: opts.fromBest})
    const configEdited = editedConfig(plan, Boolean(opts.force), log)
    let configuredEpochs: number
    ;({session, configuredEpochs} = await resumeSession(plan, opts, log, adopted))
    await carryOut(plan, session, {force: Boolean(opts.force), configuredEpochs, configEdited}, log)
    const epoch = plan.checkpoint.meta.epoch
    runLog.open(runDir, resumeHeading(epoch, plan.fromBest))
    handedOver = true
    return await fit(session, {runDir, lock, history: plan.history.map((r) => ({...r, epochs: session!.spec.train.epochs})), startEpoch: epoch + 1, checkpointEpoch: epoch, started: firstStarted(runDir), bars: opts.bars, stop: opts.stop, log, runLog})
  } catch (error) {
    if (!handedOver) {
      if (session) disposeSession(session)
      lock.release()
    }
    throw error
  } finally {
    for (const a of adopted) delete process.env[a.slice(0, a.indexOf('='))]
  }
}

/**
 * The run's own spec (with --epochs, its train.epochs raised), on its recorded backend with its
 * recorded switches and threads (`adopted` lists those set here); and the epochs config.yaml says.
 */
async function resumeSession(plan: ResumePlan, opts: ResumeOptions, log: (m: string) => void, adopted: string[]): Promise<{session: Session; configuredEpochs: number}> {
  const {runDir} = plan
  // --data-dir is where the data are read (the run's own place may be gone): the spec's data checks look there.
  const {spec} = await resolveSpec(plan.configFile, [], {dataDir: opts.dataDir})
  const configuredEpochs = spec.train.epochs
  if (opts.epochs !== undefined) spec.train.epochs = extendedEpochs(plan, spec, opts.epochs)
  const requested = resumeBackend(runDir, plan.numerics?.backend ?? plan.envBackend, opts.backend, Boolean(opts.force))
  if (plan.numerics) {
    adopted.push(...adoptRecorded(plan.numerics))
    if (adopted.length > 0) log(`numerics: as recorded in the run folder, ${adopted.join(' ')}`)
  }
  try {
    const session = await prepareSession(spec, {backend: requested, dataDir: opts.dataDir, bars: opts.bars, device: opts.device}, log)
    try {
      checkResumedClasses(runDir, session, opts.dataDir)
      checkResumedData(runDir, session, Boolean(opts.force), log)
    } catch (error) {
      disposeSession(session)
      throw error
    }
    return {session, configuredEpochs}
  } catch (error) {
    if (requested && error instanceof BackendUnavailableError) {
      throw new UsageError(`${runDir} ran on the ${requested} backend, which is not available here (${error.reasons}). Resume it where ${requested} runs, or add --force --backend <name> to continue on another backend (the change is recorded)`)
    }
    // Data not found where the spec says: where the run read them (a --data-dir it was given, recorded in env.json) is what to give.
    const source = recordedDataFolder(runDir)
    if (error instanceof DataError && opts.dataDir === undefined && source !== undefined && !error.message.includes(source)) {
      const there = isFolder(source) ? `resume it with --data-dir ${source}` : `that folder is not there now: give the one the data are in with --data-dir <folder>`
      throw new DataError(`${error.message} ${runDir} read its data from ${source} (env.json): ${there}.`, {cause: error})
    }
    throw error
  }
}

/**
 * The data a resumed run reads must have the classes it trained on (summary.json's `classes`, the
 * model's outputs in order): a folder given with --data-dir in place of the run's own, say, may hold
 * others, which the checkpoint's head would silently score under the wrong names.
 */
function checkResumedClasses(runDir: string, session: Session, dataDir: string | undefined): void {
  const recorded = readRunSummary(runDir)?.classes
  if (!Array.isArray(recorded) || recorded.length === 0) return
  const how = classDifference(session.dataset.classNames, recorded)
  if (how === undefined) return
  const where = dataDir !== undefined ? `--data-dir ${resolve(dataDir)}` : `its data (${session.dataset.source})`
  throw new UsageError(`${runDir} trained on the classes ${classList(recorded)}, and ${where} holds ${classList(session.dataset.classNames)} (${how}): a resumed run goes on with the classes it has, in their order. Give the folder of the run's own data${dataDir !== undefined ? '' : ' with --data-dir'}, or train a new run on these`)
}

/**
 * Whether config.yaml was edited since the run trained under it (summary.json records its SHA-256):
 * a seed or a learning rate changed by hand would make the resumed epochs another experiment than
 * the rows before them, reported under the new values. Refused, saying what to do instead; --force
 * continues under the edited file (said, and env.json's resume entry records it). Runs older than
 * the record are not checked.
 */
function editedConfig(plan: ResumePlan, force: boolean, log: (m: string) => void): boolean {
  const recorded = readRunSummary(plan.runDir)?.config_sha256
  if (recorded === undefined || recorded === runConfigHash(plan.runDir)) return false
  if (!force) {
    throw new UsageError(
      `${plan.configFile} changed since the run trained under it (summary.json records another SHA-256): the resumed epochs would train another experiment than those before them. ` +
        `Restore the file, or start a new run from it (${startAnew(plan.runDir)}), or add --force to continue under the edited file (env.json records it). ` +
        'To read moved data give --data-dir rather than editing data.root; to train longer, --epochs N',
    )
  }
  log(`note: ${plan.configFile} was edited since the run trained under it; continuing under the edited file (--force; env.json records it)`)
  return true
}

/**
 * The data a resumed run reads must be those it trained on (summary.json's fingerprints of its
 * splits): another copy of the dataset with the same classes and counts — found in another place
 * than the run read it from, say — would make the resumed epochs train and be scored on other
 * images, silently. Refused, naming where the run read its data; --force continues on these (said;
 * env.json's resume entry records where they came from).
 */
function checkResumedData(runDir: string, session: Session, force: boolean, log: (m: string) => void): void {
  const changed = changedSplits(readRunSummary(runDir)?.fingerprints, runFingerprints(session.dataset, []).data)
  if (changed.length === 0) return
  // Where the run read its data, where that folder is there (--data-dir takes it).
  const source = recordedDataFolder(runDir)
  const recorded = source !== undefined && isFolder(source) ? source : undefined
  const what = `the ${changed.join(', ')} split${changed.length > 1 ? 's' : ''} read now (from ${session.dataset.source}) ${changed.length > 1 ? 'hold' : 'holds'} other images or labels than the run trained on`
  if (!force) {
    throw new UsageError(
      `${runDir}: ${what}${recorded ? ` (it read them from ${recorded})` : ''}: the resumed epochs would train and be scored on other data than those before them. ` +
        `Give the run's own data with --data-dir${recorded ? ` ${recorded}` : ' <folder>'}, or add --force to continue on these (env.json records it)`,
    )
  }
  log(`note: ${what}; continuing on them (--force; env.json records where they came from)`)
}

/**
 * `--epochs N`: the run trains to N epochs in all, N past the epochs it has done. A run that is a
 * sweep's point is refused: the sweep knows its points by their configuration, and would take the
 * changed one for another point.
 */
function extendedEpochs(plan: ResumePlan, spec: ResolvedSpec, epochs: number): number {
  const done = plan.checkpoint.meta.epoch
  const configured = spec.train.epochs
  if (!Number.isInteger(epochs) || epochs <= done || epochs > MAX_EPOCHS) {
    const most = epochs > MAX_EPOCHS ? ` and at most ${MAX_EPOCHS.toLocaleString('en-US')} (train.epochs' limit)` : ''
    throw new UsageError(`--epochs ${epochs}: ${plan.runDir} has trained ${done} epoch(s) (of ${configured}); give more epochs than that${most} to train on, or leave --epochs out to finish the ${configured} it was configured for`)
  }
  // Early stopping decides from the rows alone: with more epochs it decides the same, and nothing would train.
  const stopped = plan.fromBest ? undefined : earlyStop(spec.train.early_stopping, plan.history)
  if (stopped) {
    throw new UsageError(`--epochs ${epochs}: early stopping ended ${plan.runDir} after epoch ${done} (${stopped}), and it decides from the run's rows, so it would stop the run again before its next epoch: nothing would train. To train on from its weights, start a new run with train.init_from: ${join(plan.runDir, LAST_CKPT)} (and a larger train.early_stopping.patience, or none)`)
  }
  if (existsSync(join(dirname(plan.runDir), INDEX_FILE))) {
    throw new UsageError(`--epochs: ${plan.runDir} is a point of the sweep in ${dirname(plan.runDir)}, which knows its points by their configuration; rerun the sweep with --set train.epochs=${epochs} instead (its points then train anew to ${epochs} epochs)`)
  }
  return epochs
}

/** The session's schedule as it would be over `epochs` epochs (the same steps per epoch). */
function scheduleOver(session: Session, epochs: number): Schedule {
  const t = session.spec.train
  return createSchedule(t.schedule, t.optimizer.lr, epochs, session.schedule.stepsPerEpoch)
}

/**
 * The checks that need the session (numerics now against the record, the checkpoint against the
 * model), then the writes: stale temps removed, rows past the checkpoint set aside, the records
 * updated, best.ckpt made the resume point with --from-best, the folder's kernel routes pinned.
 */
async function carryOut(plan: ResumePlan, session: Session, {force, configuredEpochs, configEdited}: {force: boolean; configuredEpochs: number; configEdited: boolean}, log: (m: string) => void): Promise<void> {
  const {runDir} = plan
  const now = currentNumerics(session.backend, process.env, session.spec.engine)
  const changes = plan.numerics ? checkResumeNumerics(runDir, plan.numerics, now, force) : []
  restoreCheckpoint(plan.checkpoint, session.built.model, plan.fromBest ? undefined : session.trainer)
  const scheduleMoved = scheduleMismatch(plan.checkpoint.meta.schedule, session.schedule)
  const epochs = session.spec.train.epochs
  // --epochs is to blame only where the run's own epochs would have continued it (else config.yaml changed since).
  if (scheduleMoved && epochs !== configuredEpochs && !scheduleMismatch(plan.checkpoint.meta.schedule, scheduleOver(session, configuredEpochs))) {
    throw new UsageError(`--epochs ${epochs}: ${runDir}'s ${session.schedule.spec.type} schedule spans train.epochs, so training to ${epochs} epochs instead of ${configuredEpochs} moves the learning rate of the steps it has trained (${scheduleMoved}). Only schedules that do not look at the number of epochs (constant, step, multistep) continue; train a new run with --set train.epochs=${epochs} instead`)
  }
  if (scheduleMoved) throw new UsageError(`cannot resume ${runDir} exactly: ${scheduleMoved}. Start a new run from its config.yaml instead`)
  // Everything is checked; from here on the folder is written to.
  const epoch = plan.checkpoint.meta.epoch
  const removed = removeStaleTemps(runDir)
  if (removed.length > 0) log(`removed ${removed.length} temp file(s) a killed process left: ${removed.join(', ')}`)
  const when = stamp()
  if (plan.setAside.length > 0) {
    const name = setAsideRows(runDir, plan.setAside, when)
    writeMetricsFile(runDir, plan.keptLines)
    log(`${plan.setAside.length} metrics row(s) after epoch ${epoch} set aside in ${name}`)
  } else if (plan.metricsConverted) {
    // Written before the lr column: from now on in the current layout.
    writeMetricsFile(runDir, plan.keptLines)
  }
  const changed = recordResumedNumerics(runDir, plan.numerics, now, changes, epoch)
  if (changed) log(`numerics changed with --force after epoch ${epoch}: ${changed.join(', ')} (recorded in numerics.json)`)
  const envNote = recordResume(runDir, session.backend, {after_epoch: epoch, from: plan.fromBest ? BEST_CKPT : LAST_CKPT, ...(epochs !== configuredEpochs ? {epochs: {from: configuredEpochs, to: epochs}} : {}), ...(configEdited ? {config_edited: true} : {})}, session.dataset.source)
  if (envNote) log(`note: ${envNote}`)
  if (epochs !== configuredEpochs) {
    writeRunConfig(runDir, session.spec)
    log(`train.epochs raised from ${configuredEpochs} to ${epochs} (config.yaml updated; env.json records the change)`)
  }
  if (plan.fromBest) {
    if (plan.lastCkpt) {
      const aside = `${LAST_CKPT}.${plan.lastCkpt === 'damaged' ? 'corrupt' : 'set-aside'}-${when}`
      renameSync(join(runDir, LAST_CKPT), join(runDir, aside))
      log(`${LAST_CKPT} kept as ${aside}`)
    }
    // train.ema: best.ckpt holds the average (the weights that were evaluated), not the trained weights; training and a new average start from it.
    const restored = session.trainer.average ? `the weights' moving average restored as the weights (best.ckpt holds the average that was evaluated, not the trained weights), and the average starts again from it` : 'weights and BatchNorm statistics restored'
    log(`restarting from ${BEST_CKPT} after epoch ${epoch}: ${restored}; ${optimizerTitle(session.spec.train.optimizer.type)} starts afresh (best.ckpt holds no optimizer state), so the epochs from ${epoch + 1} on will not match an uninterrupted run`)
    const {saved: _saved, ...meta} = plan.checkpoint.meta
    await saveCheckpoint(join(runDir, LAST_CKPT), 'last', session.built.model, session.trainer, {...meta, step: session.trainer.step})
  } else {
    log(`resuming ${runDir} after epoch ${epoch} (step ${plan.checkpoint.meta.step})`)
  }
  const routesFile = join(runDir, ROUTES_FILE)
  if (session.tuner && !session.routesPinned && existsSync(routesFile)) log(`kernel routes: ${pinRoutes(session.tuner, routesFile)}`)
  else if (session.tuner && !session.routesPinned && session.spec.engine.webgpu.tune) {
    log(`kernel routes: ${routesFile} is missing, so they are timed again before the first step; where they come out otherwise than the run's, the epochs from here sum in another order (restore the file to pin them)`)
  }
}
