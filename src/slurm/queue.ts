/**
 * What Slurm knows of a sweep's jobs: `squeue` for the queue (pending, running, and jobs that ended
 * within the last MinJobAge, 5 minutes by default), `sacct` for how tasks ended where the cluster
 * keeps accounting. A cluster without accounting (`sacct` says "accounting storage is disabled")
 * is not an error: the point folders then say how each task ended (attempts.jsonl).
 */
import {slurm, slurmSays} from './cli.js'

/** One job, or one task of a job array, as squeue shows it. */
export interface QueuedJob {
  /** `<array job id>_<task id>` for an array task, else the job id. */
  id: string
  /** The array's job id (the job's own id when it is not an array task). */
  array: string
  task: number | null
  state: string
  node: string
  reason: string
}

/** States of a job that has not ended (it may still run, or run again). */
export const ACTIVE_STATES = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESV_DEL_HOLD', 'SPECIAL_EXIT'])

export function isActive(job: QueuedJob): boolean {
  return ACTIVE_STATES.has(job.state)
}

/** Every job and array task among `ids` that squeue knows, in every state it still shows. */
export function queryQueue(ids: string[]): QueuedJob[] {
  if (ids.length === 0) return []
  const reply = slurm('squeue', ['-h', '-r', '--states=all', '-j', ids.join(','), '-o', '%F|%K|%i|%T|%N|%r'])
  if (reply.code !== 0) {
    // Every id unknown (ended before MinJobAge, or a restarted controller): nothing is queued.
    if (/Invalid job id/i.test(reply.stderr)) return []
    throw new Error(`squeue could not list the sweep's jobs (${ids.join(', ')}): ${slurmSays(reply)}`)
  }
  return parseQueue(reply.stdout)
}

/** squeue's lines of `%F|%K|%i|%T|%N|%r[|%o]` as jobs (with the script each runs, where asked). */
function parseQueue(text: string): (QueuedJob & {script?: string})[] {
  const jobs: (QueuedJob & {script?: string})[] = []
  for (const line of text.split('\n')) {
    const [array, task, id, state, node, reason, script] = line.trim().split('|')
    if (!id || !state) continue
    const n = Number(task)
    jobs.push({id, array, task: task !== 'N/A' && Number.isInteger(n) ? n : null, state, node: node ?? '', reason: reason ?? '', ...(script !== undefined ? {script} : {})})
  }
  return jobs
}

/**
 * The jobs and array tasks squeue shows that run a job script inside `folder` (by their job names
 * `names`, then the script's path): a sweep's jobs found without the ids its index.json records.
 */
export function queryScriptsIn(folder: string, names: string[]): QueuedJob[] {
  const reply = slurm('squeue', ['-h', '-r', '--states=all', '--name', names.join(','), '-o', '%F|%K|%i|%T|%N|%r|%o'])
  if (reply.code !== 0) throw new Error(`squeue could not list the jobs named ${names.join(', ')}: ${slurmSays(reply)}`)
  return parseQueue(reply.stdout).filter((job) => job.script?.startsWith(`${folder}/`))
}

/** How a job ended, from accounting: `{state, exit}` by job id (`12_3`); undefined where the cluster keeps no accounting. */
export function accounting(ids: string[]): Map<string, {state: string; exit: string; node: string}> | undefined {
  if (ids.length === 0) return new Map()
  let reply
  try {
    reply = slurm('sacct', ['-n', '-P', '-X', '-j', ids.join(','), '-o', 'JobID,State,ExitCode,NodeList'])
  } catch {
    return undefined
  }
  if (reply.code !== 0 || /accounting storage is disabled/i.test(`${reply.stdout}${reply.stderr}`)) return undefined
  const out = new Map<string, {state: string; exit: string; node: string}>()
  for (const line of reply.stdout.split('\n')) {
    const [id, state, exit, node] = line.trim().split('|')
    if (id && state) out.set(id, {state, exit: exit ?? '', node: node ?? ''})
  }
  return out
}
