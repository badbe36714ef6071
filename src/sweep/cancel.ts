/**
 * `mixture sweep cancel`: stop a sweep wherever it runs. A Slurm sweep's queued and running jobs
 * are cancelled with scancel (running points get SIGTERM: they finish their step and keep their
 * last checkpoint, so that submitting the sweep again resumes them); a local sweep's process (the
 * one holding index.lock, on this host) gets SIGTERM and stops its points the same way.
 */
import {hostname} from 'node:os'
import {join, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import {slurm, slurmSays} from '../slurm/cli.js'
import {isActive, queryQueue} from '../slurm/queue.js'
import {describeJobs, sweepJobIds} from './queued.js'
import {acquireLockWaiting, lockHolder} from '../run/lock.js'
import {describeOwner, ownerAlive} from '../run/owner.js'
import {requireIndex, SWEEP_LOCK, SWEEP_LOCK_WAIT_MS, writeIndex} from './records.js'

export interface CancelResult {
  name: string
  dir: string
  launcher: 'local' | 'slurm'
  /** Slurm: the jobs cancelled. Local: the process signalled. */
  cancelled: string[]
  message: string
}

export async function cancelSweep(folder: string, log: (m: string) => void): Promise<CancelResult> {
  const dir = resolve(folder)
  const index = requireIndex(dir)
  const name = index.name
  if (index.launcher?.type !== 'slurm' && (index.submissions?.length ?? 0) > 0) {
    // A local sweep run with --force beside Slurm tasks: both are stopped; index.json stays the local process's to write.
    const local = cancelLocal(dir, name)
    const jobs = queryQueue(sweepJobIds(index)).filter(isActive)
    const ids = [...new Set(jobs.map((j) => j.array))]
    if (ids.length > 0) {
      const reply = slurm('scancel', ids)
      if (reply.code !== 0) throw new Error(`scancel ${ids.join(' ')} failed: ${slurmSays(reply)}`)
    }
    const cancelled = [...local.cancelled, ...ids]
    const message = [local.cancelled.length > 0 ? local.message : '', ids.length > 0 ? `cancelled ${describeJobs(index, jobs)}` : ''].filter(Boolean).join('; ')
    return {name, dir, launcher: 'local', cancelled, message: message || `nothing of sweep ${name} is queued or running`}
  }
  if (index.launcher?.type === 'slurm') {
    const jobs = queryQueue(sweepJobIds(index))
    const ids = [...new Set(jobs.filter(isActive).map((j) => j.array))]
    if (ids.length === 0) return {name, dir, launcher: 'slurm', cancelled: [], message: `nothing of sweep ${name} is queued or running`}
    const which = describeJobs(index, jobs)
    const lock = await acquireLockWaiting(join(dir, SWEEP_LOCK), `sweep ${name}`, {brief: true, noForceFlag: true, log, waitMs: SWEEP_LOCK_WAIT_MS})
    try {
      const reply = slurm('scancel', ids)
      if (reply.code !== 0) throw new Error(`scancel ${ids.join(' ')} failed: ${slurmSays(reply)}`)
      writeIndex(dir, {...requireIndex(dir), cancelled: new Date().toISOString()}) // read again under the lock
    } finally {
      lock.release()
    }
    return {
      name,
      dir,
      launcher: 'slurm',
      cancelled: ids,
      message: `cancelled ${which}. Running points stop at a step boundary and keep their last checkpoint; submit the sweep again to continue them (mixture sweep finish ${dir} writes the table of what is done)`,
    }
  }
  return cancelLocal(dir, name)
}

/** SIGTERM to the local process holding the sweep's index.lock, if one runs (on this host). */
function cancelLocal(dir: string, name: string): CancelResult {
  const owner = lockHolder(join(dir, SWEEP_LOCK))
  if (!owner || (owner.host === hostname() && !ownerAlive(owner))) return {name, dir, launcher: 'local', cancelled: [], message: `no process runs sweep ${name}`}
  if (owner.brief) return {name, dir, launcher: 'local', cancelled: [], message: `no process runs sweep ${name}; ${describeOwner(owner)} holds its lock for a moment (recording the points in its index)`}
  if (owner.host !== hostname()) throw new UsageError(`sweep ${name} runs on another machine (${describeOwner(owner)}); cancel it there: kill ${owner.pid}`)
  process.kill(owner.pid, 'SIGTERM')
  return {name, dir, launcher: 'local', cancelled: [String(owner.pid)], message: `sent SIGTERM to ${describeOwner(owner)}: its points stop at a step boundary and keep their last checkpoint; rerun the sweep to continue`}
}
