// Walks every registered model and component: tiny preset → shape, finite output, parameters > 0,
// and a save/load round trip through tfjs serialization (custom layers included).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tf, tfl} from '../../src/engine/tf.js'
import {allEntries} from '../../src/registry/registry.js'
import {buildModel} from '../../src/model/build.js'
import {resolveObject} from '../helpers.js'

const SIZE = 8

function specFor(entry: {kind: string; name: string; tiny?: object}): unknown {
  const data = {dataset: 'synthetic', image_size: SIZE, synthetic: {train: 8, test: 8, classes: 3}}
  if (entry.kind === 'model') return {name: 'contract', data, model: {type: entry.name, ...entry.tiny}}
  if (entry.kind === 'component') {
    return {name: 'contract', data, model: {type: 'mixture', block: 'alternating', components: [{type: entry.name, ...entry.tiny}]}}
  }
  // blocks, adapters, norms and heads: in a joint block of a tiny CNN and a tiny ViT
  const model: Record<string, unknown> = {
    type: 'mixture',
    block: entry.kind === 'block' ? entry.name : 'joint',
    components: [
      {type: 'cnn', channels: [4, 3]},
      {type: 'vit', dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32},
    ],
  }
  if (entry.kind !== 'block') model[entry.kind] = {type: entry.name, ...entry.tiny}
  return {name: 'contract', data, model}
}

for (const entry of allEntries()) {
  test(`contract: ${entry.kind} ${entry.name}`, async () => {
    const spec = resolveObject(specFor(entry))
    const built = buildModel(spec)
    const {model} = built
    try {
      assert.ok(built.params > 0, 'has trainable parameters')
      const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 3)
      // Training-mode forward first (dropout, batch statistics; it moves BatchNorm's running stats).
      const yt = model.apply(x, {training: true}) as tf.Tensor
      assert.ok((await yt.data()).every(Number.isFinite), 'finite training-mode output')
      const y = model.predict(x) as tf.Tensor
      assert.equal(y.shape[0], 2)
      assert.ok((y.shape[1] as number) >= 3, `logits for 3 classes, got ${y.shape}`)
      const values = await y.data()
      assert.ok(values.every(Number.isFinite), 'finite output')

      let saved: tf.io.ModelArtifacts | undefined
      await model.save(tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts
        return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}}
      }))
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!))
      const y2 = loaded.predict(x) as tf.Tensor
      const a = await y.data()
      const b = await y2.data()
      assert.equal(a.length, b.length)
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `round trip output ${i}: ${a[i]} vs ${b[i]}`)
      loaded.dispose()
      tf.dispose([x, y, yt, y2])
    } finally {
      model.dispose()
    }
  })
}

test('the registry holds the built-in components the paper needs', () => {
  const names = allEntries().map((e) => `${e.kind}:${e.name}`)
  for (const n of ['component:cnn', 'component:vit', 'component:perceiver', 'norm:none', 'norm:batchnorm', 'norm:layernorm', 'adapter:token_image', 'head:linear', 'block:alternating', 'block:joint', 'model:mixture', 'model:resnet18', 'model:vit_classifier', 'model:perceiver_classifier', 'model:cnn_classifier']) {
    assert.ok(names.includes(n), `${n} is registered`)
  }
})
