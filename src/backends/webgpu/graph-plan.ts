/**
 * The pure half of step replay (graph.ts): given what a recorded step did — its dispatches with
 * their bindings, its uploads — and what the buffers are at the end of the step (which belong to
 * known tensors, which are free in the pool), decide the role of every binding and whether the step
 * can be replayed at all; and give the recording a signature, so that two consecutive recordings
 * can be compared. No GPU is needed (test/engine/graph-plan.test.ts runs it on plain objects).
 */
import type {tf} from '../../engine/tf.js'
import type {StepContext} from '../../engine/step-graph.js'

export interface BufferLike {
  size: number
  usage: number
}

export interface Binding<B extends BufferLike = BufferLike> {
  buffer?: B
  offset?: number
  size?: number
}

export interface DispatchCommand<B extends BufferLike = BufferLike> {
  kind: 'dispatch'
  name: string
  pipeline: object
  bindings: Binding<B>[]
  workgroups: number[]
  /** How many leading bindings the dispatch may write. */
  writes: number
}

export interface UploadCommand<B extends BufferLike = BufferLike> {
  kind: 'upload'
  buffer: B
  bytes: Uint8Array
}

/** The pool lent `buffer` to a new tensor (no upload): whatever it held before is no one's data. */
export interface AcquireCommand<B extends BufferLike = BufferLike> {
  kind: 'acquire'
  buffer: B
}

export type Command<B extends BufferLike = BufferLike> = DispatchCommand<B> | UploadCommand<B> | AcquireCommand<B>

export type Role = 'state' | 'constant' | 'x' | 'y' | 'per-step' | 'transient'

export interface PerStepValues {
  name: string
  dtype: 'float32' | 'int32'
  values: (context: StepContext) => number[]
}

/** What a buffer is at the end of the step, for those that belong to a tensor the replay knows. */
export interface Known {
  role: Exclude<Role, 'transient'>
  /** state / constant: the tensor that must still own the buffer when replayed. */
  tensor?: tf.Tensor
  perStep?: PerStepValues
}

export interface Slot<B extends BufferLike = BufferLike> extends Omit<Known, 'role'> {
  role: Role
  buffer: B
  /** transient: the buffer belongs to a tensor by the end of the step, so the graph needs a new one. */
  fresh?: boolean
}

export interface Plan<B extends BufferLike = BufferLike> {
  slots: Slot<B>[]
  /** Per command: dispatch bindings as slot indices (-1: a uniform block, kept), or an upload into a slot. */
  commands: ({kind: 'dispatch'; command: DispatchCommand<B>; slots: number[]} | {kind: 'upload'; slot: number; bytes: Uint8Array})[]
  signature: string
  dispatches: number
  /**
   * Per command, the generation of each slot it binds (dispatch: per binding, -1 for a uniform
   * block; upload: one): a transient slot's generation grows each time the pool lends its buffer to
   * a new tensor within the step, so that one buffer's successive tensors are told apart.
   */
  generations: number[][]
  /** Dispatches `pruneUnread` dropped (nothing the step keeps depends on what they write). */
  pruned?: number
}

const objectIds = new WeakMap<object, number>()
let nextObjectId = 1

/** A number that names `o` for as long as it lives (pipelines, buffers in signatures and cache keys). */
export function objectId(o: object): number {
  let id = objectIds.get(o)
  if (id === undefined) {
    id = nextObjectId++
    objectIds.set(o, id)
  }
  return id
}

/** Bytes of a tensor's CPU values as tfjs uploads them (int32 and bool as int32, the rest float32). */
export function uploadBytes(dtype: string, values: ArrayLike<number>): Uint8Array {
  const asInt = dtype === 'int32' || dtype === 'bool'
  // The values are usually held in the right typed array already: no copy then.
  const typed = asInt ? (values instanceof Int32Array ? values : Int32Array.from(values)) : values instanceof Float32Array ? values : Float32Array.from(values)
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/**
 * Classify a recorded step: a `Plan`, or the reason it cannot be replayed. `known` maps the buffers
 * of the tensors the replay knows at the end of the step (state, x, y, per-step, constants) to their
 * role; `free` holds the pool's free buffers then; `uniformUsage` is GPUBufferUsage.UNIFORM;
 * `readsBatch`: the step must read x and y on the GPU (every kind of step but a loss-scaled step's
 * update half — a step that should and does not read them read them elsewhere, which a replay would miss).
 *
 * A buffer the pool lent to an intermediate and later, in the same step, to the batch, the labels or
 * a per-step tensor (its upload comes after) is two slots: an intermediate up to that upload (a new
 * buffer in the graph), the tensor's own from it.
 */
export function planRecording<B extends BufferLike>(commands: Command<B>[], known: Map<B, Known>, free: Set<B>, uniformUsage: number, context: StepContext, readsBatch = true): Plan<B> | string {
  const firstUpload = new Map<B, number>()
  commands.forEach((c, i) => {
    if (c.kind === 'upload' && !firstUpload.has(c.buffer)) firstUpload.set(c.buffer, i)
  })
  const slots: Slot<B>[] = []
  const slotOf = new Map<B, number>()
  const written = new Set<number>()
  const plan: Plan<B>['commands'] = []
  const sig: string[] = []
  const slotFor = (buffer: B, at: number): number | string => {
    let index = slotOf.get(buffer)
    if (index !== undefined) return index
    const k = known.get(buffer)
    const uploadedAt = k && (k.role === 'x' || k.role === 'y' || k.role === 'per-step') ? firstUpload.get(buffer) : undefined
    if (!k || (uploadedAt !== undefined && at < uploadedAt)) {
      if (!k && !free.has(buffer)) return 'the step binds a buffer of a live tensor that is not in its state (weights, optimizer moments, metric sums) nor an input'
      index = slots.push({role: 'transient', buffer, ...(k ? {fresh: true} : {})}) - 1
    } else {
      index = slots.push({...k, buffer}) - 1
    }
    slotOf.set(buffer, index)
    return index
  }
  let dispatches = 0
  const generation = new Map<number, number>()
  const generations: number[][] = []
  const nextGeneration = (index: number): void => void generation.set(index, (generation.get(index) ?? 0) + 1)
  for (const [at, command] of commands.entries()) {
    if (command.kind === 'acquire') {
      const index = slotOf.get(command.buffer)
      if (index !== undefined && slots[index].role === 'transient') nextGeneration(index)
      continue
    }
    if (command.kind === 'upload') {
      // The tensor that owns the buffer at the end of the step starts here.
      if (firstUpload.get(command.buffer) === at && slots[slotOf.get(command.buffer) ?? -1]?.role === 'transient' && known.has(command.buffer)) slotOf.delete(command.buffer)
      const perStep = known.get(command.buffer)?.perStep
      if (perStep) {
        if (!sameBytes(command.bytes, uploadBytes(perStep.dtype, perStep.values(context)))) return `the per-step tensor '${perStep.name}' does not hold what its registered function gives`
        // Neither a slot nor part of the signature: a per-step tensor is uploaded anew only in the
        // steps where its values change (a loss scale, every few thousand steps), and a replay writes
        // it before every step; its slot comes with the first dispatch that reads it.
        continue
      }
      const index = slotFor(command.buffer, at)
      if (typeof index === 'string') return index
      const role = slots[index].role
      if (role !== 'transient') {
        sig.push(`u${index}${role}`)
        continue
      }
      // An upload fills the whole buffer: a new tensor's data (the first use keeps generation 0).
      if (written.has(index)) nextGeneration(index)
      written.add(index)
      plan.push({kind: 'upload', slot: index, bytes: command.bytes})
      generations.push([generation.get(index) ?? 0])
      sig.push(`u${index}:${command.bytes.join(',')}`)
      continue
    }
    dispatches++
    const indices: number[] = []
    const parts: string[] = [`d${objectId(command.pipeline)}/${command.workgroups.join('x')}`]
    for (let i = 0; i < command.bindings.length; i++) {
      const binding = command.bindings[i]
      const buffer = binding.buffer
      if (!buffer) return `${command.name} binds something other than a buffer`
      if ((buffer.usage & uniformUsage) !== 0) {
        indices.push(-1)
        parts.push(`U${objectId(buffer)}`)
        continue
      }
      const index = slotFor(buffer, at)
      if (typeof index === 'string') return `${command.name}: ${index}`
      const role = slots[index].role
      const writes = i < command.writes
      if (writes && role !== 'state' && role !== 'transient') return `${command.name} writes ${role === 'constant' ? 'a cached constant' : `the step's ${role} tensor`}`
      if (role === 'transient') {
        if (writes) written.add(index)
        else if (!written.has(index)) return `${command.name} reads a buffer before the step writes it (data from outside the step that is not in its state)`
      }
      indices.push(index)
      parts.push(`${index}${role[0]}@${binding.offset ?? 0}+${binding.size ?? -1}`)
    }
    plan.push({kind: 'dispatch', command, slots: indices})
    generations.push(indices.map((index) => (index < 0 ? -1 : (generation.get(index) ?? 0))))
    sig.push(parts.join(','))
  }
  for (const role of readsBatch ? (['x', 'y'] as const) : []) {
    if (!slots.some((s) => s.role === role)) return `the step never reads its ${role === 'x' ? 'input batch' : 'labels'} on the GPU`
  }
  return {slots, commands: plan, signature: sig.join(';'), dispatches, generations}
}

/**
 * Drop the commands whose results nothing kept depends on: a dispatch is kept when it writes a state
 * buffer, or a transient that a kept command later binds (in the same generation); an upload into a
 * transient likewise. Backwards from the end of the step, every transient a kept dispatch binds —
 * read, or written (it may read what it writes: accumulating k-splits) — is needed before it.
 *
 * What this removes in practice: gradients autodiff computes but nothing uses — tfjs's fused
 * products (and the project's fused ops) return the gradient of every input at once, where PyTorch
 * computes none for an input that needs none. (The project's convolutions compute each input's
 * gradient only where something needs it, on every backend: ../../ops/conv2d.ts.)
 *
 * A dispatch that declares no written binding, or writes only uniform blocks, is kept. Returns a new
 * plan (commands, generations and dispatch count filtered, `pruned` the dispatches left out; slots
 * unchanged, some perhaps bound no more).
 */
export function pruneUnread<B extends BufferLike>(plan: Plan<B>): Plan<B> {
  const keep = plan.commands.map(() => true)
  const needed = new Set<string>()
  const transient = (slot: number): boolean => slot >= 0 && plan.slots[slot].role === 'transient'
  for (let i = plan.commands.length - 1; i >= 0; i--) {
    const c = plan.commands[i]
    const gens = plan.generations[i]
    if (c.kind === 'upload') {
      keep[i] = !transient(c.slot) || needed.has(`${c.slot}:${gens[0]}`)
      continue
    }
    const written = c.slots.slice(0, c.command.writes).map((slot, j) => [slot, gens[j]] as const).filter(([slot]) => slot >= 0)
    const live = written.length === 0 || written.some(([slot, gen]) => !transient(slot) || needed.has(`${slot}:${gen}`))
    if (!live) {
      keep[i] = false
      continue
    }
    c.slots.forEach((slot, j) => {
      if (transient(slot)) needed.add(`${slot}:${gens[j]}`)
    })
  }
  const commands = plan.commands.filter((_, i) => keep[i])
  const dispatches = commands.filter((c) => c.kind === 'dispatch').length
  return {
    ...plan,
    commands,
    generations: plan.generations.filter((_, i) => keep[i]),
    dispatches,
    pruned: plan.dispatches - dispatches,
  }
}
