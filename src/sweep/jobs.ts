/**
 * `mixture sweep --launcher local --jobs N`: N points at once on this machine, each trained by a
 * child process (`mixture sweep run-point`, as a Slurm array task is) whose output goes to the
 * point folder's task.log. The CPU threads are split between the jobs (for points that start anew:
 * a resumed point keeps the threads it recorded; MIXTURE_THREADS or a spec's engine.threads win);
 * `--devices 0,1` gives job slot k the WebGPU adapter k. This process
 * holds the sweep's lock, writes index.json as points end, and writes the table at the end.
 *
 * Ctrl-C or SIGTERM: no new point starts; each running one gets one SIGTERM (the children run in
 * their own process groups, so a terminal's Ctrl-C reaches them only through here), finishes its
 * step and keeps its checkpoint; then the sweep exits 130/143 and a rerun resumes them.
 */
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync} from 'node:fs'
import {availableParallelism, hostname} from 'node:os'
import {join} from 'node:path'
import {InterruptedError, STOP_SIGNALS, type StopSignal} from '../errors.js'
import {PACKAGE_ROOT} from '../fs/package-folder.js'
import {appendAttempt, logTail, writeIndex, type SweepIndex, type SweepPointRecord} from './records.js'
import {readRunSummary} from '../run/summary.js'
import {writeSweepTable} from './finish.js'
import type {PlannedSweep, SweepOptions, SweepResult} from './plan.js'
import {pointTag, preparePointRecord} from './point.js'

interface Running {
  record: SweepPointRecord
  slot: number
  child: ReturnType<typeof spawn>
  done: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

/** Threads for each of `jobs` processes: the machine's CPUs split evenly, at least one. */
export function threadsPerJob(jobs: number, cpus = availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / jobs))
}

export async function runPointsAtOnce({plan, name, dir, records, resolved}: PlannedSweep, index: SweepIndex, previous: SweepIndex | undefined, jobs: number, opts: SweepOptions, log: (m: string) => void): Promise<SweepResult> {
  const save = () => writeIndex(dir, index)
  save()
  const threads = process.env.MIXTURE_THREADS ?? String(threadsPerJob(jobs))
  log(`sweep ${name}: ${records.length} point(s) in ${dir}, ${jobs} at once (${threads} thread(s) each${opts.devices?.length ? `, adapters ${opts.devices.join(', ')}` : ''}); each point's output goes to its task.log`)
  let completed = 0
  let failed = 0
  let skipped = 0
  const queue: SweepPointRecord[] = []
  for (const record of records) {
    if (record.status === 'submitted') continue // a queued Slurm task's (markHeld)
    if (preparePointRecord(dir, record, previous, resolved[record.index].spec, records.length, log) === 'skip') skipped++
    else queue.push(record)
  }
  save()

  const running = new Set<Running>()
  const free = Array.from({length: jobs}, (_, k) => k)
  let stopping: StopSignal | undefined
  const start = (record: SweepPointRecord, slot: number): Running => {
    const runDir = join(dir, record.run_dir)
    const device = opts.devices?.length ? opts.devices[slot % opts.devices.length] : undefined
    const args = [join(PACKAGE_ROOT, 'bin', 'run.js'), 'sweep', 'run-point', dir, String(record.index), '--no-progress', '--threads', threads]
    if (opts.backend) args.push('--backend', opts.backend)
    if (opts.dataDir) args.push('--data-dir', opts.dataDir)
    if (device !== undefined) args.push('--device', device)
    mkdirSync(runDir, {recursive: true})
    const out = openSync(join(runDir, 'task.log'), 'a')
    const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', out, out], env: process.env})
    closeSync(out)
    const done = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
      child.on('error', () => resolve({code: null, signal: null}))
      child.on('exit', (code, signal) => resolve({code, signal}))
    })
    record.status = 'running'
    save()
    log(`${pointTag(record, records.length)}: started (pid ${child.pid}${device !== undefined ? `, adapter ${device}` : ''})`)
    return {record, slot, child, done}
  }
  const finish = (job: Running, code: number | null, signal: NodeJS.Signals | null) => {
    const {record} = job
    const runDir = join(dir, record.run_dir)
    appendAttempt(runDir, {launcher: 'local', node: hostname(), ended: new Date().toISOString(), exit_code: code, signal})
    const summary = readRunSummary(runDir)
    const at = pointTag(record, records.length)
    if (code === 0 && summary?.status === 'completed') {
      record.status = 'completed'
      record.best_test_accuracy = summary.best_test_accuracy as number | null
      delete record.error
      completed++
      log(`${at}: completed, Top-1 ${(record.best_test_accuracy ?? NaN).toFixed(4)}`)
    } else if ((Object.values(STOP_SIGNALS) as number[]).includes(code ?? -1) || (stopping && signal !== null)) {
      // A child the stop's SIGTERM reached before it set its own handlers (still starting) dies of the signal itself.
      record.status = 'interrupted'
      record.error = String(summary?.error ?? `stopped (${code !== null ? `exit code ${code}` : signal})`)
      log(`${at}: interrupted`)
    } else {
      record.status = 'failed'
      const why = summary?.status === 'failed' ? String(summary.error) : (logTail(runDir, 1)[0] ?? 'no output')
      record.error = `exit code ${code ?? signal}: ${why}`
      failed++
      log(`${at} failed: ${record.error} (${join(record.run_dir, 'task.log')})`)
    }
    save()
  }

  while (queue.length > 0 || running.size > 0) {
    if (opts.stop?.requested && !stopping) {
      stopping = opts.stop.signal ?? 'SIGINT'
      queue.length = 0
      for (const job of running) job.child.kill('SIGTERM')
    }
    while (!stopping && queue.length > 0 && free.length > 0) running.add(start(queue.shift()!, free.shift()!))
    if (running.size === 0) break
    // Wake when a job ends, or after 200 ms to see a stop request.
    const tick = new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))
    const ended = await Promise.race([...[...running].map((job) => job.done.then((r) => ({job, ...r}))), tick])
    if (!ended) continue
    running.delete(ended.job)
    free.push(ended.job.slot)
    free.sort((a, b) => a - b)
    finish(ended.job, ended.code, ended.signal)
  }
  if (stopping) throw new InterruptedError(`sweep ${name} interrupted; rerun the same command to continue (finished points are skipped, interrupted ones resume)`, stopping)
  const table = await writeSweepTable(dir, plan.title, log)
  return {name, dir, launcher: 'local', points: records, completed, failed, skipped, table}
}
