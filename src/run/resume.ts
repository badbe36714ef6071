/**
 * Everything `--resume` checks before it writes anything: that the folder is a run folder, that the
 * checkpoint it continues from is sound (or, when `last.ckpt` is damaged, which choice there is),
 * that `metrics.csv` is whole and agrees with the checkpoint, and which numerics the run recorded.
 * The plan it returns is carried out by resumeExperiment (resume-experiment.ts); a damaged folder is reported here, untouched.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {UsageError} from '../errors.js'
import {CheckpointError, readCheckpoint, verifyCheckpoint, type CheckpointInfo, type LoadedCheckpoint} from './checkpoint.js'
import {readMetricsFile, type MetricsRow} from './metrics-file.js'
import {readNumerics, type NumericsRecord} from './numerics.js'
import {BEST_CKPT, LAST_CKPT, runFolder} from './folders.js'

export interface ResumePlan {
  runDir: string
  /** The run's resolved spec. */
  configFile: string
  /** The checkpoint training continues from. */
  checkpoint: LoadedCheckpoint
  /** Continuing from best.ckpt (--from-best): weights only, the optimizer starts afresh. */
  fromBest: boolean
  /** With fromBest: whether last.ckpt exists, and whether it is damaged (it is set aside either way). */
  lastCkpt?: 'damaged' | 'sound'
  /** metrics.csv rows up to the checkpoint's epoch (kept), with their text. */
  history: MetricsRow[]
  keptLines: string[]
  /** Rows past the checkpoint's epoch (and a row cut short), to set aside. */
  setAside: string[]
  /** metrics.csv was written before its lr column: its rows (in `keptLines`) are to be written back in the current layout. */
  metricsConverted?: boolean
  /** The numerics the run recorded; undefined for folders older than that record. */
  numerics?: NumericsRecord
  /** For those older folders: the backend env.json names (their switches were not recorded). */
  envBackend?: string
}

/** How to start the run anew, for messages. */
export function startAnew(runDir: string): string {
  return `mixture run ${join(runDir, 'config.yaml')}`
}

/** What best.ckpt offers when last.ckpt cannot be used, as one sentence. */
function bestOffer(runDir: string, best: CheckpointInfo | CheckpointError | undefined): string {
  if (best instanceof CheckpointError) return `${best.message}; nothing else to continue from. Nothing was changed. Start anew with: ${startAnew(runDir)}`
  if (!best) return `There is no best.ckpt to continue from either. Nothing was changed. Start anew with: ${startAnew(runDir)}`
  const k = best.meta.epoch
  return (
    `best.ckpt (after epoch ${k}) is sound. Nothing was changed. Choose one:\n` +
    `  mixture run --resume ${runDir} --from-best: restart from best.ckpt after epoch ${k}. It holds the weights but not the optimizer's state, so the optimizer starts afresh (zero moments or momentum, step 0) and the epochs after ${k} will not match an uninterrupted run; the metrics rows after epoch ${k} and last.ckpt (if any) are set aside in the folder, not deleted.\n` +
    `  ${startAnew(runDir)}: start the run anew in a new folder.`
  )
}

function bestState(file: string): CheckpointInfo | CheckpointError | undefined {
  if (!existsSync(file)) return undefined
  try {
    return verifyCheckpoint(file)
  } catch (error) {
    if (error instanceof CheckpointError) return error
    throw error
  }
}

/** Check a run folder for `--resume`; throws a UsageError (exit 2) saying what is wrong. Writes nothing. */
export function planResume(runDir: string, opts: {fromBest?: boolean} = {}): ResumePlan {
  const {configFile} = runFolder(runDir, 'cannot resume')
  const lastFile = join(runDir, LAST_CKPT)
  const bestFile = join(runDir, BEST_CKPT)
  let checkpoint: LoadedCheckpoint
  let lastCkpt: ResumePlan['lastCkpt']
  if (opts.fromBest) {
    const best = bestState(bestFile)
    if (best instanceof CheckpointError) throw new CheckpointError(best.file, best.problem, 'is corrupt', `Nothing was changed. Start anew with: ${startAnew(runDir)}`)
    if (!best) throw new UsageError(`cannot restart ${runDir} from best.ckpt: there is none. Start anew with: ${startAnew(runDir)}`)
    checkpoint = readCheckpoint(bestFile)
    if (existsSync(lastFile)) {
      try {
        verifyCheckpoint(lastFile)
        lastCkpt = 'sound'
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error
        lastCkpt = 'damaged'
      }
    }
  } else if (!existsSync(lastFile)) {
    const best = bestState(bestFile)
    if (best && !(best instanceof CheckpointError)) throw new UsageError(`cannot resume ${runDir}: there is no last.ckpt. ${bestOffer(runDir, best)}`)
    throw new UsageError(`cannot resume ${runDir}: nothing is resumable yet (no checkpoint: the run stopped before its first one was written). Start it again with: ${startAnew(runDir)}`)
  } else {
    try {
      checkpoint = readCheckpoint(lastFile)
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error
      throw new CheckpointError(error.file, error.problem, 'is corrupt', bestOffer(runDir, bestState(bestFile)))
    }
  }
  const epoch = checkpoint.meta.epoch
  const {rows, lines, partial, converted, missing} = readMetricsFile(runDir)
  if (missing && epoch > 0) throw new UsageError(`${join(runDir, 'metrics.csv')} is missing, but ${checkpoint.file} is after epoch ${epoch}: the run's history is gone; restore metrics.csv, or start anew with: ${startAnew(runDir)}`)
  if (rows.length < epoch) {
    throw new UsageError(`${join(runDir, 'metrics.csv')} is corrupt: it has ${rows.length} epoch rows, but ${checkpoint.file} is after epoch ${epoch}; restore metrics.csv, or start anew with: ${startAnew(runDir)}`)
  }
  return {
    runDir,
    configFile,
    checkpoint,
    fromBest: Boolean(opts.fromBest),
    ...(lastCkpt ? {lastCkpt} : {}),
    history: rows.slice(0, epoch),
    keptLines: lines.slice(0, epoch),
    setAside: [...lines.slice(epoch), ...(partial ? [partial] : [])],
    ...(converted ? {metricsConverted: true} : {}),
    ...recordedNumerics(runDir),
  }
}

/** numerics.json, or for run folders older than it the backend env.json names. */
function recordedNumerics(runDir: string): {numerics?: NumericsRecord; envBackend?: string} {
  const numerics = readNumerics(runDir)
  if (numerics) return {numerics}
  try {
    const name = (JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')) as {backend?: {name?: unknown}}).backend?.name
    return typeof name === 'string' ? {envBackend: name} : {}
  } catch {
    return {}
  }
}
