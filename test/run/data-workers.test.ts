// A run's data workers: how many `engine.data_workers` starts on each kind of backend, a whole run
// with workers giving the numbers of a run without, and a run with workers stopped by a signal.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {computesOnCpu, planDataWorkers} from '../../src/run/data-workers.js'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {augmentFromConfig} from '../../src/data/index.js'
import {registerTransform, withSource} from '../../src/registry/registry.js'
import {tempDir, writeSpec} from '../helpers.js'
import {signalWhen, startRun} from '../faults/helpers.js'

const paper = augmentFromConfig({augment: undefined})
const auto = {data_workers: 'auto' as const, prefetch: null}

test('auto: no workers where the backend computes on the CPU, min(cores − 1, 4) beside a GPU', () => {
  const cpuBackends = [
    {name: 'cpu', detail: 'pure-JS kernels, single-threaded'},
    {name: 'native', detail: 'oneDNN 2.6.3, 2 threads'},
    {name: 'wasm', detail: 'XNNPACK, 2 threads'},
    {name: 'tensorflow', detail: '@tensorflow/tfjs-node (CPU)'},
    {name: 'webgpu', detail: 'llvmpipe via Dawn [software adapter]'},
  ]
  for (const backend of cpuBackends) {
    assert.ok(computesOnCpu(backend), backend.name)
    assert.deepEqual(planDataWorkers(auto, backend, paper, 16), {workers: 0, prefetch: 0}, `${backend.name}: none, and nothing to say`)
  }
  const gpus = [
    {name: 'webgpu', detail: 'nvidia NVIDIA: 580.159.04 via Dawn (skip_validation)'},
    {name: 'tensorflow', detail: '@tensorflow/tfjs-node-gpu, 1 CUDA device(s)'},
  ]
  for (const backend of gpus) {
    assert.equal(computesOnCpu(backend), false, backend.name)
    const plan = planDataWorkers(auto, backend, paper, 16)
    assert.deepEqual([plan.workers, plan.prefetch], [4, 8])
    assert.match(plan.line ?? '', /^data: 4 worker threads make the training batches, 8 ahead of the step \(engine\.data_workers auto: min\(16 cores − 1, 4\) beside a GPU/)
    assert.equal(planDataWorkers(auto, backend, paper, 2).workers, 1)
    assert.equal(planDataWorkers(auto, backend, paper, 1).workers, 0, 'one core: it trains')
  }
})

test('a number is taken as it is, on any backend; prefetch defaults to twice the workers', () => {
  const native = {name: 'native', detail: 'oneDNN, 2 threads'}
  assert.deepEqual(planDataWorkers({data_workers: 3, prefetch: null}, native, paper, 2), {workers: 3, prefetch: 6, line: 'data: 3 worker threads make the training batches, 6 ahead of the step (engine.data_workers 3; engine.prefetch null: twice the workers)'})
  assert.equal(planDataWorkers({data_workers: 1, prefetch: 5}, native, paper, 2).prefetch, 5)
  assert.deepEqual(planDataWorkers({data_workers: 0, prefetch: 5}, native, paper, 2), {workers: 0, prefetch: 0})
  assert.equal(planDataWorkers({data_workers: 2, prefetch: null}, native, false, 2).workers, 2, 'no augmentation: workers still scale the pixels')
})

test('a transform workers cannot run keeps the batches on the training thread, and the run says why', async () => {
  await withSource('/plugins/solarize.js', async () =>
    registerTransform({name: 'test_solarize', summary: 'x > 0.5 → 1 − x', applies: 'train', schema: {type: 'object', properties: {}}, create: () => ({draw: () => undefined, apply: () => undefined})}),
  )
  const plan = planDataWorkers({data_workers: 2, prefetch: null}, {name: 'native', detail: ''}, augmentFromConfig({augment: ['hflip', 'test_solarize'] as never}), 4)
  assert.equal(plan.workers, 0)
  assert.match(plan.line ?? '', /^data: training batches are made on the training thread although engine\.data_workers 2: data\.augment's test_solarize comes from a plugin file/)
})

const numbersOf = (runDir: string): string[] => {
  const [header, ...rows] = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n')
  const keys = header.split(',')
  const timing = new Set(['train_seconds', 'eval_seconds', 'data_seconds', 'images_per_second'])
  return rows.map((r) => r.split(',').filter((_, i) => !timing.has(keys[i])).join(','))
}

const SPEC = {
  name: 'tiny-workers',
  seed: 7,
  data: {
    dataset: 'synthetic',
    image_size: 8,
    synthetic: {train: 150, test: 40, classes: 3},
    // The workers make batches of the training images left after the validation hold-out.
    val_split: 0.2,
    augment: [{type: 'random_crop', padding: 2}, 'hflip', {type: 'color_jitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1}, {type: 'random_erasing', p: 0.3}],
  },
  model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]},
  train: {epochs: 2, batch_size: 32, optimizer: {lr: 0.01}, metrics_every: 2},
  engine: {backend: 'cpu'},
}

test('a run with 2 data workers writes the metrics.csv of a run without, timings aside; config.yaml records the setting', async () => {
  const dir = tempDir()
  const lines: string[] = []
  const run = async (workers: number) =>
    (await runExperiment({spec: writeSpec(SPEC, dir), outDir: join(dir, `w${workers}`), overrides: [`engine.data_workers=${workers}`], log: (m) => lines.push(m)})) as RunSummary
  const without = await run(0)
  const withWorkers = await run(2)
  assert.equal(numbersOf(without.run_dir).length, 2)
  assert.deepEqual(numbersOf(withWorkers.run_dir), numbersOf(without.run_dir))
  assert.ok(lines.includes('data: 2 worker threads make the training batches, 4 ahead of the step (engine.data_workers 2; engine.prefetch null: twice the workers)'), lines.join('\n'))
  assert.equal(parseYaml(readFileSync(join(withWorkers.run_dir, 'config.yaml'), 'utf8')).engine.data_workers, 2)
  assert.equal(parseYaml(readFileSync(join(without.run_dir, 'config.yaml'), 'utf8')).engine.data_workers, 0)
})

test('Ctrl-C during a run with data workers stops it as without them: exit 130, the checkpoint kept, the process gone', {timeout: 60_000}, async () => {
  const dir = tempDir('mixture-workers-sigint-')
  const spec = {...SPEC, data: {...SPEC.data, synthetic: {train: 600, test: 40, classes: 3}}, train: {...SPEC.train, epochs: 30}}
  const r = await startRun(dir, spec, signalWhen(/epoch 1\//, 'SIGINT'), {env: {MIXTURE_DATA_WORKERS: '2'}})
  assert.equal(r.code, 130, r.stderr)
  assert.match(r.stderr, /MIXTURE_DATA_WORKERS=2 overrides engine\.data_workers \("auto"\)/)
  assert.match(r.stderr, /data: 2 worker threads make the training batches/)
  assert.match(r.stderr, /Continue with: mixture run --resume/)
  assert.equal(JSON.parse(readFileSync(join(r.runDir!, 'summary.json'), 'utf8')).status, 'interrupted')
})
