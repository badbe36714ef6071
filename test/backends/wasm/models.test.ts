/**
 * Every paper model (each distinct structure among configs/paper/**), shrunk to the registry's
 * tiny presets at 8×8 images: the loss and the gradient of every trainable weight on the WASM
 * backend equal those on the `cpu` backend (float32 tolerance, rtol 1e-3 / atol 1e-4).
 */
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {loadWasm} from '../../../src/backends/wasm/index.js'
import {buildModel} from '../../../src/model/build.js'
import {resolveObject, values} from '../../helpers.js'
import {assertClose, paperRows} from '../paper-rows.js'

const SIZE = 8
const CLASSES = 3

let previous: string | undefined
before(async () => {
  previous = tf.getBackend() ?? undefined
  await loadWasm()
})
after(async () => {
  if (previous) await tf.setBackend(previous)
})

const rows = paperRows()

describe('paper models at tiny sizes: wasm gradients equal cpu gradients', () => {
  it('found the paper rows', () => {
    assert.ok(rows.length >= 8, `distinct paper structures: ${rows.map((r) => r.row).join(', ')}`)
  })

  for (const {row, model} of rows) {
    it(`${row} (${model.type}${model.block ? ` ${model.block} × ${model.num_blocks ?? 1}` : ''})`, async () => {
      await tf.setBackend('cpu')
      const spec = resolveObject({name: 'wasm-parity', seed: 7, data: {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: CLASSES}}, model})
      const built = buildModel(spec)
      const x = tf.tensor4d(values(2 * SIZE * SIZE * 3, 3), [2, SIZE, SIZE, 3])
      try {
        const vars = built.model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
        const outputs = (built.model.outputs[0].shape[1] as number) ?? CLASSES
        const y = tf.oneHot(tf.tensor1d([0, 2], 'int32'), outputs)
        const loss = () => tf.losses.softmaxCrossEntropy(y, built.model.apply(x, {training: true}) as tf.Tensor) as tf.Scalar
        const run = async (backend: string) => {
          await tf.setBackend(backend)
          return tf.tidy(() => {
            const {value, grads} = tf.variableGrads(loss, vars)
            return {loss: value.dataSync()[0], grads: vars.map((v) => Float32Array.from(grads[v.name].dataSync()))}
          })
        }
        const cpu = await run('cpu')
        const wasm = await run('wasm')
        assert.ok(Number.isFinite(cpu.loss), 'finite loss')
        assertClose('wasm', [wasm.loss], [cpu.loss], 'loss', 1e-4, 1e-5)
        vars.forEach((v, i) => assertClose('wasm', wasm.grads[i], cpu.grads[i], `grad of ${v.name}`))
        assert.ok(cpu.grads.filter((g) => g.some((value) => value !== 0)).length >= vars.length / 2, 'gradients reach the weights')
        y.dispose()
      } finally {
        x.dispose()
        built.model.dispose()
      }
    })
  }
})
