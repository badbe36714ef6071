/**
 * Run folders for the export suites without training: a spec resolved and written as config.yaml,
 * its model built, every weight set to seeded values (BatchNorm statistics and norm parameters away
 * from their defaults, so that a port that drops or misplaces one differs) and saved as best.ckpt.
 * Also the paper's architectures at tiny sizes, a loopback HTTP server for the exported files, and
 * the comparison of logits.
 */
import {createServer, type Server} from 'node:http'
import {mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {extname, join, normalize} from 'node:path'
import {stringify} from 'yaml'
import {tf, type LayersModel} from '../../src/engine/tf.js'
import {buildModel} from '../../src/model/build.js'
import {saveCheckpoint} from '../../src/run/checkpoint.js'
import type {ResolvedSpec} from '../../src/schema/spec.js'
import {resolveObject, values} from '../helpers.js'

const data = (size: number, classes: number) => ({dataset: 'synthetic', image_size: size, synthetic: {train: 8, test: 8, classes}})
const cnn = {type: 'cnn', channels: [2, 3]}
const vit = {type: 'vit', patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 4, mlp_dim: 8, dropout: 0.1}
const perceiver = {type: 'perceiver', num_freq_bands: 2, max_freq: 4, depth: 1, num_latents: 2, latent_dim: 4, cross_heads: 2, latent_heads: 2, cross_dim_head: 2, latent_dim_head: 2, self_per_cross_attn: 1}

/** Every architecture of the paper's tables, at a tiny size (ResNet-18 as the paper has it, with its 1000-way head). */
export const PAPER_ARCHITECTURES: Record<string, Record<string, unknown>> = {
  'alternating-vit-2block': {data: data(8, 3), model: {type: 'mixture', block: 'alternating', num_blocks: 2, components: [cnn, vit]}},
  'joint-vit-2block': {data: data(8, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, {...vit, depth: 2}], norm: {type: 'none'}}},
  'joint-vit-1block-shared-bn': {data: data(8, 3), model: {type: 'mixture', block: 'joint', num_blocks: 1, components: [cnn, vit], norm: {type: 'batchnorm', share: 'model'}}},
  'alternating-perceiver-1block': {data: data(6, 3), model: {type: 'mixture', block: 'alternating', num_blocks: 1, components: [cnn, perceiver]}},
  'joint-perceiver-2block': {data: data(6, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, {...perceiver, cross_heads: 1}], norm: {type: 'batchnorm', share: 'model'}}},
  'vit-classifier': {data: data(8, 5), model: {type: 'vit_classifier', patch_size: 2, dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32}},
  'perceiver-classifier': {data: data(8, 5), model: {type: 'perceiver_classifier', num_freq_bands: 2, max_freq: 4, depth: 2, num_latents: 4, latent_dim: 8, cross_heads: 2, latent_heads: 2, cross_dim_head: 4, latent_dim_head: 4, self_per_cross_attn: 2}},
  'cnn-classifier': {data: data(8, 3), model: {type: 'cnn_classifier', channels: [4, 4, 3]}},
}

/** Built-in parts the paper does not use: LayerNorm per joint branch (over H, W, C), BatchNorm per block. */
export const OTHER_ARCHITECTURES: Record<string, Record<string, unknown>> = {
  'joint-vit-layernorm-branch': {data: data(8, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, vit], norm: {type: 'layernorm', share: 'branch'}}},
  'joint-cnn-batchnorm-block': {data: data(8, 3), model: {type: 'mixture', block: 'joint', num_blocks: 2, components: [cnn, {type: 'cnn', channels: [3]}], norm: {type: 'batchnorm', share: 'block'}}},
}

/** ResNet-18 at tiny widths (the TensorFlow.js export does not depend on the widths). */
export const TINY_RESNET = {data: data(16, 3), model: {type: 'resnet18', layers: [1, 1], widths: [4, 8], num_outputs: null}}

/** The paper's ResNet-18 row (torchvision's ResNet-18 cannot be built smaller). */
export const PAPER_RESNET = {data: data(32, 10), model: {type: 'resnet18', preset: 'paper'}}
/** ResNet-18 with the CIFAR stem (3×3/1, no max-pool) and a 10-way head. */
export const CIFAR_STEM_RESNET = {data: data(32, 10), model: {type: 'resnet18', preset: 'cifar', stem: 'cifar'}}

/**
 * Norm parameters and BatchNorm statistics away from their defaults (scales and variances in
 * [0.5, 1.5], shifts and means in [-0.5, 0.5)); the other weights keep their seeded initialisation.
 */
function perturb(model: LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    const name = w.originalName
    if (!/(gamma|beta|moving_mean|moving_variance)$/.test(name)) return
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1)
    const v = values(n, seed * 1000 + i)
    const scaled = /(gamma|moving_variance)$/.test(name) ? v.map((x) => 1 + 0.5 * x) : v.map((x) => 0.5 * x)
    tf.tidy(() => {
      w.write(tf.tensor(scaled, w.shape as number[]))
    })
  })
}

/** A run folder holding config.yaml and best.ckpt (after "epoch 1, step 7") for `spec` (an object, or a resolved spec). */
export async function makeRun(dir: string, name: string, spec: Record<string, unknown> | ResolvedSpec, seed = 1): Promise<string> {
  const resolved = 'plugins' in spec && Array.isArray(spec.plugins) ? (spec as ResolvedSpec) : resolveObject({name, seed, ...(spec as Record<string, unknown>)})
  const run = join(dir, name)
  mkdirSync(run, {recursive: true})
  writeFileSync(join(run, 'config.yaml'), stringify(resolved))
  const built = buildModel(resolved)
  try {
    perturb(built.model, seed)
    await saveCheckpoint(join(run, 'best.ckpt'), 'best', built.model, undefined, {epoch: 1, step: 7, best_test_accuracy: 0.5, best_train_accuracy: 0.5, train_seconds: 1, eval_seconds: 1})
  } finally {
    built.model.dispose()
  }
  return run
}

/** `count` deterministic images in [0, 1) of the run's input size, NHWC. */
export function testImages(size: number, count = 2, seed = 9): {shape: number[]; values: number[]} {
  return {shape: [count, size, size, 3], values: Array.from(values(count * size * size * 3, seed), (x) => (x + 1) / 2)}
}

/** `width` × `height` RGB pixels (uint8, row-major), deterministic. */
export function pixels(width: number, height: number, seed: number): Buffer {
  return Buffer.from(Array.from(values(width * height * 3, seed), (x) => Math.round(((x + 1) / 2) * 255)))
}

const TYPES: Record<string, string> = {'.json': 'application/json', '.js': 'text/javascript', '.html': 'text/html', '.bin': 'application/octet-stream'}

/** Serve `root`'s files on 127.0.0.1 (GET only, nothing outside root). */
export async function serveFolder(root: string): Promise<{url: string; server: Server}> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
    try {
      if (!path.startsWith(root) || !statSync(path).isFile()) throw new Error('not a file')
      res.setHeader('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream')
      // One request per connection: a client that computes longer than the keep-alive timeout
      // between two requests would otherwise find the kept socket closed under it.
      res.setHeader('Connection', 'close')
      res.end(readFileSync(path))
    } catch {
      res.statusCode = 404
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as {port: number}
  return {url: `http://127.0.0.1:${address.port}`, server}
}

/** Largest |a − b| relative to the scale of b (its largest magnitude, at least 1). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity
  let scale = 1
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]))
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale)
  return worst
}
