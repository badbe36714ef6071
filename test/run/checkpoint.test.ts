// Checkpoint files: format 2 round trip (last with Adam state, best without), every header field
// checked, format 1 still read, and a checkpoint of another model refused before any weight is written.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {Trainer} from '../../src/engine/trainer.js'
import {buildModel} from '../../src/model/build.js'
import {CheckpointError, encodeCheckpoint, readCheckpoint, restoreCheckpoint, saveCheckpoint, verifyCheckpoint, type CheckpointHeader} from '../../src/run/checkpoint.js'
import {resolveObject, tempDir} from '../helpers.js'

await tf.setBackend('cpu')

const spec = (channels: number[]) => resolveObject({name: 'ckpt', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels}], norm: {type: 'batchnorm'}}})
const meta = {epoch: 2, step: 7, best_test_accuracy: 0.5, best_train_accuracy: 0.6, train_seconds: 1, eval_seconds: 0.5}

function trained(channels = [4, 3]) {
  const built = buildModel(spec(channels))
  const trainer = new Trainer(built.model, {lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4})
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D
  const y = tf.tensor1d([0, 1, 2, 1], 'int32')
  trainer.trainStep(x, y)
  trainer.trainStep(x, y)
  tf.dispose([x, y])
  return {built, trainer}
}

test('last.ckpt round-trips weights, BatchNorm statistics and Adam state; best.ckpt holds the weights only', async () => {
  const dir = tempDir()
  const {built, trainer} = trained()
  await saveCheckpoint(join(dir, 'last.ckpt'), 'last', built.model, trainer, meta)
  await saveCheckpoint(join(dir, 'best.ckpt'), 'best', built.model, trainer, meta)
  const last = readCheckpoint(join(dir, 'last.ckpt'), 'last')
  assert.equal(last.format, 2)
  assert.equal(last.meta.epoch, 2)
  assert.equal(last.weights.size, built.model.weights.length)
  assert.ok(built.model.weights.some((w) => /moving_mean/.test(w.originalName) && last.weights.has(w.originalName)), 'BatchNorm statistics are kept')
  assert.equal(last.state.adam_m?.length, built.model.trainableWeights.length)
  const best = verifyCheckpoint(join(dir, 'best.ckpt'), 'best')
  assert.ok(best.tensors.every((t) => t.group === 'weight'))
  assert.ok(readFileSync(join(dir, 'best.ckpt')).length < readFileSync(join(dir, 'last.ckpt')).length / 2)
  assert.throws(() => readCheckpoint(join(dir, 'best.ckpt'), 'last'), /is corrupt: it is a best checkpoint, where a last checkpoint belongs/)

  const other = trained()
  restoreCheckpoint(last, other.built.model, other.trainer)
  for (const [i, w] of built.model.weights.entries()) assert.deepEqual(other.built.model.weights[i].read().dataSync(), w.read().dataSync(), w.originalName)
  assert.equal(other.trainer.step, meta.step)
  assert.deepEqual(await other.trainer.optimizerState().groups.adam_v[0].data(), await trainer.optimizerState().groups.adam_v[0].data())
  assert.throws(() => restoreCheckpoint(readCheckpoint(join(dir, 'best.ckpt')), other.built.model, other.trainer), /cannot continue training: a best checkpoint keeps the weights only/)
})

test('a checkpoint of another model is refused before any weight is written', async () => {
  const dir = tempDir()
  const {built, trainer} = trained([4, 3])
  await saveCheckpoint(join(dir, 'last.ckpt'), 'last', built.model, trainer, meta)
  const other = trained([5, 3])
  const before = other.built.model.weights.map((w) => w.read().dataSync().slice())
  assert.throws(() => restoreCheckpoint(readCheckpoint(join(dir, 'last.ckpt')), other.built.model, other.trainer), (e: unknown) => e instanceof CheckpointError && /does not fit this model: .* has shape .*written by a different model/.test(e.message))
  other.built.model.weights.forEach((w, i) => assert.deepEqual(w.read().dataSync(), before[i]))
})

/** A format-2 file from a header and data, checksum correct, so that the header checks are what fails. */
function withHeader(dir: string, edit: (h: CheckpointHeader) => void): string {
  const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)
  const header: CheckpointHeader = {format: 2, kind: 'best', meta: {...meta, saved: 'now'}, tensors: [{group: 'weight', name: 'w', shape: [2, 3], dtype: 'float32', offset: 0, bytes: 24}], data_bytes: 24}
  edit(header)
  const file = join(dir, `edited-${Math.random()}.ckpt`)
  writeFileSync(file, Buffer.concat(encodeCheckpoint(header, [data])))
  return file
}

test('every header field is checked, even under a correct checksum', () => {
  const dir = tempDir()
  assert.equal(verifyCheckpoint(withHeader(dir, () => {})).meta.epoch, 2)
  const cases: [(h: CheckpointHeader) => void, RegExp][] = [
    [(h) => ((h as {format: number}).format = 3), /format is 3, not 2/],
    [(h) => ((h.meta as {epoch: unknown}).epoch = undefined), /epoch is undefined, not a positive integer/],
    [(h) => (h.meta.epoch = 0), /epoch is 0/],
    [(h) => (h.meta.step = 1.5), /step is 1\.5/],
    [(h) => (h.meta.best_test_accuracy = Number.NaN), /best_test_accuracy is null, not a finite number/],
    [(h) => ((h.tensors[0] as {dtype: string}).dtype = 'float16'), /dtype "float16", not float32/],
    [(h) => (h.tensors[0].shape = [2, 2]), /says 24 bytes, its shape \[2, 2\] needs 16/],
    [(h) => (h.tensors[0].offset = 4), /starts at byte 4 of the data; the tensors before it end at 0/],
    [(h) => ((h.tensors[0] as {group: string}).group = 'adam_w'), /group "adam_w"/],
    [(h) => (h.tensors[0].name = ''), /has no name/],
    [(h) => (h.data_bytes = 28), /truncated|says 28 bytes of data/],
    [(h) => (h.tensors[0].group = 'adam_m'), /a best checkpoint holds Adam state/],
    [(h) => (h.kind = 'last'), /Adam's state groups adam_m and adam_v do not pair up \(0 and 0 tensors\)/],
    [(h) => (h.tensors[0].group = 'ema'), /a best checkpoint holds an ema group; its weights are the average already/],
    [(h) => ((h.tensors = [{...h.tensors[0], shape: [3], bytes: 12}, {...h.tensors[0], group: 'ema', name: 'v', shape: [3], offset: 12, bytes: 12}]), (h.kind = 'last'), (h.meta.optimizer = 'none_such')), /its ema group names 1 tensors, not the 1 weights in their order/],
  ]
  for (const [edit, message] of cases) assert.throws(() => verifyCheckpoint(withHeader(dir, edit)), (e: unknown) => e instanceof CheckpointError && message.test(e.message), String(message))
})

test('format 1 (no checksum) is still read, says so, and refuses non-finite data', () => {
  const dir = tempDir()
  const header = Buffer.from(JSON.stringify({meta: {...meta, saved: 'then'}, tensors: [{group: 'weight', name: 'w', shape: [2], offset: 0, length: 2}, {group: 'adam_m', name: 'w', shape: [2], offset: 8, length: 2}, {group: 'adam_v', name: 'w', shape: [2], offset: 16, length: 2}]}))
  const pad = (4 - ((12 + header.length) % 4)) % 4
  const prefix = Buffer.alloc(12 + header.length + pad, 0x20)
  prefix.write('MIXCKPT1', 0, 'latin1')
  prefix.writeUInt32LE(header.length + pad, 8)
  header.copy(prefix, 12)
  const file = join(dir, 'old.ckpt')
  writeFileSync(file, Buffer.concat([prefix, Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)]))
  const old = readCheckpoint(file)
  assert.equal(old.format, 1)
  assert.equal(old.checksummed, false)
  assert.deepEqual([...old.weights.get('w')!], [1, 2])
  assert.deepEqual([...old.state.adam_v![0]], [5, 6])
  const nan = join(dir, 'nan.ckpt')
  writeFileSync(nan, Buffer.concat([prefix, Buffer.from(new Float32Array([1, Number.NaN, 3, 4, 5, 6]).buffer)]))
  assert.throws(() => readCheckpoint(nan), /nan\.ckpt is corrupt: tensor w \(weight\) holds NaN at element 1/)
})
