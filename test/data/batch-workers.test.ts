// Training batches made by worker threads: byte for byte the batches of the synchronous path,
// whatever the number of workers, on synthetic data and Fashion-MNIST; the bounded queue, an epoch
// started ahead of its turn, failures that name the data, and workers that never hold the process open.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import type {Worker} from 'node:worker_threads'

import {BatchWorkers, DataWorkerError, endWorker, epochBatches, epochBatchesAhead, stayOnTrainingThread, type EpochBatchOptions} from '../../src/data/batch-workers.js'
import {augmentFromConfig, batches, loadDataset, type Batch, type Pipeline, type Split} from '../../src/data/index.js'
import {registerTransform, withSource} from '../../src/registry/registry.js'
import '../../src/builtins.js'
import {REPO} from '../helpers.js'
import {needing} from '../require.js'

/** Everything `data.augment` offers, in one list: crop, flip, the four jitters, erasing with noise, normalisation. */
const EVERY_TRANSFORM = [
  {type: 'random_crop', padding: 3, padding_mode: 'reflect'},
  'hflip',
  {type: 'color_jitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1},
  {type: 'random_erasing', p: 0.5, value: 'random'},
  {type: 'normalize', mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3]},
]

/** The geometric transforms and random_grayscale: resized crops (with retries and fallbacks), flips, rotations with a fill, grey images. */
const GEOMETRIC = [
  {type: 'random_resized_crop', scale: [0.3, 1], ratio: [0.5, 2]},
  {type: 'random_rotation', degrees: 40, interpolation: 'bilinear', fill: [255, 128, 0]},
  'vflip',
  {type: 'random_grayscale', p: 0.5},
  {type: 'random_resized_crop', scale: [0.9, 1], ratio: [0.25, 4], interpolation: 'nearest'},
  {type: 'random_rotation', degrees: [-90, 20]},
  'hflip',
]

/** The synchronous path's batches (each in arrays of its own). */
function reference(split: Split, opts: EpochBatchOptions): Batch[] {
  return [...batches(split, {...opts, fresh: true})]
}

/** Copies of an epoch's batches (the training thread's reuse their arrays). */
async function collect(it: AsyncIterator<Batch>): Promise<Batch[]> {
  const out: Batch[] = []
  for (let r = await it.next(); !r.done; r = await it.next()) out.push({x: r.value.x.slice(), y: r.value.y.slice(), size: r.value.size})
  return out
}

/** Byte-for-byte equality of two epochs' batches. */
function assertSameBatches(actual: Batch[], expected: Batch[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: batch count`)
  for (const [i, b] of actual.entries()) {
    const e = expected[i]
    assert.equal(b.size, e.size, `${what}: batch ${i} size`)
    assert.deepEqual([...b.y], [...e.y], `${what}: batch ${i} labels`)
    assert.ok(Buffer.from(b.x.buffer, b.x.byteOffset, b.x.byteLength).equals(Buffer.from(e.x.buffer, e.x.byteOffset, e.x.byteLength)), `${what}: batch ${i} pixels differ`)
  }
}

/** Epochs 1..`epochs` of `split` with each pipeline, from the synchronous path and from 1, 2 and 3 workers. */
async function compareWorkerCounts(split: Split, imageSize: number, batchSize: number, pipelines: [string, Pipeline | false][], epochs: number): Promise<void> {
  const cases = pipelines.flatMap(([name, augment]) =>
    Array.from({length: epochs}, (_, e) => {
      const opts: EpochBatchOptions = {batchSize, imageSize, shuffle: true, seed: 11, epoch: e + 1, augment, what: 'the test split'}
      return {name: `${name}, epoch ${e + 1}`, opts, expected: reference(split, opts)}
    }),
  )
  for (const workers of [1, 2, 3]) {
    // Two workers with a queue of one batch: each batch is asked for only when the last was taken.
    const pool = new BatchWorkers(workers, workers === 2 ? 1 : 2 * workers)
    try {
      for (const c of cases) assertSameBatches(await collect(pool.epoch(split, c.opts)), c.expected, `${workers} workers, ${c.name}`)
    } finally {
      await pool.close()
    }
  }
}

describe('batches made by data workers equal the synchronous batches', () => {
  it('synthetic images: the paper augmentation, every transform, none; 1, 2 and 3 workers; three epochs', async () => {
    const data = await loadDataset({dataset: 'synthetic', image_size: 12, augment: EVERY_TRANSFORM as never, synthetic: {train: 150, test: 10, classes: 4}})
    const pipelines: [string, Pipeline | false][] = [
      ['the paper augmentation', augmentFromConfig({augment: undefined})],
      ['every transform', augmentFromConfig({augment: EVERY_TRANSFORM as never})],
      // No training augmentation: the split's evaluation transforms (normalize) still apply.
      ['normalize only', false],
    ]
    await compareWorkerCounts(data.train, 12, 32, pipelines, 3)
  })

  it('synthetic images: the geometric transforms and random_grayscale; 1, 2 and 3 workers; two epochs', async () => {
    const data = await loadDataset({dataset: 'synthetic', image_size: 12, augment: GEOMETRIC as never, synthetic: {train: 150, test: 10, classes: 4}})
    const geometric = augmentFromConfig({augment: GEOMETRIC as never})
    assert.equal(stayOnTrainingThread(geometric || undefined), undefined, 'made by the workers')
    await compareWorkerCounts(data.train, 12, 32, [['the geometric transforms', geometric]], 2)
  })

  const fashionDir = '/usr/share/datasets/fashion-mnist'
  const fashion = needing('fashion_mnist', existsSync(join(fashionDir, 'train-images-idx3-ubyte.gz')) ? false : `${fashionDir} is absent`)
  fashion.it('Fashion-MNIST padded to 32×32: the paper augmentation and every transform; 1, 2 and 3 workers; two epochs', async () => {
    const data = await loadDataset({dataset: 'fashion_mnist', image_size: 32, train_limit: 600, test_limit: 10, augment: EVERY_TRANSFORM as never})
    const pipelines: [string, Pipeline | false][] = [
      ['the paper augmentation', augmentFromConfig({augment: undefined})],
      ['every transform', augmentFromConfig({augment: EVERY_TRANSFORM as never})],
    ]
    await compareWorkerCounts(data.train, 32, 64, pipelines, 2)
  })
})

describe('the queue of batches', () => {
  const data = loadDataset({dataset: 'synthetic', image_size: 8, synthetic: {train: 100, test: 10, classes: 3}})
  const pool = new BatchWorkers(2, 3)
  after(() => pool.close())
  const opts = (epoch: number, extra: Partial<EpochBatchOptions> = {}): EpochBatchOptions => ({batchSize: 16, imageSize: 8, shuffle: true, seed: 2, epoch, augment: augmentFromConfig({augment: undefined}), what: 'the synthetic training split', ...extra})

  it('stops at `limit` batches; leaving early drops what was asked for, and the next epoch is exact', async () => {
    const split = (await data).train
    const limited = await collect(pool.epoch(split, opts(1, {limit: 3})))
    assertSameBatches(limited, reference(split, opts(1)).slice(0, 3), 'limit 3')
    const it = pool.epoch(split, opts(2))
    await it.next()
    await it.return()
    assertSameBatches(await collect(pool.epoch(split, opts(3))), reference(split, opts(3)), 'after an early return')
  })

  it('epochBatches uses the workers when given, the training thread otherwise, with the same batches', async () => {
    const split = (await data).train
    const viaWorkers = await collect(epochBatches(split, opts(4, {limit: 5}), pool))
    const here = await collect(epochBatches(split, opts(4, {limit: 5})))
    assert.equal(here.length, 5)
    assertSameBatches(viaWorkers, here, 'workers vs training thread')
  })

  it('an epoch started ahead is made while another split is read, then continues exactly; another epoch drops it', async () => {
    const {train, test} = await data
    // One pipeline object, as a run keeps for all its epochs (a new one is another request).
    const augment = augmentFromConfig({augment: undefined})
    const ahead = opts(5, {augment, limit: 4})
    epochBatchesAhead(train, ahead, pool)
    await new Promise((r) => setTimeout(r, 50))
    const pending = () => (pool as unknown as {pending: Map<number, unknown>; early?: unknown}).pending.size
    assert.ok(pending() > 0 || (pool as unknown as {early?: unknown}).early !== undefined, 'nothing was asked for ahead')
    // The evaluation between two epochs reads another split through the same workers.
    const evaluation = {batchSize: 16, imageSize: 8, shuffle: false, seed: 2, epoch: 0, augment: false as const, what: 'the synthetic test split'}
    assertSameBatches(await collect(epochBatches(test, evaluation, pool)), reference(test, evaluation), 'evaluation while an epoch is ahead')
    assert.ok((pool as unknown as {early?: unknown}).early !== undefined, 'the evaluation dropped the epoch started ahead')
    assertSameBatches(await collect(epochBatches(train, {...ahead}, pool)), reference(train, ahead).slice(0, 4), 'the epoch started ahead')
    assert.equal((pool as unknown as {early?: unknown}).early, undefined)
    // Started ahead for epoch 7, asked for epoch 6: epoch 6 exactly, and the early one dropped.
    epochBatchesAhead(train, opts(7, {augment}), pool)
    assertSameBatches(await collect(epochBatches(train, opts(6, {augment}), pool)), reference(train, opts(6, {augment})), 'another epoch than the one ahead')
    assert.equal((pool as unknown as {early?: unknown}).early, undefined)
    // Without workers, nothing is started.
    epochBatchesAhead(train, ahead)
  })

  it('a batch that fails in a worker is a DataWorkerError naming the batch, the epoch and the data; later batches still come', async () => {
    const split = (await data).train
    // A pipeline whose steps were made here but whose description makes a worker's normalize throw.
    const good = augmentFromConfig({augment: [{type: 'normalize', mean: 0.5, std: 0.5}] as never}) as Pipeline
    const broken: Pipeline = {...good, specs: [{type: 'normalize', mean: 0.5, std: [1, 2]}]}
    await assert.rejects(
      collect(pool.epoch(split, opts(5, {augment: broken}))),
      (e: unknown) => e instanceof DataWorkerError && /batch 1 of epoch 5 of the synthetic training split could not be made: .*normalize\.std needs one value or three/.test((e as Error).message),
    )
    assertSameBatches(await collect(pool.epoch(split, opts(6))), reference(split, opts(6)), 'after a failed epoch')
  })
})

it('a worker that dies fails the batches asked of it and every later one, saying which worker', async () => {
  const split = (await loadDataset({dataset: 'synthetic', image_size: 8, synthetic: {train: 64, test: 8, classes: 3}})).train
  const pool = new BatchWorkers(2, 4)
  try {
    const opts: EpochBatchOptions = {batchSize: 8, imageSize: 8, shuffle: true, seed: 1, epoch: 1, augment: false, what: 'the synthetic training split'}
    const it = pool.epoch(split, opts)
    await it.next()
    // Held while it ends, as close() holds them: an idle worker is unref'd, and nothing else would keep this test's process alive until its exit.
    await endWorker((pool as unknown as {workers: Worker[]}).workers[1])
    await assert.rejects(collect(it), (e: unknown) => e instanceof DataWorkerError && /data worker 2 exited/.test((e as Error).message))
    await assert.rejects(collect(pool.epoch(split, {...opts, epoch: 2})), /data worker 2 exited/)
  } finally {
    await pool.close()
  }
})

it('workers never hold the process open: a program that forgets close() still ends', () => {
  const program = `
    import {BatchWorkers} from ${JSON.stringify(join(REPO, 'dist', 'src', 'data', 'batch-workers.js'))}
    const split = {images: new Uint8Array(40 * 4 * 4 * 3), labels: new Uint8Array(40), count: 40}
    const pool = new BatchWorkers(2, 4)
    let n = 0
    for await (const b of pool.epoch(split, {batchSize: 8, imageSize: 4, shuffle: true, seed: 1, epoch: 1, augment: false, what: 'x'})) n += b.size
    console.log('made', n)`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], {encoding: 'utf8', timeout: 20_000, env: {...process.env, NODE_OPTIONS: ''}})
  assert.equal(r.signal, null, 'ended by itself, not by the timeout')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'made 40')
})

describe('which pipelines stay on the training thread', () => {
  it('built-in transforms go to workers; a plugin file’s, or one without draw(), stay, saying why', async () => {
    assert.equal(stayOnTrainingThread(undefined), undefined)
    assert.equal(stayOnTrainingThread(augmentFromConfig({augment: EVERY_TRANSFORM as never}) || undefined), undefined)
    await withSource('/plugins/invert.js', async () =>
      registerTransform({name: 'test_invert', summary: 'x → 1 − x', applies: 'train', schema: {type: 'object', properties: {}}, create: () => ({draw: () => undefined, apply: () => undefined})}),
    )
    registerTransform({name: 'test_no_draw', summary: 'draws without saying how many', applies: 'train', schema: {type: 'object', properties: {}}, create: () => ({apply: (_i, _o, _s, rng) => void rng.float()})})
    assert.match(stayOnTrainingThread(augmentFromConfig({augment: ['hflip', 'test_invert'] as never}) || undefined) ?? '', /test_invert comes from a plugin file/)
    const noDraw = augmentFromConfig({augment: ['test_no_draw'] as never}) as Pipeline
    assert.match(stayOnTrainingThread(noDraw) ?? '', /test_no_draw has no draw\(\)/)
    // epochBatches keeps such a pipeline on the training thread even with workers given.
    const split = (await loadDataset({dataset: 'synthetic', image_size: 4, synthetic: {train: 20, test: 4, classes: 2}})).train
    const pool = new BatchWorkers(1, 1)
    try {
      const opts: EpochBatchOptions = {batchSize: 8, imageSize: 4, shuffle: true, seed: 3, epoch: 1, augment: noDraw, what: 'x'}
      assert.equal((await collect(epochBatches(split, opts, pool))).length, 3)
      await assert.rejects(collect(pool.epoch(split, opts)), /cannot be made by data workers: .*test_no_draw/)
    } finally {
      await pool.close()
    }
  })
})
