/**
 * Recorded training steps replayed on WebGPU (../../engine/step-graph.ts): the GPU-side analogue of CUDA
 * graphs for a tfjs backend.
 *
 * Why: on the H200 the small paper models were bound by the host — every dispatch cost 60–120 µs
 * of JavaScript (tfjs's kernel dispatch, autodiff tape, tensor bookkeeping, layers' `apply`) and Dawn
 * calls, so a ResNet-18 step of ~280 dispatches took longer to record than the GPU took to run it.
 * After warm-up a step records the same work every time (record.ts hands out the same buffers, bind
 * groups and uniform blocks), so it can be encoded from a list.
 *
 * Recording (`run`): while the Trainer's normal step runs, every dispatch (tfjs's programs through
 * record.ts, the project's kernels through runner.ts) is logged with its pipeline, bindings,
 * workgroups and how many leading bindings it writes, and every host→GPU upload with its bytes.
 * Then each buffer the step bound gets a role:
 *   - state: the buffer of a tensor the caller listed (weights, moments, running statistics, metric
 *     sums) — kept; it must still belong to the same tensor when replayed (checked every time), and
 *     the step must have updated it in place (a state tensor given new data makes the step unusable);
 *   - input: the batch x or the labels y — replaced by a private buffer the replay writes the new
 *     batch into;
 *   - per-step: a tensor from `perStepTensor` — a private buffer the replay writes the step's values into,
 *     from the function registered for it;
 *   - constant: a cached scalar or a declared constant (../../engine/constants.ts `keepConstant`: the
 *     Perceiver's position table) — kept, checked like state, and must not be written;
 *   - uniform block: one of record.ts's persistent buffers (contents fixed) — kept;
 *   - transient: a buffer the pool lent to the step's intermediates and took back (it must be free
 *     after the step, and its first use in the step must be a write, or an upload whose bytes are kept) —
 *     taken out of the pool for as long as the graph lives, so that nothing outside the step can be
 *     handed it (given back when the graph is dropped).
 * A buffer lent to an intermediate and, later in the step, to the batch or a per-step tensor is two
 * slots (graph-plan.ts, the pure half: roles, checks, signatures).
 * Anything else fails the recording with the reason (a tfjs op run outside record.ts, a new uniform
 * block, a queue write, a buffer of some other live tensor). Two consecutive recordings of one
 * shape must agree (pipelines, workgroups, which slot each binding takes, uploaded bytes) before
 * the second becomes the graph, so values that change from step to step outside the per-step
 * tensors are caught rather than frozen.
 *
 * Before it becomes a graph, the plan loses the dispatches whose results nothing the step keeps
 * reads (graph-plan.ts `pruneUnread`; the pool lending a buffer to a new tensor, logged as an
 * 'acquire', separates one buffer's successive tensors): tfjs's fused convolutions compute the
 * input batch's gradient, which only the recording ever sees. MIXTURE_WEBGPU_GRAPH_PRUNE=0 keeps them.
 *
 * Replaying: check the state tensors, write x, y and the per-step values into their private
 * buffers, encode every dispatch (and the recorded uploads, as copies) into compute passes submitted
 * every 64 dispatches (the backend's submit batch).
 * No tfjs kernel runs and no tensor is made. What else runs between steps (evaluation, a smaller
 * last batch) gets new buffers from the pool, as the step's own are held by the graph.
 *
 * MIXTURE_WEBGPU_GRAPH=0 turns it off; it also needs record.ts (MIXTURE_WEBGPU_CACHE not 0).
 */
import {tf} from '../../engine/tf.js'
import {UPDATE_KINDS, type StepContext, type StepGraphs, type StepKind} from '../../engine/step-graph.js'
import {cachedConstants} from '../../engine/constants.js'
import {patch} from './dispatches.js'
import {objectId, planRecording, pruneUnread, uploadBytes, type Command as PlanCommand, type Known, type Plan as RecordingPlan} from './graph-plan.js'
import type {GpuComputePass, WebgpuBackendInternals} from './internals.js'
import {captureHook, recordingStats, returnToPool, takeFromPool, type BindingLike, type CaptureHook, type GpuBufferLike} from './record.js'
import {dispatchListeners, perStepTensors} from './runner.js'
import {webgpuSwitch} from './switches.js'

interface GpuBuffer extends GpuBufferLike {
  destroy(): void
}

interface Pipeline {
  getBindGroupLayout(i: number): unknown
}

interface Encoder {
  beginComputePass(desc: object): GpuComputePass
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void
}

interface Backend extends WebgpuBackendInternals {
  queue: {writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void}
  device: WebgpuBackendInternals['device'] & {createBuffer(desc: {size: number; usage: number; mappedAtCreation?: boolean}): GpuBuffer}
  bufferManager: {freeBuffers: Map<string, GpuBuffer[]>}
  tensorMap: {get(dataId: object): {resource: unknown; dtype: string; shape: number[]; values?: unknown} | undefined}
}

type Command = PlanCommand<GpuBuffer>
type Plan = RecordingPlan<GpuBuffer>

const MAX_FAILED_RECORDINGS = 6
/** Training and evaluation steps, and room for batch sizes changed by the caller. */
const MAX_SHAPES = 8

function usageFlags(): {UNIFORM: number; COPY_SRC: number; COPY_DST: number} {
  return (globalThis as unknown as {GPUBufferUsage: {UNIFORM: number; COPY_SRC: number; COPY_DST: number}}).GPUBufferUsage
}

function bufferOf(b: Backend, t: tf.TensorInfo): GpuBuffer | undefined {
  const data = b.tensorMap.get(t.dataId)
  return (data?.resource ?? undefined) as GpuBuffer | undefined
}

/** One step being recorded: the hooks that log it, and their removal. */
class Recording implements CaptureHook {
  readonly commands: Command[] = []
  failure?: string
  private readonly undo: (() => void)[] = []
  private readonly stateIds: object[]

  constructor(
    private readonly b: Backend,
    readonly x: tf.Tensor,
    readonly y: tf.Tensor,
    readonly state: tf.Tensor[],
    /** The update half of a loss-scaled step reads no batch (the backward half stored what it needs). */
    readonly kind: StepKind,
  ) {
    this.stateIds = state.map((t) => t.dataId)
    captureHook.current = this
    let uploading = false
    const recording = this
    // Uploads copy from a staging buffer; any other copy would be missed by a replay.
    const watch = (encoder: unknown): void => {
      const e = encoder as (Encoder & {__mixtureCopyWatch?: boolean}) | null
      if (!e || e.__mixtureCopyWatch) return
      e.__mixtureCopyWatch = true
      const copy = e.copyBufferToBuffer
      e.copyBufferToBuffer = function (this: Encoder, ...args: Parameters<Encoder['copyBufferToBuffer']>) {
        if (captureHook.current === recording && !uploading) recording.fail('a buffer copy other than an upload')
        return copy.apply(this, args)
      }
    }
    watch(b.commandEncoder)
    this.undo.push(
      patch(b, 'uploadToGPU', (upload) =>
        function (this: Backend, dataId: object) {
          const data = this.tensorMap.get(dataId)
          const lent = data != null && data.resource == null
          const bytes = lent && data.values != null ? uploadBytes(data.dtype, data.values as ArrayLike<number>).slice() : undefined
          uploading = true
          try {
            upload.call(this, dataId)
          } finally {
            uploading = false
          }
          const buffer = this.tensorMap.get(dataId)?.resource as GpuBuffer | undefined
          // A new tensor's buffer from the pool: with its values (an upload) or to be written by a program.
          if (lent && buffer) recording.commands.push(bytes ? {kind: 'upload', buffer, bytes} : {kind: 'acquire', buffer})
        }),
      patch(b.queue, 'writeBuffer', (write) =>
        function (this: unknown, ...args: unknown[]) {
          recording.fail('a direct queue write')
          return write.apply(this, args)
        }),
      patch(b, 'ensureCommandEncoderReady', (ready) =>
        function (this: Backend) {
          ready.call(this)
          watch(this.commandEncoder)
        }),
    )
  }

  dispatch(name: string, pipeline: unknown, bindings: BindingLike[], workgroups: number[], writes: number): void {
    this.commands.push({kind: 'dispatch', name, pipeline: pipeline as Pipeline, bindings: bindings.map((r) => ({...r}) as {buffer?: GpuBuffer; offset?: number; size?: number}), workgroups: [...workgroups], writes})
  }

  fail(reason: string): void {
    this.failure ??= reason
  }

  /** Remove the hooks (idempotent). */
  end(): void {
    if (captureHook.current === this) captureHook.current = null
    for (const undo of this.undo.splice(0).reverse()) undo()
  }

  /** End the recording and classify it; a string is the reason it cannot be replayed. */
  finish(context: StepContext): Plan | string {
    this.end()
    const b = this.b
    if (b.commandEncoder) {
      b.endComputePassEncoder()
      b.submitQueue()
    }
    if (this.failure) return this.failure
    const changed = this.state.findIndex((t, i) => t.isDisposed || t.dataId !== this.stateIds[i])
    if (changed >= 0) return `the step gave ${describeTensor(this.state[changed])} new data instead of updating it in place`
    const known = new Map<GpuBuffer, Known>()
    const add = (t: tf.TensorInfo | tf.Tensor, k: Known) => {
      const buffer = bufferOf(b, t)
      if (buffer && !known.has(buffer)) known.set(buffer, k)
    }
    for (const t of this.state) add(t, {role: 'state', tensor: t})
    add(this.x, {role: 'x'})
    add(this.y, {role: 'y'})
    // A per-step tensor the step binds was uploaded in it: planRecording checks the bytes.
    for (const p of perStepTensors(b)) if (p.values) add(p.info, {role: 'per-step', perStep: {name: p.name, dtype: p.dtype, values: p.values}})
    for (const t of cachedConstants()) add(t, {role: 'constant', tensor: t})
    const free = new Set<GpuBuffer>()
    for (const list of b.bufferManager.freeBuffers.values()) for (const buffer of list) free.add(buffer)
    return planRecording(this.commands, known, free, usageFlags().UNIFORM, context, !UPDATE_KINDS.includes(this.kind))
  }
}

function describeTensor(t: tf.Tensor): string {
  const name = (t as unknown as {name?: string}).name
  return name ? `'${name}'` : `a state tensor of shape [${t.shape.join(', ')}]`
}

type ReplayCommand = {kind: 'dispatch'; name: string; pipeline: Pipeline; group: unknown; workgroups: number[]} | {kind: 'copy'; source: GpuBuffer; target: GpuBuffer; size: number}

/** A step ready to replay: private buffers, bind groups over them, what to check and write first. */
class Graph {
  readonly commands: ReplayCommand[] = []
  private readonly owned: GpuBuffer[] = []
  /** Buffers taken out of the backend's pool, given back by `dispose`. */
  private readonly taken: GpuBuffer[] = []
  private readonly checks: {tensor: tf.Tensor; dataId: object; buffer: GpuBuffer}[] = []
  private readonly inputs: {role: 'x' | 'y'; buffer: GpuBuffer}[] = []
  private readonly perStep: {buffer: GpuBuffer; dtype: 'float32' | 'int32'; values: (context: StepContext) => number[]}[] = []
  readonly dispatches: number
  /** Dispatches of the recorded step left out as unread (graph-plan.ts `pruneUnread`). */
  readonly pruned: number
  /** Bytes of GPU memory the graph holds: intermediates taken from the pool, its own buffers. */
  get heldBytes(): number {
    return [...this.owned, ...this.taken].reduce((sum, buffer) => sum + buffer.size, 0)
  }
  replays = 0

  constructor(
    private readonly b: Backend,
    plan: Plan,
  ) {
    this.dispatches = plan.dispatches
    this.pruned = plan.pruned ?? 0
    const flags = usageFlags()
    // Slots bound only by pruned commands need no buffer.
    const bound = new Set(plan.commands.flatMap((c) => (c.kind === 'upload' ? [c.slot] : c.slots)))
    const replaced = plan.slots.map((slot, index) => {
      if (slot.role === 'state' || slot.role === 'constant') {
        this.checks.push({tensor: slot.tensor!, dataId: slot.tensor!.dataId, buffer: slot.buffer})
        return slot.buffer
      }
      if (slot.role === 'transient' && !bound.has(index)) return slot.buffer
      if (slot.role === 'transient') return slot.fresh ? this.create(slot.buffer.size, slot.buffer.usage) : this.take(slot.buffer)
      const buffer = this.create(slot.buffer.size, slot.buffer.usage | flags.COPY_DST)
      if (slot.role === 'x' || slot.role === 'y') this.inputs.push({role: slot.role, buffer})
      if (slot.role === 'per-step') this.perStep.push({buffer, ...slot.perStep!})
      return buffer
    })
    const layouts = new Map<Pipeline, unknown>()
    const groups = new Map<string, unknown>()
    for (const c of plan.commands) {
      if (c.kind === 'upload') {
        const size = Math.ceil(c.bytes.length / 4) * 4
        const source = b.device.createBuffer({size, usage: flags.COPY_SRC, mappedAtCreation: true})
        new Uint8Array(source.getMappedRange()).set(c.bytes)
        source.unmap()
        this.owned.push(source)
        this.commands.push({kind: 'copy', source, target: replaced[c.slot], size})
        continue
      }
      const {command} = c
      const pipeline = command.pipeline as Pipeline
      const entries = command.bindings.map((binding, i) => ({
        binding: i,
        resource: {...binding, buffer: c.slots[i] < 0 ? binding.buffer : replaced[c.slots[i]]},
      }))
      const key = `${objectId(pipeline)}|${entries.map((e) => `${objectId(e.resource.buffer!)}:${e.resource.offset ?? 0}:${e.resource.size ?? -1}`).join(',')}`
      let group = groups.get(key)
      if (group === undefined) {
        let layout = layouts.get(pipeline)
        if (layout === undefined) {
          layout = pipeline.getBindGroupLayout(0)
          layouts.set(pipeline, layout)
        }
        group = b.device.createBindGroup({layout, entries})
        groups.set(key, group)
      }
      this.commands.push({kind: 'dispatch', name: command.name, pipeline, group, workgroups: command.workgroups})
    }
  }

  private create(size: number, usage: number): GpuBuffer {
    const buffer = this.b.device.createBuffer({size, usage})
    this.owned.push(buffer)
    return buffer
  }

  /** Take a free buffer out of the backend's pool (it was checked free when the recording ended). */
  private take(buffer: GpuBuffer): GpuBuffer {
    if (!takeFromPool(this.b, buffer)) return this.create(buffer.size, buffer.usage)
    this.taken.push(buffer)
    return buffer
  }

  /** Replay with this batch; false (nothing recorded) when a state tensor no longer owns its buffer. */
  replay(x: tf.Tensor, y: tf.Tensor, context: StepContext): boolean {
    const b = this.b
    for (const c of this.checks) {
      if (c.tensor.isDisposed || c.tensor.dataId !== c.dataId || b.tensorMap.get(c.dataId)?.resource !== c.buffer) return false
    }
    const sources = new Map<'x' | 'y', {resource: unknown; values?: unknown; dtype: string}>()
    for (const [role, t] of [['x', x], ['y', y]] as const) {
      const data = b.tensorMap.get(t.dataId)
      if (!data || (data.resource == null && data.values == null)) return false
      sources.set(role, data)
    }
    b.ensureCommandEncoderReady()
    b.endComputePassEncoder()
    const first = b.commandEncoder as unknown as Encoder
    // Queue writes run before the commands submitted below; nothing recorded before uses these buffers.
    for (const p of this.perStep) {
      const values = p.values(context)
      b.queue.writeBuffer(p.buffer, 0, p.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values))
    }
    for (const input of this.inputs) {
      const data = sources.get(input.role)!
      const t = input.role === 'x' ? x : y
      if (data.resource != null) first.copyBufferToBuffer(data.resource as GpuBuffer, 0, input.buffer, 0, t.size * 4)
      else b.queue.writeBuffer(input.buffer, 0, uploadBytes(data.dtype, data.values as ArrayLike<number>))
    }
    // Submitted in batches (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, MIXTURE_WEBGPU_SUBMIT_BATCH)
    // so that the GPU starts on the first while the rest is encoded.
    const batch = Math.max(1, Number(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')) || 64)
    let encoder = b.commandEncoder as unknown as Encoder
    let pass: GpuComputePass | null = null
    let inBatch = 0
    // Each call into Dawn costs the host a few µs: set a pipeline only when it changes within a pass.
    let pipeline: Pipeline | null = null
    for (const c of this.commands) {
      if (c.kind === 'copy') {
        pass?.end()
        pass = null
        encoder.copyBufferToBuffer(c.source, 0, c.target, 0, c.size)
        continue
      }
      if (!pass) {
        pass = encoder.beginComputePass({})
        pipeline = null
      }
      if (c.pipeline !== pipeline) {
        pass.setPipeline(c.pipeline)
        pipeline = c.pipeline
      }
      pass.setBindGroup(0, c.group)
      pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1] ?? 1, c.workgroups[2] ?? 1)
      if (++inBatch === batch) {
        pass.end()
        pass = null
        inBatch = 0
        b.submitQueue()
        b.ensureCommandEncoderReady()
        encoder = b.commandEncoder as unknown as Encoder
      }
    }
    pass?.end()
    b.submitQueue()
    // Values read back earlier are cached on the CPU and are stale now.
    for (const c of this.checks) {
      const data = b.tensorMap.get(c.dataId)
      if (data && data.values != null) data.values = null
    }
    if (dispatchListeners.size > 0) for (const c of this.commands) if (c.kind === 'dispatch') for (const listener of dispatchListeners) listener(c.name)
    this.replays++
    return true
  }

  dispose(): void {
    for (const buffer of this.owned.splice(0)) buffer.destroy()
    for (const buffer of this.taken.splice(0)) returnToPool(this.b, buffer)
  }
}

interface ShapeEntry {
  graph?: Graph
  previous?: string
  attempts: number
  failures: number
  lastReason?: string
  gaveUp?: string
  invalidated: number
}

function shapeKey(x: tf.Tensor, y: tf.Tensor, kind: StepKind): string {
  const label = {train: '', eval: 'evaluation ', 'scaled-backward': 'loss-scaled backward ', 'scaled-update': 'loss-scaled update ', accumulate: 'accumulating ', 'accumulated-unscale': 'accumulated unscale ', 'accumulated-update': 'accumulated update '}[kind]
  return `${label}x[${x.shape.join(',')}]${x.dtype} y[${y.shape.join(',')}]${y.dtype}`
}

class WebgpuStepGraphs implements StepGraphs {
  private readonly shapes = new Map<string, ShapeEntry>()
  /**
   * The shape of the previous step of each kind: a shape is recorded only when it comes twice in a
   * row among the steps of its kind (the two halves of a loss-scaled step alternate).
   */
  private readonly previousKeys = new Map<StepKind, string>()

  constructor(private readonly b: Backend) {}

  replay(x: tf.Tensor, y: tf.Tensor, context: StepContext, kind: StepKind = 'train'): boolean {
    const key = shapeKey(x, y, kind)
    const entry = this.shapes.get(key)
    if (!entry?.graph || this.b.activeTimers != null) return false
    if (entry.graph.replay(x, y, context)) {
      this.previousKeys.set(kind, key)
      return true
    }
    // A state tensor was replaced (weights loaded, optimizer state set): record afresh.
    entry.graph.dispose()
    entry.graph = undefined
    entry.previous = undefined
    entry.invalidated++
    return false
  }

  run(x: tf.Tensor, y: tf.Tensor, context: StepContext, state: tf.Tensor[], step: () => void, kind: StepKind = 'train'): void {
    const key = shapeKey(x, y, kind)
    // A shape that does not repeat (an epoch's smaller last batch, the first evaluation batch after
    // training) is not recorded: its graph would hold a working set of buffers for one step an epoch.
    const repeated = key === this.previousKeys.get(kind)
    this.previousKeys.set(kind, key)
    if (!repeated) {
      step()
      return
    }
    let entry = this.shapes.get(key)
    if (!entry && this.shapes.size < MAX_SHAPES) {
      entry = {attempts: 0, failures: 0, invalidated: 0}
      this.shapes.set(key, entry)
    }
    if (!entry || entry.graph || entry.gaveUp || this.b.activeTimers != null || captureHook.current) {
      step()
      return
    }
    const recording = new Recording(this.b, x, y, state, kind)
    try {
      step()
    } catch (error) {
      recording.end()
      throw error
    }
    const plan = recording.finish(context)
    entry.attempts++
    if (typeof plan === 'string') {
      entry.previous = undefined
      entry.lastReason = plan
      // The first recording of a shape meets its uniform blocks for the first time.
      if (++entry.failures >= MAX_FAILED_RECORDINGS) entry.gaveUp = plan
      return
    }
    if (entry.previous === plan.signature) {
      entry.graph = new Graph(this.b, webgpuSwitch('graphPrune') ? pruneUnread(plan) : plan)
      entry.previous = undefined
    } else {
      entry.previous = plan.signature
      if (entry.attempts >= 2 * MAX_FAILED_RECORDINGS) entry.gaveUp = 'consecutive steps record different work'
    }
  }

  describe(): string[] {
    return [...this.shapes.entries()].map(([key, e]) => {
      if (e.graph) return `${key}: replayed ${e.graph.replays} step${e.graph.replays === 1 ? '' : 's'} (${e.graph.dispatches} dispatches each${e.graph.pruned ? ` after ${e.graph.pruned} unread left out` : ''}, ${(e.graph.heldBytes / 2 ** 20).toFixed(1)} MiB held)${e.invalidated ? `, recorded again ${e.invalidated}×` : ''}`
      if (e.gaveUp) return `${key}: not replayed: ${e.gaveUp}`
      return `${key}: recording${e.lastReason ? ` (last attempt: ${e.lastReason})` : ''}`
    })
  }

  dispose(): void {
    for (const e of this.shapes.values()) e.graph?.dispose()
    this.shapes.clear()
  }
}

/** The active webgpu backend's step graphs (../../engine/step-graph.ts), or undefined when MIXTURE_WEBGPU_GRAPH=0 or without record.ts's caches. */
export function createStepGraphs(): StepGraphs | undefined {
  if (!webgpuSwitch('graph')) return undefined
  const b = tf.backend() as unknown as Backend
  // Recording relies on record.ts's persistent uniform blocks.
  if (!recordingStats(b)) return undefined
  return new WebgpuStepGraphs(b)
}
