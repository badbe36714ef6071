// `mixture export --format safetensors`: the weights of every paper architecture under the PyTorch
// names of the reference models (bench/torch/models.py, torchvision's ResNet-18), loaded there with
// load_state_dict(strict=True) by Debian's PyTorch, give our logits within float32 tolerance; other
// models keep the project's names and say why; the file follows the safetensors layout.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {tf} from '../../src/engine/tf.js'
import {exportRun} from '../../src/export/export-run.js'
import {encodeSafetensors} from '../../src/export/safetensors.js'
import {permute} from '../../src/export/torch-state.js'
import {openRun} from '../../src/run/load-run.js'
import {REPO, tempDir} from '../helpers.js'
import {needing, torchMissing} from '../require.js'
import {CIFAR_STEM_RESNET, makeRun, maxRelDiff, OTHER_ARCHITECTURES, PAPER_ARCHITECTURES, PAPER_RESNET, testImages} from './helpers.js'
import {test as plainTest} from 'node:test'

const {test} = needing('torch', torchMissing())
const LOADER = join(REPO, 'bench', 'torch', 'load_safetensors.py')
const TOLERANCE = 1e-4

/** The header of a safetensors file, read by the format's rules. */
function header(file: string): {tensors: Record<string, {dtype: string; shape: number[]; data_offsets: [number, number]}>; metadata: Record<string, string>; dataBytes: number} {
  const buf = readFileSync(file)
  const n = Number(buf.readBigUInt64LE(0))
  assert.equal(n % 8, 0, 'the header is padded to a multiple of 8 bytes')
  const {__metadata__: metadata, ...tensors} = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'))
  return {tensors, metadata, dataBytes: buf.length - 8 - n}
}

test('every paper architecture loads into the PyTorch reference model (strict load_state_dict) and gives our logits', async () => {
  const dir = tempDir()
  const jobs: {name: string; file: string; input: {shape: number[]; values: number[]}; expected: number[]; builder: string}[] = []
  for (const [name, spec] of Object.entries({...PAPER_ARCHITECTURES, 'resnet18-paper': PAPER_RESNET, 'resnet18-cifar-stem': CIFAR_STEM_RESNET})) {
    const run = await makeRun(dir, name, spec)
    const result = await exportRun({run, format: 'safetensors'})
    assert.equal(result.names, 'pytorch', `${name}: ${result.reason}`)
    const file = join(result.out_dir, 'model.safetensors')
    const input = testImages((spec.data as {image_size: number}).image_size)
    const opened = await openRun(run, {backend: 'cpu'})
    const expected = tf.tidy(() => Array.from((opened.built.model.apply(tf.tensor(input.values, input.shape), {training: false}) as tf.Tensor).dataSync()))
    opened.dispose()
    jobs.push({name, file, input, expected, builder: result.torch!.builder})
  }
  const jobFile = join(dir, 'job.json')
  const resultFile = join(dir, 'result.json')
  writeFileSync(jobFile, JSON.stringify({models: jobs.map((j) => ({file: j.file, input: j.input}))}))
  await promisify(execFile)('/usr/bin/python3', [LOADER, '--job', jobFile, resultFile], {cwd: REPO, timeout: 300_000, maxBuffer: 16 * 2 ** 20})
  const results = JSON.parse(readFileSync(resultFile, 'utf8')).results as {logits: number[]; class: string}[]
  jobs.forEach((job, i) => {
    assert.equal(results[i].class, job.builder.split('.').pop()!.startsWith('resnet18') ? 'ResNet' : job.builder, job.name)
    assert.equal(results[i].logits.length, job.expected.length, `${job.name}: as many logits as ours`)
    const diff = maxRelDiff(results[i].logits, job.expected)
    assert.ok(diff <= TOLERANCE, `${job.name}: PyTorch's logits differ from ours by ${diff} (relative), more than ${TOLERANCE}`)
  })
  // The names are the reference models' own, e.g. the ViT mixer's attention inside a mixture block.
  const alt = header(jobs[0].file)
  assert.ok('MM.1.vision_transformer.2.layers.0.0.fn.to_qkv.weight' in alt.tensors)
  assert.deepEqual(alt.tensors['MM.0.conv_net.0.block.1.num_batches_tracked'], {dtype: 'I64', shape: [], data_offsets: alt.tensors['MM.0.conv_net.0.block.1.num_batches_tracked'].data_offsets})
})

plainTest("a model without a PyTorch counterpart keeps the project's names and says why", async () => {
  const dir = tempDir()
  const run = await makeRun(dir, 'joint-layernorm', OTHER_ARCHITECTURES['joint-vit-layernorm-branch'])
  const result = await exportRun({run, format: 'safetensors'})
  assert.equal(result.names, 'mixture-models')
  assert.match(result.reason!, /norm layernorm/)
  const h = header(join(result.out_dir, 'model.safetensors'))
  assert.equal(h.metadata.names, 'mixture-models')
  assert.ok('block1_vit_layer1_attn_to_qkv/kernel' in h.tensors)
  assert.ok('block1_norm_vit_ln/gamma' in h.tensors)
})

plainTest('the safetensors layout: length prefix, space-padded header, offsets covering the data without gaps', () => {
  const chunks = encodeSafetensors(
    [
      {name: 'a', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6])},
      {name: 'n', dtype: 'I64', shape: [], data: BigInt64Array.of(42n)},
    ],
    {format: 'pt'},
  )
  const buf = Buffer.concat(chunks)
  const n = Number(buf.readBigUInt64LE(0))
  assert.equal(n % 8, 0)
  const head = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'))
  assert.deepEqual(head, {__metadata__: {format: 'pt'}, a: {dtype: 'F32', shape: [2, 3], data_offsets: [0, 24]}, n: {dtype: 'I64', shape: [], data_offsets: [24, 32]}})
  assert.equal(buf.length, 8 + n + 32)
  assert.deepEqual(Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n, buf.byteOffset + 8 + n + 24))), [1, 2, 3, 4, 5, 6])
  assert.equal(buf.readBigInt64LE(8 + n + 24), 42n)
})

plainTest('permute reorders axes as a transpose does', () => {
  const data = Float32Array.from({length: 2 * 3 * 4 * 5}, (_, i) => i)
  for (const perm of [[3, 2, 0, 1], [1, 0, 2, 3], [0, 1, 2, 3], [2, 3, 1, 0]]) {
    const want = tf.tidy(() => tf.transpose(tf.tensor(data, [2, 3, 4, 5]), perm))
    const got = permute(data, [2, 3, 4, 5], perm)
    assert.deepEqual(got.shape, want.shape)
    assert.deepEqual(Array.from(got.data), Array.from(want.dataSync()))
    want.dispose()
  }
  assert.deepEqual(Array.from(permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]).data), [1, 4, 2, 5, 3, 6])
})
