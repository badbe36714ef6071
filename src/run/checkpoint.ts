/**
 * Checkpoints: the model's weights (trainable and BatchNorm statistics) and, in `last.ckpt`, the
 * weights' moving average where the run keeps one (`train.ema`; best.ckpt holds the average as its
 * weights) and the optimizer state (Adam's or AdamW's m and v, SGD's momentum buffers), with the loop position and
 * the schedule's, written atomically (temp file + rename) and read back only after every field and a
 * SHA-256 of the whole content have been checked. Byte layout: docs/checkpoint-format.md.
 *
 *   "MIXCKPT2" | sha256 of everything after it (32 bytes) | uint32 LE header length | header JSON,
 *   space-padded so that the data starts 4-byte aligned | float32 LE tensor data
 *
 * Format 1 ("MIXCKPT1": no checksum, no data length) is still read, so that older run folders
 * resume; damage inside its tensor data cannot be detected, which is said once per file.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {tf, type LayersModel} from '../engine/tf.js'
import type {Trainer} from '../engine/trainer.js'
import {lookup, SNAKE_CASE} from '../registry/registry.js'
import {optimizerTitle} from '../recipe/optimizer.js'
import type {ScheduleState} from '../recipe/schedule.js'
import type {LossScalerState} from '../engine/loss-scaler.js'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../fs/write-atomic.js'

export const CHECKPOINT_MAGIC = 'MIXCKPT2'
const MAGIC_V1 = 'MIXCKPT1'
const MAGIC_BYTES = 8
const SHA_BYTES = 32
/** Magic, checksum, header length. */
const PREFIX_BYTES = MAGIC_BYTES + SHA_BYTES + 4
/** A header larger than this is damage, not a model (a paper model's header is ~100 KB). */
const MAX_HEADER_BYTES = 64 * 2 ** 20

/**
 * What a checkpoint holds. `last`: everything training needs to continue (weights, BatchNorm
 * statistics, the optimizer's state, step). `best`: what evaluation needs (weights and BatchNorm
 * statistics only).
 */
export type CheckpointKind = 'last' | 'best'

/** `weight`, `ema` (the weights' moving average, last checkpoints of runs with `train.ema`), or one of the optimizer's state groups (`adam_m`, `adam_v`; `momentum`; a plugin's own). */
export type TensorGroup = string

export interface CheckpointMeta {
  /** Epochs completed (1-based count). */
  epoch: number
  /** Optimizer steps taken. */
  step: number
  best_test_accuracy: number
  best_train_accuracy: number
  /** With a validation split (`data.val_split`): the best validation accuracy so far. */
  best_val_accuracy?: number
  train_seconds: number
  eval_seconds: number
  saved: string
  /** The optimizer (its registry name) whose state a last checkpoint holds (absent in older files: adam). */
  optimizer?: string
  /** Where the learning-rate schedule is (absent in older files, which all ran at a constant rate). */
  schedule?: ScheduleState
  /** engine.precision mixed16: the loss scaler's state (last checkpoints only). */
  loss_scaler?: LossScalerState
}

/** One tensor of the data section: `offset` and `bytes` count bytes from the start of the data. */
export interface TensorEntry {
  group: TensorGroup
  name: string
  shape: number[]
  dtype: 'float32'
  offset: number
  bytes: number
}

export interface CheckpointHeader {
  format: 2
  kind: CheckpointKind
  meta: CheckpointMeta
  tensors: TensorEntry[]
  /** Length of the data section in bytes (the sum of the tensors' bytes). */
  data_bytes: number
}

/** A checkpoint that cannot be used: damaged, truncated, another file, or another model's. Exit code 2. */
export class CheckpointError extends UsageError {
  constructor(
    readonly file: string,
    readonly problem: string,
    verdict = 'is corrupt',
    /** What the user can do, when there is a choice (a sound best.ckpt). */
    advice?: string,
  ) {
    super(`${file} ${verdict}: ${problem}${advice ? `.\n${advice}` : ''}`)
    this.name = 'CheckpointError'
  }
}

/** What `verifyCheckpoint` found: the header of a sound file (format 1 headers are converted). */
export interface CheckpointInfo {
  file: string
  format: 1 | 2
  kind: CheckpointKind
  meta: CheckpointMeta
  tensors: TensorEntry[]
  /** False for format 1, whose data has no checksum. */
  checksummed: boolean
}

export interface LoadedCheckpoint extends CheckpointInfo {
  /** Every weight by its original name (trainable and BatchNorm statistics). */
  weights: Map<string, Float32Array>
  /** A last checkpoint of a run with `train.ema`: the moving average of every weight, by name. */
  average?: Map<string, Float32Array>
  /** The optimizer's state per group (`adam_m`, `adam_v`; `momentum`), one tensor per trainable weight in model order (none for `best`). */
  state: Record<string, Float32Array[]>
}

/** A tensor group's name: `weight`, `ema` or an optimizer's state group (registry.ts `registerOptimizer`). */
const GROUP_NAME = SNAKE_CASE

/** The group of a last checkpoint that holds the weights' moving average (`train.ema`). */
export const AVERAGE_GROUP = 'ema'

/**
 * Writes `kind` of checkpoint (a best one of a model trained elsewhere needs no trainer). With `train.ema` (the trainer's `average`), a best checkpoint holds
 * the average in `weight` — the weights that were evaluated — and a last one holds the trained
 * weights in `weight` and the average in `ema`, so that training continues from both.
 */
export async function saveCheckpoint(file: string, kind: CheckpointKind, model: LayersModel, trainer: Trainer | undefined, meta: Omit<CheckpointMeta, 'saved'>): Promise<void> {
  if (kind === 'last' && !trainer) throw new Error('a last checkpoint holds the optimizer state: saveCheckpoint needs the trainer')
  const named = (tensors: tf.Tensor[]) => tensors.map((tensor, i) => ({name: model.weights[i].originalName, tensor}))
  const average = trainer?.average?.values()
  const weights = kind === 'best' && average ? average : model.weights.map((w) => w.read())
  const groups: [TensorGroup, {name: string; tensor: tf.Tensor}[]][] = [['weight', named(weights)]]
  if (kind === 'last' && average) groups.push([AVERAGE_GROUP, named(average)])
  const state = kind === 'last' ? trainer!.optimizerState() : undefined
  if (state) {
    for (const [group, list] of Object.entries(state.groups)) groups.push([group, list.map((t, i) => ({name: model.trainableWeights[i].originalName, tensor: t}))])
  }
  const tensors: TensorEntry[] = []
  const chunks: Uint8Array[] = []
  let offset = 0
  for (const [group, list] of groups) {
    for (const {name, tensor} of list) {
      const values = (await tensor.data()) as Float32Array
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
      tensors.push({group, name, shape: tensor.shape, dtype: 'float32', offset, bytes: values.byteLength})
      offset += values.byteLength
    }
  }
  const training = state ? {optimizer: state.type, ...(state.lossScaler ? {loss_scaler: state.lossScaler} : {})} : {}
  const header: CheckpointHeader = {format: 2, kind, meta: {...meta, ...training, saved: new Date().toISOString()}, tensors, data_bytes: offset}
  writeFileAtomic(file, encodeCheckpoint(header, chunks))
}

/** The file's chunks: prefix (magic, checksum, header length, padded header), then the data chunks as given. */
export function encodeCheckpoint(header: CheckpointHeader, data: Uint8Array[]): Uint8Array[] {
  const json = Buffer.from(JSON.stringify(header))
  const pad = (4 - ((PREFIX_BYTES + json.length) % 4)) % 4
  const prefix = Buffer.alloc(PREFIX_BYTES + json.length + pad, 0x20)
  prefix.write(CHECKPOINT_MAGIC, 0, 'latin1')
  prefix.writeUInt32LE(json.length + pad, MAGIC_BYTES + SHA_BYTES)
  json.copy(prefix, PREFIX_BYTES)
  const sha = createHash('sha256').update(prefix.subarray(MAGIC_BYTES + SHA_BYTES))
  for (const chunk of data) sha.update(chunk)
  sha.digest().copy(prefix, MAGIC_BYTES)
  return [prefix, ...data]
}

/** Read and check a whole checkpoint file; throws CheckpointError naming the file and the damage. */
function readChecked(file: string, expect?: CheckpointKind): {info: CheckpointInfo; data: Buffer} {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem)
  }
  let buf: Buffer
  try {
    buf = readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${(error as Error).message}`)
  }
  if (buf.length === 0) fail('the file is empty (0 bytes)')
  const magic = buf.toString('latin1', 0, Math.min(MAGIC_BYTES, buf.length))
  if (magic === MAGIC_V1) return readFormat1(file, buf, fail)
  if (magic !== CHECKPOINT_MAGIC) {
    if (CHECKPOINT_MAGIC.startsWith(magic)) fail(`truncated: ${buf.length} bytes, shorter than the fixed prefix of a checkpoint`)
    fail(`not a mixture-models checkpoint (it starts with ${JSON.stringify(buf.toString('latin1', 0, 8).replace(/[^\x20-\x7e]/g, '?'))}, not "${CHECKPOINT_MAGIC}")`)
  }
  if (buf.length < PREFIX_BYTES) fail(`truncated: ${buf.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`)
  const headerBytes = buf.readUInt32LE(MAGIC_BYTES + SHA_BYTES)
  if (headerBytes > MAX_HEADER_BYTES) fail(`the header length field says ${headerBytes} bytes, more than any checkpoint header`)
  const dataStart = PREFIX_BYTES + headerBytes
  if (dataStart % 4 !== 0) fail(`the header length ${headerBytes} leaves the data unaligned (the writer pads it to a multiple of 4)`)
  if (buf.length < dataStart) fail(`truncated: the file ends at byte ${buf.length}, inside its ${headerBytes}-byte header`)
  let raw: unknown
  try {
    raw = JSON.parse(buf.toString('utf8', PREFIX_BYTES, dataStart))
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message})`)
  }
  const header = checkHeader(raw, fail)
  const expected = dataStart + header.data_bytes
  if (buf.length < expected) fail(`truncated: ${buf.length} bytes, the header says ${expected} (${header.data_bytes} bytes of tensor data)`)
  if (buf.length > expected) fail(`${buf.length - expected} bytes after the end of the tensor data the header describes`)
  const sha = createHash('sha256').update(buf.subarray(MAGIC_BYTES + SHA_BYTES)).digest()
  if (!sha.equals(buf.subarray(MAGIC_BYTES, MAGIC_BYTES + SHA_BYTES))) fail('checksum mismatch: the content is not what was written (changed or damaged on disk)')
  if (expect && header.kind !== expect) fail(`it is a ${header.kind} checkpoint, where a ${expect} checkpoint belongs`)
  return {info: {file, format: 2, kind: header.kind, meta: header.meta, tensors: header.tensors, checksummed: true}, data: buf.subarray(dataStart)}
}

/** Every field of a format-2 header, checked; `fail` throws. */
function checkHeader(raw: unknown, fail: (problem: string) => never): CheckpointHeader {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  if (!isObj(raw)) fail('the header is not a JSON object')
  const h = raw as Record<string, unknown>
  if (h.format !== 2) fail(`the header's format is ${JSON.stringify(h.format)}, not 2`)
  if (h.kind !== 'last' && h.kind !== 'best') fail(`the header's kind is ${JSON.stringify(h.kind)}, not "last" or "best"`)
  if (!isObj(h.meta)) fail('the header has no meta object')
  const meta = h.meta as Record<string, unknown>
  if (!count(meta.epoch) || (meta.epoch as number) < 1) fail(`the header's epoch is ${JSON.stringify(meta.epoch)}, not a positive integer`)
  if (!count(meta.step)) fail(`the header's step is ${JSON.stringify(meta.step)}, not a whole number`)
  for (const k of ['best_test_accuracy', 'best_train_accuracy', 'train_seconds', 'eval_seconds']) {
    if (typeof meta[k] !== 'number' || !Number.isFinite(meta[k])) fail(`the header's ${k} is ${JSON.stringify(meta[k])}, not a finite number`)
  }
  if (typeof meta.saved !== 'string') fail('the header has no saved time')
  if (!Array.isArray(h.tensors) || h.tensors.length === 0) fail('the header lists no tensors')
  if (meta.optimizer !== undefined && (typeof meta.optimizer !== 'string' || !SNAKE_CASE.test(meta.optimizer))) fail(`the header's optimizer is ${JSON.stringify(meta.optimizer)}, not an optimizer's name`)
  const optimizer = (meta.optimizer ?? 'adam') as string
  // The state groups of the header's optimizer, where it is registered (a plugin's is, once its file is loaded).
  const wanted = lookup('optimizer', optimizer)?.stateGroups
  const title = optimizerTitle(optimizer)
  let offset = 0
  const names = new Map<TensorGroup, string[]>([['weight', []]])
  for (const [i, t] of (h.tensors as unknown[]).entries()) {
    const at = `tensor ${i}`
    if (!isObj(t)) fail(`${at} of the header is not an object`)
    const e = t as Record<string, unknown>
    if (typeof e.group !== 'string' || !GROUP_NAME.test(e.group)) fail(`${at} has group ${JSON.stringify(e.group)}, not "weight" or an optimizer's state group`)
    if (wanted && e.group !== 'weight' && e.group !== AVERAGE_GROUP && !wanted.includes(e.group)) fail(`${at} has group ${JSON.stringify(e.group)}, neither "weight" nor a state group of ${title} (${wanted.join(', ') || 'it keeps none'})`)
    if (typeof e.name !== 'string' || e.name === '') fail(`${at} has no name`)
    if (!Array.isArray(e.shape) || !e.shape.every(count)) fail(`${at} (${e.name}) has shape ${JSON.stringify(e.shape)}, not a list of sizes`)
    if (e.dtype !== 'float32') fail(`${at} (${e.name}) has dtype ${JSON.stringify(e.dtype)}, not float32`)
    const elements = (e.shape as number[]).reduce((a, b) => a * b, 1)
    if (e.offset !== offset) fail(`${at} (${e.name}) starts at byte ${JSON.stringify(e.offset)} of the data; the tensors before it end at ${offset}`)
    if (e.bytes !== elements * 4) fail(`${at} (${e.name}) says ${JSON.stringify(e.bytes)} bytes, its shape [${(e.shape as number[]).join(', ')}] needs ${elements * 4}`)
    offset += elements * 4
    if (!names.has(e.group)) names.set(e.group, [])
    names.get(e.group)!.push(e.name as string)
  }
  if (h.data_bytes !== offset) fail(`the header says ${JSON.stringify(h.data_bytes)} bytes of data, its tensors add up to ${offset}`)
  if (meta.schedule !== undefined) checkScheduleState(meta.schedule, fail)
  if (meta.loss_scaler !== undefined) checkLossScalerState(meta.loss_scaler, fail)
  const held = [...names.keys()].filter((g) => g !== 'weight' && g !== AVERAGE_GROUP)
  if (h.kind === 'best' && held.length > 0) fail(`a best checkpoint holds ${wanted ? title : 'optimizer'} state (${held.join(', ')}), which only last checkpoints have`)
  const averaged = names.get(AVERAGE_GROUP)
  if (averaged) {
    if (h.kind === 'best') fail('a best checkpoint holds an ema group; its weights are the average already')
    const weightNames = names.get('weight')!
    if (averaged.length !== weightNames.length || averaged.some((n, i) => n !== weightNames[i])) fail(`its ema group names ${averaged.length} tensors, not the ${weightNames.length} weights in their order`)
  }
  if (h.kind === 'last') {
    // Every state group of the optimizer, naming the same weights in the same order.
    const groups = wanted ?? held
    const lists = groups.map((g) => names.get(g) ?? [])
    const [first, ...rest] = lists
    if (groups.length > 0 && (first.length === 0 || rest.some((list) => list.length !== first.length || list.some((n, i) => n !== first[i])))) {
      fail(groups.length === 1 ? `it holds no ${title} ${groups[0]} tensors` : `${title}'s state groups ${groups.join(' and ')} do not pair up (${lists.map((l) => l.length).join(' and ')} tensors)`)
    }
  }
  return raw as unknown as CheckpointHeader
}

/** The schedule's position in a header (recipe/schedule.ts `ScheduleState`), checked field by field. */
function checkScheduleState(raw: unknown, fail: (problem: string) => never): void {
  const state = raw as Record<string, unknown>
  if (typeof raw !== 'object' || raw === null || typeof state.type !== 'string') fail('the header\'s schedule has no type')
  for (const k of ['steps_per_epoch', 'next_step']) {
    if (typeof state[k] !== 'number' || !Number.isSafeInteger(state[k]) || (state[k] as number) < 0) fail(`the header's schedule.${k} is ${JSON.stringify(state[k])}, not a whole number`)
  }
  if (typeof state.next_lr !== 'number' || !Number.isFinite(state.next_lr)) fail(`the header's schedule.next_lr is ${JSON.stringify(state.next_lr)}, not a finite number`)
  if (state.next_momentum !== undefined && (typeof state.next_momentum !== 'number' || !Number.isFinite(state.next_momentum))) fail(`the header's schedule.next_momentum is ${JSON.stringify(state.next_momentum)}, not a finite number`)
}

/** The loss scaler's state in a header (engine/loss-scaler.ts `LossScalerState`), checked field by field. */
function checkLossScalerState(raw: unknown, fail: (problem: string) => never): void {
  const state = raw as Record<string, unknown>
  if (typeof raw !== 'object' || raw === null) fail("the header's loss_scaler is not an object")
  if (typeof state.scale !== 'number' || !Number.isFinite(state.scale) || state.scale <= 0) fail(`the header's loss_scaler.scale is ${JSON.stringify(state.scale)}, not a positive number`)
  for (const k of ['growth_tracker', 'skipped_steps']) {
    if (typeof state[k] !== 'number' || !Number.isSafeInteger(state[k]) || (state[k] as number) < 0) fail(`the header's loss_scaler.${k} is ${JSON.stringify(state[k])}, not a whole number`)
  }
}

const warnedFormat1 = new Set<string>()

/** Format 1: magic, uint32 header length, header JSON {meta, tensors: [{group, name, shape, offset, length}]}, data. */
function readFormat1(file: string, buf: Buffer, fail: (problem: string) => never): {info: CheckpointInfo; data: Buffer} {
  if (buf.length < MAGIC_BYTES + 4) fail(`truncated: ${buf.length} bytes`)
  const start = MAGIC_BYTES + 4 + buf.readUInt32LE(MAGIC_BYTES)
  if (buf.length < start) fail(`truncated: the file ends at byte ${buf.length}, inside its header`)
  let old: {meta?: CheckpointMeta; tensors?: {group: TensorGroup; name: string; shape: number[]; offset: number; length: number}[]}
  try {
    old = JSON.parse(buf.toString('utf8', MAGIC_BYTES + 4, start))
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message})`)
  }
  const tensors = (Array.isArray(old!.tensors) ? old!.tensors : []).map((t) => ({group: t?.group, name: t?.name, shape: t?.shape, dtype: 'float32', offset: t?.offset, bytes: (t?.length ?? NaN) * 4}))
  const hasAdam = tensors.some((t) => t.group !== 'weight')
  const header = checkHeader({format: 2, kind: hasAdam ? 'last' : 'best', meta: old!.meta, tensors, data_bytes: tensors.reduce((s, t) => s + (Number(t.bytes) || 0), 0)}, fail)
  const data = buf.subarray(start)
  if (data.length < header.data_bytes) fail(`truncated: ${data.length} bytes of tensor data, the header describes ${header.data_bytes}`)
  if (!warnedFormat1.has(file)) {
    warnedFormat1.add(file)
    process.stderr.write(`note: ${file} is in checkpoint format 1, which has no checksum: damage inside its tensor data cannot be detected (the next checkpoint is written in format 2)\n`)
  }
  return {info: {file, format: 1, kind: header.kind, meta: header.meta, tensors: header.tensors, checksummed: false}, data: data.subarray(0, header.data_bytes)}
}

/** Check a checkpoint completely (structure, header, checksum) without keeping its tensors; throws CheckpointError. */
export function verifyCheckpoint(file: string, expect?: CheckpointKind): CheckpointInfo {
  return readChecked(file, expect).info
}

/** Read a checkpoint after checking it completely; throws CheckpointError naming the file and the damage. */
export function readCheckpoint(file: string, expect?: CheckpointKind): LoadedCheckpoint {
  const {info, data} = readChecked(file, expect)
  // One aligned copy of the data; the tensors are views into it.
  const values = new Float32Array(new Uint8Array(data).buffer)
  const weights = new Map<string, Float32Array>()
  // No prototype: a group is any snake_case name (a plugin optimizer's), `constructor` included.
  const state: Record<string, Float32Array[]> = Object.create(null)
  let average: Map<string, Float32Array> | undefined
  for (const t of info.tensors) {
    const view = values.subarray(t.offset / 4, (t.offset + t.bytes) / 4)
    if (!info.checksummed) {
      const bad = view.findIndex((x) => !Number.isFinite(x))
      if (bad >= 0) throw new CheckpointError(file, `tensor ${t.name} (${t.group}) holds ${view[bad]} at element ${bad}: the data is damaged`)
    }
    if (t.group === 'weight') weights.set(t.name, view)
    else if (t.group === AVERAGE_GROUP) (average ??= new Map()).set(t.name, view)
    else (state[t.group] ??= []).push(view)
  }
  return {...info, weights, ...(average ? {average} : {}), state}
}

/**
 * Put a checkpoint's weights into `model` (matched by name and shape) and, when `trainer` is
 * given, its optimizer state (of the trainer's optimizer). Everything is checked before the first
 * weight is written.
 */
export function restoreCheckpoint(ckpt: LoadedCheckpoint, model: LayersModel, trainer?: Trainer): void {
  const misfit = (problem: string) => new CheckpointError(ckpt.file, `${problem}: it was written by a different model`, 'does not fit this model')
  const shapes = new Map(ckpt.tensors.filter((t) => t.group === 'weight').map((t) => [t.name, t.shape]))
  for (const w of model.weights) {
    const shape = shapes.get(w.originalName)
    if (!shape) throw misfit(`it has no weight "${w.originalName}"`)
    if (shape.join(',') !== (w.shape as number[]).join(',')) throw misfit(`its weight "${w.originalName}" has shape [${shape.join(', ')}], the model's is [${w.shape.join(', ')}]`)
  }
  if (trainer) {
    if (ckpt.kind !== 'last') throw new CheckpointError(ckpt.file, 'a best checkpoint keeps the weights only, not the optimizer state training continues from', 'cannot continue training')
    const saved = ckpt.meta.optimizer ?? 'adam'
    const {type, groups} = trainer.optimizerState()
    if (saved !== type) throw new CheckpointError(ckpt.file, `it holds ${optimizerTitle(saved)} state, and this run's optimizer is ${optimizerTitle(type)}`, 'does not fit this run')
    const trainable = model.trainableWeights.map((w) => w.originalName)
    for (const group of Object.keys(groups)) {
      const covered = ckpt.tensors.filter((t) => t.group === group).map((t) => t.name)
      if (covered.join('\n') !== trainable.join('\n')) throw misfit(`its ${optimizerTitle(type)} state (${group}) covers ${covered.length} tensors, the model has ${trainable.length} trainable weights (or another order)`)
    }
  }
  // Evaluation (no trainer) takes the weights the run evaluated: the average, where the checkpoint has one.
  const values = trainer ? ckpt.weights : evaluatedWeights(ckpt)
  for (const w of model.weights) {
    tf.tidy(() => {
      w.write(tf.tensor(values.get(w.originalName)!, w.shape as number[]))
    })
  }
  trainer?.setOptimizerState({step: ckpt.meta.step, groups: ckpt.state, lossScaler: ckpt.meta.loss_scaler})
  // train.ema: the average goes on from the checkpoint's (a checkpoint without one: it starts from these weights at the next step).
  if (trainer?.average && ckpt.average) trainer.average.restore(model.weights.map((w) => ckpt.average!.get(w.originalName)!))
}

/** The weights a checkpoint's run evaluated: the moving average (`ema`) of a last checkpoint that has one, else `weight`. */
export function evaluatedWeights(ckpt: LoadedCheckpoint): Map<string, Float32Array> {
  return ckpt.average ?? ckpt.weights
}
