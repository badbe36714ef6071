/**
 * Running a sweep: every point is validated up front, then trained into its own run folder
 * `<out>/<sweep>/<NN>-<key>/`, listed in `index.json`. Where the points train is the launcher's
 * choice (config/launcher.ts): `local` trains them in order in this process, or `jobs` at once as
 * child processes (jobs.ts); `slurm` submits them as one job array and returns (submit.ts).
 * A failed point is recorded and the sweep goes on; rerunning the same sweep skips completed
 * points, resumes interrupted ones from their checkpoint, and sets aside (never deletes) a folder
 * whose configuration changed. At the end the paper-shaped table is written into the sweep folder.
 *
 * Who may write a sweep folder: a local sweep holds `index.lock` while it runs. A submitted Slurm
 * sweep holds no lock (its login-node process returns at once); that it still runs is asked of
 * Slurm: any sweep on the folder is refused while a job that index.json records is queued or running.
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {expandSweep} from '../config/sweep.js'
import {resolveLauncher} from '../config/launcher.js'
import {formatProblem} from '../config/errors.js'
import {idleSettings} from '../config/idle-settings.js'
import {InterruptedError, UsageError} from '../errors.js'
import {markHeld, refuseWhileQueued} from './queued.js'
import {submitSweep} from './submit.js'
import {runExperiment, type RunSummary} from '../run/experiment.js'
import {acquireLockWaiting} from '../run/lock.js'
import {INDEX_FILE} from '../run/folders.js'
import {runPointsAtOnce} from './jobs.js'
import {writeSweepTable} from './finish.js'
import {LAUNCHER_FILES, SWEEP_LOCK, SWEEP_LOCK_WAIT_MS, writeIndex, type SweepIndex, type SweepPointRecord} from './records.js'
import {readRunSummary} from '../run/summary.js'
import {FileWriteError} from '../fs/write-error.js'
import {DataError} from '../data/errors.js'
import {liveStatus} from '../run/status.js'
import {describeOwner} from '../run/owner.js'
import {describeOutlook, pointOutlook, pointTag, preparePointRecord, refuseChangedHeld} from './point.js'
import {missingData, placePoints, planPoints, type PlannedSweep, type SweepOptions, type SweepResult} from './plan.js'

export {SWEEP_LOCK, type SweepIndex, type SweepPointRecord} from './records.js'
export type {SweepOptions, SweepResult} from './plan.js'

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const plan = expandSweep(opts.file, opts.sets, opts.name)
  const launcher = resolveLauncher(plan.launcher, opts.launcher ?? {}, plan.origins)
  if (opts.devices?.length && !(launcher.type === 'local' && (launcher.jobs ?? 1) > 1)) {
    throw new UsageError('--devices gives each job slot of --jobs N (N of 2 or more, on this machine) an adapter; one point at a time, or on Slurm, choose it with engine.device (Slurm: the GPU it allocates is taken)')
  }
  // Loaded only here: the WebGPU backend's module is heavy, and most sweeps name no adapter.
  if (opts.devices?.length && !opts.dryRun) (await import('../backends/webgpu/index.js')).checkDeviceRequests(opts.devices)
  const planned = await planPoints(plan, opts)
  const {name, dir, records} = planned
  // Data that cannot be found stop a local sweep before its first point, not at each point in turn.
  // A dry run says so; a Slurm submission too, since its tasks look on their own nodes.
  const unfound = missingData(planned, opts.dataDir)
  if (unfound.length > 0 && launcher.type === 'local' && !opts.dryRun) {
    throw new DataError(`sweep ${name}: the data of its points cannot be found here, so nothing was trained. ${unfound.join(' ')}`)
  }
  for (const problem of unfound) log(`note: ${launcher.type === 'slurm' ? 'not found on this machine (the Slurm tasks look on their nodes): ' : ''}${problem}`)
  // Settings that change nothing: a point's run says them when it starts; a dry run or a submission, here.
  if (opts.dryRun || launcher.type === 'slurm') {
    planned.resolved.forEach(({spec, loaded}, i) => {
      for (const w of idleSettings(spec, loaded)) log(`warning: point ${records[i].key}: ${formatProblem(w)}`)
    })
  }
  if (opts.dryRun) return {name, dir, launcher: launcher.type, points: dryRunPoints(planned), completed: 0, failed: 0, skipped: 0}
  if (launcher.type === 'slurm') return submitSweep(planned, launcher, opts, log)

  mkdirSync(dir, {recursive: true})
  // An existing sweep folder is continued, under its lock: finished points are skipped.
  const lock = await acquireLockWaiting(join(dir, SWEEP_LOCK), `sweep ${name}`, {force: opts.force, log, waitMs: SWEEP_LOCK_WAIT_MS, stop: opts.stop})
  try {
    // Again under the lock: a submission a moment before may have added points (and numbered their folders).
    const previous = placePoints(planned)
    // With --force beside queued Slurm jobs: the points their tasks hold stay theirs (status submitted), and so do the submissions.
    const held = markHeld(refuseWhileQueued(dir, name, previous, Boolean(opts.force), log), previous, records, log)
    await refuseChangedHeld(dir, held)
    refuseLivePoints(dir, records.filter((r) => !held.has(r)))
    // The submissions stay recorded while tasks of them hold points (status and cancel ask Slurm about them).
    const index: SweepIndex = {name, title: plan.title, source: relative(dir, plan.source), created: previous?.created ?? new Date().toISOString(), updated: '', launcher, ...(held.size > 0 && previous?.submissions ? {submissions: previous.submissions} : {}), points: records}
    try {
      if ((launcher.jobs ?? 1) > 1) return await runPointsAtOnce(planned, index, previous, launcher.jobs!, opts, log)
      return await runPoints(planned, index, previous, opts, log)
    } catch (error) {
      // index.json that cannot be written (a full disk): what to do once it can.
      if (error instanceof FileWriteError && error.file === join(dir, INDEX_FILE)) throw error.explained(`${error.message}; once it can be written, run the sweep again: completed points are skipped, interrupted ones resume`)
      throw error
    }
  } finally {
    lock.release()
  }
}

/**
 * The points as a dry run shows them: each with what running the sweep now would do with it (a
 * sweep folder that exists is continued: completed points skipped, interrupted ones resumed),
 * read from the folders, changing nothing.
 */
function dryRunPoints(planned: PlannedSweep): SweepResult['points'] {
  const previous = existsSync(planned.dir) ? placePoints(planned) : undefined
  return planned.records.map((record) => {
    const outlook = pointOutlook(planned.dir, record, previous?.points.find((p) => p.run_dir === record.run_dir), planned.resolved[record.index].spec)
    const done = outlook.action === 'skip' ? {best_test_accuracy: outlook.summary.best_test_accuracy ?? null} : {}
    return {...record, ...done, would: describeOutlook(outlook)}
  })
}

/**
 * A point whose run is still training — its process outlived the sweep that started it (that sweep
 * was killed) — would be refused its folder's lock and counted as failed: the sweep waits for none
 * of them, so it is refused, naming them.
 */
function refuseLivePoints(dir: string, records: SweepPointRecord[]): void {
  const live = records.flatMap((record) => {
    const summary = readRunSummary(join(dir, record.run_dir))
    return summary && liveStatus(summary) === 'running' ? [`${record.run_dir} (${describeOwner(summary)})`] : []
  })
  if (live.length === 0) return
  throw new UsageError(`${live.length} point(s) of this sweep are still being trained by a process of an earlier sweep: ${live.join(', ')}. Wait for them to end, or stop them (kill <pid>: they keep their checkpoints), then run the sweep again`)
}

/** Train every point in order in this process (the caller holds the sweep folder's lock), then write the table. */
async function runPoints({plan, name, dir, records, resolved}: PlannedSweep, index: SweepIndex, previous: SweepIndex | undefined, opts: SweepOptions, log: (m: string) => void): Promise<SweepResult> {
  const {force: _lockOnly, launcher: _launcher, devices: _devices, ...runOpts} = opts
  const save = () => writeIndex(dir, index)
  save()
  log(`sweep ${name}: ${records.length} point(s) in ${dir}`)
  let failed = 0
  let skipped = 0
  let completed = 0
  for (const record of records) {
    if (record.status === 'submitted') continue // a queued Slurm task's (markHeld)
    const at = pointTag(record, records.length)
    const runDir = join(dir, record.run_dir)
    const action = preparePointRecord(dir, record, previous, resolved[record.index].spec, records.length, log)
    if (action === 'skip') {
      skipped++
      save()
      continue
    }
    const canResume = action === 'resume'
    record.status = 'running'
    save()
    log(`${at}${canResume ? ' (resuming)' : ''}`)
    try {
      const result = (await runExperiment({
        ...runOpts,
        ...(canResume ? {resume: runDir} : {resolved: resolved[record.index], runDir, runDirMayHold: [...LAUNCHER_FILES]}),
      })) as RunSummary
      record.status = 'completed'
      record.best_test_accuracy = result.best_test_accuracy
      delete record.error
      completed++
    } catch (error) {
      if (error instanceof InterruptedError) {
        record.status = 'interrupted'
        record.error = (error as Error).message
        save()
        throw new InterruptedError(`sweep ${name} interrupted at point ${record.key}; rerun the same command to continue (finished points are skipped, this one resumes)`, error.signal)
      }
      record.status = 'failed'
      record.error = (error as Error).message
      failed++
      log(`${at} failed: ${record.error}`)
    }
    save()
  }
  const table = await writeSweepTable(dir, plan.title, log)
  return {name, dir, launcher: 'local', points: records, completed, failed, skipped, table}
}
