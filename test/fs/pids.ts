/** Process ids for the tests of leftovers: one of a process that has ended, one of a process that still runs. */
import {spawnSync} from 'node:child_process'

/** The pid of a process that ran and has ended (its pid is free until the system reuses it, long after a test). */
export function endedPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  return child.pid!
}

/** The pid of a process that runs while the test does: the test runner that started this file. */
export const runningPid = process.ppid
