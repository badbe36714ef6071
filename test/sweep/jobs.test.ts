// Local sweeps with --jobs N (points at once, each in its own process), their status, and cancel.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {runSweep} from '../../src/sweep/run.js'
import {readAttempts, readIndex} from '../../src/sweep/records.js'
import {sweepStatus} from '../../src/sweep/status.js'
import {threadsPerJob} from '../../src/sweep/jobs.js'
import {CLI_ENV, mixture, REPO, tempDir, writeSpec} from '../helpers.js'
import {numbers, signalWhen, TINY_SPEC} from '../faults/helpers.js'
import {nativeBuilt, needing} from '../require.js'

test('job slots split the CPU threads evenly, at least one each', () => {
  assert.equal(threadsPerJob(2, 16), 8)
  assert.equal(threadsPerJob(3, 16), 5)
  assert.equal(threadsPerJob(4, 2), 1)
})

test('--jobs 2 trains three points two at a time, each to the numbers of the same point trained alone; a failing one is recorded', {timeout: 120_000}, async () => {
  const dir = tempDir()
  writeSpec(TINY_SPEC(2), dir, 'ok.yaml')
  writeSpec({...TINY_SPEC(2), name: 'diverges', train: {epochs: 2, batch_size: 16, optimizer: {lr: 1e30}, metrics_every: 1}}, dir, 'nan.yaml')
  const file = writeSpec({sweep: {name: 'at-once', points: ['ok.yaml', {spec: 'ok.yaml', set: {seed: 6}}, 'nan.yaml'], launcher: {type: 'local', jobs: 2}}}, dir, 'sweep.yaml')
  const logs: string[] = []
  const parallel = await runSweep({file, sets: [], outDir: join(dir, 'parallel'), backend: 'cpu', log: (m) => logs.push(m)})
  assert.equal(parallel.launcher, 'local')
  assert.deepEqual(parallel.points.map((p) => p.status), ['completed', 'completed', 'failed'])
  assert.match(parallel.points[2].error!, /^exit code 1: .*loss became/)
  assert.ok(logs.some((m) => /3 point\(s\) in .*, 2 at once \(\d+ thread\(s\) each\)/.test(m)), logs.join('\n'))
  const sweep = join(dir, 'parallel', 'at-once')
  assert.ok(existsSync(join(sweep, 'table.md')))
  for (const p of parallel.points) {
    assert.match(readFileSync(join(sweep, p.run_dir, 'task.log'), 'utf8'), /run folder: /, `${p.run_dir}'s output is in its task.log`)
    assert.equal(readAttempts(join(sweep, p.run_dir)).length, 1)
  }
  // The same points one after another in this process: the same numbers, digit for digit.
  const serial = await runSweep({file, sets: [], outDir: join(dir, 'serial'), backend: 'cpu', launcher: {jobs: 1}, log: () => {}})
  for (const i of [0, 1]) assert.deepEqual(numbers(join(sweep, parallel.points[i].run_dir)), numbers(join(dir, 'serial', 'at-once', serial.points[i].run_dir)))

  const status = sweepStatus(sweep)
  assert.equal(status.launcher, 'local')
  assert.equal(status.active, false)
  assert.deepEqual(status.points.map((p) => p.state), ['completed', 'completed', 'failed'])
  assert.match(status.points[2].detail, /^failed: exit code 1; training loss became/)
  assert.ok(status.points[2].log_tail?.some((l) => /loss became/.test(l)))
})

test('sweep status and cancel of a local sweep: running points, SIGTERM to the sweep, interrupted points resume on a rerun', {timeout: 120_000}, async () => {
  const dir = tempDir()
  const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 16, classes: 3}}
  // Enough epochs that both points are still training while status and cancel run on a loaded machine.
  const EPOCHS = 40
  const file = writeSpec(TINY_SPEC(EPOCHS, {data}), dir, 'point.yaml')
  const out = join(dir, 'results')
  const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'sweep', file, '--set', 'seed=1,2', '--jobs', '2', '--out', out], {env: {...process.env, ...CLI_ENV}})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const sweep = join(out, 'point-sweep')
  const end = Date.now() + 60_000
  while (!(existsSync(join(sweep, 'index.json')) && sweepStatus(sweep).points.every((p) => p.state === 'running' && (p.epochs_completed ?? 0) >= 1))) {
    if (Date.now() > end) assert.fail(`the two points did not both start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const running = sweepStatus(sweep)
  assert.equal(running.active, true)
  assert.match(running.owner!, new RegExp(`^pid ${child.pid} on `))
  assert.match(running.points[0].detail, new RegExp(`^running \\(pid \\d+ on .*\\), epoch \\d+/${EPOCHS}$`))
  const human = mixture(['sweep', 'status', sweep])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, new RegExp(`sweep point-sweep \\(local, run by pid ${child.pid} on .*\\): 2 running`))

  const cancel = mixture(['sweep', 'cancel', sweep])
  assert.equal(cancel.code, 0, cancel.stderr)
  assert.match(cancel.stdout, new RegExp(`sent SIGTERM to pid ${child.pid} on `))
  assert.equal(await exited, 143, stderr)
  const stopped = sweepStatus(sweep)
  assert.deepEqual(stopped.points.map((p) => p.state), ['interrupted', 'interrupted'])
  assert.deepEqual(readIndex(sweep)!.points.map((p) => p.status), ['interrupted', 'interrupted'])
  assert.match(mixture(['sweep', 'cancel', sweep]).stdout, /no process runs sweep point-sweep/)

  const rerun = mixture(['sweep', file, '--set', 'seed=1,2', '--jobs', '2', '--out', out], {timeoutMs: 100_000})
  assert.equal(rerun.code, 0, rerun.stderr)
  for (const p of readIndex(sweep)!.points) {
    assert.equal(p.status, 'completed')
    assert.match(readFileSync(join(sweep, p.run_dir, 'task.log'), 'utf8'), /resuming .* after epoch \d+/)
    assert.deepEqual(numbers(join(sweep, p.run_dir)).map((r) => r.split(',')[0]), Array.from({length: EPOCHS}, (_, i) => String(i + 1)))
  }
})

test('--devices goes with --jobs: without it, exit 2 saying where the adapter is chosen instead', () => {
  const dir = tempDir()
  const r = mixture(['sweep', writeSpec(TINY_SPEC(1), dir), '--devices', '0,1', '--out', join(dir, 'results')])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /--devices gives each job slot of --jobs N .* an adapter/)
  assert.ok(!existsSync(join(dir, 'results')))
})

test('status and cancel of a folder that is not a sweep\'s: exit 2 saying so', () => {
  const dir = tempDir()
  for (const command of ['status', 'cancel']) {
    const r = mixture(['sweep', command, dir])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /is not a sweep folder: it has no index\.json/)
  }
})

const native = needing('native', nativeBuilt())

native.test('--jobs gives new points their share of the threads; a point resumed by it keeps the threads it recorded', {timeout: 120_000}, async () => {
  const dir = tempDir()
  const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 16, classes: 3}}
  const file = writeSpec(TINY_SPEC(6, {data, engine: {backend: 'native'}}), dir, 'point.yaml')
  const out = join(dir, 'results')
  // One after another with 2 threads; stopped after the first epoch.
  const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'sweep', file, '--out', out], {env: {...process.env, ...CLI_ENV, MIXTURE_BACKEND: undefined, MIXTURE_THREADS: '2'}})
  let stderr = ''
  const stop = signalWhen(/epoch 1\/6/, 'SIGTERM')
  child.stderr.on('data', (d) => {
    stderr += d
    stop(stderr, child)
  })
  assert.equal(await new Promise((resolve) => child.on('close', resolve)), 143, stderr)
  const runDir = join(out, 'point-sweep', '01-point')
  assert.equal(JSON.parse(readFileSync(join(runDir, 'numerics.json'), 'utf8')).threads, 2)
  // --jobs 4 on this machine would give a new point fewer threads; the resumed one keeps its 2.
  const r = mixture(['sweep', file, '--out', out, '--jobs', '4'], {env: {MIXTURE_BACKEND: undefined}, timeoutMs: 100_000})
  assert.equal(r.code, 0, r.stderr)
  const numerics = JSON.parse(readFileSync(join(runDir, 'numerics.json'), 'utf8'))
  assert.equal(numerics.threads, 2)
  assert.equal(numerics.changes, undefined, 'nothing changed on resume')
  assert.match(readFileSync(join(runDir, 'task.log'), 'utf8'), /numerics: as recorded in the run folder, MIXTURE_THREADS=2/)
})
