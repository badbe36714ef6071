/**
 * A sweep folder's records: `index.json` (the points in order, each with its run folder, config
 * hash and status; for Slurm, every submission's job ids), and what a launcher keeps in a point's
 * folder beside the run: the job's log (`slurm.log`, `task.log`) and `attempts.jsonl`, one line per
 * time a process trained the point, written when it ended (its exit code, node, job), so that a
 * cluster without accounting still says how each task ended.
 *
 * index.json is written only by a process holding the folder's `index.lock` (a local sweep for its
 * whole run; a Slurm submission, cancel and the table job for a moment); array tasks write only in
 * their point's folder.
 */
import {appendFileSync, existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {DEBUG_HINT, UsageError} from '../errors.js'
import type {Launcher} from '../schema/launcher.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {INDEX_FILE} from '../run/folders.js'

export const SWEEP_LOCK = 'index.lock'
/** How long a sweep command waits for a process that holds index.lock for a moment (the table job, a submission, a cancel). */
export const SWEEP_LOCK_WAIT_MS = 30_000

export type PointStatus = 'pending' | 'running' | 'completed' | 'failed' | 'interrupted' | 'skipped' | 'submitted' | 'crashed' | 'cancelled'

export interface SweepPointRecord {
  index: number
  key: string
  label: string | null
  spec: string
  overrides: string[]
  grid: Record<string, unknown>
  config_hash: string
  status: PointStatus
  run_dir: string
  best_test_accuracy?: number | null
  error?: string
  /** Slurm: the array task that trains this point, `<array job id>_<point index>`. */
  job?: string
}

/** One `sbatch` of a sweep: the job array of the points it submitted and the job that writes the table after it. */
export interface SlurmSubmission {
  array_job: string
  table_job: string
  points: number[]
  submitted: string
  /** The job script, relative to the sweep folder. */
  script: string
}

export interface SweepIndex {
  name: string
  title?: string
  source: string
  created: string
  updated: string
  /** Where the points run; absent in folders of sweeps run before launchers existed (local). */
  launcher?: Launcher
  /** Slurm: every submission, oldest first. */
  submissions?: SlurmSubmission[]
  /** When `mixture sweep cancel` last cancelled the sweep's jobs. */
  cancelled?: string
  points: SweepPointRecord[]
}

/**
 * A sweep folder's index.json; undefined where there is none. A damaged one is a UsageError: the
 * points it records (and, on Slurm, the jobs) would otherwise be taken for none, and a rerun would
 * set every finished point aside and train it again.
 */
export function readIndex(dir: string): SweepIndex | undefined {
  const file = join(dir, INDEX_FILE)
  if (!existsSync(file)) return undefined
  let index: SweepIndex | undefined
  let why = 'it has no list of points'
  try {
    index = JSON.parse(readFileSync(file, 'utf8')) as SweepIndex
  } catch (error) {
    why = (error as Error).message.split('\n')[0]
  }
  if (index && typeof index === 'object' && Array.isArray(index.points)) return index
  throw new UsageError(
    `${file} cannot be read as a sweep index (${why}); nothing was changed. Restore it, or move it aside (mv ${file} ${file}.damaged) ` +
      'and run the sweep again: a point whose folder holds a run of the same configuration is then recognised by its config.yaml (completed ones are skipped, interrupted ones resumed). ' +
      'On Slurm, first make sure none of its jobs is still queued or running (squeue)',
  )
}

/** The index of a sweep folder a command was pointed at; a usage error saying what is wrong otherwise. */
export function requireIndex(dir: string): SweepIndex {
  const file = join(dir, INDEX_FILE)
  if (!existsSync(dir)) throw new UsageError(`${dir} does not exist; give a sweep folder (results/<sweep name>, the one holding index.json)`)
  if (!existsSync(file)) throw new UsageError(`${dir} is not a sweep folder: it has no ${INDEX_FILE} (give results/<sweep name>, written by mixture sweep)`)
  return readIndex(dir)!
}

export function writeIndex(dir: string, index: SweepIndex): void {
  writeFileAtomic(join(dir, INDEX_FILE), `${JSON.stringify({...index, updated: new Date().toISOString()}, null, 2)}\n`)
}

/** What a launcher keeps in a point's folder beside the run; a new run may start in a folder holding only these. */
export const LAUNCHER_FILES = ['slurm.log', 'task.log', 'attempts.jsonl'] as const
export const ATTEMPTS_FILE = 'attempts.jsonl'

/** How one process that trained a point ended. */
export interface Attempt {
  launcher: 'local' | 'slurm'
  /** Slurm: `<array job id>_<task id>`. */
  job?: string
  node: string
  /** Slurm: how often the task was requeued before this attempt. */
  restart?: number
  ended: string
  exit_code: number | null
  signal?: string | null
  /** Slurm: the task asked to be requeued (its time limit was near). */
  requeued?: boolean
}

export function appendAttempt(runDir: string, attempt: Attempt): void {
  appendFileSync(join(runDir, ATTEMPTS_FILE), `${JSON.stringify(attempt)}\n`)
}

/** The attempts recorded in a point's folder, oldest first (lines that cannot be read are skipped). */
export function readAttempts(runDir: string): Attempt[] {
  let text: string
  try {
    text = readFileSync(join(runDir, ATTEMPTS_FILE), 'utf8')
  } catch {
    return []
  }
  const out: Attempt[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      out.push(JSON.parse(line) as Attempt)
    } catch {
      // a line cut short by a killed writer
    }
  }
  return out
}

/** The last `lines` non-empty lines of a point's log (the Slurm job's, or a local job's), for failure reasons. */
export function logTail(runDir: string, lines = 5): string[] {
  for (const name of ['slurm.log', 'task.log']) {
    let text: string
    try {
      text = readFileSync(join(runDir, name), 'utf8')
    } catch {
      continue
    }
    return text.split('\n').map((l) => l.trimEnd()).filter((l) => l && l !== DEBUG_HINT).slice(-lines)
  }
  return []
}
