/**
 * The end of a sweep: the paper-shaped table (table.md, table.csv, the curves) written into the
 * sweep folder, and, for a sweep whose points ran elsewhere (a Slurm array), each point's outcome
 * recorded in index.json first (`mixture sweep finish`, the job that runs once the array has ended),
 * so that the table marks the points that failed, with why.
 */
import {join, resolve} from 'node:path'
import {FileWriteError} from '../fs/write-error.js'
import {makeTable} from '../report/index.js'
import {acquireLockWaiting} from '../run/lock.js'
import {requireIndex, SWEEP_LOCK, SWEEP_LOCK_WAIT_MS, writeIndex, type PointStatus, type SweepIndex} from './records.js'
import {sweepStatus, type PointReport, type PointState, type SweepStatusReport} from './status.js'

/**
 * Write the table into the sweep folder; returns its Markdown, or undefined (said in the log) when
 * there is none to make. A table that cannot be written (a full disk) fails the command, saying how
 * to write it once it can be: the points are done and recorded.
 */
export async function writeSweepTable(dir: string, title: string | undefined, log: (m: string) => void): Promise<string | undefined> {
  try {
    const t = await makeTable({paths: [dir], out: dir, format: 'both', title, warn: (m) => log(`table: ${m}`)})
    return t.markdown
  } catch (error) {
    if (error instanceof FileWriteError) throw error.explained(`the sweep's points are done and recorded in index.json, but its table was not written: ${error.message}; once it can be, write it with: mixture sweep finish ${dir}`)
    log(`table: not written (${(error as Error).message})`)
    return undefined
  }
}

/** How a point's state is kept in index.json (states that are not outcomes leave the record as it is). */
const RECORDED: Partial<Record<PointState, PointStatus>> = {completed: 'completed', failed: 'failed', crashed: 'crashed', interrupted: 'interrupted', cancelled: 'cancelled'}

export interface FinishResult {
  name: string
  dir: string
  points: PointReport[]
  table?: string
}

/**
 * Record every point's outcome in index.json (under the sweep's lock, held for that moment only),
 * then write the table: its files are each written whole (write, then rename), so a table written
 * beside another process's is never half of either, and the lock is not held while it renders.
 */
export async function finishSweep(folder: string, log: (m: string) => void): Promise<FinishResult> {
  const dir = resolve(folder)
  const lock = await acquireLockWaiting(join(dir, SWEEP_LOCK), `sweep ${requireIndex(dir).name}`, {brief: true, noForceFlag: true, log, waitMs: SWEEP_LOCK_WAIT_MS})
  let index: SweepIndex
  let report: SweepStatusReport
  try {
    // Read again under the lock: what was written before it was taken is kept.
    index = requireIndex(dir)
    report = sweepStatus(dir)
    for (const point of report.points) {
      const record = index.points.find((p) => p.index === point.index)
      const status = RECORDED[point.state]
      if (!record || !status) continue
      if (!(status === 'completed' && record.status === 'skipped')) record.status = status
      if (point.best_test_accuracy !== undefined) record.best_test_accuracy = point.best_test_accuracy
      if (point.reason) record.error = point.reason
      else delete record.error
    }
    writeIndex(dir, index)
  } finally {
    lock.release()
  }
  const pending = report.points.filter((p) => p.state === 'pending' || p.state === 'running')
  if (pending.length > 0) log(`${pending.length} point(s) are still queued or running (${pending.map((p) => p.key).join(', ')}); the table marks them`)
  const table = await writeSweepTable(dir, index.title, log)
  return {name: index.name, dir, points: report.points, table}
}
