/**
 * Slurm's own commands (sbatch, squeue, sacct, scancel, scontrol), run as a user would run them,
 * with the environment of this process (SLURM_CONF included). A missing command is a usage error
 * that says where mixture must run; each call is bounded in time.
 */
import {spawnSync} from 'node:child_process'
import {UsageError} from '../errors.js'

export type SlurmCommand = 'sbatch' | 'squeue' | 'sacct' | 'scancel' | 'scontrol'

export interface SlurmReply {
  code: number | null
  stdout: string
  stderr: string
}

/** Run `command args` (stdin: `input`); throws a UsageError when the command is not installed. */
export function slurm(command: SlurmCommand, args: string[], input?: string, timeoutMs = 60_000): SlurmReply {
  const r = spawnSync(command, args, {encoding: 'utf8', input, timeout: timeoutMs, env: process.env, maxBuffer: 64 * 2 ** 20})
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`${command} is not installed here: submit Slurm sweeps, and ask for their status, on a machine of the cluster (a login node), where Slurm's client commands are (Debian: apt-get install slurm-client)`)
    }
    throw new Error(`${command} ${args.join(' ')} failed: ${r.error.message}`)
  }
  return {code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
}

/** What Slurm said, one line (its "sbatch: error:" prefixes left out), for messages. */
export function slurmSays(reply: SlurmReply): string {
  const lines = `${reply.stderr}\n${reply.stdout}`
    .split('\n')
    .map((l) => l.replace(/^\w+: (error|fatal): /, '').trim())
    .filter(Boolean)
  return lines.join('; ') || `exit code ${reply.code}`
}

/** Whether Slurm's reply says its controller could not be reached (a runtime failure, not the user's settings). */
export function controllerUnreachable(reply: SlurmReply): boolean {
  return /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted/i.test(`${reply.stderr}\n${reply.stdout}`)
}
