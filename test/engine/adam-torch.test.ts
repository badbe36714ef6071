// Adam with coupled L2 over 24 steps against torch.optim.Adam(weight_decay=1e-4) from identical
// weights (test/fixtures/torch/adam.json, made by bench/torch/adam_fixture.py from the weights of
// alternating_vit.json): the Trainer's losses at every step and every weight and BatchNorm statistic
// after the last, within what float32 arithmetic alone drifts from PyTorch's float64 trajectory (conv
// biases before train-mode BatchNorm, which the loss does not depend on, and the running means that
// follow them, within Adam's step bound). On
// the cpu backend (the Adam composite) and, where it is built, the native one (its fused kernel).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {loadNative} from '../../src/backends/native/index.js'
import {Trainer} from '../../src/engine/trainer.js'
import {buildModel} from '../../src/model/build.js'
import {REPO, resolveObject} from '../helpers.js'
import {nativeBuilt, skipUnless} from '../require.js'
import {assignTorchWeights, mapWeights, toTfjs, type Entry, type TorchTensor} from '../model/torch-weights.js'

interface Fixture {
  optimizer: {lr: number; betas: [number, number]; eps: number; weight_decay: number}
  steps: number
  batches: {input: TorchTensor; labels: number[]}[]
  losses: number[]
  losses_float32: number[]
  final: {name: string; trainable: boolean; zero_gradient: boolean; shape: number[]; values: number[]; float32_drift: number}[]
}

const read = (name: string) => JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', name), 'utf8'))
const FIXTURE: Fixture = read('adam.json')
const START: {state_dict: Entry[]} = read('alternating_vit.json')

// Skipped only where the addon was never built: a built addon that fails to load fails this test.
const native = skipUnless('native', nativeBuilt())
if (!native) await loadNative()

/** The model of alternating_vit.json (as test/model/torch-parity.test.ts builds it). */
function model() {
  return buildModel(
    resolveObject({
      name: 'adam',
      data: {dataset: 'synthetic', image_size: 6, synthetic: {train: 4, test: 4, classes: 3}},
      model: {
        type: 'mixture',
        block: 'alternating',
        num_blocks: 2,
        components: [
          {type: 'cnn', channels: [2, 2, 4, 4, 3]},
          {type: 'vit', patch_size: 2, dim: 36, depth: 1, heads: 2, dim_head: 2, mlp_dim: 8, dropout: 0, emb_dropout: 0},
        ],
      },
    }),
  )
}

/** Train on `backend` through the fixture's steps; every place the trajectory leaves PyTorch's. */
async function departures(backend: string, change: {eps?: number; weightDecay?: number} = {}): Promise<string[]> {
  await tf.setBackend(backend)
  const built = model()
  const {lr, betas, eps, weight_decay: weightDecay} = FIXTURE.optimizer
  const trainer = new Trainer(built.model, {lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, ...change})
  const problems: string[] = []
  try {
    const mapping = mapWeights(built.model, built.layerOrder, START.state_dict)
    assignTorchWeights(mapping)
    const batches = FIXTURE.batches.map((b) => [tf.tensor4d(b.input.nhwc!.values, b.input.nhwc!.shape as [number, number, number, number]), tf.tensor1d(b.labels, 'int32')] as const)
    for (let t = 0; t < FIXTURE.steps; t++) {
      const [x, y] = batches[t % batches.length]
      trainer.trainStep(x, y)
      const {loss} = await trainer.readMetrics()
      trainer.resetMetrics()
      // float32 losses: PyTorch's own float32 run is within 1e-6 relative; allow 1e-5
      const tol = 1e-5 * Math.abs(FIXTURE.losses[t]) + 10 * Math.abs(FIXTURE.losses_float32[t] - FIXTURE.losses[t])
      if (!(Math.abs(loss - FIXTURE.losses[t]) <= tol)) problems.push(`step ${t + 1}: loss ${loss} vs PyTorch ${FIXTURE.losses[t]} (±${tol.toExponential(2)})`)
    }
    const byName = new Map(FIXTURE.final.map((f) => [f.name, f]))
    let worst = {ratio: 0, what: ''}
    for (const m of mapping) {
      const ref = byName.get(m.torch.name)!
      const expected = toTfjs(m.torch.kind, ref.shape, ref.values).values
      const ours = m.variable.dataSync()
      const scale = Math.max(...ref.values.map(Math.abs))
      // ten times the float32 drift of PyTorch itself, at least 1e-5 of the tensor's scale; a tensor the
      // loss does not depend on moves by Adam-normalised rounding noise, at most lr per step (and so does
      // the running mean of the BatchNorm after it)
      const tol = ref.zero_gradient ? lr * FIXTURE.steps : Math.max(10 * ref.float32_drift, 1e-5 * scale, 1e-7)
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs(ours[i] - expected[i])
        if (d / tol > worst.ratio) worst = {ratio: d / tol, what: `${ref.name}[${i}]: ${ours[i]} vs ${expected[i]} (tolerance ${tol.toExponential(2)})`}
      }
    }
    if (!(worst.ratio <= 1)) problems.push(`after ${FIXTURE.steps} steps, worst: ${worst.what}`)
    for (const [x, y] of batches) tf.dispose([x, y])
    return problems
  } finally {
    trainer.dispose()
    built.model.dispose()
    await tf.setBackend('cpu')
  }
}

test('24 Adam steps (coupled L2) follow torch.optim.Adam on cpu', async () => {
  assert.deepEqual(await departures('cpu'), [])
})

test('24 Adam steps (coupled L2) follow torch.optim.Adam on native', {skip: native}, async () => {
  assert.deepEqual(await departures('native'), [])
})

test('planted: without the L2 term, or with tfjs\'s ε 1e-7, the trajectory leaves PyTorch\'s', async () => {
  assert.ok((await departures('cpu', {weightDecay: 0})).length > 0, 'weight decay 0 passes')
  assert.ok((await departures('cpu', {eps: 1e-7})).length > 0, 'ε 1e-7 passes')
})
