/**
 * Cheaper recording of every dispatch on tfjs-backend-webgpu (4.22).
 *
 * Measured on the H200 host (bench/gpu/profile.ts), a training step was bound by the host, not the
 * GPU: each dispatch cost ~50–120 µs of JavaScript and Dawn calls, and most of that was two calls
 * per dispatch that repeat identically from one step to the next —
 *   - `device.createBindGroup` (a Vulkan descriptor set each time): the same pipeline is bound to
 *     the same pooled buffers every step, because the backend's buffer pool hands buffers out in the
 *     same order every step;
 *   - the uniform buffer (shapes, strides, sizes): acquired from the pool and written with
 *     `queue.writeBuffer` every dispatch, although its bytes are the same every step.
 *
 * `installFastRecording(backend)` replaces the backend's `recordAndSubmit` on that instance (and
 * orders its buffer pool, below): uniform blocks whose bytes were seen before live in persistent buffers written once
 * (one-off contents still go through the pool), and bind groups are cached per pipeline by the
 * identity of the buffers they bind. Storage buffers are never destroyed while the backend lives
 * (the pool only recycles them), so a cached bind group never points at a dead buffer. The project's
 * own kernels (`runner.ts`) use the same caches through `bindGroupFor`.
 *
 * MIXTURE_WEBGPU_CACHE=0 turns this off (tfjs's own recording), for comparisons.
 */
import {tf} from '../../engine/tf.js'
import {webgpuSwitch} from './switches.js'
import type {UniformField, WebgpuBackendInternals} from './internals.js'

export interface GpuBufferLike {
  size: number
  usage: number
  getMappedRange(): ArrayBuffer
  unmap(): void
}

interface PipelineLike {
  getBindGroupLayout(i: number): unknown
}

export interface BindingLike {
  buffer?: GpuBufferLike
  offset?: number
  size?: number
}

interface ProgramLike {
  constructor: {name: string}
  pipeline: PipelineLike | Promise<unknown>
  pixelsOpType?: number | null
  size?: boolean
  outputComponent?: number
  outputShape: number[]
  dispatch: [number, number, number]
  shaderKey?: string
}

interface BackendWithCaches extends WebgpuBackendInternals {
  bufferManager: {acquireBuffer(size: number, usage: number, mapped?: boolean): GpuBufferLike; releaseBuffer(b: GpuBufferLike): void}
  uniformPendingDisposal: GpuBufferLike[]
  queue: {writeBuffer(buffer: GpuBufferLike, offset: number, data: ArrayBuffer, dataOffset: number, size: number): void}
  device: WebgpuBackendInternals['device'] & {createBuffer(desc: {size: number; usage: number; mappedAtCreation?: boolean}): GpuBufferLike}
  __mixtureFastRecording?: RecordingCaches
}

interface RecordingCaches {
  /** Uniform contents seen once (key → true) and those kept in a persistent buffer. */
  seen: Set<string>
  persistent: Map<string, GpuBufferLike>
  layouts: WeakMap<object, unknown>
  groups: WeakMap<object, Map<string, unknown>>
  ids: WeakMap<object, number>
  nextId: number
  hits: number
  misses: number
}

/**
 * Told of every dispatch while a training step is being recorded for replay (graph.ts): its
 * pipeline, bindings (binding i = entry i), workgroups and how many leading bindings it writes; and
 * of anything recorded that a replay could not repeat (`fail`).
 */
export interface CaptureHook {
  dispatch(name: string, pipeline: unknown, bindings: BindingLike[], workgroups: number[], writes: number): void
  fail(reason: string): void
}

export const captureHook: {current: CaptureHook | null} = {current: null}

const MAX_PERSISTENT_UNIFORMS = 8192
const MAX_GROUPS_PER_PIPELINE = 4096

/** Byte layout of a uniform block exactly as the backend's `makeUniforms` lays it out (WGSL alignment). */
export function layoutUniforms(fields: UniformField[]): ArrayBuffer {
  let offset = 0
  let preLength = 0
  let maxAlign = 1
  const offsets: number[] = []
  for (const d of fields) {
    if (d.data.length === 0) d.data = [1]
    const n = d.data.length
    if (n > 6) throw new Error(`Unsupported ${n}D shape`)
    let align = n === 1 ? 4 : n === 2 ? 8 : 16
    if (preLength === 5 || preLength === 6) align = 16
    if (align > maxAlign) maxAlign = align
    offset = Math.ceil(offset / align) * align
    preLength = n
    offsets.push(offset)
    offset += n * 4
  }
  offset = Math.ceil(offset / maxAlign) * maxAlign
  const bytes = new ArrayBuffer(offset)
  fields.forEach((d, i) => {
    const View = (d.type === 'int32' ? Int32Array : d.type === 'uint32' ? Uint32Array : Float32Array) as Float32ArrayConstructor
    new View(bytes, offsets[i], d.data.length).set(d.data)
  })
  return bytes
}

function contentKey(bytes: ArrayBuffer): string {
  const words = new Uint32Array(bytes)
  let key = ''
  for (let i = 0; i < words.length; i++) key += `${words[i].toString(36)},`
  return key
}

function caches(backend: BackendWithCaches): RecordingCaches | undefined {
  return backend.__mixtureFastRecording
}

/** A uniform binding for `fields`: a persistent buffer for contents seen before, else a pooled one. */
function uniformBinding(backend: BackendWithCaches, c: RecordingCaches, fields: UniformField[]): BindingLike {
  const bytes = layoutUniforms(fields)
  const size = bytes.byteLength
  const key = contentKey(bytes)
  let buffer = c.persistent.get(key)
  if (buffer) return {offset: 0, size, buffer}
  if (c.seen.has(key)) {
    if (c.persistent.size >= MAX_PERSISTENT_UNIFORMS) clearCaches(c)
    buffer = backend.device.createBuffer({size, usage: uniformUsage(), mappedAtCreation: true})
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes))
    buffer.unmap()
    c.persistent.set(key, buffer)
    c.seen.delete(key)
    return {offset: 0, size, buffer}
  }
  if (c.seen.size >= MAX_PERSISTENT_UNIFORMS) c.seen.clear()
  c.seen.add(key)
  captureHook.current?.fail('a uniform block seen for the first time (its buffer is lent for one submit)')
  buffer = backend.bufferManager.acquireBuffer(size, uniformUsage())
  backend.queue.writeBuffer(buffer, 0, bytes, 0, size)
  backend.uniformPendingDisposal.push(buffer)
  return {offset: 0, size, buffer}
}

/**
 * Forget every cached bind group and persistent uniform buffer (bounded memory). The buffers are
 * not destroyed: commands recorded but not yet submitted may still bind them; they are freed once
 * nothing refers to them.
 */
function clearCaches(c: RecordingCaches): void {
  c.persistent.clear()
  c.groups = new WeakMap()
}

/** GPUBufferUsage is a global only once the webgpu package has installed its globals. */
function uniformUsage(): number {
  const usage = (globalThis as unknown as {GPUBufferUsage: {COPY_DST: number; UNIFORM: number}}).GPUBufferUsage
  return usage.COPY_DST | usage.UNIFORM
}

function idOf(c: RecordingCaches, o: object): number {
  let id = c.ids.get(o)
  if (id === undefined) {
    id = c.nextId++
    c.ids.set(o, id)
  }
  return id
}

/** The bind group of `pipeline` over `bindings` (binding i = entry i), cached while buffers repeat. */
export function bindGroupFor(backend: WebgpuBackendInternals, pipeline: PipelineLike, bindings: unknown[]): unknown {
  const c = caches(backend as BackendWithCaches)
  const create = (): unknown => {
    let layout = c?.layouts.get(pipeline)
    if (layout === undefined) {
      layout = pipeline.getBindGroupLayout(0)
      c?.layouts.set(pipeline, layout)
    }
    return backend.device.createBindGroup({layout, entries: bindings.map((resource, binding) => ({binding, resource}))})
  }
  if (!c) return create()
  let key = ''
  for (const r of bindings as BindingLike[]) {
    if (!r || r.buffer === undefined) return create()
    key += `${idOf(c, r.buffer)}:${r.offset ?? 0}:${r.size ?? -1},`
  }
  let groups = c.groups.get(pipeline)
  if (!groups) {
    groups = new Map()
    c.groups.set(pipeline, groups)
  }
  let group = groups.get(key)
  if (group === undefined) {
    c.misses++
    if (groups.size >= MAX_GROUPS_PER_PIPELINE) groups.clear()
    group = create()
    groups.set(key, group)
  } else {
    c.hits++
  }
  return group
}

/** The uniform binding for `fields` through the caches (or the backend's own `makeUniforms`). */
export function uniformsFor(backend: WebgpuBackendInternals, fields: UniformField[]): unknown {
  const b = backend as BackendWithCaches
  const c = caches(b)
  return c ? uniformBinding(b, c, fields) : backend.makeUniforms(fields)
}

/** Bind-group cache hits and misses since the backend was created (for diagnostics). */
export function recordingStats(backend: WebgpuBackendInternals): {hits: number; misses: number; uniforms: number} | undefined {
  const c = caches(backend as BackendWithCaches)
  return c ? {hits: c.hits, misses: c.misses, uniforms: c.persistent.size} : undefined
}

/**
 * Make the backend's buffer pool hand out, for each size, the free buffer with the lowest id. The
 * pool's own free lists are LIFO, so which buffer a tensor gets depends on the order earlier ones
 * were released and the buffers rotate from step to step; with the lowest id first, a step that
 * repeats the previous one gets the same buffers, and its bind groups come from the cache.
 */
function orderBufferPool(b: BackendWithCaches, c: RecordingCaches): void {
  const pool = b.bufferManager as unknown as {freeBuffers: Map<string, GpuBufferLike[]>; releaseBuffer(buffer: GpuBufferLike, reuse?: boolean): void}
  const release = pool.releaseBuffer.bind(pool)
  pool.releaseBuffer = function releaseBuffer(buffer: GpuBufferLike, reuse = true): void {
    release(buffer, reuse)
    if (reuse) placeLast(c, pool.freeBuffers.get(poolKey(buffer)), buffer)
  }
}

/** Move `buffer`, just pushed onto a free list, to its place in the list's descending-id order (acquire pops the end). */
function placeLast(c: RecordingCaches, list: GpuBufferLike[] | undefined, buffer: GpuBufferLike): void {
  if (!list || list.length < 2 || list[list.length - 1] !== buffer) return
  const id = idOf(c, buffer)
  let lo = 0
  let hi = list.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (idOf(c, list[mid]) > id) lo = mid + 1
    else hi = mid
  }
  if (lo < list.length - 1) {
    list.pop()
    list.splice(lo, 0, buffer)
  }
}

/** The backend pool's key for buffers like `buffer` (tfjs-backend-webgpu's getBufferKey). */
function poolKey(buffer: GpuBufferLike): string {
  return `${buffer.size}_${buffer.usage}`
}

interface FreeLists {
  freeBuffers: Map<string, GpuBufferLike[]>
  numFreeBuffers: number
}

/** Take `buffer` out of the pool's free lists, so that nothing is handed it (graph.ts); false if it is not free. */
export function takeFromPool(backend: WebgpuBackendInternals, buffer: GpuBufferLike): boolean {
  const pool = (backend as BackendWithCaches).bufferManager as unknown as FreeLists
  const list = pool.freeBuffers.get(poolKey(buffer))
  const at = list ? list.indexOf(buffer) : -1
  if (at < 0) return false
  list!.splice(at, 1)
  pool.numFreeBuffers--
  return true
}

/**
 * Put a buffer taken out of the pool's free lists (graph.ts) back, in the order the pool keeps
 * (lowest id handed out first), so that steps recorded afterwards get the same buffers every time.
 */
export function returnToPool(backend: WebgpuBackendInternals, buffer: GpuBufferLike): void {
  const pool = (backend as BackendWithCaches).bufferManager as unknown as FreeLists
  const key = poolKey(buffer)
  if (!pool.freeBuffers.has(key)) pool.freeBuffers.set(key, [])
  const list = pool.freeBuffers.get(key)!
  list.push(buffer)
  pool.numFreeBuffers++
  const c = caches(backend as BackendWithCaches)
  if (c) placeLast(c, list, buffer)
}

/** Replace `recordAndSubmit` on this backend instance by the cached version (no-op when disabled). */
export function installFastRecording(backend: WebgpuBackendInternals): void {
  if (!webgpuSwitch('cache')) return
  const b = backend as BackendWithCaches
  if (b.__mixtureFastRecording) return
  const c: RecordingCaches = {seen: new Set(), persistent: new Map(), layouts: new WeakMap(), groups: new WeakMap(), ids: new WeakMap(), nextId: 1, hits: 0, misses: 0}
  b.__mixtureFastRecording = c
  orderBufferPool(b, c)
  const original = b.recordAndSubmit.bind(b) as (program: ProgramLike, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: UniformField[]) => void
  b.recordAndSubmit = function recordAndSubmit(
    this: BackendWithCaches,
    program: ProgramLike,
    output: tf.TensorInfo,
    inputs: tf.TensorInfo[],
    programDefinedUniform?: UniformField[],
  ): void {
    if (program.pixelsOpType != null || program.pipeline instanceof Promise) {
      captureHook.current?.fail(`${program.constructor.name} was recorded by tfjs itself (pixels or a pipeline still compiling)`)
      original(program, output, inputs, programDefinedUniform)
      return
    }
    // The same uniforms, in the same order, as the backend's own recordAndSubmit.
    let fields: UniformField[] = [
      {type: 'float32', data: [NaN]},
      {type: 'float32', data: [Infinity]},
    ]
    for (const t of [...inputs, output]) {
      fields.push({type: 'int32', data: t.shape})
      fields.push({type: 'int32', data: tf.util.computeStrides(t.shape)})
    }
    if (program.size) {
      const size = tf.util.sizeFromShape(program.outputShape)
      fields.push({type: 'int32', data: [program.outputComponent ? size / program.outputComponent : size]})
    }
    if (programDefinedUniform) fields = fields.concat(programDefinedUniform)
    const bindings = [this.tensorToBinding(output), ...inputs.map((t) => this.tensorToBinding(t)), uniformBinding(this, c, fields)]
    for (const t of inputs) this.commandQueueOwnedIds.add(t.dataId)
    this.commandQueueOwnedIds.add(output.dataId)
    const bindGroup = bindGroupFor(this, program.pipeline as PipelineLike, bindings)
    captureHook.current?.dispatch(program.constructor.name, program.pipeline, bindings as BindingLike[], program.dispatch, 1)
    encodeDispatch(this, program.constructor.name, program.pipeline, bindGroup, program.dispatch)
  } as WebgpuBackendInternals['recordAndSubmit']
}

/** Record one dispatch into the backend's open compute pass, with its submit batching and timers. */
export function encodeDispatch(backend: WebgpuBackendInternals, name: string, pipeline: unknown, bindGroup: unknown, workgroups: number[]): void {
  const timed = backend.activeTimers != null
  backend.ensureCommandEncoderReady()
  if (timed && backend.supportTimestampQuery) {
    backend.endComputePassEncoder()
    if (backend.querySet == null) backend.querySet = backend.device.createQuerySet({type: 'timestamp', count: backend.querySetCount})
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({
      timestampWrites: {querySet: backend.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1},
    })
  } else if (!backend.computePassEncoder) {
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({})
  }
  const pass = backend.computePassEncoder!
  pass.setPipeline(pipeline)
  pass.setBindGroup(0, bindGroup)
  pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1)
  backend.dispatchCountInPass++
  if (timed || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder()
    if (timed) backend.activeTimers!.push({name, query: backend.getQueryTime()})
    else backend.submitQueue()
  }
}
