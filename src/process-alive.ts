/** Whether a process of this machine still runs, and since when: what locks and leftover folders are judged by. */
import {readFileSync} from 'node:fs'

/** True when a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux architecture Node runs on). */
const USER_HZ = 100

/** When the process with this pid started (ms since the epoch), read from /proc; undefined where that cannot be read (not Linux, gone, hidden). */
export function processStarted(pid: number): number | undefined {
  try {
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1])
    // Field 22 of /proc/<pid>/stat, counted after the command name (in parentheses, which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    return Number.isFinite(boot) && Number.isFinite(ticks) ? boot * 1000 + (ticks * 1000) / USER_HZ : undefined
  } catch {
    return undefined
  }
}
