/**
 * A sweep's jobs in Slurm's queue: the ids index.json records, how they stand in one line, and the
 * rule that keeps two submissions (or a local run) off one sweep folder: while a job of the sweep
 * is queued or running, any sweep on the folder is refused unless --force.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {UsageError} from '../errors.js'
import {LockedError} from '../run/lock.js'
import {isActive, queryQueue, queryScriptsIn, type QueuedJob} from '../slurm/queue.js'
import type {SweepIndex, SweepPointRecord} from './records.js'

/** The job ids a sweep's index records (every submission's array and table job). */
export function sweepJobIds(index: SweepIndex | undefined): string[] {
  return (index?.submissions ?? []).flatMap((s) => [s.array_job, s.table_job]).filter(Boolean)
}

/** "12 (array: 2 running, 1 pending), 13 (table: pending)". */
export function describeJobs(index: SweepIndex, jobs: QueuedJob[]): string {
  return (index.submissions ?? [])
    .flatMap((s) => {
      const parts: string[] = []
      const tasks = jobs.filter((j) => j.array === s.array_job && isActive(j))
      if (tasks.length > 0) {
        const counts = new Map<string, number>()
        for (const t of tasks) counts.set(t.state.toLowerCase(), (counts.get(t.state.toLowerCase()) ?? 0) + 1)
        parts.push(`${s.array_job} (array: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')})`)
      }
      const table = jobs.find((j) => j.id === s.table_job && isActive(j))
      if (table) parts.push(`${s.table_job} (table: ${table.state.toLowerCase()})`)
      return parts
    })
    .join(', ')
}

/**
 * Refuse to start or submit a sweep while a job its index records is queued or running, unless
 * `force`; returns those jobs (empty when none). Where Slurm's commands are missing (a machine
 * outside the cluster), that is said and nothing is refused.
 */
export function refuseWhileQueued(dir: string, name: string, index: SweepIndex | undefined, force: boolean, log: (m: string) => void): QueuedJob[] {
  const ids = sweepJobIds(index)
  if (!index || ids.length === 0) {
    refuseUnrecordedJobs(dir, name, log)
    return []
  }
  let jobs: QueuedJob[]
  try {
    jobs = queryQueue(ids)
  } catch (error) {
    log(`cannot ask Slurm whether the jobs of sweep ${name} (${ids.join(', ')}) still run: ${(error as Error).message}`)
    return []
  }
  const active = jobs.filter(isActive)
  if (active.length === 0) return []
  const which = describeJobs(index, jobs)
  if (!force) {
    throw new LockedError(
      `sweep ${name} still has jobs in the Slurm queue: ${which}. Wait for them (mixture sweep status ${dir}), cancel them (mixture sweep cancel ${dir}), or add --force to go ahead beside them (points they hold are left to them)`,
    )
  }
  log(`--force: going ahead although jobs of sweep ${name} are in the queue: ${which}; the points they hold are left to them`)
  return active
}

/**
 * A folder that was submitted to Slurm (it has slurm/) but whose index.json records no jobs (moved
 * aside, or rewritten): its jobs are found by their names and scripts. One still queued or running
 * would train whatever point its position names now, so the sweep is refused, even with --force:
 * which point each task holds cannot be told without the record.
 */
function refuseUnrecordedJobs(dir: string, name: string, log: (m: string) => void): void {
  if (!existsSync(join(dir, 'slurm'))) return
  let jobs: QueuedJob[]
  try {
    jobs = queryScriptsIn(join(dir, 'slurm'), [`mixture-${name}`, `mixture-${name}-table`]).filter(isActive)
  } catch (error) {
    log(`cannot ask Slurm whether jobs of sweep ${name} still run: ${(error as Error).message}`)
    return
  }
  if (jobs.length === 0) return
  const ids = [...new Set(jobs.map((j) => j.array))]
  throw new LockedError(
    `sweep ${name} has jobs in the Slurm queue (${ids.join(', ')}) that its index.json does not record (it was moved aside or rewritten): a queued task trains the point at its position, which this sweep may have moved. ` +
      `Cancel them (scancel ${ids.join(' ')}) or wait for them to end, then run the sweep again`,
  )
}

/** The queued or running task (of `active`, an array the index records) that trains `record`'s point, if any. */
export function heldBy(active: QueuedJob[], index: SweepIndex | undefined, record: SweepPointRecord): QueuedJob | undefined {
  return active.find((j) => j.task === record.index && (index?.submissions ?? []).some((s) => s.array_job === j.array))
}

/**
 * Mark the points that `active` tasks hold as theirs (`submitted`, with the job), keeping the record
 * they were submitted with: the task trains that configuration, whatever the spec says now (a
 * record of the new one would later pass the old run off as the new configuration's). Returns the
 * records held.
 */
export function markHeld(active: QueuedJob[], previous: SweepIndex | undefined, records: SweepPointRecord[], log: (m: string) => void): Set<SweepPointRecord> {
  refuseMovedPoints(active, previous, records)
  const held = new Set<SweepPointRecord>()
  for (const record of records) {
    const job = heldBy(active, previous, record)
    if (!job) continue
    const submitted = previous?.points.find((p) => p.run_dir === record.run_dir)
    if (submitted && submitted.config_hash !== record.config_hash) {
      log(`${record.key}: its task ${job.id} was submitted with configuration ${submitted.config_hash}, not the changed one's (${record.config_hash}), and is left to train that; submit again after it ends to train the change`)
      Object.assign(record, {spec: submitted.spec, overrides: submitted.overrides, config_hash: submitted.config_hash, label: submitted.label})
    }
    record.status = 'submitted'
    record.job = job.id
    held.add(record)
  }
  return held
}
/**
 * A queued task knows its point by position (task N trains the point at index N of index.json): a
 * grid that gives a held point another position (a value added in the middle of an axis) would have
 * the task train another point. Refused while such a task is queued or running.
 */
function refuseMovedPoints(active: QueuedJob[], previous: SweepIndex | undefined, records: SweepPointRecord[]): void {
  for (const job of active) {
    if (job.task === null || !(previous?.submissions ?? []).some((s) => s.array_job === job.array)) continue
    const submitted = previous?.points.find((p) => p.index === job.task)
    const now = submitted && records.find((r) => r.run_dir === submitted.run_dir)
    if (submitted && now && now.index !== submitted.index) {
      throw new UsageError(
        `point ${submitted.run_dir} is point ${submitted.index + 1} of the sweep for its queued task ${job.id} and point ${now.index + 1} of this grid; ` +
          'a task finds its point by position, so the grid cannot move it while the task is queued. Wait for the jobs to end (mixture sweep status), or cancel them, then continue the sweep with this grid',
      )
    }
  }
}
