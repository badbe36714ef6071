/**
 * Submitting a sweep to Slurm: the points that are not completed go into one job array (task N
 * trains point N), and a job that depends on the array (`afterany`) writes the table when it has
 * ended. The submission is checked by Slurm first (`sbatch --test-only`: an unknown partition, a
 * GPU request the cluster cannot meet), so that a setting Slurm refuses is a usage error before
 * anything is written or submitted. The command returns once the jobs are queued; index.json
 * records their ids, which `mixture sweep status` and `cancel` ask Slurm about.
 *
 * Points whose folder holds a checkpoint of the same configuration are resumed by their task;
 * folders of another configuration are set aside first, as a local sweep does.
 */
import {mkdirSync, rmSync, symlinkSync, lstatSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {InterruptedError, UsageError} from '../errors.js'
import {TABLE_JOB, type Launcher} from '../schema/launcher.js'
import {timeSeconds} from '../config/launcher.js'
import {partitionLimit} from '../slurm/partition.js'
import {projectVersion} from '../run/env.js'
import {PACKAGE_ROOT} from '../fs/package-folder.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import {acquireLockWaiting} from '../run/lock.js'
import {SWEEP_LOCK, SWEEP_LOCK_WAIT_MS, writeIndex, type SlurmSubmission, type SweepIndex, type SweepPointRecord} from './records.js'
import {readRunSummary} from '../run/summary.js'
import {writeSweepTable} from './finish.js'
import {pointTag, preparePoint, refuseChangedHeld, sameConfiguration} from './point.js'
import {placePoints, type PlannedSweep, type SweepOptions, type SweepResult} from './plan.js'
import {controllerUnreachable, slurm, slurmSays} from '../slurm/cli.js'
import {markHeld, refuseWhileQueued} from './queued.js'
import {arrayScript, tableScript, type ScriptInput} from '../slurm/script.js'

/** Folder names Slurm's #SBATCH lines and --output patterns take as they are (no spaces, no %). */
const PLAIN_PATH = /^[\w./+@,:=~-]+$/

/** The job id `sbatch --parsable` printed (`123` or `123;cluster`). */
function jobId(stdout: string): string {
  const id = stdout.trim().split(';')[0]
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed "${stdout.trim()}" where a job id was expected`)
  return id
}

function sbatch(args: string[], input: string | undefined, what: string): string {
  const reply = slurm('sbatch', args, input)
  // A controller that cannot be reached is no fault of the settings: a runtime failure (exit 1), to try again.
  if (reply.code !== 0 && controllerUnreachable(reply)) throw new Error(`Slurm's controller could not be reached to submit the ${what}: ${slurmSays(reply)}; nothing was submitted. Try again once \`sinfo\` answers`)
  if (reply.code !== 0) throw new UsageError(`Slurm refused the ${what}: ${slurmSays(reply)}. Check the launcher settings (--slurm, or launcher: in the sweep file); nothing was submitted`)
  return reply.stdout
}

/** Make `slurm/logs/<index>.log` a link to the point folder's slurm.log, where Slurm then writes the task's output. */
function linkLog(dir: string, index: number, runDir: string): void {
  const link = join(dir, 'slurm', 'logs', `${index}.log`)
  try {
    if (lstatSync(link)) rmSync(link)
  } catch {
    // no link yet
  }
  symlinkSync(join('..', '..', runDir, 'slurm.log'), link)
}

/** What the job scripts say: the points, the settings, the run-point command's arguments. */
function scriptInput({name, dir, records}: PlannedSweep, launcher: Launcher, opts: SweepOptions, indices: number[]): ScriptInput {
  return {
    name,
    dir,
    pointDirs: records.map((r) => r.run_dir),
    indices,
    launcher,
    args: [...(opts.backend ? ['--backend', opts.backend] : []), ...(opts.dataDir ? ['--data-dir', resolve(opts.dataDir)] : [])],
    node: process.execPath,
    bin: join(PACKAGE_ROOT, 'bin', 'run.js'),
    version: projectVersion(),
  }
}

/**
 * The launcher with its time limits checked against the partition's: a point's `time` above it is a
 * usage error; the table job's default (30 minutes) is cut to it, a `table_time` above it refused.
 */
function withinPartitionTime(launcher: Launcher): Launcher {
  const limit = partitionLimit(launcher.partition)
  if (limit?.seconds === undefined) return launcher
  const over = (key: 'time' | 'table_time') => {
    const asked = timeSeconds(launcher[key])
    if (asked !== undefined && asked > limit.seconds!) throw new UsageError(`launcher ${key} ${launcher[key]} is more than partition ${limit.name} allows (MaxTime ${limit.text}): Slurm would queue the job and never start it; ask for at most that, or another partition`)
  }
  over('time')
  over('table_time')
  if (launcher.table_time !== undefined || TABLE_JOB.time * 60 <= limit.seconds) return launcher
  return {...launcher, table_time: Math.max(1, Math.floor(limit.seconds / 60))}
}

export async function submitSweep(planned: PlannedSweep, launcher: Launcher, opts: SweepOptions, log: (m: string) => void): Promise<SweepResult> {
  const {plan, name, dir, records} = planned
  if (!PLAIN_PATH.test(dir)) throw new UsageError(`the sweep folder ${dir} has characters Slurm's job scripts cannot take as they are (spaces, %, quotes); give --out a plain path`)
  launcher = withinPartitionTime(launcher)
  const input = scriptInput(planned, launcher, opts, records.map((r) => r.index))
  // Slurm judges the settings of both jobs before anything is written: a refusal is a usage error, nothing queued.
  sbatch(['--test-only'], arrayScript(input), 'job array')
  sbatch(['--test-only'], tableScript(input), 'table job')
  mkdirSync(dir, {recursive: true})
  const lock = await acquireLockWaiting(join(dir, SWEEP_LOCK), `sweep ${name}`, {force: opts.force, brief: true, log, waitMs: SWEEP_LOCK_WAIT_MS, stop: opts.stop})
  try {
    // Again under the lock: a submission a moment before may have added points (and numbered their folders).
    const previous = placePoints(planned)
    input.pointDirs = records.map((r) => r.run_dir)
    const active = refuseWhileQueued(dir, name, previous, Boolean(opts.force), log)
    const before = (r: SweepPointRecord) => previous?.points.find((p) => p.run_dir === r.run_dir)
    // First without touching anything: which points are done, which are still held by queued tasks.
    const held = markHeld(active, previous, records, log)
    await refuseChangedHeld(dir, held)
    const toSubmit: SweepPointRecord[] = []
    for (const record of records) {
      const prior = readRunSummary(join(dir, record.run_dir))
      if (held.has(record)) continue
      if (prior?.status === 'completed' && sameConfiguration(join(dir, record.run_dir), record.config_hash, before(record)?.config_hash, planned.resolved[record.index].spec)) {
        record.status = 'skipped'
        record.best_test_accuracy = prior.best_test_accuracy as number | null
      } else {
        toSubmit.push(record)
      }
    }
    const index: SweepIndex = {
      name,
      title: plan.title,
      source: relative(dir, plan.source),
      created: previous?.created ?? new Date().toISOString(),
      updated: '',
      launcher,
      submissions: previous?.submissions ?? [],
      points: records,
    }
    const skipped = records.filter((r) => r.status === 'skipped').length
    if (toSubmit.length === 0) {
      writeIndex(dir, index)
      // The table is written after letting go of the lock, as sweep finish writes it: a brief holder stays brief.
      lock.release()
      log(`sweep ${name}: nothing to submit (${skipped} point(s) completed, ${records.length - skipped} held by queued jobs)`)
      const table = skipped === records.length ? await writeSweepTable(dir, plan.title, log) : undefined
      return {name, dir, launcher: 'slurm', points: records, completed: 0, failed: 0, skipped, table}
    }

    input.indices = toSubmit.map((r) => r.index)
    const arrayText = arrayScript(input)
    const tableText = tableScript(input)

    for (const record of toSubmit) {
      const at = pointTag(record, records.length)
      const action = preparePoint(dir, record, before(record), planned.resolved[record.index].spec, log, at)
      if (action.action === 'resume') log(`${at}: its task resumes from the checkpoint`)
      mkdirSync(join(dir, record.run_dir), {recursive: true})
    }
    mkdirSync(join(dir, 'slurm', 'logs'), {recursive: true})
    for (const record of toSubmit) linkLog(dir, record.index, record.run_dir)
    const script = join(dir, 'slurm', 'array.sbatch')
    const tableFile = join(dir, 'slurm', 'table.sbatch')
    writeFileAtomic(script, arrayText)
    writeFileAtomic(tableFile, tableText)

    if (opts.stop?.requested) throw new InterruptedError(`sweep ${name}: stopped before anything was submitted (the points' folders are prepared); submit it again to go on`, opts.stop.signal)
    // The index holds every point before a task can start: a task reads its point's record from it.
    writeIndex(dir, index)
    const arrayJob = jobId(sbatch(['--parsable', script], undefined, 'job array'))
    let tableJob: string
    try {
      tableJob = jobId(sbatch(['--parsable', `--dependency=afterany:${arrayJob}`, tableFile], undefined, 'table job'))
    } catch (error) {
      // Without the table job the sweep would not finish on its own: take the array back.
      slurm('scancel', [arrayJob])
      throw new UsageError(`${(error as Error).message.replace(/; nothing was submitted$/, '')}; the job array ${arrayJob} it was to follow has been cancelled again (its tasks may have started: mixture sweep status ${dir})`)
    }
    const submission: SlurmSubmission = {array_job: arrayJob, table_job: tableJob, points: toSubmit.map((r) => r.index), submitted: new Date().toISOString(), script: relative(dir, script)}
    for (const record of toSubmit) {
      record.status = 'submitted'
      record.job = `${arrayJob}_${record.index}`
      delete record.error
    }
    index.submissions = [...(index.submissions ?? []), submission]
    delete index.cancelled
    writeIndex(dir, index)
    log(`sweep ${name}: submitted ${toSubmit.length} point(s) as job array ${arrayJob}${launcher.max_parallel ? ` (at most ${launcher.max_parallel} at once)` : ''}; job ${tableJob} writes the table when it has ended${skipped > 0 ? `; ${skipped} point(s) completed already` : ''}`)
    log(`follow it with: mixture sweep status ${dir}`)
    return {name, dir, launcher: 'slurm', points: records, completed: 0, failed: 0, skipped, submitted: {...submission, script_path: script}}
  } finally {
    lock.release()
  }
}
