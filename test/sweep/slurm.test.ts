/**
 * Sweeps on a real Slurm cluster (one node, started by the suite: test/slurm/cluster.ts), through
 * the real sbatch, squeue, scontrol and scancel: a job array to a finished table, a failing point,
 * resubmission of what is missing, a task requeued mid-training and one that hits its time limit
 * (both resume to the numbers of an uninterrupted run, digit for digit), refusal while queued,
 * status and cancel, and settings Slurm refuses. The tests run at once, sharing the cluster's two
 * CPUs; each point is a tiny synthetic model on the cpu backend.
 */
import {after, before, describe} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {readAttempts, readIndex, type SweepIndex} from '../../src/sweep/records.js'
import {sweepStatus} from '../../src/sweep/status.js'
import {runSweep} from '../../src/sweep/run.js'
import {cliEnv, REPO, tempDir, writeSpec, type CliResult} from '../helpers.js'
import {numbers, TINY_SPEC} from '../faults/helpers.js'
import {needing} from '../require.js'
import {slurmMissing, startCluster, type Cluster} from '../slurm/cluster.js'

const {it, skip} = needing('slurm', slurmMissing())

/** `mixture args` as a child process that does not block the other tests (a synchronous one would hold up their polling for seconds). */
function mixtureAsync(args: string[]): Promise<CliResult> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), ...args], {env: cliEnv()})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  // 'close', not 'exit': the output may still be in the pipes when the process exits.
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr, ms: performance.now() - t0})))
}

async function until<T>(what: string, probe: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

function index(dir: string): SweepIndex {
  const found = readIndex(dir)
  assert.ok(found, `${dir}/index.json`)
  return found
}

/** Until the table job has recorded every point's outcome (nothing left `submitted`); its log if it ended without. */
function finished(dir: string, ms: number): Promise<SweepIndex> {
  return until(`the table job of ${dir}`, () => {
    const found = readIndex(dir)
    if (found && found.points.every((p) => p.status !== 'submitted') && existsSync(join(dir, 'table.md'))) return found
    const table = found?.submissions?.at(-1)?.table_job
    const ended = table && sweepStatus(dir).jobs.find((j) => j.id === table && /^(completed|failed|cancelled|timeout|ended)/.test(j.state))
    if (ended) assert.fail(`the table job ${table} ended (${ended.state}) without finishing the sweep:\n${readFileSync(join(dir, 'slurm', 'table.log'), 'utf8')}`)
    return undefined
  }, ms)
}

/** The names of every job the cluster knows (ended ones included, for MinJobAge). */
const jobNames = () => spawnSync('squeue', ['-h', '--states=all', '-o', '%j'], {encoding: 'utf8'}).stdout.trim().split('\n').filter(Boolean)

describe('sweeps on a Slurm cluster', {concurrency: true}, () => {
  let cluster: Cluster | undefined
  before(async () => {
    if (!skip) cluster = await startCluster()
  })
  after(async () => {
    await cluster?.stop()
  })
  /** A test body whose failure message ends with the daemons' logs. */
  const withLogs = (fn: () => Promise<void>) => async () => {
    try {
      await fn()
    } catch (error) {
      if (error instanceof Error) error.message += `\n${cluster?.logs() ?? ''}`
      throw error
    }
  }

  it('a 3-point sweep goes through one job array to its table; a failing point is recorded and marked; resubmitting runs only what is missing', {timeout: 180_000}, withLogs(async () => {
    const dir = tempDir()
    writeSpec(TINY_SPEC(2), dir, 'ok.yaml')
    writeSpec({...TINY_SPEC(2), name: 'diverges', train: {epochs: 2, batch_size: 16, optimizer: {lr: 1e30}, metrics_every: 1}}, dir, 'nan.yaml')
    const file = writeSpec({sweep: {name: 'three', title: 'Three', points: ['ok.yaml', {spec: 'ok.yaml', label: 'tiny, seed 6', set: {seed: 6}}, 'nan.yaml'], launcher: {type: 'slurm', max_parallel: 2, setup: ['echo "setup ran for ${SLURM_ARRAY_TASK_ID:+point }${SLURM_ARRAY_TASK_ID:-the table}"', 'run=(nice -n 1 "${run[@]}")']}}}, dir, 'sweep.yaml')
    const out = join(dir, 'results')
    const sweep = join(out, 'three')
    const first = await mixtureAsync(['sweep', file, '--out', out])
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /submitted: job array \d+ \(3 point\(s\)\), table job \d+; job script .*slurm\/array\.sbatch/)
    const submitted = index(sweep)
    assert.equal(submitted.submissions?.length, 1)
    assert.deepEqual(submitted.submissions![0].points, [0, 1, 2])
    assert.deepEqual(submitted.points.map((p) => p.job), [0, 1, 2].map((i) => `${submitted.submissions![0].array_job}_${i}`))
    assert.match(readFileSync(join(sweep, 'slurm', 'array.sbatch'), 'utf8'), /^#SBATCH --array=0-2%2$/m)

    const done = await finished(sweep, 150_000)
    assert.deepEqual(done.points.map((p) => p.status), ['completed', 'completed', 'failed'])
    const report = sweepStatus(sweep)
    assert.deepEqual(report.points.map((p) => p.state), ['completed', 'completed', 'failed'])
    assert.match(report.points[2].reason!, /^exit code 1; .*loss became/)
    assert.match(report.points[2].detail, /^failed: exit code 1/)
    assert.deepEqual(done.points.map((p) => readAttempts(join(sweep, p.run_dir)).map((a) => a.exit_code)), [[0], [0], [1]], 'each task recorded its exit in its point folder')
    const log = readFileSync(join(sweep, done.points[0].run_dir, 'slurm.log'), 'utf8')
    assert.match(log, /== .* job \d+_0 \(restart 0\) on localhost\nsetup ran for point 0\n/, 'the setup lines run in the job, before mixture')
    const table = readFileSync(join(sweep, 'table.md'), 'utf8')
    assert.match(table, /diverges.*failed/, 'the table marks the failed point')
    const status = await mixtureAsync(['sweep', 'status', sweep, '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.deepEqual(JSON.parse(status.stdout).counts, {completed: 2, failed: 1})

    // The spec is fixed; the same command submits only the point that is not completed.
    writeSpec({...TINY_SPEC(2), name: 'diverges'}, dir, 'nan.yaml')
    const second = await mixtureAsync(['sweep', file, '--out', out])
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stderr, /submitted 1 point\(s\) as job array \d+ .*; 2 point\(s\) completed already/)
    assert.match(second.stderr, /has a different configuration; kept as 03-nan\.old-/)
    const again = index(sweep)
    assert.deepEqual(again.submissions![1].points, [2])
    assert.match(readFileSync(join(sweep, 'slurm', 'array.sbatch'), 'utf8'), /^#SBATCH --array=2%2$/m)
    const all = await finished(sweep, 120_000)
    assert.deepEqual(all.points.map((p) => p.status), ['skipped', 'skipped', 'completed'])
    assert.deepEqual(sweepStatus(sweep).counts, {completed: 3})

    // Once more, every point completed (and the table job gone from the queue): nothing is queued, and the table is written after the lock is let go.
    await until('the table job to leave the queue', () => !sweepStatus(sweep).active, 60_000)
    let lockedAtTable: boolean | undefined
    const third = await runSweep({file, sets: [], outDir: out, log: (m) => {
      if (/nothing to submit \(3 point\(s\) completed, 0 held/.test(m)) lockedAtTable = existsSync(join(sweep, 'index.lock'))
    }})
    assert.equal(third.skipped, 3)
    assert.equal(lockedAtTable, false, 'index.lock was let go before the table')
    assert.equal(third.table, readFileSync(join(sweep, 'table.md'), 'utf8'))
    assert.deepEqual(index(sweep).submissions?.length, 2, 'nothing submitted')
  }))

  it('a task requeued mid-training (scontrol requeue) resumes from its checkpoint and ends with the uninterrupted numbers', {timeout: 240_000}, withLogs(async () => {
    const dir = tempDir()
    const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 128, test: 16, classes: 3}}
    // The requeue is sent once two epochs are in metrics.csv; where the point ends before it reaches
    // the task (a fast machine), it is tried again with twice the epochs.
    for (let attempt = 1, epochs = 6; ; attempt++, epochs *= 2) {
      const specFile = writeSpec(TINY_SPEC(epochs, {data}), dir, `point-${attempt}.yaml`)
      const reference = mixtureAsync(['run', specFile, '--out', join(dir, `reference-${attempt}`)])
      const out = join(dir, `results-${attempt}`)
      const r = await mixtureAsync(['sweep', specFile, '--name', 'requeued', '--launcher', 'slurm', '--out', out])
      assert.equal(r.code, 0, r.stderr)
      const sweep = join(out, 'requeued')
      const point = index(sweep).points[0]
      const runDir = join(sweep, point.run_dir)
      await until('two finished epochs', () => existsSync(join(runDir, 'metrics.csv')) && numbers(runDir).length >= 2, 90_000)
      const requeue = spawnSync('scontrol', ['requeue', point.job!], {encoding: 'utf8'})
      assert.equal(requeue.status, 0, requeue.stderr)
      await finished(sweep, 120_000)
      const ref = await reference
      assert.equal(ref.code, 0, ref.stderr)
      const attempts = readAttempts(runDir).map((a) => [a.restart, a.exit_code, a.requeued])
      if (attempts[0]?.[1] === 0) {
        assert.ok(attempt < 3, `${epochs} epochs ended before the requeue reached the task in 3 tries: ${JSON.stringify(attempts)}`)
        continue
      }
      const refDir = join(dir, `reference-${attempt}`, 'tiny', readdirSync(join(dir, `reference-${attempt}`, 'tiny'))[0])
      assert.deepEqual(numbers(runDir), numbers(refDir), 'metrics.csv after the requeue equals the uninterrupted run, digit for digit')
      assert.deepEqual(attempts, [[0, 143, false], [1, 0, false]])
      const log = readFileSync(join(runDir, 'slurm.log'), 'utf8')
      assert.match(log, /DUE TO JOB REQUEUE/)
      assert.match(log, /resuming .* after epoch \d+/)
      assert.equal(sweepStatus(sweep).points[0].state, 'completed')
      break
    }
  }))

  it('a task that reaches its time limit gets USR1, checkpoints, requeues itself and resumes to the uninterrupted numbers', {timeout: 300_000}, withLogs(async () => {
    const dir = tempDir()
    // Slurm sends --signal=B:USR1@60 of a 1-minute limit at its next time-limit check (every 30 s), so
    // the point must still train then: about 35 s of epochs, as timed here; where the machine turns
    // out faster and the point ends before the signal, it is tried again with twice the epochs.
    const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 128, test: 16, classes: 3}}
    const probe = await mixtureAsync(['run', writeSpec(TINY_SPEC(2, {data}), dir, 'probe.yaml'), '--out', join(dir, 'probe')])
    assert.equal(probe.code, 0, probe.stderr)
    const probeDir = join(dir, 'probe', 'tiny', readdirSync(join(dir, 'probe', 'tiny'))[0])
    const rows = readFileSync(join(probeDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
    const perEpoch = rows.reduce((sum, r) => sum + Number(r[5]) + Number(r[6]), 0) / rows.length
    let epochs = Math.min(300, Math.max(20, Math.ceil(35 / perEpoch)))
    for (let attempt = 1; ; attempt++) {
      const specFile = writeSpec(TINY_SPEC(epochs, {data}), dir, `point-${attempt}.yaml`)
      const reference = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'run', specFile, '--out', join(dir, `reference-${attempt}`)], {env: cliEnv(), stdio: 'ignore'})
      const referenceDone = new Promise<number | null>((resolve) => reference.on('close', (code) => resolve(code)))
      const out = join(dir, `results-${attempt}`)
      const r = await mixtureAsync(['sweep', specFile, '--name', 'timed', '--out', out, '--slurm', 'time=1', '--slurm', 'extra.signal=B:USR1@60'])
      assert.equal(r.code, 0, r.stderr)
      const sweep = join(out, 'timed')
      assert.match(readFileSync(join(sweep, 'slurm', 'array.sbatch'), 'utf8'), /^#SBATCH --signal=B:USR1@60$/m)
      const runDir = join(sweep, index(sweep).points[0].run_dir)
      await finished(sweep, 240_000)
      const attempts = readAttempts(runDir)
      assert.equal(attempts[attempts.length - 1].exit_code, 0, JSON.stringify(attempts))
      if (!attempts.some((a) => a.requeued)) {
        reference.kill()
        await referenceDone
        assert.ok(attempt < 3, `${epochs} epochs ended before Slurm's time-limit signal in 3 tries: ${JSON.stringify(attempts)}`)
        epochs *= 2
        continue
      }
      assert.ok(attempts.some((a) => a.exit_code === 143 && a.requeued), `a task was stopped by USR1 and requeued itself: ${JSON.stringify(attempts)}`)
      assert.match(readFileSync(join(runDir, 'slurm.log'), 'utf8'), /time limit near: the last checkpoint is kept; requeueing/)
      assert.equal(await referenceDone, 0)
      const refDir = join(dir, `reference-${attempt}`, 'tiny', readdirSync(join(dir, `reference-${attempt}`, 'tiny'))[0])
      assert.deepEqual(numbers(runDir), numbers(refDir), `metrics.csv of ${epochs} epochs after ${attempts.length} attempts equals the uninterrupted run`)
      break
    }
  }))

  it('while a submission is queued the sweep is refused (Slurm is asked); status shows it; cancel stops queued and running points', {timeout: 300_000}, withLogs(async () => {
    const dir = tempDir()
    const specFile = writeSpec(TINY_SPEC(2), dir, 'point.yaml')
    const out = join(dir, 'results')
    const sweep = join(out, 'held')
    // --hold: the array waits in the queue until released, as a busy cluster would keep it.
    const held = await mixtureAsync(['sweep', specFile, '--name', 'held', '--out', out, '--slurm', 'extra.hold=true'])
    assert.equal(held.code, 0, held.stderr)
    const {array_job: array, table_job: table} = index(sweep).submissions![0]
    for (const launcher of ['slurm', 'local']) {
      const again = await mixtureAsync(['sweep', specFile, '--name', 'held', '--out', out, '--launcher', launcher])
      assert.equal(again.code, 2, again.stderr)
      assert.match(again.stderr, new RegExp(`sweep held still has jobs in the Slurm queue: ${array} \\(array: 1 pending\\), ${table} \\(table: pending\\)\\. Wait for them .*cancel them \\(mixture sweep cancel .*\\), or add --force`))
    }
    // --force goes ahead beside the queued jobs, leaving them the points they hold: here, all of them.
    const forced = await mixtureAsync(['sweep', specFile, '--name', 'held', '--out', out, '--launcher', 'slurm', '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stderr, /--force: going ahead although jobs of sweep held are in the queue/)
    assert.match(forced.stderr, /nothing to submit \(0 point\(s\) completed, 1 held by queued jobs\)/)
    assert.equal(index(sweep).submissions!.length, 1, 'nothing more was submitted')
    assert.equal(index(sweep).points[0].job, `${array}_0`)
    const status = await mixtureAsync(['sweep', 'status', sweep])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, new RegExp(`sweep held \\(slurm; jobs ${array} \\(array: pending\\), ${table} \\(table: pending\\)\\): 1 pending`))
    assert.match(status.stdout, /01-point +pending \(JobHeldUser\)/)
    // The spec file changed while its task is queued: the task would find its configuration gone, so even --force is refused, naming the task.
    const original = readFileSync(specFile, 'utf8')
    writeSpec({...TINY_SPEC(2), train: {epochs: 2, batch_size: 16, optimizer: {lr: 0.5}}}, dir, 'point.yaml')
    const changed = await mixtureAsync(['sweep', specFile, '--name', 'held', '--out', out, '--launcher', 'slurm', '--force'])
    assert.equal(changed.code, 2, changed.stderr)
    assert.match(changed.stderr, new RegExp(`point point: its queued task ${array}_0 was submitted with configuration \\w+, which \\S*point\\.yaml no longer resolves to .*scancel ${array}_0`))
    writeFileSync(specFile, original)
    // index.json moved aside: the jobs are found by their names and scripts, and the sweep is refused even with --force.
    renameSync(join(sweep, 'index.json'), join(sweep, 'index.json.aside'))
    for (const force of [[], ['--force']]) {
      const unrecorded = await mixtureAsync(['sweep', specFile, '--name', 'held', '--out', out, '--launcher', 'slurm', ...force])
      assert.equal(unrecorded.code, 2, unrecorded.stderr)
      assert.match(unrecorded.stderr, new RegExp(`sweep held has jobs in the Slurm queue \\((${array}, ${table}|${table}, ${array})\\) that its index\\.json does not record`))
    }
    renameSync(join(sweep, 'index.json.aside'), join(sweep, 'index.json'))
    const cancel = await mixtureAsync(['sweep', 'cancel', sweep])
    assert.equal(cancel.code, 0, cancel.stderr)
    assert.match(cancel.stdout, new RegExp(`cancelled ${array} \\(array: 1 pending\\), ${table} \\(table: pending\\)`))
    await until('the cancelled jobs to leave the queue', () => !sweepStatus(sweep).active, 30_000)
    assert.equal(sweepStatus(sweep).points[0].detail, 'cancelled before it started')
    assert.match((await mixtureAsync(['sweep', 'cancel', sweep])).stdout, /nothing of sweep held is queued or running/)
    // sweep finish records it, and it stays what it is (it read as pending, not started, once recorded).
    const finish = await mixtureAsync(['sweep', 'finish', sweep])
    assert.equal(finish.code, 1, 'no point completed, so no table: exit 1')
    assert.equal(index(sweep).points[0].status, 'cancelled')
    assert.equal(sweepStatus(sweep).points[0].detail, 'cancelled before it started')

    // A running point: cancel stops it at a step boundary with its checkpoint; it reads as interrupted.
    const long = writeSpec(TINY_SPEC(30, {data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 128, test: 16, classes: 3}}}), dir, 'long.yaml')
    const started = await mixtureAsync(['sweep', long, '--name', 'stopped', '--launcher', 'slurm', '--out', out])
    assert.equal(started.code, 0, started.stderr)
    const stopped = join(out, 'stopped')
    const running = await until('the point to run', () => sweepStatus(stopped).points.find((p) => p.state === 'running' && (p.epochs_completed ?? 0) >= 1), 90_000)
    assert.match(running.detail, /^running on localhost, epoch \d+\/30$/)
    assert.equal((await mixtureAsync(['sweep', 'cancel', stopped])).code, 0)
    const after = await until('the cancelled point to stop', () => {
      const p = sweepStatus(stopped).points[0]
      return p.state === 'interrupted' ? p : undefined
    }, 60_000)
    assert.match(after.detail, /^interrupted after epoch \d+ \(cancelled\); running the sweep again resumes it$/)
    assert.deepEqual(readAttempts(join(stopped, after.run_dir)).map((a) => a.exit_code), [143])
  }))

  it('a setting Slurm refuses, or one that is not Slurm\'s form, is exit 2 with what is wrong; nothing is submitted or written', {timeout: 180_000}, withLogs(async () => {
    const dir = tempDir()
    const specFile = writeSpec(TINY_SPEC(1), dir, 'point.yaml')
    const out = join(dir, 'results')
    const partition = await mixtureAsync(['sweep', specFile, '--name', 'refused', '--out', out, '--slurm', 'partition=nowhere'])
    assert.equal(partition.code, 2, partition.stderr)
    assert.match(partition.stderr, /Slurm refused the job array: invalid partition specified: nowhere.*nothing was submitted/)
    const time = await mixtureAsync(['sweep', specFile, '--name', 'refused', '--out', out, '--slurm', 'time=2h'])
    assert.equal(time.code, 2, time.stderr)
    assert.match(time.stderr, /--slurm time=2h: launcher\.time: "2h" is not a Slurm time: write minutes \(90\), hours:minutes:seconds/)
    const gpus = await mixtureAsync(['sweep', specFile, '--name', 'refused', '--out', out, '--slurm', 'gpus_per_task=1'])
    assert.equal(gpus.code, 2, gpus.stderr)
    assert.match(gpus.stderr, /Slurm refused the job array: .*gres/i)
    const long = await mixtureAsync(['sweep', specFile, '--name', 'refused', '--out', out, '--slurm', 'partition=short', '--slurm', 'time=10'])
    assert.equal(long.code, 2, long.stderr)
    assert.match(long.stderr, /launcher time 10 is more than partition short allows \(MaxTime 00:02:00\): Slurm would queue the job and never start it/)
    assert.ok(!existsSync(out), 'no folder was written')
    assert.ok(!jobNames().some((n) => n.startsWith('mixture-refused')), `no job was queued: ${jobNames().join(', ')}`)
    // Within the partition's limit, the table job's default 30 minutes is cut to it (it would wait forever).
    const short = await mixtureAsync(['sweep', specFile, '--name', 'short', '--out', out, '--slurm', 'partition=short', '--slurm', 'time=2'])
    assert.equal(short.code, 0, short.stderr)
    assert.match(readFileSync(join(out, 'short', 'slurm', 'table.sbatch'), 'utf8'), /^#SBATCH --time=2$/m)
    assert.equal((await mixtureAsync(['sweep', 'cancel', join(out, 'short')])).code, 0)
  }))
})
