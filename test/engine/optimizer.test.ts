// The optimizers against torch.optim (test/fixtures/torch/recipe.json, bench/torch/recipe.py): Adam
// (coupled L2), AdamW, SGD (momentum, dampening, Nesterov) and a plugin file's RMSprop
// (configs/examples/plugins/rmsprop.mjs: a composite of tfjs ops), with weight_decay_exclude as param
// groups and one case clipped by clip_grad_norm_ first, over 25 steps at a learning rate that changes
// every step (and in two cases a momentum that does too, as one-cycle's), on every backend present (through its fused kernels, and the WebGPU in-place update);
// and every paper row's weights by role, as torch's modules give them.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf} from '../../src/engine/tf.js'
import {Optimizer, weightRoles, type OptimizerSpec, type WeightRole} from '../../src/engine/optimizer.js'
import {loadPlugins} from '../../src/config/plugins.js'
import {chooseOptimizer} from '../../src/recipe/optimizer.js'
import {loadSpec} from '../../src/config/load.js'
import {validateSpec} from '../../src/config/validate.js'
import {buildModel} from '../../src/model/build.js'
import {clipGradNorm} from '../../src/ops/clip-grad-norm.js'
import {REPO, resolveObject} from '../helpers.js'
import {ALL_BACKENDS, backendSkip} from '../require.js'

interface OptimizerCase {
  name: string
  optimizer: OptimizerSpec
  grad_clip?: {max_norm: number}
  total_norms?: number[]
  params: {name: string; role: WeightRole; shape: number[]}[]
  start: number[][]
  grads: number[][][]
  lrs: number[]
  /** Where the case cycles it (OneCycleLR's cycle_momentum): each step's beta1 (Adam, AdamW) or momentum (SGD). */
  momenta?: number[]
  after: number[][][]
  state: Record<string, number[][]>
}

await loadPlugins([join(REPO, 'configs', 'examples', 'plugins', 'rmsprop.mjs')], new Map())

const FIXTURE = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'recipe.json'), 'utf8')) as {
  optimizers: OptimizerCase[]
  weight_roles: Record<string, Record<WeightRole, {tensors: number; scalars: number}>>
}

/** Largest |a − b| / (1e-6 + |b|)·… : the worst of |a − b| − (atol + rtol·|b|), ≤ 0 when every value is within. */
function within(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): {ok: boolean; at: number; a: number; b: number} {
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= atol + rtol * Math.abs(expected[i]))) return {ok: false, at: i, a: actual[i], b: expected[i]}
  }
  return {ok: actual.length === expected.length, at: -1, a: 0, b: 0}
}

/** Runs one fixture case on the active backend; fails at the first step whose parameters leave the tolerance. */
async function runCase(c: OptimizerCase): Promise<void> {
  const made = (values: number[], shape: number[]) => tf.tidy(() => tf.variable(tf.tensor(values, shape), true))
  const weights = c.params.map((p, i) => made(c.start[i], p.shape))
  const optimizer = new Optimizer(chooseOptimizer(c.optimizer), weights, c.params.map((p) => p.role))
  // float32 against torch's float64 over 25 steps: a few ulps per step.
  const [rtol, atol] = [2e-5, 2e-6]
  try {
    for (let step = 1; step <= c.lrs.length; step++) {
      let grads = c.grads[step - 1].map((g, i) => tf.tensor(g, c.params[i].shape))
      if (c.grad_clip) {
        const total = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))))
        const norm = (await total.data())[0]
        total.dispose()
        assert.ok(Math.abs(norm - c.total_norms![step - 1]) <= 1e-5 * c.total_norms![step - 1], `step ${step}: total norm ${norm}, torch ${c.total_norms![step - 1]}`)
        const clipped = clipGradNorm(grads, c.grad_clip.max_norm)
        tf.dispose(grads)
        grads = clipped
      }
      optimizer.apply(weights, grads, optimizer.update(c.lrs[step - 1], step, c.momenta?.[step - 1]))
      tf.dispose(grads)
      for (const [i, w] of weights.entries()) {
        const r = within(await w.data(), c.after[step - 1][i], rtol, atol)
        assert.ok(r.ok, `${c.name}: step ${step}, ${c.params[i].name}[${r.at}] is ${r.a}, torch ${r.b}`)
      }
    }
    const mine = Object.fromEntries(optimizer.stateGroups().map((g) => [g.group, g.tensors]))
    // torch's state keys and the groups ours keep them in (a plugin's: `<optimizer>_<state>`).
    const names: Record<string, string> = {exp_avg: 'adam_m', exp_avg_sq: 'adam_v', momentum_buffer: 'momentum'}
    for (const [key, tensors] of Object.entries(c.state)) {
      for (const [i, t] of mine[names[key] ?? `${c.optimizer.type}_${key}`].entries()) {
        const r = within(await t.data(), tensors[i], rtol, key === 'exp_avg_sq' || key === 'square_avg' ? 1e-9 : atol)
        assert.ok(r.ok, `${c.name}: ${key} of ${c.params[i].name}[${r.at}] is ${r.a}, torch ${r.b}`)
      }
    }
    if (c.optimizer.type === 'sgd' && c.optimizer.momentum === 0) {
      // Torch keeps no buffer without momentum; this one holds the last gradient and is never read.
      assert.deepEqual(c.state, {})
      assert.deepEqual(await mine.momentum[0].data(), Float32Array.from(c.grads[c.grads.length - 1][0]))
    } else {
      assert.equal(Object.keys(c.state).length, optimizer.stateGroups().length, 'as many state groups as torch keeps')
    }
  } finally {
    optimizer.dispose()
    tf.dispose(weights)
  }
}

for (const backend of ALL_BACKENDS) {
  const why = await backendSkip(backend)
  describe(`optimizers on ${backend} step as torch.optim does`, () => {
    for (const c of FIXTURE.optimizers) {
      it(`${c.name}: ${c.optimizer.type}, weight decay ${c.optimizer.weight_decay}${c.optimizer.weight_decay_exclude?.length ? ` except ${c.optimizer.weight_decay_exclude}` : ''}${c.grad_clip ? `, clipped to norm ${c.grad_clip.max_norm}` : ''}${c.momenta ? ', momentum changed every step' : ''}`, {skip: why}, async () => {
        await tf.setBackend(backend)
        await runCase(c)
      })
    }
  })
}

describe('weight roles', () => {
  it('every paper row: norm (BatchNorm, LayerNorm gamma and beta), bias and other weights as torch counts them', async () => {
    await tf.setBackend('cpu')
    const rows = Object.entries(FIXTURE.weight_roles)
    assert.ok(rows.length >= 18, 'the distinct paper rows')
    for (const [row, expected] of rows) {
      const built = buildModel(validateSpec(loadSpec(join(REPO, 'configs', 'paper', `${row}.yaml`))))
      try {
        const roles = weightRoles(built.model)
        const got: Record<WeightRole, {tensors: number; scalars: number}> = {weight: {tensors: 0, scalars: 0}, bias: {tensors: 0, scalars: 0}, norm: {tensors: 0, scalars: 0}}
        built.model.trainableWeights.forEach((w, i) => {
          got[roles[i]].tensors++
          got[roles[i]].scalars += (w.shape as number[]).reduce((a, b) => a * b, 1)
        })
        assert.deepEqual(got, expected, row)
      } finally {
        built.model.dispose()
      }
    }
  })

  it('a model without bias or norm: every weight decays; with both excluded the groups split', async () => {
    await tf.setBackend('cpu')
    const spec = resolveObject({name: 'roles', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}], norm: {type: 'batchnorm'}}})
    const built = buildModel(spec)
    try {
      const roles = weightRoles(built.model)
      const vars = built.model.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val)
      const all = new Optimizer(chooseOptimizer({type: 'sgd', lr: 0.1, weight_decay: 5e-4, weight_decay_exclude: [], momentum: 0, dampening: 0, nesterov: false}), vars, roles)
      const split = new Optimizer(chooseOptimizer({type: 'sgd', lr: 0.1, weight_decay: 5e-4, weight_decay_exclude: ['bias', 'norm'], momentum: 0, dampening: 0, nesterov: false}), vars, roles)
      assert.deepEqual(all.groups, [{indices: vars.map((_, i) => i), weightDecay: 5e-4}])
      assert.deepEqual(split.groups.map((g) => g.indices.map((i) => roles[i])), [roles.filter((r) => r === 'weight'), roles.filter((r) => r !== 'weight')])
      assert.deepEqual(split.groups.map((g) => g.weightDecay), [5e-4, 0])
      assert.ok(roles.includes('bias') && roles.includes('norm') && roles.includes('weight'), roles.join(' '))
      all.dispose()
      split.dispose()
    } finally {
      built.model.dispose()
    }
  })
})
