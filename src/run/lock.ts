/**
 * Exclusive lock files (a sweep folder's `index.lock`, a run folder's `run.lock`): created
 * atomically (written to a temp file, then hard-linked to the lock's name, which fails if it
 * exists), holding the owner's pid, host and start time. A lock left by a process that is gone
 * from this host is stale and taken over; a lock from another host cannot be checked from here and
 * is taken over only with `force`. A lock taken for a moment only (`brief`: a submission, the table
 * job recording the points' outcomes) says so, and those who want it wait for it (acquireLockWaiting).
 */
import {randomUUID} from 'node:crypto'
import {linkSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {InterruptedError, UsageError, type StopRequest} from '../errors.js'
import {tempName} from '../fs/write-atomic.js'
import {writeFailure} from '../fs/write-error.js'
import {pidAlive} from '../process-alive.js'
import {currentOwner, describeOwner, ownerAlive, type Owner} from './owner.js'

interface LockRecord extends Owner {
  /** Tells this lock from a later one by the same pid. */
  token: string
  /** Held for a moment only; absent for a holder that keeps it while it works (a local sweep). */
  brief?: true
}

/** Who holds a lock, and whether only for a moment. */
export interface LockOwner extends Owner {
  brief: boolean
}

export interface Lock {
  file: string
  owner: Owner
  release(): void
}

/** The lock is held by a live process, or by one that cannot be checked. Exit code 2. */
export class LockedError extends UsageError {}

/** Locks this process holds, released on exit if nobody released them. */
const held = new Map<string, string>()
process.once('exit', () => {
  for (const [file, token] of held) releaseFile(file, token)
})

function readLock(file: string): LockRecord | undefined | 'unreadable' {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return 'unreadable'
  }
  try {
    const doc = JSON.parse(text) as LockRecord
    return Number.isSafeInteger(doc.pid) && typeof doc.host === 'string' && typeof doc.token === 'string' ? doc : 'unreadable'
  } catch {
    return 'unreadable'
  }
}

/** Who holds the lock `file` (pid, host, start, brief); undefined where there is none or it cannot be read. */
export function lockHolder(file: string): LockOwner | undefined {
  const record = readLock(file)
  return typeof record === 'object' ? {pid: record.pid, host: record.host, started: record.started, brief: record.brief === true} : undefined
}

function releaseFile(file: string, token: string): void {
  held.delete(file)
  const now = readLock(file)
  if (typeof now !== 'object' || now.token !== token) return
  try {
    rmSync(file, {force: true})
  } catch {
    // Its folder may no longer be written (made read-only meanwhile): the lock stays, and reads as stale once this process is gone.
  }
}

export interface LockOptions {
  /** Take over a lock of another host (the command's --force); never one whose process is alive on this host. */
  force?: boolean
  /** This process lets go of the lock within moments (a submission, a cancel, the table job). */
  brief?: boolean
  /** The command has no --force to suggest in a refusal (sweep cancel, sweep finish). */
  noForceFlag?: boolean
  log?: (message: string) => void
}

/** The lock is held for a moment by a live process (or one on another host): acquireLockWaiting waits for it. */
class BriefLockedError extends LockedError {}

/**
 * Take the lock `file` for `what` (e.g. "sweep cifar10-table"), or throw a LockedError saying who
 * holds it and what to do.
 */
export function acquireLock(file: string, what: string, opts: LockOptions = {}): Lock {
  return takeLock(file, what, opts, false)
}

/** acquireLock; with `spareBrief`, a live or unverifiable brief holder is a BriefLockedError, never taken over (the waiter decides on the very record it read). */
function takeLock(file: string, what: string, opts: LockOptions, spareBrief: boolean): Lock {
  if (held.has(file)) throw new LockedError(`${what} is already running in this process (${file} is held)`)
  const record: LockRecord = {...currentOwner(), token: randomUUID(), ...(opts.brief ? {brief: true as const} : {})}
  const orForce = opts.noForceFlag ? '' : ' or rerun with --force'
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = tempName(file)
    try {
      writeFileSync(tmp, `${JSON.stringify(record)}\n`)
      linkSync(tmp, file)
      held.set(file, record.token)
      const token = record.token
      return {file, owner: {pid: record.pid, host: record.host, started: record.started}, release: () => releaseFile(file, token)}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(file, error)
    } finally {
      rmSync(tmp, {force: true})
    }
    const other = readLock(file)
    if (other === undefined) continue
    if (other === 'unreadable') {
      if (!opts.force) throw new LockedError(`${what} has a lock file ${file} that cannot be read; if nothing runs there, delete it${orForce}`)
      opts.log?.(`taking over the unreadable lock ${file} (--force)`)
      takeOver(file, undefined)
      continue
    }
    const here = other.host === hostname()
    const live = here && other.pid !== process.pid && ownerAlive(other)
    if (spareBrief && other.brief && (live || !here)) throw new BriefLockedError(`${what} is held for a moment by ${describeOwner(other)}`)
    if (here) {
      if (live) {
        throw new LockedError(`${what} is already running as ${describeOwner(other)}; wait for it to finish or stop it (kill ${other.pid}). If pid ${other.pid} is not a mixture process, delete ${file}`)
      }
      opts.log?.(`removing a stale lock: ${file} was held by ${describeOwner(other)}, which is no longer running${pidAlive(other.pid) ? ` (pid ${other.pid} is now another process, started after the lock was taken)` : ''}`)
    } else {
      if (!opts.force) {
        throw new LockedError(`${what} is locked by ${describeOwner(other)}, another machine, which cannot be checked from here. If it no longer runs there, delete ${file}${orForce}`)
      }
      opts.log?.(`taking over the lock of ${describeOwner(other)} (--force)`)
    }
    takeOver(file, other.token)
  }
  throw new LockedError(`${what}: could not take ${file}; another process keeps taking it`)
}

/**
 * acquireLock for a folder whose lock is also taken for moments (a sweep folder: its table job
 * recording the points' outcomes, a submission, a cancel): while a `brief` holder has it, on this host or another
 * (a table job runs on a compute node), wait up to `waitMs` for it to let go, saying so once, and
 * take nothing over meanwhile, `force` or not. A holder that keeps its lock while it works (a local
 * sweep) is refused at once, as acquireLock refuses it; so is a brief one still there after the
 * wait. A stop request (Ctrl-C, SIGTERM) ends the wait with an InterruptedError.
 */
export async function acquireLockWaiting(file: string, what: string, opts: LockOptions & {waitMs: number; stop?: StopRequest}): Promise<Lock> {
  const deadline = performance.now() + opts.waitMs
  let told = false
  for (;;) {
    if (opts.stop?.requested) throw new InterruptedError(`${what}: stopped while waiting for ${file}; nothing was changed`, opts.stop.signal)
    try {
      return takeLock(file, what, opts, performance.now() < deadline)
    } catch (error) {
      if (!(error instanceof BriefLockedError)) throw error
      if (!told) opts.log?.(`${error.message}: waiting up to ${Math.round(opts.waitMs / 1000)} s for it to let go of ${file}`)
      told = true
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

/**
 * Move a stale lock out of the way, unless it changed since it was judged stale (someone else
 * took it over meanwhile: then it is put back and the next attempt sees the new owner).
 */
function takeOver(file: string, staleToken: string | undefined): void {
  const aside = `${file}.stale-${process.pid}-${randomUUID().slice(0, 8)}`
  try {
    renameSync(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = readLock(aside)
  if (staleToken !== undefined && (typeof moved !== 'object' || moved?.token !== staleToken)) {
    try {
      linkSync(aside, file)
    } catch {
      // A third process took the name meanwhile; the next attempt reads its lock.
    }
  }
  rmSync(aside, {force: true})
}
