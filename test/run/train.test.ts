// Training end to end on tiny data: the loss falls, the run folder is complete, runs are
// reproducible, resume continues exactly, NaN stops the run, memory stays flat.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, readFileSync, rmSync, writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {tf} from '../../src/engine/tf.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {resolveSpec} from '../../src/config/resolve.js'
import {withInterrupt} from '../../src/base-command.js'
import {InterruptedError, NonFiniteLossError} from '../../src/errors.js'
import {tempDir, writeSpec} from '../helpers.js'

const spec = (extra: Record<string, unknown> = {}) => ({
  name: 'tiny',
  seed: 3,
  data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 96, test: 32, classes: 3}},
  model: {type: 'mixture', block: 'joint', components: [{type: 'cnn', channels: [4, 3]}, {type: 'cnn', channels: [3]}], norm: {type: 'batchnorm'}},
  train: {epochs: 3, batch_size: 32, optimizer: {lr: 0.01}, metrics_every: 2},
  engine: {backend: 'cpu'},
  ...extra,
})

function metrics(dir: string): Record<string, number>[] {
  const [header, ...rows] = readFileSync(join(dir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keys = header.split(',')
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], Number(v)])))
}

const quiet = () => {}

test('a run trains (loss falls), evaluates each epoch and writes a complete run folder', async () => {
  const dir = tempDir()
  const result = (await runExperiment({spec: writeSpec(spec(), dir), outDir: join(dir, 'results'), overrides: ['train.optimizer.lr=0.02'], log: quiet})) as RunSummary
  const run = result.run_dir
  assert.ok(run.startsWith(join(dir, 'results', 'tiny')))
  for (const f of ['config.yaml', 'overrides.yaml', 'env.json', 'metrics.csv', 'summary.json', 'last.ckpt', 'best.ckpt']) assert.ok(existsSync(join(run, f)), `${f} written`)
  const rows = metrics(run)
  assert.equal(rows.length, 3)
  assert.deepEqual(rows.map((r) => r.epoch), [1, 2, 3])
  assert.ok(rows[2].train_loss < rows[0].train_loss, `train loss falls: ${rows.map((r) => r.train_loss)}`)
  assert.ok(rows.every((r) => r.train_seconds > 0 && r.eval_seconds > 0 && r.data_seconds >= 0 && r.data_seconds < r.train_seconds))
  const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'completed')
  assert.equal(summary.epochs_completed, 3)
  assert.equal(summary.best_test_accuracy, Math.max(...rows.map((r) => r.test_accuracy)))
  assert.equal(summary.best_train_accuracy, Math.max(...rows.map((r) => r.train_accuracy)))
  assert.ok(Math.abs(summary.train_minutes - rows.reduce((s, r) => s + r.train_seconds, 0) / 60) < 1e-3)
  assert.equal(summary.params, result.params)
  const config = parseYaml(readFileSync(join(run, 'config.yaml'), 'utf8'))
  assert.equal(config.train.optimizer.lr, 0.02, 'the resolved config has the override applied')
  assert.equal(config.train.optimizer.eps, 1e-8, 'and the defaults filled')
  assert.deepEqual(parseYaml(readFileSync(join(run, 'overrides.yaml'), 'utf8')), {'train.optimizer.lr': 0.02})
  const env = JSON.parse(readFileSync(join(run, 'env.json'), 'utf8'))
  assert.equal(env.backend.name, 'cpu')
  assert.ok(env.tfjs.core)
})

test('same seed and backend give the same numbers; a run folder config reproduces the run', async () => {
  const dir = tempDir()
  const a = (await runExperiment({spec: writeSpec(spec({train: {epochs: 2, batch_size: 32, optimizer: {lr: 0.01}}}), dir), outDir: join(dir, 'r'), log: quiet})) as RunSummary
  const b = (await runExperiment({spec: join(a.run_dir, 'config.yaml'), outDir: join(dir, 'r'), log: quiet})) as RunSummary
  const c = (await runExperiment({spec: join(a.run_dir, 'config.yaml'), outDir: join(dir, 'r'), seed: 4, log: quiet})) as RunSummary
  assert.notEqual(a.run_dir, b.run_dir)
  const strip = (rows: Record<string, number>[]) => rows.map((r) => [r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy])
  assert.deepEqual(strip(metrics(b.run_dir)), strip(metrics(a.run_dir)))
  assert.notDeepEqual(strip(metrics(c.run_dir)), strip(metrics(a.run_dir)))
})

test('a SIGINT keeps the last finished epoch; resume continues to exactly the uninterrupted numbers', async () => {
  const dir = tempDir()
  const file = writeSpec(spec(), dir)
  const full = (await runExperiment({spec: file, outDir: join(dir, 'full'), log: quiet})) as RunSummary
  let runDir = ''
  await assert.rejects(
    withInterrupt('finishing the current step', (stop) =>
      runExperiment({
        spec: file,
        outDir: join(dir, 'cut'),
        stop,
        log: (m) => {
          if (m.startsWith('run folder: ')) runDir = m.slice('run folder: '.length)
          // A real signal to this process, caught by the handler withInterrupt installs
          if (m.startsWith('epoch 2/3')) process.kill(process.pid, 'SIGINT')
        },
      }),
    ),
    (error: unknown) => error instanceof InterruptedError && error.signal === 'SIGINT',
  )
  const cut = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  assert.equal(cut.status, 'interrupted')
  assert.equal(cut.epochs_completed, 2)
  assert.equal(metrics(runDir).length, 2)
  const resumed = (await runExperiment({resume: runDir, log: quiet})) as RunSummary
  assert.equal(resumed.status, 'completed')
  assert.equal(resumed.run_dir, runDir)
  const strip = (rows: Record<string, number>[]) => rows.map((r) => [r.epoch, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy])
  assert.deepEqual(strip(metrics(runDir)), strip(metrics(full.run_dir)))
  await assert.rejects(runExperiment({resume: runDir, overrides: ['seed=1'], log: quiet}), /cannot change it/)
  await assert.rejects(runExperiment({resume: dir, log: quiet}), /not a run folder/)
})

test('a NaN loss stops the run with a clear error and keeps what was written', async () => {
  const dir = tempDir()
  const file = writeSpec(spec({train: {epochs: 3, batch_size: 32, optimizer: {lr: 1e30}, metrics_every: 1}}), dir)
  let runDir = ''
  await assert.rejects(
    runExperiment({spec: file, outDir: join(dir, 'r'), log: (m) => (m.startsWith('run folder: ') ? (runDir = m.slice(12)) : undefined)}),
    (error: unknown) => error instanceof NonFiniteLossError && /loss became NaN|loss became Infinity|loss became -Infinity/.test((error as Error).message) && /Lower train\.optimizer\.lr/.test((error as Error).message),
  )
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'))
  assert.equal(summary.status, 'failed')
  assert.match(summary.error, /loss became/)
  assert.ok(existsSync(join(runDir, 'config.yaml')))
})

test('tensors do not leak across epochs', async () => {
  const dir = tempDir()
  const counts: number[] = []
  await runExperiment({spec: writeSpec(spec({train: {epochs: 4, batch_size: 32, optimizer: {lr: 0.01}}}), dir), outDir: join(dir, 'r'), log: (m) => (m.startsWith('epoch ') ? counts.push(tf.memory().numTensors) : undefined)})
  assert.equal(counts.length, 4)
  assert.equal(new Set(counts.slice(1)).size, 1, `numTensors per epoch: ${counts}`)
})

test('trains on official-format files found in --data-dir (CIFAR-10 binary)', async () => {
  const dir = tempDir()
  const data = join(dir, 'data', 'cifar10')
  mkdirSync(data, {recursive: true})
  // 8 records per file: label byte + 3072 bytes (R, G, B planes of 32×32); class = dominant colour
  const file = (n: number, seed: number) => {
    const buf = Buffer.alloc(n * 3073)
    for (let i = 0; i < n; i++) {
      const label = (i + seed) % 3
      buf[i * 3073] = label
      for (let p = 0; p < 3072; p++) buf[i * 3073 + 1 + p] = Math.floor(p / 1024) === label ? 220 : 30 + ((p * 7 + seed) % 20)
    }
    return buf
  }
  for (let b = 1; b <= 5; b++) writeFileSync(join(data, `data_batch_${b}.bin`), file(8, b))
  writeFileSync(join(data, 'test_batch.bin'), file(8, 9))
  const s = spec({data: {dataset: 'cifar10', image_size: 16, resize: 'bilinear', augment: false}, train: {epochs: 3, batch_size: 8, optimizer: {lr: 0.01}}})
  const result = (await runExperiment({spec: writeSpec(s, dir), outDir: join(dir, 'r'), dataDir: join(dir, 'data'), log: quiet})) as RunSummary
  assert.equal(result.status, 'completed')
  const env = JSON.parse(readFileSync(join(result.run_dir, 'env.json'), 'utf8'))
  assert.match(env.data_source, /cifar10/)
  const rows = metrics(result.run_dir)
  assert.equal(rows.length, 3)
  assert.ok(rows[2].train_loss < rows[0].train_loss, `train loss falls: ${rows.map((r) => r.train_loss)}`)
  // 40 training images, 8 test images
  assert.ok(Number.isInteger(rows[0].test_accuracy * 8))
  // Resumed without --data-dir, the files are not found where the spec looks: the message names where the run read them.
  await assert.rejects(runExperiment({resume: result.run_dir, epochs: 4, log: quiet}), (error: Error) => {
    assert.ok(error.message.includes(`${result.run_dir} read its data from ${env.data_source} (env.json): resume it with --data-dir ${env.data_source}.`), error.message)
    return true
  })
  const resumed = (await runExperiment({resume: result.run_dir, epochs: 4, dataDir: env.data_source, log: quiet})) as RunSummary
  assert.equal(resumed.epochs_completed, 4)
})

test('an environment variable that overrides an engine key is said after the backend line and recorded in config.yaml', async () => {
  const dir = tempDir()
  const lines: string[] = []
  const saved = process.env.MIXTURE_WEBGPU_FUSED
  process.env.MIXTURE_WEBGPU_FUSED = '0'
  let result: RunSummary
  try {
    result = (await runExperiment({spec: writeSpec(spec({train: {epochs: 1, batch_size: 32}}), dir), outDir: join(dir, 'r'), log: (m) => lines.push(m)})) as RunSummary
  } finally {
    if (saved === undefined) delete process.env.MIXTURE_WEBGPU_FUSED
    else process.env.MIXTURE_WEBGPU_FUSED = saved
  }
  assert.match(lines[0], /^backend: cpu/)
  assert.equal(lines[1], 'engine: MIXTURE_WEBGPU_FUSED=0 overrides engine.webgpu.fused (true)')
  const config = parseYaml(readFileSync(join(result.run_dir, 'config.yaml'), 'utf8'))
  assert.equal(config.engine.webgpu.fused, false, 'the folder reproduces the run without the variable')
  assert.equal(config.engine.webgpu.graph, true)
  assert.deepEqual(JSON.parse(readFileSync(join(result.run_dir, 'numerics.json'), 'utf8')).switches, {MIXTURE_WEBGPU_FUSED: '0'})
})

test('a spec resolved once is trained as it was resolved: the file is not read again', async () => {
  const dir = tempDir()
  const file = writeSpec(spec({train: {epochs: 1, batch_size: 32}}), dir)
  const resolved = await resolveSpec(file, ['seed=5'])
  rmSync(file)
  const result = (await runExperiment({resolved, outDir: join(dir, 'r'), log: quiet})) as RunSummary
  assert.equal(result.status, 'completed')
  assert.equal(result.seed, 5)
  assert.deepEqual(parseYaml(readFileSync(join(result.run_dir, 'overrides.yaml'), 'utf8')), {seed: 5})
})
