// Sweeps: expansion up front, one run folder per point, failures recorded, reruns skip finished points.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {spawn} from 'node:child_process'
import {pathToFileURL} from 'node:url'
import {join} from 'node:path'
import {expandSweep, splitList} from '../../src/config/sweep.js'
import {runSweep} from '../../src/sweep/run.js'
import {sweepStatus} from '../../src/sweep/status.js'
import {finishSweep} from '../../src/sweep/finish.js'
import {SWEEP_LOCK} from '../../src/sweep/records.js'
import {acquireLock} from '../../src/run/lock.js'
import {formatOrigin, SpecError} from '../../src/config/errors.js'
import {DataError} from '../../src/data/errors.js'
import {REPO, tempDir, TINY_CNN_SPEC, writeSpec} from '../helpers.js'

const tiny = TINY_CNN_SPEC

test('comma lists split at the top level only', () => {
  assert.deepEqual(splitList('1e-3,3e-4'), ['1e-3', '3e-4'])
  assert.deepEqual(splitList('[1, 2],[3]'), ['[1, 2]', '[3]'])
  assert.deepEqual(splitList('"a,b",c'), ['"a,b"', 'c'])
})

test('a --set grid expands to the cartesian product, in order', () => {
  const plan = expandSweep(writeSpec(tiny), ['train.optimizer.lr=1e-3,3e-4', 'seed=1,2', 'train.epochs=2'])
  assert.equal(plan.points.length, 4)
  assert.deepEqual(plan.points.map((p) => p.grid), [
    {'train.optimizer.lr': '1e-3', seed: '1'},
    {'train.optimizer.lr': '1e-3', seed: '2'},
    {'train.optimizer.lr': '3e-4', seed: '1'},
    {'train.optimizer.lr': '3e-4', seed: '2'},
  ])
  assert.ok(plan.points.every((p) => p.overrides.includes('train.epochs=2')))
})

test('a sweep file crosses its points with its grid and applies its set', () => {
  const dir = tempDir()
  writeSpec(tiny, dir, 'a.yaml')
  writeSpec({...tiny, name: 'b'}, dir, 'b.yaml')
  const file = writeSpec({sweep: {name: 'demo', title: 'Demo', points: ['a.yaml', {spec: 'b.yaml', label: 'B', set: {'train.batch_size': 8}}], grid: {seed: [1, 2]}, set: {'train.epochs': 1}}}, dir, 'sweep.yaml')
  const plan = expandSweep(file, [])
  assert.equal(plan.name, 'demo')
  assert.equal(plan.points.length, 4)
  assert.equal(plan.points[2].label, 'B')
  assert.ok(plan.points[2].overrides.includes('train.batch_size=8'))
  assert.ok(plan.points.every((p) => p.overrides.includes('train.epochs=1')))
  assert.throws(() => expandSweep(writeSpec({sweep: {points: ['missing.yaml'], colour: 1}}, dir, 'bad.yaml'), []), (e: unknown) => e instanceof SpecError && e.problems.length === 2)
})

test('runs every point into its own folder; a failed point is recorded; a rerun skips finished points', async () => {
  const dir = tempDir()
  writeSpec(tiny, dir, 'ok.yaml')
  // lr 1e30 makes the loss non-finite: that point fails, the sweep goes on
  writeSpec({...tiny, name: 'diverges', train: {epochs: 1, batch_size: 16, optimizer: {lr: 1e30}, metrics_every: 1}}, dir, 'nan.yaml')
  const file = writeSpec({sweep: {name: 'mixed', points: ['ok.yaml', 'nan.yaml']}}, dir, 'sweep.yaml')
  const logs: string[] = []
  const first = await runSweep({file, sets: [], outDir: join(dir, 'results'), log: (m) => logs.push(m)})
  assert.equal(first.completed, 1)
  assert.equal(first.failed, 1)
  const index = JSON.parse(readFileSync(join(dir, 'results', 'mixed', 'index.json'), 'utf8'))
  assert.deepEqual(index.points.map((p: {status: string}) => p.status), ['completed', 'failed'])
  assert.match(index.points[1].error, /loss became/)
  assert.ok(existsSync(join(dir, 'results', 'mixed', index.points[0].run_dir, 'summary.json')))
  assert.ok(existsSync(join(dir, 'results', 'mixed', 'table.md')), 'the table is written into the sweep folder')
  // A dry run says what running the sweep again would do with each point, and changes nothing.
  const plannedAgain = await runSweep({file, sets: [], outDir: join(dir, 'results'), dryRun: true, log: () => {}})
  assert.deepEqual(plannedAgain.points.map((p) => p.would), ['would skip: completed', 'would train anew (its earlier folder, with no checkpoint, set aside)'])
  assert.equal(plannedAgain.points[0].best_test_accuracy, index.points[0].best_test_accuracy)
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'results', 'mixed', 'index.json'), 'utf8')), index)
  const second = await runSweep({file, sets: [], outDir: join(dir, 'results'), log: (m) => logs.push(m)})
  assert.equal(second.skipped, 1, 'the completed point is skipped')
  assert.equal(second.failed, 1, 'the failed point is tried again')
  assert.ok(logs.some((m) => /already completed, skipped/.test(m)))
  // A changed configuration is a new run; the old folder is kept aside, not deleted.
  writeFileSync(join(dir, 'ok.yaml'), JSON.stringify({...tiny, seed: 9}))
  const changed = await runSweep({file, sets: [], outDir: join(dir, 'results'), dryRun: true, log: () => {}})
  assert.equal(changed.points[0].would, 'would train anew (its earlier folder, with a different configuration, set aside)')
  const third = await runSweep({file, sets: [], outDir: join(dir, 'results'), log: (m) => logs.push(m)})
  assert.equal(third.completed, 1)
  assert.ok(logs.some((m) => /different configuration; kept as/.test(m)))
})

test('invalid points are rejected before anything trains', async () => {
  const dir = tempDir()
  const file = writeSpec(tiny, dir)
  await assert.rejects(runSweep({file, sets: ['train.epochs=1,0'], outDir: join(dir, 'results'), log: () => {}}), SpecError)
  assert.ok(!existsSync(join(dir, 'results')))
})

test("a misspelt key the sweep file wrote (set:, a point's set:, grid:) is named at its line there, one given with --set as --set", async () => {
  const dir = tempDir()
  writeSpec(tiny, dir)
  const file = writeSpec('sweep:\n  name: blame\n  points:\n    - {spec: spec.yaml, set: {train.optimzer.lr: 0.1}}\n  grid:\n    train.epoch: [1, 2]\n  set:\n    train.batchsize: 4\n', dir, 'sweep.yaml')
  const problems = async (sets: string[]) => {
    const error = await runSweep({file, sets, dryRun: true, log: () => {}}).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof SpecError, String(error))
    return error.problems.map((p) => `${formatOrigin(p.origin)} ${p.path}`)
  }
  assert.deepEqual(await problems([]), [`${file}:8:5 train.batchsize`, `${file}:4:31 train.optimzer`, `${file}:6:19 train.epoch`])
  assert.deepEqual(await problems(['train.batchsize=4']), ['--set train.batchsize=4 train.batchsize', `${file}:4:31 train.optimzer`, `${file}:6:19 train.epoch`])
})

test("the README's sweep file dry-runs as written: 2 points × 3 seeds × 2 depths, each point validated", async () => {
  const dir = tempDir()
  mkdirSync(join(dir, 'configs', 'x'), {recursive: true})
  writeFileSync(join(dir, 'configs', 'quickstart.yaml'), readFileSync(join(REPO, 'configs', 'quickstart.yaml')))
  const block = readFileSync(join(REPO, 'README.md'), 'utf8').match(/### Sweep files[\s\S]*?```yaml\n([\s\S]*?)```/)
  assert.ok(block, 'README.md shows a sweep file')
  const file = join(dir, 'configs', 'x', 'study.yaml')
  writeFileSync(file, block[1])
  const result = await runSweep({file, sets: [], outDir: join(dir, 'results'), dryRun: true, log: () => {}})
  assert.equal(result.name, 'lr-study')
  assert.equal(result.points.length, 12)
  assert.ok(!existsSync(join(dir, 'results')))
})

test("a local sweep whose points' data cannot be found is refused before the first point trains, naming the points; a dry run notes it; completed points are not asked", async () => {
  const dir = tempDir()
  writeSpec(tiny, dir, 'here.yaml')
  writeSpec({...tiny, name: 'elsewhere', data: {dataset: 'cifar10', image_size: 8}}, dir, 'elsewhere.yaml')
  const file = writeSpec({sweep: {name: 'data', points: ['here.yaml', 'elsewhere.yaml'], grid: {seed: [1, 2]}}}, dir, 'sweep.yaml')
  const out = join(dir, 'results')
  const empty = join(dir, 'no-data')
  mkdirSync(empty)
  const error = await runSweep({file, sets: [], outDir: out, dataDir: empty, log: () => {}}).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof DataError, String(error))
  assert.match((error as Error).message, /^sweep data: the data of its points cannot be found here, so nothing was trained\. 03-elsewhere,seed=1, 04-elsewhere,seed=2: Dataset 'cifar10' is not in the data directory given/)
  assert.ok(!existsSync(join(out, 'data')), 'no sweep folder')
  const notes = async () => {
    const said: string[] = []
    await runSweep({file, sets: [], outDir: out, dataDir: empty, dryRun: true, log: (m) => said.push(m)})
    return said.filter((m) => m.startsWith('note:'))
  }
  const [note, ...more] = await notes()
  assert.match(note, /^note: 03-elsewhere,seed=1, 04-elsewhere,seed=2: Dataset 'cifar10' is not in the data directory given/)
  assert.deepEqual(more, [])
  // A point completed earlier (its data since moved away) trains no more: it is not asked.
  mkdirSync(join(out, 'data', '03-elsewhere,seed=1'), {recursive: true})
  writeFileSync(join(out, 'data', '03-elsewhere,seed=1', 'summary.json'), JSON.stringify({status: 'completed'}))
  assert.match((await notes())[0], /^note: \d+-elsewhere,seed=2: Dataset 'cifar10'/)
})

test('the example Slurm sweep file resolves: its points are the paper\'s CIFAR-10 rows, its launcher slurm', async () => {
  const result = await runSweep({file: join(REPO, 'configs', 'examples', 'cifar10-table-slurm.yaml'), sets: [], dryRun: true, outDir: tempDir(), log: () => {}})
  assert.equal(result.launcher, 'slurm')
  assert.deepEqual(result.points.map((p) => p.run_dir), ['01-alternating-1block', '02-alternating-2block', '03-joint-1block', '04-joint-2block', '05-resnet18', '06-vit'])
})

test("sweep status of a point whose run could not record its end: the sweep's recorded failure, and whether a checkpoint resumes it", async () => {
  const dir = tempDir()
  const record = (i: number, status: string, error?: string) => ({index: i, key: `p${i}`, label: null, spec: 's.yaml', overrides: [], grid: {}, config_hash: 'h', status, run_dir: `0${i + 1}-p${i}`, ...(error ? {error} : {})})
  writeFileSync(join(dir, 'index.json'), JSON.stringify({name: 's', source: 's.yaml', created: '', updated: '', launcher: {type: 'local'}, points: [record(0, 'failed', 'cannot write metrics.csv: the disk is full'), record(1, 'running')]}))
  for (const i of [0, 1]) {
    mkdirSync(join(dir, `0${i + 1}-p${i}`))
    // Left `running` by a process that is gone (pid 2^22 + 1 is past Linux's pid_max).
    writeFileSync(join(dir, `0${i + 1}-p${i}`, 'summary.json'), JSON.stringify({status: 'running', pid: 4194305, host: hostname(), epochs_completed: 1, epochs: 3, heartbeat: new Date().toISOString()}))
  }
  writeFileSync(join(dir, '02-p1', 'last.ckpt'), '')
  const [full, killed] = sweepStatus(dir).points
  assert.deepEqual([full.state, full.detail], ['failed', 'failed: cannot write metrics.csv: the disk is full; it has no checkpoint: running the sweep again starts it anew'])
  assert.equal(killed.state, 'crashed')
  assert.match(killed.detail, /without recording why .*; running the sweep again resumes it from its checkpoint$/)
  // sweep finish records the outcome; run again (the Slurm table job runs it too), it records the same.
  await finishSweep(dir, () => {})
  const once = readFileSync(join(dir, 'index.json'), 'utf8')
  await finishSweep(dir, () => {})
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).points, JSON.parse(once).points)
  assert.equal(JSON.parse(once).points[0].error, 'cannot write metrics.csv: the disk is full')
})

test('sweep status calls a local sweep running while a process holds its lock to train it, not while one holds it for a moment (sweep finish, a cancel)', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'index.json'), JSON.stringify({name: 's', source: 's.yaml', created: '', updated: '', launcher: {type: 'local'}, points: []}))
  assert.equal(sweepStatus(dir).active, false)
  const brief = acquireLock(join(dir, SWEEP_LOCK), 'sweep s', {brief: true})
  try {
    const status = sweepStatus(dir)
    assert.equal(status.active, false)
    assert.equal(status.owner, undefined)
  } finally {
    brief.release()
  }
  const training = acquireLock(join(dir, SWEEP_LOCK), 'sweep s')
  try {
    const status = sweepStatus(dir)
    assert.equal(status.active, true)
    assert.match(status.owner ?? '', new RegExp(`^pid ${process.pid} on `))
  } finally {
    training.release()
  }
})

test('sweep status gives a completed point its accuracy by the run\'s own rule: at the best validation epoch where it held out a validation split', async () => {
  const dir = tempDir()
  const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 60, test: 16, classes: 3}}
  writeSpec({...tiny, data}, dir, 'paper-rule.yaml')
  writeSpec({...tiny, name: 'held-out', data: {...data, val_split: 0.2}}, dir, 'val.yaml')
  const file = writeSpec({sweep: {name: 'rules', points: ['paper-rule.yaml', 'val.yaml']}}, dir, 'sweep.yaml')
  await runSweep({file, sets: [], outDir: join(dir, 'results'), log: () => {}})
  const folder = join(dir, 'results', 'rules')
  const [paper, val] = sweepStatus(folder).points
  const summary = (runDir: string) => JSON.parse(readFileSync(join(folder, runDir, 'summary.json'), 'utf8'))
  assert.equal(paper.detail, `completed: Top-1 ${summary(paper.run_dir).best_test_accuracy.toFixed(4)}`)
  const held = summary(val.run_dir)
  assert.equal(held.selection, 'best_val')
  assert.equal(val.detail, `completed: test ${held.test_accuracy_at_best_val.toFixed(4)} at the best validation epoch`)
})

test('a grid is refused before it is expanded: a key that is an axis twice or also set once, a value listed twice, too many points', () => {
  const dir = tempDir()
  writeSpec(tiny, dir, 'a.yaml')
  const file = writeSpec({sweep: {name: 'g', points: ['a.yaml'], grid: {seed: [1, 2]}}}, dir, 'sweep.yaml')
  const messages = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      assert.ok(error instanceof SpecError, String(error))
      return error.problems.map((p) => `${p.path}: ${p.message}`)
    }
    throw new Error('expected the grid to be refused')
  }
  assert.match(messages(() => expandSweep(file, ['seed=3,4'])).join('\n'), /seed: is a sweep axis twice/)
  assert.match(messages(() => expandSweep(writeSpec({sweep: {name: 's', points: 'a.yaml'}}, dir, 'string.yaml'), [])).join('\n'), /sweep\.points: must be a list of specs \(- a\.yaml on a line of its own\), not a string/)
  assert.match(messages(() => expandSweep(writeSpec({sweep: {name: 's', points: ['self.yaml', '.']}}, dir, 'self.yaml'), [])).join('\n'), /sweep\.points\[0\]: is this sweep file itself[\s\S]*sweep\.points\[1\]: \. is not a file/)
  assert.match(messages(() => expandSweep(file, ['seed=3'])).join('\n'), /seed: is also a sweep axis/)
  assert.match(messages(() => expandSweep(writeSpec(tiny, dir), ['seed=1,2,1'])).join('\n'), /seed: lists 1 more than once/)
  // Values are compared as the YAML values they are: 01 is 1, and 1e-3 is 0.001.
  assert.match(messages(() => expandSweep(writeSpec(tiny, dir), ['seed=1,01,2'])).join('\n'), /seed: lists 1 \(as 01\) more than once/)
  assert.match(messages(() => expandSweep(writeSpec(tiny, dir), ['train.optimizer.lr=1e-3,0.001'])).join('\n'), /train\.optimizer\.lr: lists 1e-3 \(as 0\.001\) more than once/)
  const many = Array.from({length: 101}, (_, i) => i).join(',')
  assert.match(messages(() => expandSweep(writeSpec(tiny, dir), [`seed=${many}`, `train.batch_size=${many}`])).join('\n'), /the grid has 10,201 points \(seed \(101\) × train\.batch_size \(101\)\), more than 10,000/)
})

test('a dry run validates every point: the problems of all invalid points at once, each once, at its line; nothing is written', async () => {
  const dir = tempDir()
  const file = writeSpec(tiny, dir)
  // Four points, three invalid: lr −1 (two points) and epochs 0 (two points), one of them both.
  const planned = runSweep({file, sets: ['train.optimizer.lr=-1,0.01', 'train.epochs=0,1'], outDir: join(dir, 'results'), dryRun: true, log: () => {}})
  const error = await planned.then(
    () => assert.fail('expected the sweep to be refused'),
    (e: unknown) => e as SpecError,
  )
  assert.ok(error instanceof SpecError, String(error))
  assert.match(error.message, /^invalid spec in 3 of the 4 points: [^\n]*lr=-1[^\n]* \(2 problems\):/)
  assert.match(error.message, /train\.optimizer\.lr: must be > 0/)
  assert.match(error.message, /train\.epochs: must be >= 1/)
  assert.ok(!existsSync(join(dir, 'results')))
  // One invalid point of several is named too.
  const one = await runSweep({file, sets: ['train.epochs=1,0'], outDir: join(dir, 'results'), dryRun: true, log: () => {}}).then(
    () => assert.fail('expected the sweep to be refused'),
    (e: unknown) => e as SpecError,
  )
  assert.match(one.message, /^invalid spec in point [^ ]*train\.epochs=0 \(of 2\): --set train\.epochs=0: train\.epochs: must be >= 1/)
})

test("a dry run (and a Slurm submission) says each point's settings that change nothing; a sweep of valid points is not refused for them", async () => {
  const dir = tempDir()
  const said: string[] = []
  await runSweep({file: writeSpec(tiny, dir), sets: ['train.ema.decay=0,0.9'], outDir: join(dir, 'results'), dryRun: true, log: (m) => said.push(m)})
  assert.deepEqual(said.filter((m) => m.startsWith('warning:')).map((m) => m.replace(/: --set .*?: /, ': ')), ['warning: point spec,train.ema.decay=0: train.ema.decay: is 0, so the average is the weights themselves: leave train.ema out (or give a decay such as 0.9998)'])
})

test('a model a point cannot build stops the sweep before anything trains, naming the point', async () => {
  const dir = tempDir()
  const file = writeSpec({...tiny, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 16}]}}, dir)
  await assert.rejects(runSweep({file, sets: ['model.components[1].dim=64,16'], outDir: join(dir, 'results'), log: () => {}}), /invalid spec .*spec\.yaml \(Tiny CNN \[dim=16\]\): .*spec\.yaml:\d+:\d+: model\.adapter: model mixture cannot be built from this spec: token_image: tokens of width 16/)
  assert.ok(!existsSync(join(dir, 'results')))
  // A value the sweep file's set: gave is blamed at that line of the sweep file.
  const sweepFile = writeSpec({sweep: {name: 'bad', points: [{spec: 'spec.yaml', set: {'model.components[0].in_channels': 5}}]}}, dir, 'sweep.yaml')
  await assert.rejects(runSweep({file: sweepFile, sets: [], outDir: join(dir, 'results'), log: () => {}}), /sweep\.yaml:\d+:\d+: model\.components\[0\]: model mixture cannot be built .*in_channels is 5/)
})

test('a sweep folder is continued by a grid that keeps its points (values added anywhere on an axis); a damaged index.json is refused, and without one finished points are known by their config.yaml', async () => {
  const dir = tempDir()
  const file = writeSpec(tiny, dir)
  const out = join(dir, 'results')
  const logs: string[] = []
  const first = await runSweep({file, sets: ['seed=1,2'], name: 'seeds', outDir: out, log: (m) => logs.push(m)})
  assert.equal(first.completed, 2)
  // Another grid into the same folder would drop seed 1 and 2 from its index: refused, nothing written.
  const index = join(out, 'seeds', 'index.json')
  const before = readFileSync(index, 'utf8')
  await assert.rejects(runSweep({file, sets: ['seed=5,6'], name: 'seeds', outDir: out, log: () => {}}), /holds 2 point\(s\) of an earlier sweep "seeds" that this one does not have \(01-spec,seed=1, 02-spec,seed=2\)/)
  assert.equal(readFileSync(index, 'utf8'), before)
  // One value of its axis is a setting, not a selection of its points: said so, with the axis to give again.
  await assert.rejects(
    runSweep({file, sets: ['seed=1'], name: 'seeds', outDir: out, log: () => {}}),
    /the earlier sweep varied seed \(1,2\), which this one does not \(a --set of one value is a setting, not an axis, and names other points\); to continue it, give that axis again \(--set seed=1,2: completed points are skipped\)/,
  )
  // New values continue it, wherever on the axis they go: the points there keep their folders, a new one is numbered after them.
  const more = await runSweep({file, sets: ['seed=3,1,2'], name: 'seeds', outDir: out, log: () => {}})
  assert.deepEqual([more.skipped, more.completed], [2, 1])
  assert.deepEqual(more.points.map((p) => p.run_dir), ['03-spec,seed=3', '01-spec,seed=1', '02-spec,seed=2'])
  // A damaged index.json: refused, naming the file and how to go on.
  writeFileSync(index, before.slice(0, 100))
  await assert.rejects(runSweep({file, sets: ['seed=3,1,2'], name: 'seeds', outDir: out, log: () => {}}), /index\.json cannot be read as a sweep index .*nothing was changed\. Restore it, or move it aside/)
  // Moved aside: the points are recognised from their folders (by key, whatever their number), nothing is trained again.
  renameSync(index, `${index}.damaged`)
  logs.length = 0
  const again = await runSweep({file, sets: ['seed=3,1,2'], name: 'seeds', outDir: out, log: (m) => logs.push(m)})
  assert.deepEqual([again.skipped, again.completed], [3, 0], logs.join('\n'))
  assert.deepEqual(again.points.map((p) => p.run_dir), ['03-spec,seed=3', '01-spec,seed=1', '02-spec,seed=2'])
  assert.ok(!logs.some((m) => /different configuration/.test(m)))
})

test('points are matched to the folders there by key, and among folders of one key by configuration; keys cut short stay distinct; a point the grid drops is refused with or without index.json', async () => {
  const dir = tempDir()
  writeSpec(tiny, dir)
  const out = join(dir, 'results')
  const plan = (points: unknown[], name = 'twice') => runSweep({file: writeSpec({sweep: {name, points}}, dir, `${name}.yaml`), sets: [], outDir: out, dryRun: true, log: () => {}})
  const A = {spec: 'spec.yaml', label: 'A', set: {'train.optimizer.lr': 0.001}}
  const B = {spec: 'spec.yaml', label: 'B', set: {'train.optimizer.lr': 0.003}}
  const C = {spec: 'spec.yaml', label: 'C', set: {'train.optimizer.lr': 0.01}}
  // One spec listed twice: both points have the key "spec". A folder that holds A and B as an earlier sweep left them:
  const first = await plan([A, B])
  assert.deepEqual(first.points.map((p) => p.run_dir), ['01-spec', '02-spec'])
  mkdirSync(join(out, 'twice', '01-spec'), {recursive: true})
  mkdirSync(join(out, 'twice', '02-spec'))
  writeFileSync(join(out, 'twice', 'index.json'), JSON.stringify({name: 'twice', points: first.points}))
  // C in front: A and B keep their folders (by their config hash), C gets a new one.
  assert.deepEqual((await plan([C, A, B])).points.map((p) => [p.label, p.run_dir]), [['C', '03-spec'], ['A', '01-spec'], ['B', '02-spec']])
  // A dropped: refused, naming A's folder.
  await assert.rejects(plan([B]), /holds 1 point\(s\) of an earlier sweep "twice" that this one does not have \(01-spec\)/)
  // A replaced by C (which may be A with its spec changed; one key cannot tell): C takes A's folder, set aside when C runs, as a changed configuration's is.
  assert.deepEqual((await plan([C, B])).points.map((p) => [p.label, p.run_dir]), [['C', '01-spec'], ['B', '02-spec']])
  // Without index.json the folders themselves are the points there: a dropped one is refused all the same.
  renameSync(join(out, 'twice', 'index.json'), join(out, 'twice', 'index.json.damaged'))
  await assert.rejects(plan([A]), /does not have \(02-spec\)/)
  // Keys longer than a folder name takes are cut, keeping a hash of the whole: two points, two keys.
  const long = writeSpec(tiny, dir, `${'a_rather_long_descriptive_spec_name_'.repeat(2)}xyz.yaml`)
  const keys = expandSweep(long, ['seed=1,3', 'train.optimizer.lr=0.001,0.003']).points.map((p) => p.key)
  assert.equal(new Set(keys).size, 4, keys.join('\n'))
  assert.ok(keys.every((k) => k.length <= 80), keys.join('\n'))
  // A sweep folder from before, whose keys were cut plain at 80 (so both points had one key): each point finds its own folder by its configuration.
  const longPlan = await runSweep({file: long, sets: ['seed=1,3'], name: 'long', outDir: out, dryRun: true, log: () => {}})
  const cut = `${long.split('/').pop()!.replace(/\.yaml$/, '')},seed=1`.slice(0, 80)
  assert.equal(cut.length, 80)
  const before = longPlan.points.map((p, i) => ({...p, key: cut, run_dir: `0${2 - i}-${cut}`}))
  for (const p of before) mkdirSync(join(out, 'long', p.run_dir), {recursive: true})
  writeFileSync(join(out, 'long', 'index.json'), JSON.stringify({name: 'long', points: before}))
  const continued = await runSweep({file: long, sets: ['seed=1,3'], name: 'long', outDir: out, dryRun: true, log: () => {}})
  assert.deepEqual(continued.points.map((p) => p.run_dir), [`02-${cut}`, `01-${cut}`])
})

test('a point still trained by a process an earlier (killed) sweep left is refused, naming it', async () => {
  const dir = tempDir()
  const file = writeSpec(tiny, dir)
  const out = join(dir, 'results')
  await runSweep({file, sets: ['seed=1,2'], name: 'live', outDir: out, log: () => {}})
  // The first point's summary as a live run writes it: this process, running, a fresh heartbeat.
  const summaryFile = join(out, 'live', '01-spec,seed=1', 'summary.json')
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8'))
  writeFileSync(summaryFile, JSON.stringify({...summary, status: 'running', pid: process.pid, host: hostname(), updated: new Date().toISOString()}))
  await assert.rejects(runSweep({file, sets: ['seed=1,2'], name: 'live', outDir: out, log: () => {}}), /1 point\(s\) of this sweep are still being trained by a process of an earlier sweep: 01-spec,seed=1 \(pid \d+/)
})

/** A finished sweep of the tiny spec over seeds 1 and 2: its spec file, results folder, sweep folder and index.json. */
async function twoSeedSweep() {
  const dir = tempDir()
  const spec = writeSpec(tiny, dir, 'tiny.yaml')
  const out = join(dir, 'results')
  await runSweep({file: spec, sets: ['seed=1,2'], outDir: out, log: () => {}})
  const sweepDir = join(out, 'tiny-sweep')
  return {spec, out, sweepDir, index: JSON.parse(readFileSync(join(sweepDir, 'index.json'), 'utf8'))}
}

test('a sweep that waited for a brief lock places its points again under it: a point another process added meanwhile keeps its folder', async () => {
  const {spec, out, sweepDir, index} = await twoSeedSweep()
  const [first, second] = index.points
  // A submission holds the lock for a moment (a process of its own, as a submission would be).
  const lock = join(sweepDir, 'index.lock')
  const lockModule = JSON.stringify(pathToFileURL(join(REPO, 'dist', 'src', 'run', 'lock.js')).href)
  spawn(process.execPath, ['--input-type=module', '-e', `const {acquireLock} = await import(${lockModule}); const l = acquireLock(${JSON.stringify(lock)}, 'submission', {brief: true}); setTimeout(() => l.release(), 1500)`], {stdio: 'ignore'}).unref()
  while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 20))
  // While this sweep (seeds 1 to 4) waits, the submission records seed 4 as its point 03.
  const added = {...first, index: 2, key: first.key.replace('seed=1', 'seed=4'), run_dir: first.run_dir.replace(/^01-/, '03-').replace('seed=1', 'seed=4'), grid: {seed: '4'}, status: 'pending'}
  const logs: string[] = []
  const result = await runSweep({
    file: spec,
    sets: ['seed=1,2,3,4'],
    outDir: out,
    log: (m) => {
      logs.push(m)
      if (/held for a moment by pid \d+ .*: waiting up to 30 s for it to let go of .*index\.lock/.test(m)) {
        mkdirSync(join(sweepDir, added.run_dir))
        writeFileSync(join(sweepDir, 'index.json'), JSON.stringify({...index, points: [first, second, added]}))
      }
    },
  })
  assert.ok(logs.some((m) => /waiting up to/.test(m)), logs.join('\n'))
  const folders = result.points.map((p) => [p.grid.seed, p.run_dir.slice(0, 3)])
  assert.deepEqual(folders, [['1', '01-'], ['2', '02-'], ['3', '04-'], ['4', '03-']], 'seed 4 keeps the folder the other process gave it; seed 3 is numbered after it')
  assert.equal(result.completed, 2)
})

test('sweep finish holds the lock only while it records the points: the table is written after it lets go', async () => {
  const {sweepDir, index} = await twoSeedSweep()
  // A third point still queued: finish says so just before it writes the table.
  const queued = {...index.points[1], index: 2, key: index.points[1].key.replace('seed=2', 'seed=3'), label: null, run_dir: '03-queued', grid: {seed: '3'}, status: 'submitted'}
  writeFileSync(join(sweepDir, 'index.json'), JSON.stringify({...index, points: [...index.points, queued]}))
  let lockedWhileTabling: boolean | undefined
  const result = await finishSweep(sweepDir, (m) => {
    if (/still queued or running/.test(m)) lockedWhileTabling = existsSync(join(sweepDir, 'index.lock'))
  })
  assert.equal(lockedWhileTabling, false, 'index.lock was let go before the table')
  assert.match(result.table ?? '', /\| Tiny CNN +\| +0\.\d+ ± 0\.\d+ \(n=2/)
  assert.ok(existsSync(join(sweepDir, 'table.md')))
})

test('an axis value of nothing (k=) is the point of k=null: the same key and label, since both remove the key', async () => {
  const dir = tempDir()
  const file = writeSpec({...tiny, train: {...(tiny.train as object), ema: {decay: 0.9}}}, dir)
  const keysOf = async (sets: string[]) => (await runSweep({file, sets, outDir: join(dir, 'results'), dryRun: true, log: () => {}})).points.map((p) => [p.key, p.label])
  assert.deepEqual(await keysOf(['train.ema=,{decay: 0.99}']), await keysOf(['train.ema=null,{decay: 0.99}']))
})
