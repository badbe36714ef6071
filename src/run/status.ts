/**
 * A run's status as readers should show it. `summary.json` says `running` while training goes on;
 * a process that was killed (SIGKILL, power loss, a scheduler's hard limit) cannot say otherwise,
 * so a `running` summary whose owner is gone reads as `crashed` (and the run can be resumed).
 * The owner is probed by pid on this host; on another host its heartbeat decides (owner.ts).
 */
import {ownerState} from './owner.js'

/** `summary.status`, with `running` turned into `crashed` when its process is gone; undefined if there is no status. */
export function liveStatus(summary: Record<string, unknown>, now = Date.now()): string | undefined {
  const status = typeof summary.status === 'string' ? summary.status : undefined
  if (status !== 'running' || typeof summary.pid !== 'number' || typeof summary.host !== 'string') return status
  return ownerState({pid: summary.pid, host: summary.host}, typeof summary.updated === 'string' ? summary.updated : undefined, now) === 'dead' ? 'crashed' : status
}
