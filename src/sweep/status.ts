/**
 * Where every point of a sweep stands, from what is written and what Slurm says: index.json (the
 * points, their jobs), each point's summary.json (status, epochs, Top-1, the error), its
 * attempts.jsonl (how each process that trained it ended) and log, and for a Slurm sweep squeue
 * (pending, running, on which node, why it waits) and sacct where the cluster keeps accounting.
 *
 * A point is `pending` (queued, or not started), `running` (with its node and epoch), `completed`,
 * `failed` (why), `interrupted` (stopped with a checkpoint: rerunning the sweep resumes it),
 * `crashed` (its process ended without saying how: killed, out of memory, a node failure) or
 * `cancelled` (by `mixture sweep cancel` before it started).
 */
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {accounting, isActive, queryQueue, type QueuedJob} from '../slurm/queue.js'
import {sweepJobIds} from './queued.js'
import {describeOwner, ownerState, type Owner} from '../run/owner.js'
import {lockHolder} from '../run/lock.js'
import {LAST_CKPT} from '../run/folders.js'
import {liveStatus} from '../run/status.js'
import {logTail, readAttempts, requireIndex, SWEEP_LOCK, type SweepIndex, type SweepPointRecord} from './records.js'
import {readRunSummary} from '../run/summary.js'

export const POINT_STATES = ['pending', 'running', 'completed', 'failed', 'interrupted', 'crashed', 'cancelled'] as const
export type PointState = (typeof POINT_STATES)[number]

export interface PointReport {
  index: number
  key: string
  label: string | null
  run_dir: string
  state: PointState
  /** One line: `running on node3, epoch 17/50`, `failed: exit code 1: training loss became NaN …`. */
  detail: string
  job?: string
  node?: string
  /** Epochs done, and of how many. */
  epochs_completed?: number
  epochs?: number
  best_test_accuracy?: number | null
  /** failed, crashed: why, as far as anything says. */
  reason?: string
  exit_code?: number | null
  /** What squeue or sacct says of the point's task (PENDING, RUNNING, TIMEOUT, OUT_OF_MEMORY, …). */
  slurm_state?: string
  /** failed, crashed: the last lines of the point's log. */
  log_tail?: string[]
}

export interface SweepStatusReport {
  name: string
  dir: string
  launcher: 'local' | 'slurm'
  /** Whether the sweep still runs: its local process, or any of its Slurm jobs. */
  active: boolean
  /** Local: the process holding the sweep's lock. Slurm: the jobs, with what squeue says of them. */
  owner?: string
  jobs: {id: string; kind: 'array' | 'table'; state: string}[]
  points: PointReport[]
  counts: Partial<Record<PointState, number>>
  /** The table, once written. */
  table: string | null
  /** Things that could not be asked (squeue missing, …). */
  notes: string[]
}

const RUNNING = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT'])

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/** `epoch 17/50`: the epoch in progress of a running point. */
function epochOf(summary: Record<string, unknown> | undefined): string {
  const done = num(summary?.epochs_completed)
  const of = num(summary?.epochs)
  if (done === undefined || of === undefined) return ''
  return `, epoch ${Math.min(done + 1, of)}/${of}`
}

/**
 * One point's report. `asked`: Slurm's queue was asked (a Slurm sweep, squeue answered); `task`: the
 * point's array task as squeue shows it; `ended`: sacct's record of it.
 */
function pointReport(dir: string, index: SweepIndex, record: SweepPointRecord, asked: boolean, task: QueuedJob | undefined, ended: {state: string; exit: string} | undefined): PointReport {
  const runDir = join(dir, record.run_dir)
  const summary = readRunSummary(runDir)
  const attempts = readAttempts(runDir)
  const last = attempts[attempts.length - 1]
  const base: PointReport = {index: record.index, key: record.key, label: record.label, run_dir: record.run_dir, state: 'pending', detail: '', job: record.job}
  if (summary) {
    base.epochs_completed = num(summary.epochs_completed)
    base.epochs = num(summary.epochs)
    base.best_test_accuracy = num(summary.best_test_accuracy) ?? null
  }
  if (last) base.exit_code = last.exit_code
  if (task) {
    base.slurm_state = task.state
    if (task.node) base.node = task.node
  } else if (ended) {
    base.slurm_state = ended.state
  }
  const failure = (state: 'failed' | 'crashed', why: string): PointReport => {
    const tail = logTail(runDir)
    const exit = last ? `exit code ${last.exit_code}${last.signal ? ` (${last.signal})` : ''}` : undefined
    const slurmSays = ended && ended.state !== 'COMPLETED' ? `Slurm: ${ended.state}` : undefined
    const reason = [exit, slurmSays, why].filter(Boolean).join('; ')
    return {...base, state, reason, detail: `${state}: ${reason}`, ...(tail.length > 0 ? {log_tail: tail} : {})}
  }
  const status = summary ? liveStatus(summary) : undefined
  if (status === 'completed') {
    // The headline accuracy by the run's own rule: at the best validation epoch where it held out a validation split.
    const atBestVal = summary!.selection === 'best_val' ? num(summary!.test_accuracy_at_best_val) : undefined
    const top1 = num(summary!.best_test_accuracy)
    const said = atBestVal !== undefined ? `: test ${atBestVal.toFixed(4)} at the best validation epoch` : top1 !== undefined ? `: Top-1 ${top1.toFixed(4)}` : ''
    return {...base, state: 'completed', detail: `completed${said}`}
  }
  if (task && RUNNING.has(task.state)) return {...base, state: 'running', detail: `running on ${task.node || '?'}${epochOf(summary)}`}
  if (task && isActive(task)) {
    const done = base.epochs_completed ?? 0
    // Requeued: this very task ran before (an attempt of its job); a resubmitted point only resumes.
    const requeued = attempts.some((a) => a.job === task.id)
    const how = [...(requeued ? ['requeued'] : []), ...(done > 0 ? [`resumes after epoch ${done}`] : [])].join(', ')
    const reason = task.reason && task.reason !== 'None' ? task.reason : task.state.toLowerCase()
    return {...base, state: 'pending', detail: `pending${how ? `: ${how}` : ''} (${reason})`}
  }
  if (!asked && status === 'running') return {...base, state: 'running', node: String(summary!.host), detail: `running (${describeOwner(summary as Partial<Owner>)})${epochOf(summary)}`}
  if (status === 'failed') return failure('failed', String(summary!.error ?? 'the run failed'))
  if (status === 'interrupted') {
    const done = base.epochs_completed ?? 0
    const again = existsSync(join(runDir, LAST_CKPT)) ? 'running the sweep again resumes it' : 'it has no checkpoint yet: running the sweep again starts it anew'
    return {...base, state: 'interrupted', detail: `interrupted after epoch ${done}${index.cancelled ? ' (cancelled)' : ''}; ${again}`}
  }
  if (status === 'crashed' || status === 'running') {
    // A summary left `running` by a process that is gone (or, on Slurm, a task that is no longer queued).
    const again = existsSync(join(runDir, LAST_CKPT)) ? 'running the sweep again resumes it from its checkpoint' : 'it has no checkpoint: running the sweep again starts it anew'
    // The sweep recorded why where the run could not (its summary.json unwritable: a full disk) and its
    // process ended by itself; one killed by a signal stays crashed. The reason is the record's own, so
    // that `sweep finish` writing it back leaves it as it was.
    if (record.status === 'failed' && record.error && !last?.signal) return {...base, state: 'failed', reason: record.error, detail: `failed: ${record.error}; ${again}`}
    return failure('crashed', `its process ended during epoch ${(base.epochs_completed ?? 0) + 1} without recording why (killed, out of memory, or its node failed); ${again}`)
  }
  if (last) return failure('failed', 'it stopped before its run started (see the log)')
  if (record.status === 'submitted') {
    if (!asked) return {...base, state: 'pending', detail: `submitted as ${record.job ?? 'a Slurm job'} (Slurm's queue was not asked)`}
    if (index.cancelled) return {...base, state: 'cancelled', detail: 'cancelled before it started'}
    return failure('failed', `its task ${record.job ?? ''} is no longer queued and left no record (cancelled outside mixture, or it never started)`)
  }
  if (record.status === 'failed') return failure('failed', record.error ?? 'the run failed')
  if (record.status === 'interrupted') return {...base, state: 'interrupted', detail: 'interrupted before its first checkpoint; running the sweep again starts it anew'}
  // Recorded by `sweep finish` after a cancel: it stays what the cancel made it.
  if (record.status === 'cancelled') return {...base, state: 'cancelled', detail: 'cancelled before it started'}
  return {...base, state: 'pending', detail: 'not started'}
}

/** The status of the sweep in `dir` (a folder holding index.json). */
export function sweepStatus(folder: string): SweepStatusReport {
  const dir = resolve(folder)
  const index = requireIndex(dir)
  // Slurm jobs: a Slurm sweep's, or those a local run with --force left to run beside it.
  const slurm = index.launcher?.type === 'slurm' || (index.submissions?.length ?? 0) > 0
  const notes: string[] = []
  let queue: QueuedJob[] = []
  let ended: Map<string, {state: string; exit: string}> | undefined
  const ids = sweepJobIds(index)
  let asked = false
  if (slurm && ids.length > 0) {
    try {
      queue = queryQueue(ids)
      asked = true
    } catch (error) {
      notes.push(`Slurm could not be asked (${(error as Error).message}); the points' states come from their folders only`)
    }
    ended = accounting(ids)
  }
  const current = (record: SweepPointRecord) => queue.filter((j) => j.id === record.job).find((j) => isActive(j)) ?? queue.find((j) => j.id === record.job)
  const points = index.points.map((record) => {
    const task = current(record)
    // A point without a job is trained by a local process (beside Slurm's tasks, with --force): its folder says how it stands.
    return pointReport(dir, index, record, asked && record.job !== undefined, task, record.job ? ended?.get(record.job) : undefined)
  })
  const counts: Partial<Record<PointState, number>> = {}
  for (const p of points) counts[p.state] = (counts[p.state] ?? 0) + 1
  const jobs = (index.submissions ?? []).flatMap((s) => {
    const tasks = queue.filter((j) => j.array === s.array_job && j.task !== null)
    const states = [...new Set(tasks.map((t) => t.state.toLowerCase()))]
    const table = queue.find((j) => j.id === s.table_job)
    return [
      {id: s.array_job, kind: 'array' as const, state: states.length > 0 ? states.join(', ') : 'ended'},
      {id: s.table_job, kind: 'table' as const, state: table ? table.state.toLowerCase() : 'ended'},
    ]
  })
  let active = queue.some(isActive)
  let owner: string | undefined
  const lock = lockHolder(join(dir, SWEEP_LOCK))
  // A process that holds the lock for a moment (sweep finish, a cancel) does not run the sweep.
  if (index.launcher?.type !== 'slurm' && lock && !lock.brief && ownerState(lock) !== 'dead') {
    active = true
    owner = describeOwner(lock)
  }
  const tableFile = join(dir, 'table.md')
  return {name: index.name, dir, launcher: index.launcher?.type === 'slurm' ? 'slurm' : 'local', active, ...(owner ? {owner} : {}), jobs, points, counts, table: existsSync(tableFile) ? tableFile : null, notes}
}
