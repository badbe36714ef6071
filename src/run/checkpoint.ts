/**
 * Checkpoints: one file holding every model weight (trainable and BatchNorm statistics), the Adam
 * state and the loop position, written atomically (temp file + rename).
 *
 * Layout: "MIXCKPT1" | uint32 LE header length | header JSON | float32 data (each tensor 4-byte aligned).
 */
import {readFileSync} from 'node:fs'
import {tf, type LayersModel} from '../engine/tf.js'
import type {Trainer} from '../engine/trainer.js'
import {writeFileAtomic} from './files.js'

const MAGIC = 'MIXCKPT1'

export interface CheckpointMeta {
  /** Epochs completed (1-based count). */
  epoch: number
  /** Optimizer steps taken. */
  step: number
  best_test_accuracy: number
  best_train_accuracy: number
  train_seconds: number
  eval_seconds: number
  saved: string
}

interface TensorEntry {
  group: 'weight' | 'adam_m' | 'adam_v'
  name: string
  shape: number[]
  offset: number
  length: number
}

export async function saveCheckpoint(file: string, model: LayersModel, trainer: Trainer, meta: Omit<CheckpointMeta, 'saved'>): Promise<void> {
  const state = trainer.optimizerState()
  const groups: [TensorEntry['group'], {name: string; tensor: tf.Tensor}[]][] = [
    ['weight', model.weights.map((w) => ({name: w.originalName, tensor: w.read()}))],
    ['adam_m', state.m.map((t, i) => ({name: model.trainableWeights[i].originalName, tensor: t}))],
    ['adam_v', state.v.map((t, i) => ({name: model.trainableWeights[i].originalName, tensor: t}))],
  ]
  const entries: TensorEntry[] = []
  const chunks: Uint8Array[] = []
  let offset = 0
  for (const [group, list] of groups) {
    for (const {name, tensor} of list) {
      const values = (await tensor.data()) as Float32Array
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
      entries.push({group, name, shape: tensor.shape, offset, length: values.length})
      chunks.push(bytes)
      offset += bytes.byteLength
    }
  }
  const header = Buffer.from(JSON.stringify({meta: {...meta, saved: new Date().toISOString()}, tensors: entries}))
  const pad = (4 - ((MAGIC.length + 4 + header.length) % 4)) % 4
  const prefix = Buffer.alloc(MAGIC.length + 4 + header.length + pad, 0x20)
  prefix.write(MAGIC, 0, 'latin1')
  prefix.writeUInt32LE(header.length + pad, MAGIC.length)
  header.copy(prefix, MAGIC.length + 4)
  writeFileAtomic(file, [prefix, ...chunks])
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta
  weights: Map<string, Float32Array>
  m: Float32Array[]
  v: Float32Array[]
}

export function readCheckpoint(file: string): LoadedCheckpoint {
  const buf = readFileSync(file)
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new Error(`${file} is not a mixture-models checkpoint (bad magic); it may be truncated or from another tool`)
  }
  const headerLength = buf.readUInt32LE(MAGIC.length)
  const start = MAGIC.length + 4 + headerLength
  let header: {meta: CheckpointMeta; tensors: TensorEntry[]}
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start))
  } catch {
    throw new Error(`${file}: checkpoint header is corrupt`)
  }
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length))
  const weights = new Map<string, Float32Array>()
  const m: Float32Array[] = []
  const v: Float32Array[] = []
  for (const t of header.tensors) {
    if (t.offset / 4 + t.length > data.length) throw new Error(`${file} is truncated (tensor ${t.name} runs past the end); resume from an earlier checkpoint or start again`)
    const values = data.subarray(t.offset / 4, t.offset / 4 + t.length)
    if (t.group === 'weight') weights.set(t.name, values)
    else (t.group === 'adam_m' ? m : v).push(values)
  }
  return {meta: header.meta, weights, m, v}
}

/** Put a checkpoint's weights into `model` (matched by name and shape) and its Adam state into `trainer`. */
export function restoreCheckpoint(ckpt: LoadedCheckpoint, model: LayersModel, trainer?: Trainer): void {
  for (const w of model.weights) {
    const values = ckpt.weights.get(w.originalName)
    if (!values) throw new Error(`checkpoint has no weight "${w.originalName}": it was written by a different model`)
    const shape = w.shape as number[]
    if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`checkpoint weight "${w.originalName}" has ${values.length} values, the model expects shape [${shape.join(', ')}]`)
    tf.tidy(() => {
      w.write(tf.tensor(values, shape))
    })
  }
  trainer?.setOptimizerState({step: ckpt.meta.step, m: ckpt.m, v: ckpt.v})
}
