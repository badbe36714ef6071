// Our models against the original PyTorch structure, number for number: the committed fixtures in
// test/fixtures/torch (made by bench/torch/fixtures.py) hold weights, an input, the outputs in eval
// and train mode, and the gradients of sum(output · W) for the input and every parameter.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {tf, tfl, type LayersModel} from '../../src/engine/tf.js'
import {BuildContext} from '../../src/registry/context.js'
import {lookup} from '../../src/registry/registry.js'
import {buildModel} from '../../src/model/build.js'
import {REPO, resolveObject} from '../helpers.js'
import {assignTorchWeights, mapWeights, toTfjs, type Entry, type TorchTensor} from './torch-weights.js'

interface Fixture {
  model: {builder: string; kwargs: Record<string, unknown>}
  trainable_params: number
  state_dict: Entry[]
  input: TorchTensor
  grad_weights: TorchTensor
  eval: Mode
  train: Mode & {batchnorm_state_after?: {name: string; values: number[]}[]}
}
interface Mode {
  output: TorchTensor
  grad_input: TorchTensor
  grad_params: {name: string; shape: number[]; values: number[]}[]
}

const load = (name: string): Fixture => JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', `${name}.json`), 'utf8'))

function maxAbs(values: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]))
  return m
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, scale: number, what: string, rel = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  const tol = rel * Math.max(scale, 1e-6)
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.fail(`${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]} (tolerance ${tol.toExponential(2)})`)
  }
}

/** NHWC data of an image tensor, the values otherwise. */
const ours = (t: TorchTensor) => (t.nhwc ? t.nhwc : t)

function check(name: string, model: LayersModel, order: string[], fixture: Fixture): void {
  const mapping = mapWeights(model, order, fixture.state_dict)
  const restore = () => assignTorchWeights(mapping)
  restore()
  const trainable = mapping.filter((m) => m.trainable)
  assert.equal(trainable.reduce((s, m) => s + m.variable.size, 0), fixture.trainable_params, 'trainable parameters')
  const input = ours(fixture.input)
  const x = tf.tensor(input.values, input.shape)
  const w = tf.tensor(ours(fixture.grad_weights).values, ours(fixture.grad_weights).shape)
  for (const mode of ['eval', 'train'] as const) {
    restore()
    const ref = fixture[mode]
    const f = (xi: tf.Tensor) => tf.sum(tf.mul(model.apply(xi, {training: mode === 'train'}) as tf.Tensor, w)) as tf.Scalar
    const out = model.apply(x, {training: mode === 'train'}) as tf.Tensor
    const refOut = ours(ref.output)
    assert.deepEqual(out.shape, refOut.shape, `${mode} output shape`)
    close(out.dataSync(), refOut.values, maxAbs(refOut.values), `${name} ${mode} output`)
    if (mode === 'train' && fixture.train.batchnorm_state_after) {
      for (const s of fixture.train.batchnorm_state_after) {
        const m = mapping.find((e) => e.torch.name === s.name)!
        close(m.variable.dataSync(), s.values, maxAbs(s.values), `${name} ${s.name} after one training forward`)
      }
    }
    restore()
    const dx = tf.grad(f)(x)
    const refDx = ours(ref.grad_input)
    close(dx.dataSync(), refDx.values, maxAbs(refDx.values), `${name} ${mode} d/dinput`)
    restore()
    const {grads} = tf.variableGrads(() => f(x), trainable.map((m) => m.variable))
    const scale = Math.max(...ref.grad_params.map((g) => maxAbs(g.values)))
    for (const m of trainable) {
      const g = ref.grad_params.find((p) => p.name === m.torch.name)!
      close(grads[m.variable.name].dataSync(), toTfjs(m.torch.kind, g.shape, g.values).values, scale, `${name} ${mode} d/d${m.torch.name}`)
    }
  }
}

const data = (size: number, classes: number) => ({dataset: 'synthetic', image_size: size, synthetic: {train: 4, test: 4, classes}})

/** Build a spec'd model and compare. */
function checkModel(fixtureName: string, spec: Record<string, unknown>): void {
  const fixture = load(fixtureName)
  const built = buildModel(resolveObject({name: fixtureName, ...spec}))
  try {
    check(fixtureName, built.model, built.layerOrder, fixture)
  } finally {
    built.model.dispose()
  }
}

/** Build a single component on an input of the fixture's shape and compare. */
function checkPart(fixtureName: string, kind: 'component' | 'adapter', type: string, params: Record<string, unknown>, inputShape: number[]): void {
  const fixture = load(fixtureName)
  const ctx = BuildContext.root({seed: 1, init: 'torch'})
  const input = tfl.input({shape: inputShape})
  const resolved = resolveObject({name: 'p', data: data(8, 3), model: {type: 'mixture', components: [{type: 'cnn'}], ...(kind === 'adapter' ? {adapter: {type, ...params}} : {})}})
  void resolved
  const entry = lookup(kind, type)!
  const defaults = Object.fromEntries(Object.entries((entry.schema.properties ?? {}) as Record<string, {default?: unknown}>).map(([k, v]) => [k, v.default]))
  const p = {...defaults, ...params}
  const output =
    kind === 'adapter'
      ? (entry as {create: (c: BuildContext, t: unknown, p: unknown, i: {height: number; width: number}) => tfl.SymbolicTensor}).create(ctx, input, p, {height: Math.sqrt(inputShape[1]), width: Math.sqrt(inputShape[1])})
      : (entry as {create: (c: BuildContext, t: unknown, p: unknown) => tfl.SymbolicTensor}).create(ctx, input, p)
  const model = tfl.model({inputs: input, outputs: output})
  try {
    check(fixtureName, model, [...ctx.owners().keys()], fixture)
  } finally {
    model.dispose()
  }
}

test('CNN stack matches PyTorch (eval and train mode, all gradients, BatchNorm running statistics)', () => {
  checkPart('cnn_stack', 'component', 'cnn', {channels: [4, 4, 8, 8, 3]}, [8, 8, 3])
})

test('ViT token mixer matches PyTorch (patch order, attention, GELU MLP)', () => {
  checkPart('vit_mixer', 'component', 'vit', {patch_size: 2, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, dropout: 0, emb_dropout: 0}, [8, 8, 3])
})

test('token-to-image adapter matches PyTorch (tokens become channels, ConvTranspose2d, BatchNorm)', () => {
  checkPart('token_adapter', 'adapter', 'token_image', {}, [16, 16])
})

test('ViT classifier matches PyTorch (CLS token, positional embedding, head)', () => {
  checkModel('vit_classifier', {data: data(8, 5), model: {type: 'vit_classifier', patch_size: 2, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, dropout: 0, emb_dropout: 0}})
})

test('Perceiver classifier matches PyTorch (Fourier features, latents, cross/self attention, GEGLU)', () => {
  checkModel('perceiver', {data: data(8, 5), model: {type: 'perceiver_classifier', num_freq_bands: 2, depth: 2, max_freq: 4, num_latents: 4, latent_dim: 8, cross_heads: 2, latent_heads: 2, cross_dim_head: 4, latent_dim_head: 4, self_per_cross_attn: 1, attn_dropout: 0, ff_dropout: 0}})
})

const cnn = {type: 'cnn', channels: [2, 2, 4, 4, 3]}
const vit = {type: 'vit', patch_size: 2, dim: 36, depth: 1, heads: 2, dim_head: 2, mlp_dim: 8, dropout: 0, emb_dropout: 0}
const perceiver = (crossHeads: number) => ({type: 'perceiver', depth: 1, cross_heads: crossHeads, latent_heads: 2, num_latents: 4, latent_dim: 4, cross_dim_head: 4, latent_dim_head: 4, self_per_cross_attn: 1, num_freq_bands: 2, max_freq: 4, attn_dropout: 0, ff_dropout: 0})

test('2-block alternating CNN + ViT mixture matches PyTorch end to end', () => {
  checkModel('alternating_vit', {data: data(6, 3), model: {type: 'mixture', block: 'alternating', num_blocks: 2, components: [cnn, vit]}})
})

test('2-block joint CNN + ViT mixture matches PyTorch end to end', () => {
  checkModel('joint_vit', {data: data(6, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, vit], norm: {type: 'none'}}})
})

test('alternating CNN + Perceiver mixture matches PyTorch (head output read back as an image)', () => {
  checkModel('alternating_perceiver', {data: data(6, 3), model: {type: 'mixture', block: 'alternating', num_blocks: 1, components: [cnn, perceiver(2)]}})
})

test('2-block joint CNN + Perceiver mixture with one shared BatchNorm matches PyTorch', () => {
  checkModel('joint_perceiver', {data: data(6, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, perceiver(1)], norm: {type: 'batchnorm', share: 'model'}}})
})

test('CNN classifier matches PyTorch', () => {
  checkModel('cnn_classifier', {data: data(8, 3), model: {type: 'cnn_classifier', channels: [4, 4, 8, 8, 3]}})
})
