/**
 * `--format tfjs`: a TensorFlow.js graph model — `model.json` (the graph of stock ops from
 * layer-graph.ts, a signature `image` → `logits`, the weights manifest, and how inputs are made in
 * `userDefinedMetadata`) and `group1-shard<i>of<n>.bin` weight shards of at most 4 MiB, the layout
 * tensorflowjs_converter writes. Plain `@tensorflow/tfjs` loads it with `tf.loadGraphModel`.
 */
import type {LayersModel} from '../engine/tf.js'
import {layerGraph} from './layer-graph.js'

/** tensorflowjs_converter's default shard size. */
export const SHARD_BYTES = 4 * 1024 * 1024

const SIGNATURE_DTYPE = 'DT_FLOAT'

/** The names of the files tfjsGraphModel writes (model.json, group1-shard<i>of<n>.bin), whatever the model. */
export const TFJS_FILE = /^(model\.json|group1-shard\d+of\d+\.bin)$/

function tensorShape(dims: number[]): {dim: {size: string}[]} {
  return {dim: dims.map((d) => ({size: String(d)}))}
}

/** The files of the graph model (name → content). */
export function tfjsGraphModel(model: LayersModel, metadata: Record<string, unknown>, generatedBy: string): Record<string, string | Uint8Array> {
  const {graph, input, output} = layerGraph(model)
  const chunks = graph.weights.map((w) => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength))
  const data = Buffer.concat(chunks)
  const total = data.byteLength
  const shards = Math.max(1, Math.ceil(total / SHARD_BYTES))
  const paths = Array.from({length: shards}, (_, i) => `group1-shard${i + 1}of${shards}.bin`)
  const files: Record<string, string | Uint8Array> = {}
  paths.forEach((path, i) => (files[path] = data.subarray(i * SHARD_BYTES, Math.min(total, (i + 1) * SHARD_BYTES))))
  const modelJson = {
    format: 'graph-model',
    generatedBy,
    convertedBy: 'mixture export --format tfjs',
    modelTopology: {node: graph.nodes, library: {}, versions: {producer: 1}},
    signature: {
      inputs: {image: {name: `${input.name}:0`, dtype: SIGNATURE_DTYPE, tensorShape: tensorShape(input.shape)}},
      outputs: {logits: {name: `${output.name}:0`, dtype: SIGNATURE_DTYPE, tensorShape: tensorShape(output.shape)}},
    },
    userDefinedMetadata: metadata,
    weightsManifest: [{paths, weights: graph.weights.map((w) => ({name: w.name, shape: w.shape, dtype: w.dtype}))}],
  }
  files['model.json'] = `${JSON.stringify(modelJson)}\n`
  return files
}
