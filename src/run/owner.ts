/**
 * Which process owns a run or sweep folder, and whether it still runs. A process on this host is
 * probed by its pid; one on another host cannot be, so its heartbeat (the last time it wrote its
 * record) decides: a writer refreshes it every minute, and after HEARTBEAT_STALE_MS without one
 * it is taken to be gone.
 */
import {hostname} from 'node:os'
import {pidAlive, processStarted} from '../process-alive.js'

export interface Owner {
  pid: number
  host: string
  /** When the owner started (ISO time). */
  started: string
}

/** How often a live owner refreshes its heartbeat. */
export const HEARTBEAT_MS = 60_000
/** A heartbeat older than this, from another host, counts as a dead owner. */
export const HEARTBEAT_STALE_MS = 15 * 60_000

export function currentOwner(started = new Date()): Owner {
  return {pid: process.pid, host: hostname(), started: started.toISOString()}
}

/**
 * True when the owner's process still runs on this machine: its pid exists and started before the
 * owner's record did. A pid that belongs to a process started later (after a reboot, or the pid
 * reused) is another process; the record's owner is gone.
 */
export function ownerAlive(owner: Owner): boolean {
  if (!pidAlive(owner.pid)) return false
  const started = processStarted(owner.pid)
  const recorded = Date.parse(owner.started)
  // Two seconds of slack: the boot time /proc gives is whole seconds.
  return started === undefined || Number.isNaN(recorded) || started <= recorded + 2000
}

/**
 * `alive`: the owner runs (same host, pid exists; or another host with a fresh heartbeat).
 * `dead`: it does not. `unknown`: another host, and no heartbeat to judge by.
 */
export function ownerState(owner: Partial<Owner>, heartbeat?: string, now = Date.now()): 'alive' | 'dead' | 'unknown' {
  if (owner.host === hostname()) return (owner.started !== undefined ? ownerAlive(owner as Owner) : pidAlive(Number(owner.pid))) ? 'alive' : 'dead'
  const beat = Date.parse(heartbeat ?? '')
  if (Number.isNaN(beat)) return 'unknown'
  return now - beat > HEARTBEAT_STALE_MS ? 'dead' : 'alive'
}

/** "pid 123 on host-a since 2026-01-01T10:00:00Z (3 h ago)". */
export function describeOwner(owner: Partial<Owner>, now = Date.now()): string {
  const since = Date.parse(owner.started ?? '')
  return `pid ${owner.pid ?? '?'} on ${owner.host ?? 'an unknown host'}${Number.isNaN(since) ? '' : ` since ${owner.started} (${ago(now - since)})`}`
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s ago`
  if (s < 7200) return `${Math.round(s / 60)} min ago`
  if (s < 172800) return `${(s / 3600).toFixed(1)} h ago`
  return `${(s / 86400).toFixed(1)} days ago`
}
