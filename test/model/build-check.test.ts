// Parameters that each pass their schema but do not fit together are the spec's fault (exit 2), and
// `mixture validate` finds them by building the model once: a transformer width that makes no image
// of the block's size, joint branches of different shapes, a CNN told the wrong input width, a model
// too large for the machine's memory.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tfl} from '../../src/engine/tf.js'
import {buildModel, checkModelBuilds, ModelBuildError} from '../../src/model/build.js'
import {BuildContext} from '../../src/registry/context.js'
import {lookup} from '../../src/registry/registry.js'
import {mixture, resolveObject, writeSpec} from '../helpers.js'

const data = {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}
const vit = {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 16}
const spec = (model: Record<string, unknown>) => ({name: 'fit', data, model: {type: 'mixture', ...model}})

function buildError(model: Record<string, unknown>): ModelBuildError {
  try {
    buildModel(resolveObject(spec(model))).model.dispose()
  } catch (error) {
    assert.ok(error instanceof ModelBuildError, `a ModelBuildError, not ${error}`)
    return error
  }
  throw new Error('the model was built')
}

test('parameters that do not fit together are a ModelBuildError that says what and how to fix it', () => {
  assert.match(buildError({components: [{type: 'cnn', channels: [4, 3]}, {...vit, dim: 16}]}).message, /model mixture cannot be built from this spec: token_image: tokens of width 16 make a 4×4 image but the block works on 8×8; set the transformer dim to 64 \(at model.adapter after model.components\[1\]\)/)
  assert.match(
    buildError({block: 'joint', components: [{type: 'cnn', channels: [4, 5]}, {type: 'cnn', channels: [4, 3]}]}).message,
    /joint block: the components' outputs are added, so they must have one shape; components\[0\] \(cnn\) gives 8×8×5, components\[1\] \(cnn\) gives 8×8×3/,
  )
  assert.match(buildError({components: [{type: 'cnn', channels: [4, 3], in_channels: 5}]}).message, /cnn: its input has 3 channels but in_channels is 5; set in_channels: 3/)
})

test('a layer graph too deep for tfjs to walk is said so, with what to change, not as a bare stack overflow', () => {
  const error = buildError({num_blocks: 300, components: [{type: 'cnn', channels: [4, 3]}, vit]})
  assert.match(error.message, /its layer graph is too deep for TensorFlow\.js to build .*use fewer blocks \(model\.num_blocks\)/)
})

test('a model whose weights outgrow the allowed memory stops while it is built, saying so', () => {
  const entry = lookup('component', 'vit')!
  const ctx = BuildContext.root({seed: 1, init: 'torch', maxWeightBytes: 200_000})
  const input = tfl.input({shape: [8, 8, 3]})
  assert.throws(
    () => entry.create(ctx.scope('vit'), input, {...vit, depth: 8, mlp_dim: 256, dropout: 0, emb_dropout: 0}),
    /its weights already take 0\.000 GiB after \d+ layers, more than the 0\.000 GiB allowed.*make the model smaller/,
  )
})

test('a mixture whose first block shows that num_blocks of them cannot fit stops before building the second', () => {
  const {type: _type, ...params} = resolveObject(spec({num_blocks: 500, components: [{type: 'cnn', channels: [4, 3]}, {...vit, mlp_dim: 256}]})).model
  const ctx = BuildContext.root({seed: 1, init: 'torch', maxWeightBytes: 2_000_000})
  assert.throws(
    () => lookup('model', 'mixture')!.create(ctx, tfl.input({shape: [8, 8, 3]}), params, 3),
    (e: Error & {specPath?: string}) => /its weights would take 0\.0\d\d GiB: block 1 of 500 takes 0\.000 GiB, more than the 0\.002 GiB allowed.*num_blocks\)$/.test(e.message) && e.specPath === 'model.num_blocks',
  )
  assert.deepEqual([...new Set([...ctx.owners().values()].map((owner) => owner.split('.')[0]))], ['block1'], 'no layer of block 2 was built')
  // A size that fits builds all of them.
  const fits = BuildContext.root({seed: 1, init: 'torch', maxWeightBytes: 2_000_000})
  lookup('model', 'mixture')!.create(fits, tfl.input({shape: [8, 8, 3]}), {...params, num_blocks: 2}, 3)
})

test('checkModelBuilds builds the model, lets it go and counts its parameters', () => {
  const resolved = resolveObject(spec({components: [{type: 'cnn', channels: [4, 3]}]}))
  const built = buildModel(resolved)
  built.model.dispose()
  assert.equal(checkModelBuilds(resolved), built.params)
})

test('mixture validate builds the model: a width that makes no image is exit 2 before any run', () => {
  const file = writeSpec(spec({components: [{type: 'cnn', channels: [4, 3]}, {...vit, dim: 16}]}))
  const r = mixture(['validate', file])
  assert.equal(r.code, 2, r.stderr)
  // At the line of the part whose builder complained: the adapter after the ViT, model.adapter (a default, so at model:'s line).
  assert.match(r.stderr, /spec\.yaml:\d+:\d+: model\.adapter: model mixture cannot be built from this spec: token_image: tokens of width 16 make a 4×4 image/)
  assert.doesNotMatch(r.stderr, /--debug/)
  const inChannels = mixture(['validate', writeSpec(spec({components: [{type: 'cnn', channels: [4, 3], in_channels: 5}]}))])
  assert.equal(inChannels.code, 2, inChannels.stderr)
  assert.match(inChannels.stderr, /spec\.yaml:\d+:\d+: model\.components\[0\]: .*in_channels is 5; set in_channels: 3/)
  // A --set inside the part is where its value came from.
  const set = mixture(['validate', writeSpec(spec({components: [{type: 'cnn', channels: [4, 3]}]})), '--set', 'model.components[0].in_channels=5'])
  assert.match(set.stderr, /--set model\.components\[0\]\.in_channels=5: model\.components\[0\]: .*in_channels is 5/)
  const ok = mixture(['validate', writeSpec(spec({components: [{type: 'cnn', channels: [4, 3]}, vit]}))])
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /valid: .*model mixture, [\d,]+ trainable parameters; dataset synthetic 8×8/)
})
